//! Networking end to end, as root: the default bridge (address, route, egress through NAT
//! to a second host), published ports reached from the host's loopback, its own address and
//! from another host, TCP and UDP, random host ports, user networks with DNS by name and
//! alias, isolation between networks, host and none modes, connect/disconnect on a running
//! container, IPv6 networks, and nothing left on the host after rm and after the engine
//! stops.

mod common;
#[path = "networks/ipv6.rs"]
mod ipv6;
#[path = "networks/lifecycle.rs"]
mod lifecycle;
#[path = "networks/ports.rs"]
mod ports;
#[path = "networks/user.rs"]
mod user;

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
