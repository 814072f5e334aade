//! Bridges and veth pairs over netlink: the links a bridge network is made of. A
//! network is a bridge carrying its gateway address; a container joins it through a veth
//! pair whose host end is a port of the bridge and whose other end is the container's
//! `eth0`, `eth1`, … in the container's network namespace file ([`crate::netns`]).
//!
//! [`Links`] holds one netlink connection for the daemon's life; the calls on it are
//! idempotent where the daemon re-runs them at start (bridges, deletes), and
//! [`Links::links_with_prefix`] finds what a crashed daemon left behind.

mod mac;
mod veth;
mod veth_pair;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nlink::netlink::link::BridgeLink;
use nlink::netlink::messages::LinkMessage;
use nlink::{Connection, Ipv4Address, Ipv6Address, Route};

pub use mac::{format_mac, mac_for, parse_mac, MacError};
pub use veth::Endpoint;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("opening a netlink connection{}: {source}", in_netns(.netns.as_deref()))]
    Connect {
        netns: Option<PathBuf>,
        #[source]
        source: nlink::Error,
    },
    #[error("invalid interface name {name:?}: {why}")]
    BadName { name: String, why: &'static str },
    #[error("invalid prefix length /{0} for an IPv4 address")]
    BadPrefix(u8),
    #[error("{name} exists but is a {kind} link, not a bridge")]
    NotABridge { name: String, kind: String },
    #[error("link {link}: {step}: {source}")]
    Netlink {
        link: String,
        step: String,
        #[source]
        source: nlink::Error,
    },
    #[error("endpoint {host_ifname} ({ifname} in {}): {step}: {source}", .netns.display())]
    Attach {
        host_ifname: String,
        ifname: String,
        netns: PathBuf,
        step: String,
        #[source]
        source: nlink::Error,
    },
}

fn in_netns(netns: Option<&Path>) -> String {
    netns.map_or_else(String::new, |p| format!(" in {}", p.display()))
}

pub type Result<T, E = LinkError> = std::result::Result<T, E>;

/// A netlink connection to one network namespace — the host's for the daemon — and the
/// link operations Berth's networks need.
pub struct Links {
    conn: Connection<Route>,
}

impl Links {
    /// Links in the calling thread's network namespace. Needs a tokio runtime (the
    /// socket registers with its reactor).
    pub async fn new() -> Result<Links> {
        let conn = Connection::<Route>::new().map_err(|source| LinkError::Connect {
            netns: None,
            source,
        })?;
        Ok(Links { conn })
    }

    /// Links in the namespace bind-mounted at `path` (a [`crate::netns`] file or
    /// `/proc/<pid>/ns/net`), whatever namespace the calling thread is in.
    pub async fn in_namespace(path: &Path) -> Result<Links> {
        let conn = Connection::<Route>::new_in(path).map_err(|source| LinkError::Connect {
            netns: Some(path.to_path_buf()),
            source,
        })?;
        Ok(Links { conn })
    }

    /// Makes sure bridge `name` exists, carries exactly `gateway/prefix_len` as its IPv4
    /// address (others are removed) and is up; with `mtu`, that its MTU is that one and
    /// stays so as ports join. Idempotent: the daemon calls it for every network at
    /// each start. A new bridge gets the fixed MAC [`mac_for`]`(gateway)`, so adding
    /// ports never changes it under the containers' ARP caches.
    pub async fn ensure_bridge(
        &self,
        name: &str,
        gateway: Ipv4Addr,
        prefix_len: u8,
        mtu: Option<u32>,
    ) -> Result<()> {
        validate_ifname(name)?;
        if prefix_len > 32 {
            return Err(LinkError::BadPrefix(prefix_len));
        }
        let link = match self.find(name).await? {
            Some(link) => link,
            None => self.create_bridge(name, gateway, mtu).await?,
        };
        match link.kind() {
            Some("bridge") => {}
            kind => {
                return Err(LinkError::NotABridge {
                    name: name.to_owned(),
                    kind: kind.unwrap_or("kindless").to_owned(),
                })
            }
        }
        let index = link.ifindex();
        if let Some(mtu) = mtu {
            if link.mtu() != Some(mtu) {
                self.conn
                    .pin_bridge_mtu_by_index(index, mtu)
                    .await
                    .map_err(netlink_error(name, format!("setting MTU {mtu}")))?;
            }
        }
        self.settle_address(name, index, gateway, prefix_len)
            .await?;
        if !link.is_up() {
            self.conn
                .set_link_up_by_index(index)
                .await
                .map_err(netlink_error(name, "bringing it up"))?;
        }
        Ok(())
    }

    async fn create_bridge(
        &self,
        name: &str,
        gateway: Ipv4Addr,
        mtu: Option<u32>,
    ) -> Result<LinkMessage> {
        let mut bridge = BridgeLink::new(name).address(mac_for(gateway));
        if let Some(mtu) = mtu {
            bridge = bridge.mtu(mtu);
        }
        match self.conn.add_link(bridge).await {
            Ok(()) => {}
            // Made meanwhile by a concurrent call; checked like an existing one.
            Err(e) if e.is_already_exists() => {}
            Err(e) => return Err(netlink_error(name, "creating the bridge")(e)),
        }
        self.find(name).await?.ok_or_else(|| {
            netlink_error(name, "looking it up after creating it")(
                nlink::Error::interface_not_found(name),
            )
        })
    }

