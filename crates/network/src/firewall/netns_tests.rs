//! The firewall against the kernel, as root, each test in a network namespace of its own
//! (a thread that unshared its namespace and runs a current-thread runtime there), so the
//! host's own rules are never touched and tests can run side by side.

use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Instant;

use nlink::netlink::nftables::{
    BaseChain, Chain, ChainType, Family, FilterHook, Policy, Priority, Rule,
};
use nlink::netlink::{Connection, Route};

use super::*;

/// Runs `test` in a fresh network namespace with `lo` up; skipped (with a note) if not root.
pub(super) fn in_netns<F, Fut>(test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root for a network namespace");
        return;
    }
    let thread = std::thread::spawn(move || {
        // SAFETY: only the network namespace is unshared, and only for this thread, which
        // shares no file descriptor table or filesystem state differently than before.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
            .expect("unshare(CLONE_NEWNET)");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let route = Connection::<Route>::new().expect("route socket");
            route.set_link_up("lo").await.expect("lo up");
            test().await;
        });
    });
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

pub(super) fn net(bridge: &str, subnet: &str) -> NetworkRules {
    NetworkRules {
        bridge: bridge.to_string(),
        subnet: subnet.parse().expect("subnet"),
        subnet6: None,
        internal: false,
        masquerade: true,
        icc: true,
    }
}

pub(super) fn port(proto: Proto, host_port: u16, to: (Ipv4Addr, u16), bridge: &str) -> PortRule {
    PortRule {
        proto,
        host_ip: None,
        host_port,
        container_ip: to.0,
        container_ip6: None,
        container_port: to.1,
        bridge: bridge.to_string(),
    }
}

fn sample() -> Ruleset {
    Ruleset {
        networks: vec![
            net("berth0", "172.17.0.0/16"),
            NetworkRules {
                icc: false,
                ..net("br-a", "172.18.0.0/16")
            },
            NetworkRules {
                internal: true,
                ..net("br-int", "172.19.0.0/24")
            },
        ],
        ports: vec![
            port(
                Proto::Tcp,
                8080,
                (Ipv4Addr::new(172, 17, 0, 2), 80),
                "berth0",
            ),
            PortRule {
                host_ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
                ..port(Proto::Udp, 5353, (Ipv4Addr::new(172, 18, 0, 5), 53), "br-a")
            },
        ],
    }
}

/// The table's rules, as (chain, rule) in kernel order.
async fn installed(fw: &Firewall) -> Vec<(String, String)> {
    fw.installed()
        .await
        .expect("read back")
        .into_iter()
        .map(|r| (r.chain, r.nft.unwrap_or_else(|| "<unprintable>".into())))
        .collect()
}

fn planned(rules: &Ruleset) -> Vec<(String, String)> {
    let planned = plan(rules).expect("plan");
    // The kernel lists rules chain by chain, in the order the chains were made.
    ChainId::ALL
        .into_iter()
        .flat_map(|c| {
            planned.iter().filter(move |r| r.chain == c).map(move |r| {
                // The port-map rules read back as nlink cannot print them.
                let text = r.spec.nft_syntax(nlink::netlink::nftables::Family::Inet);
                (
                    c.name().to_string(),
                    text.unwrap_or_else(|| "<unprintable>".into()),
                )
            })
        })
        .collect()
}

#[test]
fn apply_installs_the_planned_chains_and_rules() {
    in_netns(|| async {
        let fw = Firewall::new("berth-t1").expect("firewall");
        assert!(!fw.exists().await.expect("exists"));
        fw.apply(&sample()).await.expect("apply");
        assert!(fw.exists().await.expect("exists"));
        assert_eq!(installed(&fw).await, planned(&sample()));

        let chains = fw
            .connection()
            .list_chains_in("berth-t1", Family::Inet)
            .await
            .expect("chains");
        let mut seen: Vec<_> = chains
            .iter()
            .map(|c| (c.name.as_str(), c.chain_type, c.hook, c.priority, c.policy))
            .collect();
        seen.sort_by_key(|c| c.0);
        let nat = Some(ChainType::Nat);
        let mut want = vec![
            (
                "forward",
                Some(ChainType::Filter),
                Some(2),
                Some(0),
                Some(1),
            ),
            ("isolate", None, None, None, None),
            ("output", nat, Some(3), Some(-100), Some(1)),
            ("postrouting", nat, Some(4), Some(100), Some(1)),
            ("prerouting", nat, Some(0), Some(-100), Some(1)),
        ];
        want.sort_by_key(|c| c.0);
        assert_eq!(seen, want);
    });
}

