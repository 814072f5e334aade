//! Published ports as nftables maps rather than rules: three DNAT rules per chain look the
//! packet's protocol and port up in maps whose elements are the published ports. A port is an
//! element of a few dozen bytes, not a rule of a few hundred, so publishing 200 ports sends
//! and commits a fraction of what 400 rules took, and the rules stay three whatever the
//! number of ports.
//!
//! The maps (IPv4 takes two lookups because nlink's `dnat` reads the address from `R0` and
//! the port from `R1`, and a map's value lands in one register run):
//!
//! | map | key | value |
//! |---|---|---|
//! | `ports4_addr`, `ports4_port` | `inet_proto . inet_service` | `ipv4_addr`, `inet_service` |
//! | `ports4_on_addr`, `ports4_on_port` | `ipv4_addr . inet_proto . inet_service` | the same |
//! | `ports6` | `inet_proto . inet_service` | `ipv6_addr . inet_service` |
//!
//! `*_on_*` hold ports published on one host address; the others, ports published on every
//! address (`fib daddr type local`). The maps stand, empty if need be, while a network can
//! publish ([`Standing`]), so ports coming and going change elements, never rules.

use std::net::{Ipv4Addr, Ipv6Addr};

use nlink::netlink::nftables::{
    Expr, Family, FibFlags, Field, LookupExpr, Match, MetaKey, NatExpr, PayloadBase, Register,
    Rule, RuleSpec, SetDataType, SetElement, SetKeyType, Value,
};
use nlink::netlink::types::route::RouteType;

use super::{PortRule, Proto};

/// The lookup key of ports published on every address, as nft writes it.
const KEY: &str = "meta l4proto . th dport";
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const NFPROTO_IPV4: u64 = 2;
const NFPROTO_IPV6: u64 = 10;

/// One map of the table: its name, types and entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMap {
    pub name: &'static str,
    pub key: SetKeyType,
    pub value: SetKeyType,
    pub entries: Vec<MapEntry>,
}

/// One element of a port map, as data: cheap to compare, so a change of the table can be
/// told element by element without building a message for the ones that stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapEntry {
    /// The host address of a port published on one address; `None` for every address.
    pub on: Option<Ipv4Addr>,
    pub proto: Proto,
    pub host_port: u16,
    pub value: MapValue,
}

/// What a port map maps a published port to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapValue {
    Addr(Ipv4Addr),
    Port(u16),
    Addr6Port(Ipv6Addr, u16),
}

impl MapEntry {
    /// The element as the kernel takes it.
    pub fn element(&self) -> SetElement {
        let proto = SetElement::inet_proto(ipproto(self.proto));
        let dport = SetElement::port(self.host_port);
        let key = match self.on {
            Some(ip) => SetElement::concat([SetElement::ipv4(ip), proto, dport]),
            None => SetElement::concat([proto, dport]),
        };
        key.value(match self.value {
            MapValue::Addr(ip) => SetElement::ipv4(ip),
            MapValue::Port(port) => SetElement::port(port),
            MapValue::Addr6Port(ip, port) => {
                SetElement::concat([SetElement::ipv6(ip), SetElement::port(port)])
            }
        })
    }

    /// The element as nft writes it (`tcp . 8080 : 172.17.0.2`), for people and tests.
    pub fn shown(&self) -> String {
        let key = match self.on {
            Some(ip) => format!("{ip} . {} . {}", self.proto, self.host_port),
            None => format!("{} . {}", self.proto, self.host_port),
        };
        match self.value {
            MapValue::Addr(ip) => format!("{key} : {ip}"),
            MapValue::Port(port) => format!("{key} : {port}"),
            MapValue::Addr6Port(ip, port) => format!("{key} : {ip} . {port}"),
        }
    }
}

/// Which maps a table has whatever its ports: those of IPv4 once there is a network ports
/// can be published on, `ports6` once one of them has IPv6. Maps that stay when their last
/// port goes keep the rules that read them unchanged, so a container's start or removal
/// changes elements only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standing {
    pub v4: bool,
    pub v6: bool,
}

