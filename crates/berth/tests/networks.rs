//! Networking end to end, as root: the default bridge (address, route, egress through NAT
//! to a second host), published ports reached from the host's loopback, its own address and
//! from another host, TCP and UDP, random host ports, user networks with DNS by name and
//! alias, isolation between networks, host and none modes, connect/disconnect on a running
//! container, and nothing left on the host after rm and after the engine stops.

mod common;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use common::net::{self, Outside};
use common::{assert_contains, eventually, images, Daemon};

fn engine() -> Daemon {
    let d = Daemon::start();
    d.load(&images::docker_archive(&[
        net::netbox().tagged("netbox:latest")
    ]));
    d
}

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    d.ok(&["inspect", "-f", format, name]).trim().to_string()
}

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// Starts `httpd` serving "hello" in a detached container with `args`; returns its name.
fn web(d: &Daemon, name: &str, args: &[&str]) -> String {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(args);
    all.extend_from_slice(&["netbox", "httpd", "-f", "-p", "80", "-h", "/www"]);
    d.ok(&all);
    name.to_string()
}

#[test]
fn default_bridge_gives_an_address_a_route_and_hosts_entries() {
    let d = engine();
    let out = d.ok(&[
        "run",
        "--rm",
        "--hostname",
        "box1",
        "netbox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; ip route; cat /etc/hosts",
    ]);
    let bridge = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
        "bridge",
    ]);
    let gateway = bridge.trim();
    assert_contains(&out, "eth0");
    assert_contains(&out, &format!("default via {gateway}"));
    let ip_line = out.lines().next().unwrap();
    let ip = ip_line
        .split_whitespace()
        .nth(3)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert_contains(&out, &format!("{ip}\tbox1"));
    assert!(net::link_exists(&d.bridge()));

    // 64 KiB frames on the local link; docker's 1500 on the way out.
    let routes = |args: &[&str]| {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["netbox", "sleep", "100"]);
        let id = d.ok(&all).trim().to_string();
        let key = inspect(&d, &id, "{{.NetworkSettings.SandboxKey}}");
        let out = std::process::Command::new("nsenter")
            .arg(format!("--net={key}"))
            .args(["ip", "-o", "link", "show", "eth0"])
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        let out = std::process::Command::new("nsenter")
            .arg(format!("--net={key}"))
            .args(["ip", "route", "show", "default"])
            .output()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        d.ok(&["rm", "-f", &id]);
        text
    };
    let default_bridge = routes(&[]);
    assert_contains(&default_bridge, "mtu 65535");
    assert_contains(
        &default_bridge,
        &format!("default via {gateway} dev eth0 mtu 1500"),
    );
    d.ok(&[
        "network",
        "create",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "vpnish",
    ]);
    assert_contains(&routes(&["--network", "vpnish"]), "mtu 1400");
    d.ok(&["network", "rm", "vpnish"]);
}

#[test]
fn egress_reaches_another_host_through_nat() {
    let d = engine();
    let outside = Outside::new();
    let far = outside.far;
    let listener = outside.run(move || std::net::TcpListener::bind((far, 9000)).unwrap());
    let server = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        let mut line = String::new();
        use std::io::Read;
        s.read_to_string(&mut line).unwrap();
        (line, peer)
    });
    d.ok(&[
        "run",
        "--rm",
        "netbox",
        "sh",
        "-c",
        &format!("echo from-container | nc {far} 9000"),
    ]);
    let (line, peer) = server.join().unwrap();
    assert_eq!(line.trim(), "from-container");
    // Masqueraded: the other host sees this host's address, not the container's.
    assert_eq!(peer.ip(), std::net::IpAddr::V4(outside.near));

    // A server on the host itself, through the host's own address.
    if let Some(host) = net::host_address() {
        let listener = std::net::TcpListener::bind((host, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut line = String::new();
            use std::io::Read;
            s.read_to_string(&mut line).unwrap();
            line
        });
        d.ok(&[
            "run",
            "--rm",
            "netbox",
            "sh",
            "-c",
            &format!("echo to-host | nc {host} {port}"),
        ]);
        assert_eq!(server.join().unwrap().trim(), "to-host");
    }
}

