//! Container networking: bridges, veth pairs, IPAM, NAT and port publishing through netfilter,
//! and a DNS server per user-defined network.

pub mod dns;
pub mod firewall;
pub mod host_ports;
mod ifname;
pub mod ipam;
pub mod ipam6;
pub mod link;
pub mod netns;
pub mod sysctl;

pub use ifname::{valid_ifname, veth_name};