#[test]
fn reapply_replaces_the_whole_table() {
    in_netns(|| async {
        let fw = Firewall::new("berth-t2").expect("firewall");
        fw.apply(&sample()).await.expect("first apply");
        let second = Ruleset {
            networks: vec![net("berth9", "10.9.0.0/24")],
            ports: vec![port(
                Proto::Tcp,
                9090,
                (Ipv4Addr::new(10, 9, 0, 7), 9000),
                "berth9",
            )],
        };
        fw.apply(&second).await.expect("second apply");
        let now = installed(&fw).await;
        assert_eq!(now, planned(&second));
        assert!(
            !now.iter()
                .any(|(_, r)| r.contains("berth0") || r.contains("8080")),
            "old rules left: {now:#?}"
        );

        // Applying the same ruleset again is harmless, and an empty one leaves bare chains.
        fw.apply(&second).await.expect("same again");
        assert_eq!(installed(&fw).await, planned(&second));
        fw.apply(&Ruleset::default()).await.expect("empty");
        assert!(installed(&fw).await.is_empty());
        assert!(fw.exists().await.expect("exists"));
    });
}

#[test]
fn remove_deletes_the_table_and_is_idempotent() {
    in_netns(|| async {
        let fw = Firewall::new("berth-t3").expect("firewall");
        fw.remove().await.expect("remove when absent");
        fw.apply(&sample()).await.expect("apply");
        fw.remove().await.expect("remove");
        assert!(!fw.exists().await.expect("exists"));
        assert!(installed(&fw).await.is_empty());
        fw.remove().await.expect("remove again");
    });
}

#[test]
fn tables_of_different_names_coexist_and_others_are_untouched() {
    in_netns(|| async {
        // Somebody else's table, with a rule of its own.
        let conn = nlink::netlink::Connection::<nlink::netlink::Nftables>::new().expect("nft");
        conn.add_table("other", Family::Inet).await.expect("table");
        conn.add_chain(
            Chain::new("other", "input")
                .expect("chain")
                .family(Family::Inet)
                .base(
                    BaseChain::filter(FilterHook::Input, Priority::Filter).policy(Policy::Accept),
                ),
        )
        .await
        .expect("chain");
        conn.add_rule(
            Rule::new("other", "input")
                .family(Family::Inet)
                .match_tcp_dport(22)
                .accept(),
        )
        .await
        .expect("rule");

        let a = Firewall::new("berth-a").expect("a");
        let b = Firewall::new("berth-b").expect("b");
        let second = Ruleset {
            networks: vec![net("berth1", "10.1.0.0/24")],
            ports: vec![],
        };
        a.apply(&sample()).await.expect("apply a");
        b.apply(&second).await.expect("apply b");
        a.apply(&sample()).await.expect("re-apply a");
        assert_eq!(installed(&a).await, planned(&sample()));
        assert_eq!(installed(&b).await, planned(&second));

        a.remove().await.expect("remove a");
        assert!(!a.exists().await.expect("a exists"));
        assert_eq!(installed(&b).await, planned(&second));
        let other = conn.list_rules("other", Family::Inet).await.expect("other");
        assert_eq!(other.len(), 1, "foreign rules changed");
        assert!(conn
            .list_tables()
            .await
            .expect("tables")
            .iter()
            .any(|t| t.name == "other"));
        b.remove().await.expect("remove b");
    });
}

#[test]
fn namespace_bound_connection() {
    in_netns(|| async {
        let conn = nlink::netlink::Connection::<nlink::netlink::Nftables>::new().expect("nft");
        let fw = Firewall::with_connection("berth-t5", conn).expect("firewall");
        fw.apply(&sample()).await.expect("apply");
        // The same namespace reached by path, as the daemon would for a container's.
        let path = format!(
            "/proc/self/task/{}/ns/net",
            rustix::thread::gettid().as_raw_nonzero()
        );
        let by_path = Firewall::in_namespace("berth-t5", path).expect("by path");
        assert!(by_path.exists().await.expect("exists"));
        fw.remove().await.expect("remove");
    });
}

