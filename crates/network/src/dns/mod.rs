//! The DNS server Berth runs for each user-defined network, so containers find each
//! other by container name, alias and compose service name. It answers A (and an empty
//! AAAA) for the names in the network's [`Records`] and PTR for their addresses, and
//! forwards everything else to the host's resolvers, as docker's embedded server does.
//!
//! Like docker, only exact names are answered (any case, with or without the trailing
//! dot): `web.example.com`, a search domain appended by the container's resolver, is
//! forwarded even when `web` is known. With the usual `options ndots:0` in the
//! container's resolv.conf the bare name is tried first; without it glibc and musl try
//! the search list first, which costs a round trip upstream (and musl gives up on a
//! SERVFAIL there, so an unreachable upstream then hides local names too).
//!
//! A server is a couple of tokio tasks and two sockets, no thread of its own.

mod answer;
mod forward;
mod records;
mod server;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests_forward;
#[cfg(test)]
mod tests_local;

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

pub use records::Records;
pub use server::{serve, serve_with, DnsServer, ServeOptions, DEFAULT_UPSTREAM_TIMEOUT};

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("cannot bind the DNS server's UDP socket on {addr}: {source}")]
    BindUdp { addr: SocketAddr, source: io::Error },
    #[error("cannot bind the DNS server's TCP listener on {addr}: {source}")]
    BindTcp { addr: SocketAddr, source: io::Error },
}

pub type Result<T, E = DnsError> = std::result::Result<T, E>;

/// The port resolv.conf nameservers listen on; the file has no way to say another.
const DNS_PORT: u16 = 53;

/// The `nameserver` addresses in a resolv.conf, in order, on port 53. Comments (`#`,
/// `;`) and lines that don't parse are skipped. An IPv6 address may carry a numeric
/// zone (`fe80::1%2`); one with an interface name is skipped, since its index can't be
/// known from the text alone.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            if words.next() != Some("nameserver") {
                return None;
            }
            nameserver(words.next()?)
        })
        .collect()
}

fn nameserver(word: &str) -> Option<SocketAddr> {
    if let Ok(ip) = word.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, DNS_PORT));
    }
    let (ip, zone) = word.split_once('%')?;
    let ip: Ipv6Addr = ip.parse().ok()?;
    let scope = zone.parse().ok()?;
    Some(SocketAddrV6::new(ip, DNS_PORT, 0, scope).into())
}
