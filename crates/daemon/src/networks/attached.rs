//! A running container and its networks after its start: its attachments known again when
//! the engine starts, `network connect` and `disconnect` on it, the checks of the endpoints
//! it asks for, a rename in DNS, and the addresses its /etc files name.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use berth_api::types::EndpointSettings;
use berth_network::firewall::PortRule;

use super::ports;
use super::sandbox::{ContainerNetwork, RunningSandbox};
use super::{Attachment, Network, NetworkService};
use crate::error::{EngineError, EngineResult};

impl NetworkService {
    /// A running container's attachments, known again at engine start.
    pub(super) fn restore(&self, running: &RunningSandbox) {
        let RunningSandbox {
            id,
            name,
            network: state,
        } = running;
        if !state.has_sandbox() {
            return;
        }
        for (net_name, e) in &state.networks {
            let Ok(net) = self.network_of(net_name, e) else {
                continue;
            };
            let Ok(ip) = e.ip_address.parse::<Ipv4Addr>() else {
                continue;
            };
            if let Some(pool) = net.pool().as_mut() {
                let _ = pool.take(ip);
            }
            let ip6: Option<Ipv6Addr> = e.global_ipv6_address.parse().ok();
            if let (Some(ip6), Some(pool)) = (ip6, net.pool6().as_mut()) {
                let _ = pool.take(ip6);
            }
            if net.has_dns() {
                net.name_in_dns(name, e.aliases.as_deref().unwrap_or_default(), ip, ip6);
            }
            net.attachments().insert(
                id.clone(),
                Attachment {
                    container_name: name.to_string(),
                    endpoint_id: e.endpoint_id.clone(),
                    ip,
                    ip6,
                    mac: e.mac_address.clone(),
                },
            );
        }
        let mut rules = Vec::new();
        if let Ok((bridge, ip, ip6)) = self.primary_target(state) {
            for (key, bindings) in &state.ports {
                let Ok((container_port, proto)) = ports::parse_key(key) else {
                    continue;
                };
                for b in bindings.iter().flatten() {
                    let Ok(host_port) = b.host_port.parse() else {
                        continue;
                    };
                    rules.push(PortRule {
                        proto,
                        host_ip: b
                            .host_ip
                            .parse()
                            .ok()
                            .filter(|i: &Ipv4Addr| !i.is_unspecified()),
                        host_port,
                        container_ip: ip,
                        container_ip6: ip6,
                        container_port,
                        bridge: bridge.clone(),
                    });
                }
            }
        }
        if !rules.is_empty() {
            self.published
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), rules);
        }
    }

    /// A running container joins one more network (`network connect`). Returns the
    /// endpoint as connected; the caller records it.
    pub async fn connect_running(
        &self,
        id: &str,
        name: &str,
        state: &ContainerNetwork,
        net_name: &str,
        asked: &EndpointSettings,
    ) -> EngineResult<(EndpointSettings, String)> {
        let net = self.find(net_name)?;
        let key = state
            .sandbox_key
            .clone()
            .ok_or_else(|| EngineError::internal("the container has no network namespace"))?;
        let used: Vec<&String> = state.interfaces.values().collect();
        let ifname = (0..)
            .map(|i| format!("eth{i}"))
            .find(|n| !used.contains(&n))
            .unwrap_or_else(|| "eth9".into());
        let settled = {
            let _g = self.changes.lock().await;
            self.ensure_ready(&net).await?;
            self.join(&net, id, name, asked)?
        };
        let mut with = state.clone();
        with.interfaces.insert(net.rec.name.clone(), ifname.clone());
        if let Err(e) = self
            .attach_endpoint(&net.rec.name, &settled, &with, &key)
            .await
        {
            let _g = self.changes.lock().await;
            self.leave(&net, id);
            return Err(e);
        }
        let _g = self.changes.lock().await;
        self.apply_firewall().await?;
        Ok((settled, ifname))
    }

    /// A running container leaves one network (`network disconnect`).
    pub async fn disconnect_running(&self, id: &str, net_name: &str, e: &EndpointSettings) {
        if let Ok(links) = self.links().await {
            let _ = links
                .detach(&berth_network::veth_name(&e.endpoint_id))
                .await;
        }
        if let Ok(net) = self.network_of(net_name, e) {
            let _g = self.changes.lock().await;
            self.leave(&net, id);
            if let Err(err) = self.apply_firewall().await {
                tracing::warn!(%id, error = %err.message, "updating the firewall");
            }
        }
    }

    /// Docker's checks of a container's requested endpoints, at create and connect: aliases
    /// and fixed addresses only on user networks, addresses inside the subnet.
    pub fn check_endpoint(
        &self,
        net_name: &str,
        e: &EndpointSettings,
    ) -> EngineResult<Arc<Network>> {
        let net = self.find(net_name)?;
        let user_network = net.rec.is_bridge() && !net.is_default_bridge();
        if e.aliases.as_ref().is_some_and(|a| !a.is_empty()) && !user_network {
            return Err(EngineError::invalid(
                "network-scoped alias is supported only for containers in user defined networks",
            ));
        }
        if let Some(ip) = e
            .ipam_config
            .as_ref()
            .map(|c| c.ipv4_address.as_str())
            .filter(|s| !s.is_empty())
        {
            if !user_network {
                return Err(EngineError::invalid(
                    "user specified IP address is supported on user defined networks only",
                ));
            }
            let addr: Ipv4Addr = ip
                .parse()
                .map_err(|_| EngineError::invalid(format!("invalid IPv4 address: {ip}")))?;
            if net.rec.subnet.is_some_and(|s| !s.contains(addr)) {
                return Err(EngineError::invalid(format!(
                    "no configured subnet or ip-range contain the IP address {ip}"
                )));
            }
        }
        if let Some(ip) = e
            .ipam_config
            .as_ref()
            .map(|c| c.ipv6_address.as_str())
            .filter(|s| !s.is_empty())
        {
            if !user_network {
                return Err(EngineError::invalid(
                    "user specified IP address is supported on user defined networks only",
                ));
            }
            let addr: Ipv6Addr = ip
                .parse()
                .map_err(|_| EngineError::invalid(format!("invalid IPv6 address: {ip}")))?;
            match net.rec.subnet6.filter(|_| net.rec.enable_ipv6) {
                Some(s) if s.contains(addr) => {}
                Some(_) => {
                    return Err(EngineError::invalid(format!(
                        "no configured subnet or ip-range contain the IP address {ip}"
                    )))
                }
                None => {
                    return Err(EngineError::invalid(format!(
                        "network {} has no IPv6 subnet for the address {ip} (--ip6): create it with --ipv6",
                        net.rec.name
                    )))
                }
            }
        }
        Ok(net)
    }

    /// A renamed container answers to its new name in its networks' DNS.
    pub fn rename_container(&self, id: &str, old: &str, new: &str) {
        for net in self.all() {
            let mut attachments = net.attachments();
            if let Some(a) = attachments.get_mut(id) {
                a.container_name = new.to_string();
                if net.has_dns() {
                    net.dns_records.remove(old, a.ip);
                    net.dns_records.insert(new, a.ip);
                }
            }
        }
    }

    /// The gateway of the default bridge (what `--add-host name:host-gateway` means).
    pub fn host_gateway(&self) -> Option<Ipv4Addr> {
        let net = self.find("bridge").ok()?;
        let gw = net.pool().as_ref().map(|p| p.gateway);
        gw
    }

    /// The DNS server a container on `state`'s networks uses: the gateway of its first user
    /// network, or None (the host's resolvers) on the default bridge.
    pub fn nameserver_for(&self, state: &ContainerNetwork) -> Option<Ipv4Addr> {
        let mut order: Vec<(&String, &EndpointSettings)> = state.networks.iter().collect();
        order.sort_by_key(|(n, _)| *n != &state.primary);
        order.into_iter().find_map(|(name, e)| {
            let net = self.network_of(name, e).ok()?;
            if !net.has_dns() {
                return None;
            }
            let gw = net.pool().as_ref().map(|p| p.gateway);
            gw
        })
    }
}
