//! Plugging a container into a bridge: a veth pair with one end a port of the bridge and
//! the other, already named, addressed and routed, inside the container's namespace.
//!
//! Container start latency matters, so the pair is made in one request (the peer is
//! created directly in the namespace with its final name, MAC and MTU; the host end
//! with its master and up), and the rest is four more requests (two more with IPv6) over one connection
//! made inside the namespace for this attach.

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::path::PathBuf;

use nlink::netlink::link::LinkCreateExt;
use nlink::netlink::InterfaceRef;
use nlink::{Connection, Ipv4Route, Ipv6Address, Ipv6Route, Route, RouteMetrics};

use super::veth_pair::VethPair;
use super::{ipv4_address, validate_ifname, LinkError, Links, Result};

/// One container's connection to one bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The host end, e.g. `vethab12cd3`; at most 15 bytes.
    pub host_ifname: String,
    /// The bridge the host end becomes a port of.
    pub bridge: String,
    /// The container's network namespace file.
    pub netns: PathBuf,
    /// The container end's name there: `eth0`, `eth1`, …
    pub ifname: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// Default route via this address; `None` for none.
    pub gateway: Option<Ipv4Addr>,
    /// The IPv6 address and prefix length, on a network with IPv6.
    pub address6: Option<(Ipv6Addr, u8)>,
    /// The IPv6 default route via this address; `None` for none.
    pub gateway6: Option<Ipv6Addr>,
    pub mac: [u8; 6],
    pub mtu: Option<u32>,
    /// The path MTU of the default route, when it is smaller than the link's: a local link
    /// of veths and a software bridge can carry 64 KiB frames, the way out to other hosts
    /// cannot.
    pub route_mtu: Option<u32>,
}

impl Endpoint {
    fn error(&self, step: impl Into<String>) -> impl FnOnce(nlink::Error) -> LinkError + '_ {
        let step = step.into();
        move |source| LinkError::Attach {
            host_ifname: self.host_ifname.clone(),
            ifname: self.ifname.clone(),
            netns: self.netns.clone(),
            step,
            source,
        }
    }
}

impl Links {
    /// Connects a container to a bridge as `endpoint` says: creates the veth pair, the
    /// host end up on the bridge, the other end in the namespace file as
    /// `endpoint.ifname` with its MAC, MTU and address, up, and the default route via
    /// the gateway unless the namespace has a default route already (a container
    /// connected to a second network keeps its first one). On failure whatever was
    /// made is removed and the error names the step.
    pub async fn attach(&self, endpoint: &Endpoint) -> Result<()> {
        validate_ifname(&endpoint.host_ifname)?;
        validate_ifname(&endpoint.ifname)?;
        if endpoint.prefix_len > 32 {
            return Err(LinkError::BadPrefix(endpoint.prefix_len));
        }
        let looking_up = format!("looking up bridge {}", endpoint.bridge);
        let bridge = self
            .conn
            .get_link_by_name(endpoint.bridge.as_str())
            .await
            .map_err(endpoint.error(looking_up.clone()))?
            .ok_or_else(|| nlink::Error::interface_not_found(&endpoint.bridge))
            .map_err(endpoint.error(looking_up))?;
        if bridge.kind() != Some("bridge") {
            return Err(LinkError::NotABridge {
                name: endpoint.bridge.clone(),
                kind: bridge.kind().unwrap_or("kindless").to_owned(),
            });
        }
        let netns = File::open(&endpoint.netns)
            .map_err(|e| endpoint.error("opening the namespace file")(e.into()))?;

        let veth = VethPair {
            name: &endpoint.host_ifname,
            peer_name: &endpoint.ifname,
            mtu: endpoint.mtu,
            peer_address: endpoint.mac,
            peer_netns: netns.as_fd(),
        };
        self.conn
            .add_link(veth.master(InterfaceRef::Index(bridge.ifindex())).up())
            .await
            .map_err(endpoint.error("creating the veth pair"))?;

        if let Err(e) = configure_peer(endpoint, &netns).await {
            // Deleting one end deletes both.
            let _ = self.delete_link(&endpoint.host_ifname).await;
            return Err(e);
        }
        Ok(())
    }

    /// Disconnects an endpoint by deleting its host end (the container end goes with
    /// it). `Ok` when it is already gone.
    pub async fn detach(&self, host_ifname: &str) -> Result<()> {
        self.delete_link(host_ifname).await
    }
}

/// Inside the namespace: the container end up, addressed, and the default route.
async fn configure_peer(endpoint: &Endpoint, netns: &File) -> Result<()> {
    let conn = Connection::<Route>::new_in(netns.as_fd())
        .map_err(endpoint.error("opening a netlink connection in the namespace"))?;
    let ifname = &endpoint.ifname;
    let finding = format!("finding {ifname} in the namespace");
    let index = conn
        .get_link_by_name(ifname.as_str())
        .await
        .map_err(endpoint.error(finding.clone()))?
        .ok_or_else(|| nlink::Error::interface_not_found(ifname))
        .map_err(endpoint.error(finding))?
        .ifindex();
    conn.set_link_up_by_index(index)
        .await
        .map_err(endpoint.error(format!("bringing {ifname} up")))?;
    let (address, prefix_len) = (endpoint.address, endpoint.prefix_len);
    conn.add_address(ipv4_address(index, address, prefix_len))
        .await
        .map_err(endpoint.error(format!("adding {address}/{prefix_len} to {ifname}")))?;
    if let Some(gateway) = endpoint.gateway {
        let mut route = Ipv4Route::default_route().gateway(gateway).dev_index(index);
        if let Some(mtu) = endpoint.route_mtu {
            route = route.metrics(RouteMetrics::new().mtu(mtu));
        }
        default_route_added(endpoint, conn.add_route(route).await, &gateway.to_string())?;
    }
    if let Some((address6, len)) = endpoint.address6 {
        // No duplicate address detection: the engine hands each address out once, and
        // an address still "tentative" could not be used for the first second or two.
        conn.add_address(Ipv6Address::with_index(index, address6, len).nodad())
            .await
            .map_err(endpoint.error(format!("adding {address6}/{len} to {ifname}")))?;
    }
    if let Some(gateway) = endpoint.gateway6 {
        let mut route = Ipv6Route::default_route().gateway(gateway).dev_index(index);
        if let Some(mtu) = endpoint.route_mtu {
            route = route.metrics(RouteMetrics::new().mtu(mtu));
        }
        default_route_added(endpoint, conn.add_route(route).await, &gateway.to_string())?;
    }
    Ok(())
}

/// The outcome of adding a default route. An exclusive add of the default route at metric 0
/// fails only on the one an earlier network gave the container: it stays. One request
/// instead of a dump and an add.
fn default_route_added(endpoint: &Endpoint, added: nlink::Result<()>, gateway: &str) -> Result<()> {
    match added {
        Ok(()) => Ok(()),
        Err(e) if e.is_already_exists() => Ok(()),
        Err(e) => Err(endpoint
            .error(format!("adding the default route via {gateway}"))(
            e
        )),
    }
}
