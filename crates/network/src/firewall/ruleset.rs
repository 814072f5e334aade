//! From a [`Ruleset`] to the chains and rules of Berth's table, as data: no kernel involved,
//! so the exact rules can be checked in unit tests and shown to people.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use nlink::netlink::nftables::{ChainName, CtStatus, Family, Rule, RuleSpec, Verdict};

use super::portmaps::{PortMap, Standing};
use super::{FirewallError, NetworkRules, PortRule, Proto, Result, Ruleset};

/// Interface names are at most 15 bytes (`IFNAMSIZ` less the NUL).
const IFNAME_MAX: usize = 15;

/// The chains of Berth's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainId {
    /// `type nat hook prerouting priority dstnat`: published ports, for traffic arriving.
    Prerouting,
    /// `type nat hook output priority dstnat`: published ports, for traffic the host sends.
    Output,
    /// `type nat hook postrouting priority srcnat`: masquerading.
    Postrouting,
    /// `type filter hook forward priority filter`, policy accept: internal networks, isolation
    /// between networks, inter-container communication.
    Forward,
    /// A regular chain `forward` jumps to for traffic leaving a Berth bridge for another
    /// interface: it drops what goes to another Berth bridge.
    Isolate,
}

impl ChainId {
    /// In the order they are created and listed.
    pub const ALL: [ChainId; 5] = [
        ChainId::Prerouting,
        ChainId::Output,
        ChainId::Postrouting,
        ChainId::Forward,
        ChainId::Isolate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChainId::Prerouting => "prerouting",
            ChainId::Output => "output",
            ChainId::Postrouting => "postrouting",
            ChainId::Forward => "forward",
            ChainId::Isolate => "isolate",
        }
    }

    /// The chain's header line as `nft list` shows it; `None` for a regular chain.
    pub fn declaration(self) -> Option<&'static str> {
        match self {
            ChainId::Prerouting => Some("type nat hook prerouting priority dstnat; policy accept;"),
            ChainId::Output => Some("type nat hook output priority dstnat; policy accept;"),
            ChainId::Postrouting => {
                Some("type nat hook postrouting priority srcnat; policy accept;")
            }
            ChainId::Forward => Some("type filter hook forward priority filter; policy accept;"),
            ChainId::Isolate => None,
        }
    }
}

/// One rule of the table: its chain, its body, and what in the ruleset it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDesc {
    pub chain: ChainId,
    pub spec: RuleSpec,
    /// What the rule is for (a published port, a network), for errors and logs.
    pub origin: String,
    /// How to show a rule nlink cannot print (the port-map lookups), in nft's syntax.
    pub shown: Option<String>,
}

impl RuleDesc {
    /// The rule as `nft list table` prints it.
    pub fn nft(&self) -> String {
        self.spec
            .nft_syntax(Family::Inet)
            .or_else(|| self.shown.clone())
            .unwrap_or_else(|| format!("{:?}", self.spec.items()))
    }
}

/// The published ports of `rules` as the table's maps hold them: none of an internal
/// network's.
pub fn port_maps(rules: &Ruleset) -> Result<Vec<PortMap>> {
    check(rules)?;
    Ok(maps_of(rules))
}

fn maps_of(rules: &Ruleset) -> Vec<PortMap> {
    let open = || rules.networks.iter().filter(|n| !n.internal);
    let standing = Standing {
        v4: open().next().is_some(),
        v6: open().any(|n| n.subnet6.is_some()),
    };
    super::portmaps::maps(&published(rules), standing)
}

fn published(rules: &Ruleset) -> Vec<&PortRule> {
    let internal: HashSet<&str> = rules
        .networks
        .iter()
        .filter(|n| n.internal)
        .map(|n| n.bridge.as_str())
        .collect();
    rules
        .ports
        .iter()
        .filter(|p| !internal.contains(p.bridge.as_str()))
        .collect()
}