#[test]
fn published_tcp_port_answers_on_loopback_host_address_and_from_another_host() {
    let d = engine();
    let port = net::free_port();
    web(&d, "web", &["-p", &format!("{port}:80")]);
    eventually("the published port answers on 127.0.0.1", || {
        net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_some_and(|r| r.contains("hello"))
    });
    if let Some(host) = net::host_address() {
        let r = net::http_get(addr(host, port)).unwrap_or_default();
        assert_contains(&r, "hello");
    }
    let outside = Outside::new();
    let near = outside.near;
    let from_outside = outside.run(move || net::http_get(addr(near, port)));
    assert_contains(&from_outside.unwrap_or_default(), "hello");
    assert_eq!(
        d.ok(&["port", "web"]).trim(),
        format!("80/tcp -> 0.0.0.0:{port}")
    );
    let ps = d.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_contains(&ps, &format!("0.0.0.0:{port}->80/tcp"));

    d.ok(&["rm", "-f", "web"]);
    assert!(net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_none());
}

#[test]
fn published_udp_port_and_random_host_ports() {
    let d = engine();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "echo",
        "-p",
        "127.0.0.1::5353/udp",
        "-p",
        "80",
        "--expose",
        "81",
        "netbox",
        "sh",
        "-c",
        "udp-echo 5353 & httpd -f -p 80 -h /www",
    ]);
    let udp = d.ok(&["port", "echo", "5353/udp"]);
    let (ip, port) = udp.trim().rsplit_once(':').unwrap();
    assert_eq!(ip, "127.0.0.1");
    let port: u16 = port.parse().unwrap();
    eventually("the UDP port answers", || {
        net::udp_ask(addr(Ipv4Addr::LOCALHOST, port), "ping").as_deref() == Some("echo:ping")
    });
    let tcp = d.ok(&["port", "echo", "80"]);
    let tcp_port: u16 = tcp.trim().rsplit_once(':').unwrap().1.parse().unwrap();
    eventually("the random TCP port answers", || {
        net::http_get(addr(Ipv4Addr::LOCALHOST, tcp_port)).is_some_and(|r| r.contains("hello"))
    });

    // -P publishes every exposed port.
    d.ok(&[
        "run", "-d", "--name", "all", "--expose", "80", "-P", "netbox", "httpd", "-f", "-p", "80",
        "-h", "/www",
    ]);
    let all = d.ok(&["port", "all", "80/tcp"]);
    let p: u16 = all.trim().rsplit_once(':').unwrap().1.parse().unwrap();
    eventually("-P's port answers", || {
        net::http_get(addr(Ipv4Addr::LOCALHOST, p)).is_some_and(|r| r.contains("hello"))
    });
}

#[test]
fn a_port_in_use_is_a_clear_error_and_leaves_nothing() {
    let d = engine();
    let busy = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let r = d.fails(&[
        "run",
        "-d",
        "--name",
        "taken",
        "-p",
        &format!("{port}:80"),
        "netbox",
        "sleep",
        "10",
    ]);
    assert_contains(&r.stderr, "address already in use");
    eventually("no veth or namespace is left", || {
        common::list_dir(&d.exec_root().join("netns")).is_empty()
    });
    // The port is still the engine's to give once it is free.
    drop(busy);
    d.ok(&["start", "taken"]);
    d.ok(&["rm", "-f", "taken"]);

    for bad in ["80:80:80:80", "abc", "8080:x", "70000:80", "80:1-3"] {
        let r = d.fails(&["run", "--rm", "-p", bad, "netbox", "true"]);
        assert!(!r.stderr.is_empty(), "no error for -p {bad}");
    }
}

