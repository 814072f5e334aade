//! User-defined networks: DNS by name and alias, isolation, `--internal`, fixed addresses,
//! exhaustion, and networks surviving an engine restart.

use super::*;

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
    // The first container's namespace and the spare: the refused start took none.
    assert_eq!(d.netns_files().len(), 2);
    assert_eq!(inspect(&d, "second", "{{.State.Status}}"), "created");
    // Once the first is gone its address serves the second.
    d.ok(&["rm", "-f", "first"]);
    d.ok(&["start", "second"]);
    let ip = inspect(&d, "second", "{{.NetworkSettings.Networks.tiny.IPAddress}}");
    assert_eq!(ip, "10.196.1.2");
    d.ok(&["rm", "-f", "second"]);
    d.ok(&["network", "rm", "tiny"]);
}