/// The rules of Berth's table for `rules`, chain by chain in [`ChainId::ALL`] order and in
/// evaluation order within a chain. Fails on a ruleset that cannot be installed as meant: a bad
/// interface name, two networks on one bridge, a port on a bridge that is not a network, two
/// ports on the same host address and port.
pub fn plan(rules: &Ruleset) -> Result<Vec<RuleDesc>> {
    plan_with_maps(rules).map(|(planned, _)| planned)
}

/// [`plan`] and [`port_maps`] at once, the maps made once.
pub fn plan_with_maps(rules: &Ruleset) -> Result<(Vec<RuleDesc>, Vec<PortMap>)> {
    check(rules)?;
    let mut out = Vec::new();
    let maps = maps_of(rules);
    for chain in [ChainId::Prerouting, ChainId::Output] {
        for (origin, spec, shown) in super::portmaps::dnat_rules(&maps) {
            out.push(RuleDesc {
                chain,
                spec,
                origin,
                shown: Some(shown),
            });
        }
    }

    for net in &rules.networks {
        if net.internal {
            continue;
        }
        let origin = network_origin(net);
        let (subnet, prefix) = (net.subnet.network, net.subnet.prefix);
        let mut post = |spec: Rule| {
            out.push(RuleDesc {
                chain: ChainId::Postrouting,
                spec: spec.into_spec(),
                origin: origin.clone(),
                shown: None,
            })
        };
        if net.masquerade {
            post(
                rule()
                    .match_saddr_v4(subnet, prefix)
                    .match_oif_not(&net.bridge)
                    .masquerade(),
            );
        }
        // Published ports reached through 127.0.0.1 leave for the bridge with a loopback
        // source, which the container could not answer.
        post(
            rule()
                .match_oif(&net.bridge)
                .match_saddr_v4(Ipv4Addr::new(127, 0, 0, 0), 8)
                .masquerade(),
        );
        // Hairpin: a container reaching a published port of its own bridge through a host
        // address would be answered directly, from an address it did not talk to.
        post(
            rule()
                .match_oif(&net.bridge)
                .match_saddr_v4(subnet, prefix)
                .match_ct_status(CtStatus::DST_NAT)
                .masquerade(),
        );
        if let Some(subnet6) = net.subnet6 {
            let (subnet6, prefix6) = (subnet6.network, subnet6.prefix);
            if net.masquerade {
                post(
                    rule()
                        .match_saddr_v6(subnet6, prefix6)
                        .match_oif_not(&net.bridge)
                        .masquerade(),
                );
            }
            post(
                rule()
                    .match_oif(&net.bridge)
                    .match_saddr_v6(subnet6, prefix6)
                    .match_ct_status(CtStatus::DST_NAT)
                    .masquerade(),
            );
        }
    }

    forward(rules, &mut out)?;
    Ok((out, maps))
}

fn forward(rules: &Ruleset, out: &mut Vec<RuleDesc>) -> Result<()> {
    let mut push = |chain, spec: Rule, origin: String| {
        out.push(RuleDesc {
            chain,
            spec: spec.into_spec(),
            origin,
            shown: None,
        })
    };
    for net in rules.networks.iter().filter(|n| n.internal) {
        let (br, origin) = (&net.bridge, network_origin(net));
        push(
            ChainId::Forward,
            rule().match_iif(br).match_oif_not(br).drop(),
            origin.clone(),
        );
        push(
            ChainId::Forward,
            rule().match_iif_not(br).match_oif(br).drop(),
            origin,
        );
    }
    // A published port is open to everyone, other Berth networks and the container's own
    // neighbours included (as with docker's proxy): connections DNATed into a bridge skip the
    // isolation and icc drops below, in both directions.
    for net in rules.networks.iter().filter(|n| !n.internal) {
        push(
            ChainId::Forward,
            rule()
                .match_oif(&net.bridge)
                .match_ct_status(CtStatus::DST_NAT)
                .accept(),
            network_origin(net),
        );
    }
    // Internal networks are cut off from every other interface above already.
    let open: Vec<&NetworkRules> = rules.networks.iter().filter(|n| !n.internal).collect();
    if open.len() > 1 {
        let isolate =
            ChainName::new(ChainId::Isolate.name()).map_err(|source| FirewallError::Rule {
                origin: "network isolation".to_string(),
                source,
            })?;
        for net in &open {
            let br = &net.bridge;
            push(
                ChainId::Forward,
                rule()
                    .match_iif(br)
                    .match_oif_not(br)
                    .then(Verdict::JumpTo(isolate.clone())),
                network_origin(net),
            );
        }
        for net in &open {
            push(
                ChainId::Isolate,
                rule().match_oif(&net.bridge).drop(),
                network_origin(net),
            );
        }
    }
    for net in rules.networks.iter().filter(|n| !n.icc) {
        let br = &net.bridge;
        push(
            ChainId::Forward,
            rule().match_iif(br).match_oif(br).drop(),
            format!("{} (icc disabled)", network_origin(net)),
        );
    }
    Ok(())
}