#[test]
fn user_networks_resolve_names_and_aliases_and_are_isolated() {
    let d = engine();
    d.ok(&["network", "create", "front"]);
    d.ok(&["network", "create", "back"]);
    web(
        &d,
        "site",
        &["--network", "front", "--network-alias", "www"],
    );
    let site_ip = inspect(&d, "site", "{{.NetworkSettings.Networks.front.IPAddress}}");
    assert!(!site_ip.is_empty());

    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        "netbox",
        "sh",
        "-c",
        "nslookup site; nslookup www; wget -qO- http://site/",
    ]);
    assert_eq!(out.matches(&site_ip).count(), 2, "{out}");
    assert_contains(&out, "hello");

    // Other names go to the host's resolvers (the answer is theirs; only its arrival matters).
    let other = d.run(&[
        "run",
        "--rm",
        "--network",
        "front",
        "netbox",
        "nslookup",
        "no-such-name.invalid",
    ]);
    assert!(!other.stdout.contains(&site_ip));

    // Another network reaches neither the address nor the name.
    let r = d.run(&[
        "run",
        "--rm",
        "--network",
        "back",
        "netbox",
        "sh",
        "-c",
        &format!("ping -c1 -W1 {site_ip}"),
    ]);
    assert_ne!(r.status, 0, "{}", r.stdout);
    let r = d.run(&[
        "run",
        "--rm",
        "--network",
        "back",
        "netbox",
        "nslookup",
        "site",
    ]);
    assert!(!r.stdout.contains(&site_ip));

    // A renamed container is found by its new name.
    d.ok(&["rename", "site", "shop"]);
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        "netbox",
        "nslookup",
        "shop",
    ]);
    assert_contains(&out, &site_ip);
    d.ok(&["rename", "shop", "site"]);

    let inspect_net = d.ok(&["network", "inspect", "front"]);
    assert_contains(&inspect_net, &format!("{site_ip}/"));
    assert_contains(&inspect_net, "\"Name\": \"site\"");
    let rm = d.fails(&["network", "rm", "front"]);
    assert_contains(&rm.stderr, "has active endpoints");
    d.ok(&["rm", "-f", "site"]);
    d.ok(&["network", "rm", "front", "back"]);
}

#[test]
fn internal_networks_have_no_way_out() {
    let d = engine();
    let outside = Outside::new();
    let far = outside.far;
    let listener = outside.run(move || std::net::TcpListener::bind((far, 9001)).unwrap());
    listener.set_nonblocking(true).unwrap();
    d.ok(&["network", "create", "--internal", "sealed"]);
    let r = d.run(&[
        "run",
        "--rm",
        "--network",
        "sealed",
        "netbox",
        "sh",
        "-c",
        &format!("echo x | nc -w 1 {far} 9001"),
    ]);
    assert_ne!(r.status, 0);
    assert!(
        listener.accept().is_err(),
        "an internal network reached another host"
    );
    d.ok(&["network", "rm", "sealed"]);
}

#[test]
fn fixed_addresses_and_mac_on_a_user_network() {
    let d = engine();
    d.ok(&[
        "network",
        "create",
        "--subnet",
        "10.199.7.0/24",
        "--gateway",
        "10.199.7.254",
        "fixed",
    ]);
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "fixed",
        "--ip",
        "10.199.7.9",
        "--mac-address",
        "02:42:aa:bb:cc:dd",
        "netbox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; ip link show eth0; ip route",
    ]);
    assert_contains(&out, "10.199.7.9/24");
    assert_contains(&out, "02:42:aa:bb:cc:dd");
    assert_contains(&out, "default via 10.199.7.254");

    let r = d.fails(&[
        "run",
        "--rm",
        "--network",
        "fixed",
        "--ip",
        "10.1.1.1",
        "netbox",
        "true",
    ]);
    assert_contains(&r.stderr, "10.1.1.1");
    let r = d.fails(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "--ip",
        "10.1.1.1",
        "netbox",
        "true",
    ]);
    assert_contains(
        &r.stderr,
        "user specified IP address is supported on user defined networks only",
    );
    let r = d.fails(&[
        "network",
        "create",
        "--subnet",
        "10.199.7.128/25",
        "overlap",
    ]);
    assert_contains(&r.stderr, "overlaps");
    let r = d.fails(&[
        "network",
        "create",
        "--subnet",
        "10.199.8.0/24",
        "--gateway",
        "10.199.9.1",
        "badgw",
    ]);
    assert_contains(&r.stderr, "no matching subnet for gateway 10.199.9.1");
    let r = d.fails(&["network", "create", "fixed"]);
    assert_contains(&r.stderr, "already exists");
    assert!(!d.ok(&["network", "ls"]).contains("overlap"));
    d.ok(&["network", "rm", "fixed"]);

    // A network's default host address for published ports.
    d.ok(&[
        "network",
        "create",
        "-o",
        "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
        "local",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "loc",
        "--network",
        "local",
        "-p",
        "80",
        "netbox",
        "sleep",
        "100",
    ]);
    assert!(d
        .ok(&["port", "loc", "80"])
        .trim()
        .starts_with("127.0.0.1:"));
    d.ok(&["rm", "-f", "loc"]);
    d.ok(&["network", "rm", "local"]);
}