#[test]
fn an_older_engines_ip_table_goes_with_the_first_apply() {
    in_netns(|| async {
        let conn = nlink::netlink::Connection::<nlink::netlink::Nftables>::new().expect("nft");
        conn.add_table("berth-old", Family::Ip)
            .await
            .expect("ip table");
        let fw = Firewall::new("berth-old").expect("firewall");
        fw.apply(&sample()).await.expect("apply");
        let ip = conn.list_tables_in(Family::Ip).await.expect("list");
        assert!(!ip.iter().any(|t| t.name == "berth-old"), "{ip:?}");
        assert!(fw.exists().await.expect("exists"));
        // Later applies leave other families alone.
        fw.apply(&sample()).await.expect("apply again");
        fw.remove().await.expect("remove");
    });
}

#[test]
fn bad_table_names_are_refused() {
    in_netns(|| async {
        assert!(matches!(
            Firewall::new(""),
            Err(FirewallError::BadTable { .. })
        ));
    });
}

/// 1,000 published ports fit in one batch; prints how long they take to apply.
#[test]
fn apply_1000_published_ports() {
    in_netns(|| async {
        let fw = Firewall::new("berth-bench").expect("firewall");
        let rules = Ruleset {
            networks: vec![net("berth0", "172.17.0.0/16")],
            ports: (0..1000u16)
                .map(|i| {
                    let ip = Ipv4Addr::new(172, 17, (i / 250) as u8, (i % 250 + 2) as u8);
                    let proto = if i % 2 == 0 { Proto::Tcp } else { Proto::Udp };
                    port(proto, 20000 + i, (ip, 80), "berth0")
                })
                .collect(),
        };
        let started = Instant::now();
        fw.apply(&rules).await.expect("first apply");
        let first = started.elapsed();
        let started = Instant::now();
        fw.apply(&rules).await.expect("second apply");
        let second = started.elapsed();
        let count = fw.installed().await.expect("read back").len();
        assert_eq!(count, plan(&rules).expect("plan").len());
        eprintln!(
            "firewall: 1000 published ports ({count} rules): first apply {first:?}, \
             replacing apply {second:?}"
        );
        fw.remove().await.expect("remove");
    });
}

#[test]
fn a_refused_apply_names_the_operation_and_changes_nothing() {
    in_netns(|| async {
        // A table of that name owned by another socket: the kernel refuses anyone else's
        // changes to it, starting with the first message of the batch.
        let owner = nlink::netlink::Connection::<nlink::netlink::Nftables>::new().expect("nft");
        owner
            .add_table_with_flags(
                "berth-owned",
                Family::Inet,
                nlink::netlink::nftables::NFT_TABLE_F_OWNER,
            )
            .await
            .expect("owned table");
        let fw = Firewall::new("berth-owned").expect("firewall");
        let err = fw.apply(&sample()).await.expect_err("not ours to change");
        let FirewallError::Apply { table, failed, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(table, "berth-owned");
        assert_eq!(
            failed.as_deref(),
            Some("create table inet berth-owned"),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("applying nftables table inet berth-owned failed at create table"),
            "{err}"
        );
        assert!(installed(&fw).await.is_empty());
    });
}

/// Each map's elements as the kernel holds them, as `key value` text, sorted.
async fn kernel_elements(fw: &Firewall, rules: &Ruleset) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for map in port_maps(rules).expect("maps") {
        let mut got: Vec<String> = fw
            .connection()
            .list_set_elements(fw.table(), map.name, Family::Inet)
            .await
            .expect("elements")
            .iter()
            .map(|e| format!("{:?} {:?}", e.key(), e.data()))
            .collect();
        got.sort();
        out.push((map.name, got));
    }
    out
}

/// What `rules` should put in each map, in the form of [`kernel_elements`].
fn wanted_elements(rules: &Ruleset) -> Vec<(&'static str, Vec<String>)> {
    port_maps(rules)
        .expect("maps")
        .iter()
        .map(|map| {
            let mut want: Vec<String> = map
                .elements()
                .iter()
                .map(|e| format!("{:?} {:?}", e.key(), e.data()))
                .collect();
            want.sort();
            (map.name, want)
        })
        .collect()
}

/// The kernel's handle of the table: a table made again gets another.
async fn table_handle(fw: &Firewall) -> u64 {
    fw.connection()
        .list_tables_in(Family::Inet)
        .await
        .expect("tables")
        .iter()
        .find(|t| t.name == fw.table())
        .expect("the table")
        .handle
}

