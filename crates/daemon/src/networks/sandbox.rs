//! A running container's place on its networks (its sandbox): a network namespace file, a
//! veth pair and an address per network, its names in user networks' DNS, and the ports it
//! publishes.
//!
//! Made in two steps so a crash at any point leaves something the next start can undo:
//! [`NetworkService::plan`] takes addresses and host ports (nothing on the host yet) and the
//! caller writes the plan into the container's record; [`NetworkService::build`] then makes
//! it real. [`NetworkService::teardown`] undoes whatever exists of a plan, and is what the
//! engine runs for a container found dead at start.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;

use berth_api::types::EndpointSettings;
use berth_network::firewall::PortRule;
use berth_network::host_ports::HostPorts;
use berth_network::link::Endpoint;
use serde::{Deserialize, Serialize};

use super::ports::{self, PortMap, Taken};
use super::{Attachment, Network, NetworkService};
use crate::error::{EngineError, EngineResult, ErrorKind};

/// A container's network state, kept in its record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerNetwork {
    /// The networks the container is on, by name: as configured, and while it runs with
    /// the addresses it has.
    #[serde(default)]
    pub networks: BTreeMap<String, EndpointSettings>,
    /// The network its published ports lead to and its default route goes through.
    #[serde(default)]
    pub primary: String,
    /// Its network namespace file, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_key: Option<PathBuf>,
    /// The interface each network has in the namespace (`eth0`, `eth1`, ...), while it runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub interfaces: BTreeMap<String, String>,
    /// The host ports it publishes, while it runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: PortMap,
}

/// A container the records say runs, as the engine starts: its network state to know
/// again (addresses, names, ports) and its namespace file to keep.
#[derive(Debug, Clone)]
pub struct RunningSandbox {
    pub id: String,
    pub name: String,
    pub network: ContainerNetwork,
}

impl ContainerNetwork {
    /// Whether anything of a sandbox may exist on the host.
    pub fn has_sandbox(&self) -> bool {
        self.sandbox_key.is_some()
    }

    /// The state with the running-only parts cleared, as a stopped container shows it.
    pub fn stopped(&self) -> ContainerNetwork {
        let networks = self
            .networks
            .iter()
            .map(|(name, e)| {
                (
                    name.clone(),
                    EndpointSettings {
                        ipam_config: e.ipam_config.clone(),
                        links: e.links.clone(),
                        aliases: e.aliases.clone(),
                        network_id: e.network_id.clone(),
                        driver_opts: e.driver_opts.clone(),
                        mac_address: e
                            .driver_opts
                            .as_ref()
                            .and_then(|o| o.get(MAC_OPTION).cloned())
                            .unwrap_or_default(),
                        ..Default::default()
                    },
                )
            })
            .collect();
        ContainerNetwork {
            networks,
            primary: self.primary.clone(),
            ..Default::default()
        }
    }
}

/// Where a MAC address the user asked for (`--mac-address`) is kept between runs.
pub const MAC_OPTION: &str = "com.berth.mac-address";

/// What starting a container asks of the network service.
pub struct SandboxRequest<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub network: &'a ContainerNetwork,
    pub port_bindings: &'a PortMap,
    pub exposed: Vec<String>,
    pub publish_all: bool,
}

fn forbidden(message: String) -> EngineError {
    EngineError::new(ErrorKind::Forbidden, message)
}

fn new_endpoint_id() -> String {
    crate::containers::new_id()
}