#[test]
fn networks_and_links_survive_an_engine_restart() {
    let mut d = engine();
    d.ok(&["network", "create", "--subnet", "10.197.5.0/24", "keep"]);
    web(&d, "kept", &["--network", "keep"]);
    let ip = inspect(&d, "kept", "{{.NetworkSettings.Networks.keep.IPAddress}}");
    d.restart();
    let subnet = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}}",
        "keep",
    ]);
    assert_eq!(subnet.trim(), "10.197.5.0/24");
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "keep",
        "netbox",
        "sh",
        "-c",
        "nslookup kept; wget -qO- http://kept/",
    ]);
    assert_contains(&out, &ip);
    assert_contains(&out, "hello");

    // A legacy link on the default bridge is an /etc/hosts entry.
    web(&d, "linked", &[]);
    let linked_ip = inspect(&d, "linked", "{{.NetworkSettings.IPAddress}}");
    let hosts = d.ok(&[
        "run",
        "--rm",
        "--link",
        "linked:db",
        "netbox",
        "cat",
        "/etc/hosts",
    ]);
    assert_contains(&hosts, &format!("{linked_ip}\tdb"));
    d.ok(&["rm", "-f", "kept", "linked"]);
    d.ok(&["network", "rm", "keep"]);
}

#[test]
fn an_exhausted_network_refuses_the_next_container_cleanly() {
    let d = engine();
    // A /30: the gateway and one container.
    d.ok(&["network", "create", "--subnet", "10.196.1.0/30", "tiny"]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "first",
        "--network",
        "tiny",
        "netbox",
        "sleep",
        "1000",
    ]);
    let r = d.fails(&[
        "run",
        "-d",
        "--name",
        "second",
        "--network",
        "tiny",
        "netbox",
        "sleep",
        "1000",
    ]);
    assert_contains(&r.stderr, "no available IPv4 addresses");
    assert_eq!(common::list_dir(&d.exec_root().join("netns")).len(), 1);
    assert_eq!(inspect(&d, "second", "{{.State.Status}}"), "created");
    // Once the first is gone its address serves the second.
    d.ok(&["rm", "-f", "first"]);
    d.ok(&["start", "second"]);
    let ip = inspect(&d, "second", "{{.NetworkSettings.Networks.tiny.IPAddress}}");
    assert_eq!(ip, "10.196.1.2");
    d.ok(&["rm", "-f", "second"]);
    d.ok(&["network", "rm", "tiny"]);
}

#[test]
fn host_none_and_container_modes() {
    let d = engine();
    let none = d.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "netbox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(none.lines().count(), 1, "{none}");
    assert_contains(&none, "lo");
    let host = d.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "netbox",
        "ip",
        "-o",
        "link",
    ]);
    assert_contains(&host, &d.bridge());

    web(&d, "shared", &[]);
    let ip = inspect(&d, "shared", "{{.NetworkSettings.IPAddress}}");
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "container:shared",
        "netbox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/",
    ]);
    assert_contains(&out, &ip);
    assert_contains(&out, "hello");
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let d = engine();
    d.ok(&["network", "create", "extra"]);
    d.ok(&["run", "-d", "--name", "c1", "netbox", "sleep", "1000"]);
    d.ok(&["network", "connect", "--alias", "one", "extra", "c1"]);
    let ip = inspect(&d, "c1", "{{.NetworkSettings.Networks.extra.IPAddress}}");
    let addrs = d.ok(&["exec", "c1", "ip", "-o", "-4", "addr"]);
    assert_contains(&addrs, &ip);
    assert_contains(&addrs, "eth1");
    let seen = d.ok(&[
        "run",
        "--rm",
        "--network",
        "extra",
        "netbox",
        "nslookup",
        "one",
    ]);
    assert_contains(&seen, &ip);
    assert_contains(&d.ok(&["network", "inspect", "extra"]), "\"Name\": \"c1\"");

    d.ok(&["network", "disconnect", "extra", "c1"]);
    let addrs = d.ok(&["exec", "c1", "ip", "-o", "-4", "addr"]);
    assert!(!addrs.contains(&ip), "{addrs}");
    assert!(!d.ok(&["network", "inspect", "extra"]).contains("\"c1\""));
    let r = d.fails(&["network", "disconnect", "extra", "c1"]);
    assert_contains(&r.stderr, "is not connected");
    d.ok(&["network", "rm", "extra"]);
}

