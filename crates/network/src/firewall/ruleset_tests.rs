//! The rules generated for rulesets, checked as nft text, without the kernel.

use std::net::Ipv4Addr;

use super::*;

fn net(bridge: &str, subnet: &str) -> NetworkRules {
    NetworkRules {
        bridge: bridge.to_string(),
        subnet: subnet.parse().expect("subnet"),
        subnet6: None,
        internal: false,
        masquerade: true,
        icc: true,
    }
}

fn port(proto: Proto, host_port: u16, to: &str, container_port: u16, bridge: &str) -> PortRule {
    PortRule {
        proto,
        host_ip: None,
        host_port,
        container_ip: to.parse().expect("ip"),
        container_ip6: None,
        container_port,
        bridge: bridge.to_string(),
    }
}

/// The rules of `chain`, as nft prints them.
fn chain(rules: &Ruleset, chain: ChainId) -> Vec<String> {
    plan(rules)
        .expect("plan")
        .iter()
        .filter(|r| r.chain == chain)
        .map(RuleDesc::nft)
        .collect()
}

fn sample() -> Ruleset {
    Ruleset {
        networks: vec![
            net("berth0", "172.17.0.0/16"),
            NetworkRules {
                icc: false,
                subnet6: Some("fd00:a::/64".parse().expect("subnet6")),
                ..net("br-a", "172.18.0.0/16")
            },
            NetworkRules {
                internal: true,
                ..net("br-int", "172.19.0.0/24")
            },
        ],
        ports: vec![
            port(Proto::Tcp, 8080, "172.17.0.2", 80, "berth0"),
            PortRule {
                host_ip: Some(Ipv4Addr::new(192, 168, 1, 5)),
                ..port(Proto::Udp, 53, "172.18.0.3", 5353, "br-a")
            },
            PortRule {
                container_ip6: Some("fd00:a::3".parse().expect("ip6")),
                ..port(Proto::Tcp, 8443, "172.18.0.3", 443, "br-a")
            },
            // Not installed: internal networks publish nothing.
            port(Proto::Tcp, 9999, "172.19.0.2", 80, "br-int"),
        ],
    }
}

#[test]
fn the_whole_table_for_a_sample_ruleset() {
    let want = r#"table inet berth {
	map ports4_on_addr {
		type ipv4_addr . inet_proto . inet_service : ipv4_addr
		elements = { 192.168.1.5 . udp . 53 : 172.18.0.3 }
	}

	map ports4_on_port {
		type ipv4_addr . inet_proto . inet_service : inet_service
		elements = { 192.168.1.5 . udp . 53 : 5353 }
	}

	map ports4_addr {
		type inet_proto . inet_service : ipv4_addr
		elements = { tcp . 8080 : 172.17.0.2, tcp . 8443 : 172.18.0.3 }
	}

	map ports4_port {
		type inet_proto . inet_service : inet_service
		elements = { tcp . 8080 : 80, tcp . 8443 : 443 }
	}

	map ports6 {
		type inet_proto . inet_service : ipv6_addr . inet_service
		elements = { tcp . 8443 : fd00:a::3 . 443 }
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @ports4_on_addr : ip daddr . meta l4proto . th dport map @ports4_on_port
		meta nfproto ipv4 fib daddr type local dnat ip to meta l4proto . th dport map @ports4_addr : meta l4proto . th dport map @ports4_port
		meta nfproto ipv6 fib daddr type local dnat ip6 to meta l4proto . th dport map @ports6
	}

	chain output {
		type nat hook output priority dstnat; policy accept;
		meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @ports4_on_addr : ip daddr . meta l4proto . th dport map @ports4_on_port
		meta nfproto ipv4 fib daddr type local dnat ip to meta l4proto . th dport map @ports4_addr : meta l4proto . th dport map @ports4_port
		meta nfproto ipv6 fib daddr type local dnat ip6 to meta l4proto . th dport map @ports6
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 172.17.0.0/16 oifname != "berth0" masquerade
		oifname "berth0" ip saddr 127.0.0.0/8 masquerade
		oifname "berth0" ip saddr 172.17.0.0/16 ct status dnat masquerade
		ip saddr 172.18.0.0/16 oifname != "br-a" masquerade
		oifname "br-a" ip saddr 127.0.0.0/8 masquerade
		oifname "br-a" ip saddr 172.18.0.0/16 ct status dnat masquerade
		ip6 saddr fd00:a::/64 oifname != "br-a" masquerade
		oifname "br-a" ip6 saddr fd00:a::/64 ct status dnat masquerade
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "br-int" oifname != "br-int" drop
		iifname != "br-int" oifname "br-int" drop
		oifname "berth0" ct status dnat accept
		oifname "br-a" ct status dnat accept
		iifname "berth0" oifname != "berth0" jump isolate
		iifname "br-a" oifname != "br-a" jump isolate
		iifname "br-a" oifname "br-a" drop
	}

	chain isolate {
		oifname "berth0" drop
		oifname "br-a" drop
	}
}
"#;
    let got = render("berth", &sample()).expect("render");
    assert_eq!(got, want, "\n{got}");
}