/// The maps for `ports`: those `standing` names, and any other with elements.
pub fn maps(ports: &[&PortRule], standing: Standing) -> Vec<PortMap> {
    let proto_port = || SetKeyType::Concat(vec![SetKeyType::InetProto, SetKeyType::InetService]);
    let addr_proto_port = || {
        SetKeyType::Concat(vec![
            SetKeyType::Ipv4Addr,
            SetKeyType::InetProto,
            SetKeyType::InetService,
        ])
    };
    let mut on_addr = Vec::new();
    let mut on_port = Vec::new();
    let mut every_addr = Vec::new();
    let mut every_port = Vec::new();
    let mut six = Vec::new();
    for p in ports {
        let entry = |on, value| MapEntry {
            on,
            proto: p.proto,
            host_port: p.host_port,
            value,
        };
        match host_ip(p) {
            Some(ip) => {
                on_addr.push(entry(Some(ip), MapValue::Addr(p.container_ip)));
                on_port.push(entry(Some(ip), MapValue::Port(p.container_port)));
            }
            None => {
                every_addr.push(entry(None, MapValue::Addr(p.container_ip)));
                every_port.push(entry(None, MapValue::Port(p.container_port)));
                if let Some(ip6) = p.container_ip6 {
                    six.push(entry(None, MapValue::Addr6Port(ip6, p.container_port)));
                }
            }
        }
    }
    let map = |name, key, value, entries: Vec<MapEntry>, stands: bool| {
        (stands || !entries.is_empty()).then_some(PortMap {
            name,
            key,
            value,
            entries,
        })
    };
    let v4 = standing.v4;
    [
        map(
            "ports4_on_addr",
            addr_proto_port(),
            SetKeyType::Ipv4Addr,
            on_addr,
            v4,
        ),
        map(
            "ports4_on_port",
            addr_proto_port(),
            SetKeyType::InetService,
            on_port,
            v4,
        ),
        map(
            "ports4_addr",
            proto_port(),
            SetKeyType::Ipv4Addr,
            every_addr,
            v4,
        ),
        map(
            "ports4_port",
            proto_port(),
            SetKeyType::InetService,
            every_port,
            v4,
        ),
        map(
            "ports6",
            proto_port(),
            SetKeyType::Concat(vec![SetKeyType::Ipv6Addr, SetKeyType::InetService]),
            six,
            standing.v6,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl PortMap {
    /// The map's declaration as `nft list` writes it.
    pub fn declaration(&self) -> String {
        format!("type {} : {}", type_name(&self.key), type_name(&self.value))
    }

    /// The map as nlink creates it in `table`.
    pub fn set(&self, table: &str) -> nlink::netlink::nftables::Set {
        nlink::netlink::nftables::Set::new(table, self.name)
            .family(Family::Inet)
            .key_type(self.key.clone())
            .map(SetDataType::Value(self.value.clone()))
    }

    /// Its elements as the kernel takes them.
    pub fn elements(&self) -> Vec<SetElement> {
        self.entries.iter().map(MapEntry::element).collect()
    }

    /// Its elements as nft writes them.
    pub fn shown(&self) -> Vec<String> {
        self.entries.iter().map(MapEntry::shown).collect()
    }

    /// The same map, by name and types.
    pub fn same_map(&self, other: &PortMap) -> bool {
        self.name == other.name && self.key == other.key && self.value == other.value
    }
}

/// The DNAT rules that look packets up in `maps`, for the prerouting and output chains.
/// Each with what it is for and how nft would write it.
pub fn dnat_rules(maps: &[PortMap]) -> Vec<(String, RuleSpec, String)> {
    let has = |name: &str| maps.iter().any(|m| m.name == name);
    let mut out = Vec::new();
    if has("ports4_on_addr") {
        // ip daddr . meta l4proto . th dport, from word 8 on (R2), clear of R0 and R1.
        let rule = rule()
            .then(Match::eq(Field::NfProto, Value::Int(NFPROTO_IPV4)))
            .expr(Expr::Payload {
                dreg: Register::Reg32_08,
                base: PayloadBase::Network,
                offset: 16,
                len: 4,
            })
            .expr(Expr::Meta {
                dreg: Register::Reg32_09,
                key: MetaKey::L4Proto,
            })
            .expr(dport(Register::Reg32_10));
        let key = "ip daddr . meta l4proto . th dport";
        out.push((
            "ports published on one address (maps ports4_on_*)".to_string(),
            dnat4(rule, "ports4_on_addr", "ports4_on_port"),
            format!(
                "meta nfproto ipv4 dnat ip to {key} map @ports4_on_addr : {key} map @ports4_on_port"
            ),
        ));
    }
    if has("ports4_addr") {
        let rule = local(NFPROTO_IPV4)
            .expr(Expr::Meta {
                dreg: Register::Reg32_08,
                key: MetaKey::L4Proto,
            })
            .expr(dport(Register::Reg32_09));
        out.push((
            "ports published on every address (maps ports4_*)".to_string(),
            dnat4(rule, "ports4_addr", "ports4_port"),
            format!(
                "meta nfproto ipv4 fib daddr type local dnat ip to {KEY} map @ports4_addr : {KEY} map @ports4_port"
            ),
        ));
    }
    if has("ports6") {
        let rule = local(NFPROTO_IPV6)
            .expr(Expr::Meta {
                dreg: Register::Reg32_08,
                key: MetaKey::L4Proto,
            })
            .expr(dport(Register::Reg32_09))
            // Address in R0, port right after it: the first word of R1.
            .expr(LookupExpr::new("ports6", Register::Reg32_08).dreg(Register::R0))
            .expr(Expr::Nat(
                NatExpr::dnat(Family::Ip6)
                    .addr(std::net::Ipv4Addr::UNSPECIFIED)
                    .port(0),
            ));
        out.push((
            "ports published on every address over IPv6 (map ports6)".to_string(),
            rule.into_spec(),
            format!("meta nfproto ipv6 fib daddr type local dnat ip6 to {KEY} map @ports6"),
        ));
    }
    out
}

/// `meta nfproto <family> fib daddr type local`.
fn local(nfproto: u64) -> Rule {
    rule()
        .then(Match::eq(Field::NfProto, Value::Int(nfproto)))
        .match_fib_type(FibFlags::DADDR, RouteType::Local)
}

/// The key in the registers from `Reg32_08`: address in `R0`, port in `R1`, then DNAT to
/// both (the address and port values given to nlink only say which registers are used).
fn dnat4(rule: Rule, addr_map: &str, port_map: &str) -> RuleSpec {
    rule.expr(LookupExpr::new(addr_map, Register::Reg32_08).dreg(Register::R0))
        .expr(LookupExpr::new(port_map, Register::Reg32_08).dreg(Register::R1))
        .expr(Expr::Nat(
            NatExpr::dnat(Family::Ip)
                .addr(std::net::Ipv4Addr::UNSPECIFIED)
                .port(0),
        ))
        .into_spec()
}

/// `th dport`: the transport header's destination port (TCP and UDP alike).
fn dport(dreg: Register) -> Expr {
    Expr::Payload {
        dreg,
        base: PayloadBase::Transport,
        offset: 2,
        len: 2,
    }
}

fn type_name(t: &SetKeyType) -> String {
    match t {
        SetKeyType::Ipv4Addr => "ipv4_addr".into(),
        SetKeyType::Ipv6Addr => "ipv6_addr".into(),
        SetKeyType::InetProto => "inet_proto".into(),
        SetKeyType::InetService => "inet_service".into(),
        SetKeyType::Concat(parts) => parts.iter().map(type_name).collect::<Vec<_>>().join(" . "),
        other => format!("{other:?}"),
    }
}

fn rule() -> Rule {
    Rule::new("", "").family(Family::Inet)
}

fn ipproto(proto: Proto) -> u8 {
    match proto {
        Proto::Tcp => IPPROTO_TCP,
        Proto::Udp => IPPROTO_UDP,
    }
}

fn host_ip(port: &PortRule) -> Option<Ipv4Addr> {
    port.host_ip.filter(|ip| !ip.is_unspecified())
}