#[test]
fn nothing_is_left_after_rm_and_after_the_engine_stops() {
    let mut d = engine();
    d.ok(&["network", "create", "tmpnet"]);
    let bridge = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
        "tmpnet",
    ]);
    let user_bridge = if bridge.trim().is_empty() || bridge.contains("no value") {
        format!(
            "br-{}",
            &d.ok(&["network", "inspect", "-f", "{{.Id}}", "tmpnet"])
                .trim()[..12]
        )
    } else {
        bridge.trim().to_string()
    };
    assert!(net::link_exists(&user_bridge));
    d.ok(&[
        "run",
        "-d",
        "--name",
        "aa",
        "--network",
        "tmpnet",
        "-p",
        "80",
        "netbox",
        "sleep",
        "1000",
    ]);
    let endpoint = inspect(&d, "aa", "{{.NetworkSettings.Networks.tmpnet.EndpointID}}");
    let veth = format!("veth{}", &endpoint[..11]);
    assert!(net::link_exists(&veth), "{veth}");
    d.ok(&["rm", "-f", "aa"]);
    // The veth and namespace go in the background, soon after.
    eventually("no veth or namespace is left", || {
        !net::link_exists(&veth) && common::list_dir(&d.exec_root().join("netns")).is_empty()
    });
    d.ok(&["network", "rm", "tmpnet"]);
    assert!(!net::link_exists(&user_bridge));
    d.stop();
    assert!(!net::link_exists(&d.bridge()));
}

#[test]
fn published_ports_survive_an_engine_crash() {
    let mut d = engine();
    let port = net::free_port();
    web(&d, "web", &["-p", &format!("{port}:80")]);
    eventually("the published port answers", || {
        net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_some_and(|r| r.contains("hello"))
    });
    d.kill9();
    // The kernel's rules outlive the engine, and so does the container.
    assert_contains(
        &net::http_get(addr(Ipv4Addr::LOCALHOST, port)).unwrap_or_default(),
        "hello",
    );
    d.relaunch();
    assert_contains(
        &net::http_get(addr(Ipv4Addr::LOCALHOST, port)).unwrap_or_default(),
        "hello",
    );
    // The address stays taken: a new container gets another one.
    let web_ip = inspect(&d, "web", "{{.NetworkSettings.IPAddress}}");
    let other = d.ok(&[
        "run",
        "--rm",
        "netbox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0",
    ]);
    assert!(!other.contains(&format!("{web_ip}/")), "{other}");
    d.ok(&["stop", "-t", "1", "web"]);
    assert!(net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_none());
}

#[test]
fn a_container_that_dies_while_the_engine_is_down_leaves_nothing() {
    let mut d = engine();
    let port = net::free_port();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "doomed",
        "-p",
        &format!("{port}:80"),
        "netbox",
        "sh",
        "-c",
        "httpd -p 80 -h /www; sleep 2",
    ]);
    let endpoint = inspect(&d, "doomed", "{{.NetworkSettings.EndpointID}}");
    let veth = format!("veth{}", &endpoint[..11]);
    assert!(net::link_exists(&veth));
    d.kill9();
    // The container's process ends (after its sleep) while no engine is there.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    d.relaunch();
    eventually("the dead container's sandbox is gone", || {
        inspect(&d, "doomed", "{{.State.Status}}") == "exited"
            && common::list_dir(&d.exec_root().join("netns")).is_empty()
            && !net::link_exists(&veth)
    });
    assert!(net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_none());
    // Its address and port serve the next container.
    web(&d, "next", &["-p", &format!("{port}:80")]);
    eventually("the port answers for the next container", || {
        net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_some_and(|r| r.contains("hello"))
    });
}
