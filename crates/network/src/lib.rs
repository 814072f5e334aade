//! Container networking: bridges, veth pairs, IPAM, NAT and port publishing through netfilter,
//! and a DNS server per user-defined network.
//!
//! Networking arrives with the networking capability; the crate exists now so that the workspace
//! graph (checked by a test) is the one DESIGN.md lays out.
