//! Published ports: TCP and UDP, fixed, random and `-P`, reached from loopback, the host's
//! address and another host; a port in use refused with nothing left behind.

use super::*;

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
    eventually("no namespace is left but the spare", || {
        d.only_the_spare_netns()
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