#[test]
fn changed_ports_change_map_elements_only() {
    in_netns(|| async {
        let fw = Firewall::new("berth-t7").expect("firewall");
        let to = |i: u16| (Ipv4Addr::new(172, 17, 0, 2), 10000 + i);
        let ruleset = |ports: std::ops::Range<u16>| Ruleset {
            networks: vec![net("berth0", "172.17.0.0/16")],
            ports: ports
                .map(|i| port(Proto::Tcp, 30000 + i, to(i), "berth0"))
                .collect(),
        };
        fw.apply(&ruleset(0..0)).await.expect("no ports");
        let table = table_handle(&fw).await;

        // Ports in, some out, one moved to another container port, one published on one
        // address: the elements follow, in the table made first.
        let first = ruleset(0..200);
        fw.apply(&first).await.expect("200 ports");
        assert_eq!(kernel_elements(&fw, &first).await, wanted_elements(&first));
        let mut second = ruleset(100..300);
        second.ports[0].container_port = 7;
        second.ports[1].host_ip = Some(Ipv4Addr::new(127, 0, 0, 1));
        fw.apply(&second).await.expect("ports changed");
        assert_eq!(
            kernel_elements(&fw, &second).await,
            wanted_elements(&second)
        );
        assert_eq!(table_handle(&fw).await, table);
        assert_eq!(installed(&fw).await, planned(&second));

        // A few ports out: elements again.
        let third = ruleset(110..300);
        fw.apply(&third).await.expect("ten ports out");
        assert_eq!(kernel_elements(&fw, &third).await, wanted_elements(&third));
        assert_eq!(table_handle(&fw).await, table);

        // All of them out: making the (nearly empty) table again costs less than deleting
        // hundreds of elements, and leaves empty maps and the same rules.
        fw.apply(&ruleset(0..0)).await.expect("no ports again");
        assert!(kernel_elements(&fw, &first)
            .await
            .iter()
            .all(|(_, elements)| elements.is_empty()));
        assert_ne!(table_handle(&fw).await, table);
        assert_eq!(installed(&fw).await, planned(&ruleset(0..0)));
        let table = table_handle(&fw).await;

        // A change of networks makes the table again.
        let mut other = ruleset(0..1);
        other.networks.push(net("berth1", "172.18.0.0/16"));
        fw.apply(&other).await.expect("another network");
        assert_ne!(table_handle(&fw).await, table);
        assert_eq!(installed(&fw).await, planned(&other));
        fw.remove().await.expect("remove");
    });
}

#[test]
fn a_table_changed_behind_the_engines_back_is_made_again() {
    in_netns(|| async {
        let fw = Firewall::new("berth-t8").expect("firewall");
        let rules = |n: u16| Ruleset {
            networks: vec![net("berth0", "172.17.0.0/16")],
            ports: (0..n)
                .map(|i| {
                    port(
                        Proto::Udp,
                        40000 + i,
                        (Ipv4Addr::new(172, 17, 0, 9), 53),
                        "berth0",
                    )
                })
                .collect(),
        };
        fw.apply(&rules(3)).await.expect("apply");
        let table = table_handle(&fw).await;

        // Deleted whole: the next change of ports finds no map and makes the table again.
        fw.connection()
            .del_table("berth-t8", Family::Inet)
            .await
            .expect("delete behind its back");
        fw.apply(&rules(5)).await.expect("apply after the delete");
        assert_ne!(table_handle(&fw).await, table);
        let table = table_handle(&fw).await;
        assert_eq!(installed(&fw).await, planned(&rules(5)));
        assert_eq!(
            kernel_elements(&fw, &rules(5)).await,
            wanted_elements(&rules(5))
        );

        // An element deleted: removing it again is refused, and the table is made again.
        let map = port_maps(&rules(5)).expect("maps").remove(2);
        let gone = map.entries[4].element();
        fw.connection()
            .del_set_elements(&map.set("berth-t8"), &[gone])
            .await
            .expect("delete an element behind its back");
        fw.apply(&rules(4))
            .await
            .expect("apply after the element went");
        assert_ne!(table_handle(&fw).await, table);
        assert_eq!(
            kernel_elements(&fw, &rules(4)).await,
            wanted_elements(&rules(4))
        );
        fw.remove().await.expect("remove");
    });
}

/// The daemon shares one `Firewall` between tasks: it and its futures must be `Send`. Checked
/// by compiling; nothing is run.
#[test]
fn firewall_can_be_shared_between_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: T) {}
    fn futures(fw: &Firewall, rules: &Ruleset) {
        send(fw.apply(rules));
        send(fw.remove());
        send(fw.exists());
        send(fw.installed());
    }
    send_sync::<Firewall>();
    let _ = futures as fn(&Firewall, &Ruleset);
}