    /// Leaves `gateway/prefix_len` the only IPv4 address on the link at `index`.
    async fn settle_address(
        &self,
        name: &str,
        index: u32,
        gateway: Ipv4Addr,
        prefix_len: u8,
    ) -> Result<()> {
        let listing = |step: &'static str| netlink_error(name, step);
        let addresses = self
            .conn
            .get_addresses_by_index(index)
            .await
            .map_err(listing("listing its addresses"))?;
        let mut present = false;
        let mut removed = false;
        for (address, len) in ipv4_addresses(&addresses) {
            if (address, len) == (gateway, prefix_len) {
                present = true;
                continue;
            }
            match self
                .conn
                .del_address_by_index(index, IpAddr::V4(address), len)
                .await
            {
                Ok(()) => removed = true,
                // Gone with a primary deleted before it.
                Err(e) if e.is_not_found() => removed = true,
                Err(e) => return Err(netlink_error(name, format!("removing {address}/{len}"))(e)),
            }
        }
        if present && removed {
            // Deleting a primary address deletes its secondaries, ours among them
            // perhaps.
            let addresses = self
                .conn
                .get_addresses_by_index(index)
                .await
                .map_err(listing("listing its addresses again"))?;
            present = ipv4_addresses(&addresses).any(|a| a == (gateway, prefix_len));
        }
        if !present {
            self.conn
                .add_address(ipv4_address(index, gateway, prefix_len))
                .await
                .map_err(netlink_error(
                    name,
                    format!("adding {gateway}/{prefix_len}"),
                ))?;
        }
        Ok(())
    }

    /// Makes sure bridge `name` (made by [`Links::ensure_bridge`]) also carries
    /// `gateway/prefix_len` as an IPv6 address, without duplicate address detection so it
    /// answers at once. Other addresses stay: the kernel's link-local one among them.
    pub async fn ensure_bridge_ipv6(
        &self,
        name: &str,
        gateway: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<()> {
        let index = self
            .find(name)
            .await?
            .ok_or_else(|| {
                netlink_error(name, "looking it up")(nlink::Error::interface_not_found(name))
            })?
            .ifindex();
        let addresses = self
            .conn
            .get_addresses_by_index(index)
            .await
            .map_err(netlink_error(name, "listing its addresses"))?;
        let present = addresses.iter().any(|a| {
            a.local().or(a.address()) == Some(&IpAddr::V6(gateway)) && a.prefix_len() == prefix_len
        });
        if present {
            return Ok(());
        }
        match self
            .conn
            .add_address(Ipv6Address::with_index(index, gateway, prefix_len).nodad())
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_already_exists() => Ok(()),
            Err(e) => Err(netlink_error(
                name,
                format!("adding {gateway}/{prefix_len}"),
            )(e)),
        }
    }

    /// Deletes link `name` (for a veth, both ends). `Ok` when there is none.
    pub async fn delete_link(&self, name: &str) -> Result<()> {
        match self.conn.del_link(name).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(netlink_error(name, "deleting it")(e)),
        }
    }

    /// Whether a link called `name` exists.
    pub async fn link_exists(&self, name: &str) -> Result<bool> {
        Ok(self.find(name).await?.is_some())
    }

    /// Names of the links whose names start with `prefix`, sorted.
    pub async fn links_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let links = self
            .conn
            .get_links()
            .await
            .map_err(netlink_error(&format!("{prefix}*"), "listing links"))?;
        let mut names: Vec<String> = links
            .iter()
            .filter_map(|link| link.name())
            .filter(|name| name.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn find(&self, name: &str) -> Result<Option<LinkMessage>> {
        self.conn
            .get_link_by_name(name)
            .await
            .map_err(netlink_error(name, "looking it up"))
    }
}

fn netlink_error(
    link: &str,
    step: impl Into<String>,
) -> impl FnOnce(nlink::Error) -> LinkError + '_ {
    let step = step.into();
    move |source| LinkError::Netlink {
        link: link.to_owned(),
        step,
        source,
    }
}

fn ipv4_addresses(
    addresses: &[nlink::netlink::messages::AddressMessage],
) -> impl Iterator<Item = (Ipv4Addr, u8)> + '_ {
    addresses
        .iter()
        .filter_map(|a| match a.local().or(a.address()) {
            Some(IpAddr::V4(address)) => Some((*address, a.prefix_len())),
            _ => None,
        })
}

/// `address/prefix_len` with its broadcast address, as docker and `ip addr add … brd +`
/// set it (none on /31 and /32 links).
fn ipv4_address(index: u32, address: Ipv4Addr, prefix_len: u8) -> Ipv4Address {
    let config = Ipv4Address::with_index(index, address, prefix_len);
    if prefix_len >= 31 {
        return config;
    }
    let host_bits = u32::MAX >> prefix_len;
    config.broadcast(Ipv4Addr::from(u32::from(address) | host_bits))
}

/// The kernel's rule for interface names (`dev_valid_name`), checked here so the error
/// names the bad one.
fn validate_ifname(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("empty")
    } else if name.len() > 15 {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("reserved")
    } else if name.contains(['/', ':', '\0']) || name.chars().any(char::is_whitespace) {
        Some("contains '/', ':', NUL or a blank")
    } else {
        None
    };
    match why {
        Some(why) => Err(LinkError::BadName {
            name: name.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        for good in ["eth0", "br-0123456789ab", "veth1234567", "a.b"] {
            assert!(validate_ifname(good).is_ok(), "{good}");
        }
        for bad in ["", "br-0123456789abc", ".", "..", "a/b", "a:b", "a b"] {
            let err = validate_ifname(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