/// A rule body builder; table and chain are given when the rule is sent. The table is of
/// family `inet`, so its filter rules hold for IPv4 and IPv6 alike.
fn rule() -> Rule {
    Rule::new("", "").family(Family::Inet)
}

fn host_ip(port: &PortRule) -> Option<Ipv4Addr> {
    port.host_ip.filter(|ip| !ip.is_unspecified())
}

fn network_origin(net: &NetworkRules) -> String {
    format!("network {} ({})", net.bridge, net.subnet)
}

fn check(rules: &Ruleset) -> Result<()> {
    let mut bridges = HashSet::new();
    for net in &rules.networks {
        check_ifname(&net.bridge, || network_origin(net))?;
        if !bridges.insert(net.bridge.as_str()) {
            return Err(FirewallError::DuplicateBridge(net.bridge.clone()));
        }
    }
    let mut bound: HashMap<(Proto, u16), Vec<&PortRule>> = HashMap::new();
    for port in &rules.ports {
        check_ifname(&port.bridge, || format!("published port {port}"))?;
        if !bridges.contains(port.bridge.as_str()) {
            return Err(FirewallError::UnknownBridge {
                port: port.to_string(),
                bridge: port.bridge.clone(),
            });
        }
        let same = bound.entry((port.proto, port.host_port)).or_default();
        let clash = same.iter().find(|other| {
            let (a, b) = (host_ip(port), host_ip(other));
            a.is_none() || b.is_none() || a == b
        });
        if let Some(other) = clash {
            return Err(FirewallError::PortConflict(
                port.to_string(),
                other.to_string(),
            ));
        }
        same.push(port);
    }
    Ok(())
}

fn check_ifname(name: &str, what: impl Fn() -> String) -> Result<()> {
    let why = if name.is_empty() {
        "empty"
    } else if name.len() > IFNAME_MAX {
        "longer than 15 bytes"
    } else if name.contains(['\0', '/', ' ']) || name == "." || name == ".." {
        "not a valid interface name"
    } else {
        return Ok(());
    };
    Err(FirewallError::BadInterface {
        name: name.to_string(),
        what: what(),
        why,
    })
}

/// The table as `nft list table inet <table>` shows it.
pub fn render(table: &str, rules: &Ruleset) -> Result<String> {
    let (planned, maps) = plan_with_maps(rules)?;
    let mut text = format!("table inet {table} {{\n");
    for map in maps {
        text.push_str(&format!(
            "\tmap {} {{\n\t\t{}\n",
            map.name,
            map.declaration()
        ));
        if !map.entries.is_empty() {
            text.push_str(&format!(
                "\t\telements = {{ {} }}\n",
                map.shown().join(", ")
            ));
        }
        text.push_str("\t}\n\n");
    }
    for (i, chain) in ChainId::ALL.into_iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("\tchain {} {{\n", chain.name()));
        if let Some(decl) = chain.declaration() {
            text.push_str(&format!("\t\t{decl}\n"));
        }
        for r in planned.iter().filter(|r| r.chain == chain) {
            text.push_str(&format!("\t\t{}\n", r.nft()));
        }
        text.push_str("\t}\n");
    }
    text.push_str("}\n");
    Ok(text)
}