#[test]
fn an_empty_ruleset_has_no_rules() {
    assert!(plan(&Ruleset::default()).expect("plan").is_empty());
}

#[test]
fn port_maps_and_their_rules_stand_without_ports() {
    let v4 = Ruleset {
        networks: vec![net("berth0", "172.17.0.0/16")],
        ports: vec![],
    };
    let names = |rules: &Ruleset| -> Vec<&'static str> {
        port_maps(rules)
            .expect("maps")
            .iter()
            .map(|m| m.name)
            .collect()
    };
    assert_eq!(
        names(&v4),
        [
            "ports4_on_addr",
            "ports4_on_port",
            "ports4_addr",
            "ports4_port"
        ]
    );
    let with_port = Ruleset {
        ports: vec![port(Proto::Tcp, 80, "172.17.0.2", 8000, "berth0")],
        ..v4.clone()
    };
    // A port in or out changes map elements only, never a rule.
    assert_eq!(plan(&v4).expect("plan"), plan(&with_port).expect("plan"));
    let v6 = Ruleset {
        networks: vec![NetworkRules {
            subnet6: Some("fd00:b::/64".parse().expect("subnet6")),
            ..net("berth0", "172.17.0.0/16")
        }],
        ports: vec![],
    };
    assert_eq!(names(&v6).last(), Some(&"ports6"));
    // Internal networks publish nothing: no maps.
    let internal = Ruleset {
        networks: vec![NetworkRules {
            internal: true,
            ..net("br-int", "10.5.0.0/24")
        }],
        ports: vec![],
    };
    assert!(names(&internal).is_empty());
    assert!(render("t", &v4)
        .expect("render")
        .contains("\tmap ports4_addr {\n\t\ttype inet_proto . inet_service : ipv4_addr\n\t}\n"));
}

#[test]
fn unspecified_host_ip_means_every_local_address() {
    let mut rules = Ruleset {
        networks: vec![net("berth0", "172.17.0.0/16")],
        ports: vec![port(Proto::Tcp, 80, "172.17.0.2", 8000, "berth0")],
    };
    let shown = |rules: &Ruleset| -> Vec<(&'static str, Vec<String>)> {
        port_maps(rules)
            .expect("maps")
            .into_iter()
            .map(|m| (m.name, m.shown()))
            .collect()
    };
    let every = shown(&rules);
    rules.ports[0].host_ip = Some(Ipv4Addr::UNSPECIFIED);
    assert_eq!(shown(&rules), every);
    assert_eq!(
        every,
        [
            ("ports4_on_addr", vec![]),
            ("ports4_on_port", vec![]),
            ("ports4_addr", vec!["tcp . 80 : 172.17.0.2".to_string()]),
            ("ports4_port", vec!["tcp . 80 : 8000".to_string()]),
        ]
    );
}

#[test]
fn without_masquerade_only_loopback_and_hairpin_are_natted() {
    let rules = Ruleset {
        networks: vec![NetworkRules {
            masquerade: false,
            ..net("berth0", "10.1.0.0/24")
        }],
        ports: vec![],
    };
    assert_eq!(
        chain(&rules, ChainId::Postrouting),
        [
            r#"oifname "berth0" ip saddr 127.0.0.0/8 masquerade"#,
            r#"oifname "berth0" ip saddr 10.1.0.0/24 ct status dnat masquerade"#,
        ]
    );
}

