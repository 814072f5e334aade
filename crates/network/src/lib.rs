//! Container networking: bridges, veth pairs, IPAM, NAT and port publishing through netfilter,
//! and a DNS server per user-defined network.
//!
//! So far: address management ([`ipam`]). Bridges, NAT, published ports and DNS build on it.

pub mod firewall;
pub mod ipam;
