//! Berth's firewall: the NAT and filter rules its networks and published ports need (the ports as
//! elements of maps the DNAT rules look up, [`PortMap`]), described
//! declaratively ([`Ruleset`]) and installed as one nftables table of Berth's own, replaced
//! whole and atomically over netlink ([`Firewall::apply`]).
//!
//! The table is Berth's alone (family `inet`, for IPv4 and IPv6 alike; a name chosen by the caller so that several daemons,
//! or tests, can each have their own): its base chains hook in next to whatever else the host
//! runs, and nothing outside the table is ever read or changed. Because an apply swaps the
//! whole table in one kernel transaction, there is no "current state" to diff against: the
//! daemon keeps its ruleset in its own state and re-applies it (at start, to reconcile after a
//! crash, and after every change).
//!
//! [`plan`] turns a ruleset into rule descriptions without touching the kernel; [`render`] shows
//! them in `nft list table` form.
//!
//! What the host must provide: nf_tables with NAT, masquerade, conntrack and `fib` for the inet
//! family (`nf_tables`, `nft_nat`, `nft_masq`, `nft_ct`, `nft_fib_inet`, `nf_conntrack`, built in
//! or loadable); `net.ipv4.ip_forward=1` (and `net.ipv6.conf.all.forwarding=1` for IPv6
//! networks); `net.ipv4.conf.<bridge>.route_localnet=1` for published ports to be reachable on
//! 127.0.0.1; and, for `icc: false` to hold between containers of one bridge, `br_netfilter`
//! with `net.bridge.bridge-nf-call-iptables=1` (bridged traffic otherwise never reaches the
//! inet hooks). Setting those is the caller's business.

mod apply;
mod portmaps;
mod ruleset;

#[cfg(test)]
mod lab_tests;
#[cfg(test)]
mod netns_tests;
#[cfg(test)]
mod ruleset_tests;
#[cfg(test)]
mod traffic_tests;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::ipam::Subnet;
use crate::ipam6::Subnet6;

pub use apply::{Firewall, InstalledRule};
pub use portmaps::{MapEntry, MapValue, PortMap};
pub use ruleset::{plan, plan_with_maps, port_maps, render, ChainId, RuleDesc};

/// Everything Berth's table holds: its networks and the ports published into them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub networks: Vec<NetworkRules>,
    pub ports: Vec<PortRule>,
}

/// One bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The bridge interface's name (at most 15 bytes).
    pub bridge: String,
    pub subnet: Subnet,
    /// The IPv6 subnet of a network with `--ipv6`: masqueraded as the IPv4 one is.
    pub subnet6: Option<Subnet6>,
    /// No traffic between the bridge and any other interface (`--internal`). Its published
    /// ports are not installed (as docker does) and it is never masqueraded.
    pub internal: bool,
    /// Source NAT for traffic leaving the host from the subnet
    /// (`com.docker.network.bridge.enable_ip_masquerade`).
    pub masquerade: bool,
    /// Containers on the bridge may talk to each other directly
    /// (`com.docker.network.bridge.enable_icc`).
    pub icc: bool,
}

/// One published port: `host_ip:host_port` forwarded to `container_ip:container_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    pub proto: Proto,
    /// The host address the port is published on; `None` (or `0.0.0.0`) for every local
    /// address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    /// The container's IPv6 address, on a network with IPv6: a port published on every
    /// address then answers on the host's IPv6 addresses too.
    pub container_ip6: Option<Ipv6Addr>,
    pub container_port: u16,
    /// The bridge of the container's network; it must be one of the ruleset's networks.
    pub bridge: String,
}

/// The transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

impl fmt::Display for PortRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        write!(
            f,
            "{}/{}:{} -> {}:{} on {}",
            self.proto, host, self.host_port, self.container_ip, self.container_port, self.bridge
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("invalid interface name {name:?} for {what}: {why}")]
    BadInterface {
        name: String,
        what: String,
        why: &'static str,
    },
    #[error("bridge {0} is listed as two networks")]
    DuplicateBridge(String),
    #[error("published port {port} names bridge {bridge}, which is not one of the networks")]
    UnknownBridge { port: String, bridge: String },
    #[error("published port {0} conflicts with published port {1}")]
    PortConflict(String, String),
    #[error("invalid nftables table name {table:?}: {source}")]
    BadTable { table: String, source: nlink::Error },
    #[error("cannot build the nftables rule for {origin}: {source}")]
    Rule {
        origin: String,
        source: nlink::Error,
    },
    #[error("cannot open an nftables netlink socket: {0}")]
    Connect(nlink::Error),
    #[error("applying nftables table inet {table} failed{}: {source}", failed_op(.failed))]
    Apply {
        table: String,
        /// What the first operation the kernel refused was for, when it says.
        failed: Option<String>,
        source: nlink::Error,
    },
    #[error("deleting nftables table inet {table}: {source}")]
    Remove { table: String, source: nlink::Error },
    #[error("reading nftables table inet {table}: {source}")]
    Read { table: String, source: nlink::Error },
}

fn failed_op(failed: &Option<String>) -> String {
    match failed {
        Some(op) => format!(" at {op}"),
        None => String::new(),
    }
}

pub type Result<T, E = FirewallError> = std::result::Result<T, E>;