#[test]
fn one_network_needs_no_isolation() {
    let rules = Ruleset {
        networks: vec![net("berth0", "10.1.0.0/24")],
        ports: vec![],
    };
    assert_eq!(
        chain(&rules, ChainId::Forward),
        [r#"oifname "berth0" ct status dnat accept"#]
    );
    assert!(chain(&rules, ChainId::Isolate).is_empty());
}

#[test]
fn an_internal_network_is_cut_off_and_never_masqueraded() {
    let rules = Ruleset {
        networks: vec![NetworkRules {
            internal: true,
            icc: false,
            ..net("br-int", "10.5.0.0/24")
        }],
        ports: vec![port(Proto::Udp, 53, "10.5.0.2", 53, "br-int")],
    };
    assert!(chain(&rules, ChainId::Prerouting).is_empty());
    assert!(chain(&rules, ChainId::Output).is_empty());
    assert!(chain(&rules, ChainId::Postrouting).is_empty());
    assert_eq!(
        chain(&rules, ChainId::Forward),
        [
            r#"iifname "br-int" oifname != "br-int" drop"#,
            r#"iifname != "br-int" oifname "br-int" drop"#,
            r#"iifname "br-int" oifname "br-int" drop"#,
        ]
    );
}

#[test]
fn every_rule_says_what_it_is_for() {
    let planned = plan(&sample()).expect("plan");
    let dnat = &planned[0];
    assert_eq!(dnat.chain, ChainId::Prerouting);
    assert_eq!(
        dnat.origin,
        "ports published on one address (maps ports4_on_*)"
    );
    assert!(planned
        .iter()
        .any(|r| r.origin == "network br-a (172.18.0.0/16) (icc disabled)"));
}

#[test]
fn two_hundred_ports_make_map_elements_not_rules() {
    let rules = Ruleset {
        networks: vec![net("berth0", "172.17.0.0/16")],
        ports: (0..200)
            .map(|i| port(Proto::Tcp, 20000 + i, "172.17.0.2", 80, "berth0"))
            .collect(),
    };
    // The two DNAT rules (one address, every address), whatever the number of ports.
    assert_eq!(chain(&rules, ChainId::Prerouting).len(), 2);
    assert_eq!(chain(&rules, ChainId::Output).len(), 2);
    let maps = port_maps(&rules).expect("maps");
    let sizes: Vec<(&str, usize)> = maps.iter().map(|m| (m.name, m.entries.len())).collect();
    assert_eq!(
        sizes,
        [
            ("ports4_on_addr", 0),
            ("ports4_on_port", 0),
            ("ports4_addr", 200),
            ("ports4_port", 200)
        ]
    );
    assert_eq!(maps[3].shown()[0], "tcp . 20000 : 80");
}

#[test]
fn bad_interface_names_are_refused() {
    for name in ["", "a-name-of-16-byt", "with space", "a/b"] {
        let rules = Ruleset {
            networks: vec![net(name, "10.0.0.0/24")],
            ports: vec![],
        };
        assert!(
            matches!(plan(&rules), Err(FirewallError::BadInterface { .. })),
            "{name:?}"
        );
    }
    let ok = Ruleset {
        networks: vec![net("a-name-of-15-by", "10.0.0.0/24")],
        ports: vec![],
    };
    assert!(plan(&ok).is_ok());
}

#[test]
fn a_bridge_listed_twice_is_refused() {
    let rules = Ruleset {
        networks: vec![net("berth0", "10.0.0.0/24"), net("berth0", "10.0.1.0/24")],
        ports: vec![],
    };
    assert!(matches!(
        plan(&rules),
        Err(FirewallError::DuplicateBridge(b)) if b == "berth0"
    ));
}

#[test]
fn a_port_on_an_unknown_bridge_is_refused() {
    let rules = Ruleset {
        networks: vec![net("berth0", "10.0.0.0/24")],
        ports: vec![port(Proto::Tcp, 80, "10.0.0.2", 80, "berth1")],
    };
    let err = plan(&rules).expect_err("unknown bridge");
    assert!(matches!(err, FirewallError::UnknownBridge { .. }));
    assert_eq!(
        err.to_string(),
        "published port tcp/0.0.0.0:80 -> 10.0.0.2:80 on berth1 names bridge berth1, \
         which is not one of the networks"
    );
}

#[test]
fn ports_bound_twice_are_refused() {
    let specific = |ip: [u8; 4]| PortRule {
        host_ip: Some(Ipv4Addr::from(ip)),
        ..port(Proto::Tcp, 80, "10.0.0.2", 80, "berth0")
    };
    let with = |ports: Vec<PortRule>| Ruleset {
        networks: vec![net("berth0", "10.0.0.0/24")],
        ports,
    };
    let any = port(Proto::Tcp, 80, "10.0.0.3", 80, "berth0");
    let clashes = [
        vec![any.clone(), any.clone()],
        vec![specific([192, 168, 0, 1]), any.clone()],
        vec![any.clone(), specific([192, 168, 0, 1])],
        vec![specific([192, 168, 0, 1]), specific([192, 168, 0, 1])],
        vec![specific([0, 0, 0, 0]), any.clone()],
    ];
    for ports in clashes {
        assert!(
            matches!(
                plan(&with(ports.clone())),
                Err(FirewallError::PortConflict(..))
            ),
            "{ports:?}"
        );
    }
    let fine = [
        vec![specific([192, 168, 0, 1]), specific([192, 168, 0, 2])],
        vec![
            any.clone(),
            PortRule {
                proto: Proto::Udp,
                ..any.clone()
            },
        ],
        vec![
            any.clone(),
            PortRule {
                host_port: 81,
                ..any
            },
        ],
    ];
    for ports in fine {
        assert!(plan(&with(ports.clone())).is_ok(), "{ports:?}");
    }
}
