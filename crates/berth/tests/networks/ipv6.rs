//! IPv6 on user networks (`network create --ipv6`): addresses from the IPv6 subnet (or one
//! Berth picks), `--ip6`, names answering with AAAA records, published ports on the host's
//! IPv6 addresses, a way out through masquerade, and docker's refusals.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

use super::*;

fn addr6(ip: Ipv6Addr, port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0))
}

#[test]
fn ipv6_networks_give_addresses_names_ports_and_a_way_out() {
    let d = engine();
    // A subnet of this test's own, so concurrent runs do not collide.
    let tag = std::process::id() % 0xffff;
    let subnet = format!("fd00:b7:{tag:x}::/64");
    let gateway: Ipv6Addr = format!("fd00:b7:{tag:x}::1").parse().unwrap();
    let fixed: Ipv6Addr = format!("fd00:b7:{tag:x}::10").parse().unwrap();
    d.ok(&["network", "create", "--ipv6", "--subnet", &subnet, "v6net"]);
    let net = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}}/{{.Gateway}} {{end}}",
        "v6net",
    ]);
    assert_contains(&net, "true ");
    assert_contains(&net, &format!("{subnet}/{gateway}"));

    let port = net::free_port();
    web(
        &d,
        "site6",
        &[
            "--network",
            "v6net",
            "--ip6",
            &fixed.to_string(),
            "-p",
            &format!("{port}:80"),
        ],
    );
    let ep = "{{with index .NetworkSettings.Networks \"v6net\"}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} via {{.IPv6Gateway}}{{end}}";
    assert_eq!(
        inspect(&d, "site6", ep),
        format!("{fixed}/64 via {gateway}")
    );
    let hosts = d.ok(&["exec", "site6", "cat", "/etc/hosts"]);
    assert_contains(&hosts, &fixed.to_string());
    let members = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.IPv6Address}}{{end}}",
        "v6net",
    ]);
    assert_eq!(members.trim(), format!("{fixed}/64"));

    // A second container: the lowest free address, the default route, the name in DNS
    // with its IPv6 address, and the server reached over IPv6.
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "v6net",
        "netbox",
        "sh",
        "-c",
        &format!(
            "ip -o -6 addr show eth0 scope global; ip -6 route show default; \
             nslookup site6; wget -qO- http://[{fixed}]/; ping6 -c1 -W2 {gateway} >/dev/null && echo gw-ok"
        ),
    ]);
    assert_contains(&out, &format!("fd00:b7:{tag:x}::2/64"));
    assert_contains(&out, &format!("default via {gateway}"));
    assert_contains(&out, &fixed.to_string());
    assert_contains(&out, "hello");
    assert_contains(&out, "gw-ok");

    // The published port answers on the host's IPv6 address on the bridge as on IPv4.
    eventually("the published port over IPv6", || {
        net::http_get(addr6(gateway, port)).is_some_and(|r| r.contains("hello"))
    });

    // A way out: to a second host that has no route back to the subnet.
    let outside = Outside::new();
    let (_, far) = outside.with_ipv6();
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "v6net",
        "netbox",
        "sh",
        "-c",
        &format!("ping6 -c1 -W2 {far} >/dev/null && echo out-ok"),
    ]);
    assert_contains(&out, "out-ok");

    d.ok(&["rm", "-f", "site6"]);
    d.ok(&["network", "rm", "v6net"]);
}

#[test]
fn ipv6_subnets_are_picked_and_checked() {
    let d = engine();
    d.ok(&["network", "create", "--ipv6", "auto6"]);
    let subnets = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
        "auto6",
    ]);
    assert_contains(&subnets, "fdb3:27e1:9c");
    let v6 = subnets
        .split_whitespace()
        .find(|s| s.contains(':'))
        .unwrap()
        .to_string();

    // Refusals, each leaving no network behind.
    let r = d.run(&["network", "create", "--ipv6", "--subnet", &v6, "again6"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "overlaps");
    let r = d.run(&["network", "create", "--subnet", "fd00:b8::/64", "nov6"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "--ipv6");
    let r = d.run(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "fd00:b8::1/64",
        "hostbits",
    ]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "host bits");
    d.ok(&["network", "create", "plain4"]);
    let r = d.run(&[
        "run",
        "--rm",
        "--network",
        "plain4",
        "--ip6",
        "fd00:b9::5",
        "netbox",
        "true",
    ]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "--ipv6");
    let r = d.run(&[
        "run",
        "--rm",
        "--network",
        "auto6",
        "--ip6",
        "fd00:b9::5",
        "netbox",
        "true",
    ]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "fd00:b9::5");
    let names = d.ok(&["network", "ls", "--format", "{{.Name}}"]);
    for gone in ["again6", "nov6", "hostbits"] {
        assert!(!names.lines().any(|n| n == gone), "{names}");
    }
    d.ok(&["network", "rm", "auto6", "plain4"]);
}
