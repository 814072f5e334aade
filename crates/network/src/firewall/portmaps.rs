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
//! address (`fib daddr type local`).

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

/// One map of the table: its name, types and elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMap {
    pub name: &'static str,
    pub key: SetKeyType,
    pub value: SetKeyType,
    pub elements: Vec<SetElement>,
    /// The elements as nft writes them (`tcp . 8080 : 172.17.0.2`), for people and tests.
    pub shown: Vec<String>,
}

/// The maps for `ports` (only those with elements).
pub fn maps(ports: &[&PortRule]) -> Vec<PortMap> {
    let proto_port = || SetKeyType::Concat(vec![SetKeyType::InetProto, SetKeyType::InetService]);
    let addr_proto_port = || {
        SetKeyType::Concat(vec![
            SetKeyType::Ipv4Addr,
            SetKeyType::InetProto,
            SetKeyType::InetService,
        ])
    };
    let mut every_addr = Entries::default();
    let mut every_port = Entries::default();
    let mut on_addr = Entries::default();
    let mut on_port = Entries::default();
    let mut six = Entries::default();
    for p in ports {
        let proto = SetElement::inet_proto(ipproto(p.proto));
        let dport = SetElement::port(p.host_port);
        let to_addr = SetElement::ipv4(p.container_ip);
        let to_port = SetElement::port(p.container_port);
        let (proto_name, hport, cport) = (p.proto, p.host_port, p.container_port);
        match host_ip(p) {
            Some(ip) => {
                let key =
                    || SetElement::concat([SetElement::ipv4(ip), proto.clone(), dport.clone()]);
                let shown = format!("{ip} . {proto_name} . {hport}");
                on_addr.push(
                    key().value(to_addr),
                    format!("{shown} : {}", p.container_ip),
                );
                on_port.push(key().value(to_port), format!("{shown} : {cport}"));
            }
            None => {
                let key = || SetElement::concat([proto.clone(), dport.clone()]);
                let shown = format!("{proto_name} . {hport}");
                every_addr.push(
                    key().value(to_addr),
                    format!("{shown} : {}", p.container_ip),
                );
                every_port.push(key().value(to_port.clone()), format!("{shown} : {cport}"));
                if let Some(ip6) = p.container_ip6 {
                    six.push(
                        key().value(SetElement::concat([SetElement::ipv6(ip6), to_port])),
                        format!("{shown} : {ip6} . {cport}"),
                    );
                }
            }
        }
    }
    let map = |name, key, value, e: Entries| PortMap {
        name,
        key,
        value,
        elements: e.elements,
        shown: e.shown,
    };
    [
        map(
            "ports4_on_addr",
            addr_proto_port(),
            SetKeyType::Ipv4Addr,
            on_addr,
        ),
        map(
            "ports4_on_port",
            addr_proto_port(),
            SetKeyType::InetService,
            on_port,
        ),
        map(
            "ports4_addr",
            proto_port(),
            SetKeyType::Ipv4Addr,
            every_addr,
        ),
        map(
            "ports4_port",
            proto_port(),
            SetKeyType::InetService,
            every_port,
        ),
        map(
            "ports6",
            proto_port(),
            SetKeyType::Concat(vec![SetKeyType::Ipv6Addr, SetKeyType::InetService]),
            six,
        ),
    ]
    .into_iter()
    .filter(|m| !m.elements.is_empty())
    .collect()
}

#[derive(Default)]
struct Entries {
    elements: Vec<SetElement>,
    shown: Vec<String>,
}

impl Entries {
    fn push(&mut self, element: SetElement, shown: String) {
        self.elements.push(element);
        self.shown.push(shown);
    }
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

fn host_ip(port: &PortRule) -> Option<std::net::Ipv4Addr> {
    port.host_ip.filter(|ip| !ip.is_unspecified())
}