impl NetworkService {
    fn taken_ports(&self, except: &str) -> Taken {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(id, _)| id.as_str() != except)
            .flat_map(|(_, rules)| rules.iter().map(|r| (r.proto, r.host_ip, r.host_port)))
            .collect()
    }

    /// Takes an address on `net` for container `id`, and records the attachment.
    pub(super) fn join(
        &self,
        net: &Arc<Network>,
        id: &str,
        name: &str,
        asked: &EndpointSettings,
    ) -> EngineResult<EndpointSettings> {
        if net.attachments().contains_key(id) {
            return Err(forbidden(format!(
                "endpoint with name {name} already exists in network {}",
                net.rec.name
            )));
        }
        let wanted_ip = asked
            .ipam_config
            .as_ref()
            .map(|c| c.ipv4_address.as_str())
            .filter(|s| !s.is_empty());
        let (ip, gateway, prefix) = {
            let mut pool = net.pool();
            let Some(pool) = pool.as_mut() else {
                return Err(EngineError::internal(format!(
                    "network {} has no address pool",
                    net.rec.name
                )));
            };
            let ip = match wanted_ip {
                Some(s) => {
                    let ip: Ipv4Addr = s
                        .parse()
                        .map_err(|_| EngineError::invalid(format!("invalid IPv4 address: {s}")))?;
                    pool.take(ip)
                        .map_err(|e| EngineError::invalid(e.to_string()))?
                }
                None => pool
                    .allocate()
                    .map_err(|e| EngineError::invalid(e.to_string()))?,
            };
            (ip, pool.gateway, pool.subnet.prefix)
        };
        let ip6 = match self.take_ipv6(net, asked) {
            Ok(ip6) => ip6,
            Err(e) => {
                if let Some(pool) = net.pool().as_mut() {
                    pool.release(ip);
                }
                return Err(e);
            }
        };
        let asked_mac = asked
            .driver_opts
            .as_ref()
            .and_then(|o| o.get(MAC_OPTION).cloned())
            .filter(|m| !m.is_empty());
        let mac = match &asked_mac {
            Some(m) => m.clone(),
            None => berth_network::link::format_mac(&berth_network::link::mac_for(ip)),
        };
        let endpoint_id = new_endpoint_id();
        let mut aliases = asked.aliases.clone().unwrap_or_default();
        if net.has_dns() {
            let short = &id[..12.min(id.len())];
            if !aliases.iter().any(|a| a == short) {
                aliases.push(short.to_string());
            }
            net.name_in_dns(name, &aliases, ip, ip6);
        }
        net.attachments().insert(
            id.to_string(),
            Attachment {
                container_name: name.to_string(),
                endpoint_id: endpoint_id.clone(),
                ip,
                ip6,
                mac: mac.clone(),
            },
        );
        let gateway6 = net.gateway6().filter(|_| !net.rec.internal);
        Ok(EndpointSettings {
            ipam_config: asked.ipam_config.clone(),
            links: asked.links.clone(),
            aliases: (!aliases.is_empty()).then_some(aliases),
            network_id: net.rec.id.clone(),
            endpoint_id,
            gateway: if net.rec.internal {
                String::new()
            } else {
                gateway.to_string()
            },
            ip_address: ip.to_string(),
            ip_prefix_len: i64::from(prefix),
            global_ipv6_address: ip6.map(|a| a.to_string()).unwrap_or_default(),
            global_ipv6_prefix_len: net
                .gateway6()
                .filter(|_| ip6.is_some())
                .map_or(0, |(_, len)| i64::from(len)),
            ipv6_gateway: gateway6.map(|(g, _)| g.to_string()).unwrap_or_default(),
            mac_address: mac,
            driver_opts: asked.driver_opts.clone(),
        })
    }

    /// The IPv6 address `asked` gets on `net`: the one asked for (`--ip6`) or the next free
    /// one; none on a network without IPv6.
    pub(super) fn take_ipv6(
        &self,
        net: &Network,
        asked: &EndpointSettings,
    ) -> EngineResult<Option<Ipv6Addr>> {
        let wanted = asked
            .ipam_config
            .as_ref()
            .map(|c| c.ipv6_address.as_str())
            .filter(|s| !s.is_empty());
        let mut pool = net.pool6();
        let Some(pool) = pool.as_mut() else {
            return match wanted {
                Some(_) => Err(EngineError::invalid(format!(
                    "network {} has no IPv6 subnet for the address asked for (--ip6)",
                    net.rec.name
                ))),
                None => Ok(None),
            };
        };
        let taken = match wanted {
            Some(s) => {
                let ip: Ipv6Addr = s
                    .parse()
                    .map_err(|_| EngineError::invalid(format!("invalid IPv6 address: {s}")))?;
                pool.take(ip)
            }
            None => pool.allocate(),
        };
        taken
            .map(Some)
            .map_err(|e| EngineError::invalid(e.to_string()))
    }

    /// Gives back container `id`'s addresses and names on `net`.
    pub(super) fn leave(&self, net: &Arc<Network>, id: &str) {
        if let Some(a) = net.attachments().remove(id) {
            net.dns_records.remove_ip(a.ip);
            if let Some(pool) = net.pool().as_mut() {
                pool.release(a.ip);
            }
            if let Some(ip6) = a.ip6 {
                net.dns_records.remove_ip(ip6);
                if let Some(pool) = net.pool6().as_mut() {
                    pool.release(ip6);
                }
            }
        }
    }

    /// The network an endpoint belongs to: by its recorded ID, else by name.
    pub(super) fn network_of(
        &self,
        name: &str,
        e: &EndpointSettings,
    ) -> EngineResult<Arc<Network>> {
        if !e.network_id.is_empty() {
            if let Ok(n) = self.find(&e.network_id) {
                return Ok(n);
            }
        }
        self.find(name)
    }

    /// Step one of a start: addresses and host ports for every network the container is
    /// on. Nothing on the host changes.
    pub async fn plan(&self, req: &SandboxRequest<'_>) -> EngineResult<ContainerNetwork> {
        let _g = self.changes.lock().await;
        let mut out = ContainerNetwork {
            primary: req.network.primary.clone(),
            ..Default::default()
        };
        let mut order: Vec<&String> = req.network.networks.keys().collect();
        order.sort_by_key(|n| *n != &req.network.primary);
        let result: EngineResult<()> = async {
            for (i, name) in order.iter().enumerate() {
                let asked = &req.network.networks[*name];
                let net = self.network_of(name, asked)?;
                if !net.rec.is_bridge() {
                    return Err(EngineError::invalid(format!(
                        "container cannot be connected to network {} of driver {} together with others",
                        net.rec.name, net.rec.driver
                    )));
                }
                self.ensure_ready(&net).await?;
                let settled = self.join(&net, req.id, req.name, asked)?;
                out.networks.insert((*name).clone(), settled);
                out.interfaces.insert((*name).clone(), format!("eth{i}"));
            }
            // A network's `host_binding_ipv4` option is the address of bindings that name none.
            let default_ip = self
                .find(&req.network.primary)
                .ok()
                .and_then(|n| {
                    n.rec
                        .options
                        .get("com.docker.network.bridge.host_binding_ipv4")
                        .cloned()
                })
                .filter(|ip| ip != "0.0.0.0");
            let mut bindings = req.port_bindings.clone();
            if let Some(ip) = &default_ip {
                for b in bindings.values_mut().flatten().flatten() {
                    if b.host_ip.is_empty() {
                        b.host_ip = ip.clone();
                    }
                }
            }
            let (tcp, udp) = ports::fixed_protocols(&bindings);
            let host = HostPorts::read(tcp, udp).await;
            let (map, publishes) = ports::resolve(
                req.name,
                &bindings,
                &req.exposed,
                req.publish_all,
                &self.taken_ports(req.id),
                &host,
            )?;
            if !publishes.is_empty() {
                let (bridge, ip, ip6) = self.primary_target(&out)?;
                let rules = publishes
                    .into_iter()
                    .map(|p| PortRule {
                        proto: p.proto,
                        host_ip: p.host_ip,
                        host_port: p.host_port,
                        container_ip: ip,
                        container_ip6: ip6,
                        container_port: p.container_port,
                        bridge: bridge.clone(),
                    })
                    .collect();
                self.published
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(req.id.to_string(), rules);
            }
            out.ports = map;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            self.forget(req.id, &out);
            return Err(e);
        }
        // Its namespace file, named by a sandbox id of its own (docker's SandboxID): new at
        // every start, since the previous start's namespace may still be going away in the
        // background ([`NetworkService::teardown`]) when a restart makes the next. Taken
        // only now, so a plan refused leaves the spare where it was.
        out.sandbox_key = Some(self.spare_netns.take());
        Ok(out)
    }

    /// The bridge and addresses published ports of a sandbox lead to.
    pub(super) fn primary_target(
        &self,
        state: &ContainerNetwork,
    ) -> EngineResult<(String, Ipv4Addr, Option<Ipv6Addr>)> {
        let (name, e) = state
            .networks
            .get_key_value(&state.primary)
            .or_else(|| state.networks.iter().next())
            .ok_or_else(|| {
                EngineError::invalid("ports can be published only on a bridge network")
            })?;
        let net = self.network_of(name, e)?;
        let ip = e
            .ip_address
            .parse()
            .map_err(|_| EngineError::internal(format!("bad address {:?}", e.ip_address)))?;
        Ok((
            net.rec.bridge.clone(),
            ip,
            e.global_ipv6_address.parse().ok(),
        ))
    }

    /// Drops a plan's reservations (addresses, names, ports) from memory.
    fn forget(&self, id: &str, state: &ContainerNetwork) {
        for (name, e) in &state.networks {
            if let Ok(net) = self.network_of(name, e) {
                self.leave(&net, id);
            }
        }
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Step two: the namespace, a veth per network, and the firewall rules. On failure
    /// everything of the plan is undone.
    pub async fn build(self: &Arc<Self>, id: &str, state: &ContainerNetwork) -> EngineResult<()> {
        let result = self.build_inner(state).await;
        // The next start's namespace, made after this one's.
        self.spare_netns.refill(&self.background);
        if let Err(e) = result {
            self.teardown(id, state, false).await;
            return Err(e);
        }
        Ok(())
    }

    async fn build_inner(&self, state: &ContainerNetwork) -> EngineResult<()> {
        let Some(key) = state.sandbox_key.clone() else {
            return Ok(());
        };
        let links = async {
            let t0 = std::time::Instant::now();
            if !super::spare_netns::exists(&key) {
                let path = key.clone();
                tokio::task::spawn_blocking(move || berth_network::netns::create(&path))
                    .await
                    .map_err(|e| EngineError::internal(e.to_string()))?
                    .map_err(|e| {
                        EngineError::internal(format!("creating network namespace: {e}"))
                    })?;
            }
            let made = t0.elapsed();
            let mut order: Vec<&String> = state.networks.keys().collect();
            order.sort_by_key(|n| *n != &state.primary);
            for name in order {
                self.attach_endpoint(name, &state.networks[name], state, &key)
                    .await?;
            }
            tracing::debug!(
                netns_us = made.as_micros() as u64,
                links_us = (t0.elapsed() - made).as_micros() as u64,
                "namespace and links made"
            );
            Ok(())
        };
        // The firewall's rules need nothing of the namespace or its links (traffic DNATed
        // to an address not up yet finds no neighbour, as for a container not started):
        // programmed meanwhile, off the start's critical path.
        let firewall = async {
            let t0 = std::time::Instant::now();
            let _g = self.changes.lock().await;
            let applied = self.apply_firewall().await;
            tracing::debug!(us = t0.elapsed().as_micros() as u64, "firewall applied");
            applied
        };
        let (links, firewall) = tokio::join!(links, firewall);
        links.and(firewall)
    }

    pub(super) async fn attach_endpoint(
        &self,
        name: &str,
        e: &EndpointSettings,
        state: &ContainerNetwork,
        key: &std::path::Path,
    ) -> EngineResult<()> {
        let net = self.network_of(name, e)?;
        let ip: Ipv4Addr = e
            .ip_address
            .parse()
            .map_err(|_| EngineError::internal(format!("bad address {:?}", e.ip_address)))?;
        let mac = berth_network::link::parse_mac(&e.mac_address)
            .map_err(|err| EngineError::invalid(err.to_string()))?;
        let endpoint = Endpoint {
            host_ifname: berth_network::veth_name(&e.endpoint_id),
            bridge: net.rec.bridge.clone(),
            netns: key.to_path_buf(),
            ifname: state
                .interfaces
                .get(name)
                .cloned()
                .unwrap_or_else(|| "eth0".into()),
            address: ip,
            prefix_len: e.ip_prefix_len as u8,
            gateway: e.gateway.parse().ok(),
            address6: e
                .global_ipv6_address
                .parse()
                .ok()
                .map(|a| (a, e.global_ipv6_prefix_len as u8)),
            gateway6: e.ipv6_gateway.parse().ok(),
            mac,
            mtu: Some(super::record::LINK_MTU),
            route_mtu: Some(net.rec.outside_mtu()).filter(|m| *m < super::record::LINK_MTU),
        };
        self.links().await?.attach(&endpoint).await.map_err(|err| {
            EngineError::internal(format!("connecting to network {}: {err}", net.rec.name))
        })
    }

    /// Undoes whatever exists of a sandbox: veths, namespace, names, addresses, ports.
    /// Safe to run on a sandbox that was never (or only partly) built, and twice.
    ///
    /// Addresses, names and published ports go at once (the firewall is updated before this
    /// returns); the namespace goes in the background. Its veths go with it: the kernel
    /// deletes a dying namespace's interfaces itself, in batches, where deleting a veth pair
    /// by request holds the kernel's network lock for 10–30 ms and stalls the next start.
    /// Only a namespace another running container still shares (`container:<name>`) would
    /// outlive its file, so then the veths are deleted first (`shared`). An engine stopping
    /// waits for all this ([`NetworkService::shutdown`]); one that crashes first finds the
    /// namespace file at its next start and removes it then.
    pub async fn teardown(self: &Arc<Self>, id: &str, state: &ContainerNetwork, shared: bool) {
        {
            let _g = self.changes.lock().await;
            self.forget(id, state);
            if let Err(e) = self.apply_firewall().await {
                tracing::warn!(%id, error = %e.message, "updating the firewall");
            }
        }
        let veths: Vec<String> = state
            .networks
            .values()
            .filter(|e| shared && !e.endpoint_id.is_empty())
            .map(|e| berth_network::veth_name(&e.endpoint_id))
            .collect();
        let key = state.sandbox_key.clone();
        let svc = self.clone();
        let id = id.to_string();
        self.background.spawn(async move {
            svc.remove_sandbox(&id, &veths, key).await;
        });
    }

    /// Deletes a sandbox's veths and namespace file (either may be gone already).
    pub(super) async fn remove_sandbox(
        &self,
        id: &str,
        veths: &[String],
        key: Option<std::path::PathBuf>,
    ) {
        if let Ok(links) = self.links().await {
            for veth in veths {
                if let Err(err) = links.detach(veth).await {
                    tracing::warn!(%id, %veth, error = %err, "removing a veth");
                }
            }
        }
        if let Some(key) = key {
            let removed =
                tokio::task::spawn_blocking(move || berth_network::netns::remove(&key)).await;
            if let Ok(Err(err)) = removed {
                tracing::warn!(%id, error = %err, "removing a network namespace");
            }
        }
    }
}
