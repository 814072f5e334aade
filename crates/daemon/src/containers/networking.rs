//! A container's networks, from the container's side: the networks a create request puts it
//! on (`--network`, `NetworkingConfig`), the namespace each mode gives it, the sandbox made at
//! start and undone at exit, `network connect` / `disconnect`, and `NetworkSettings` as
//! inspect and `ps` show them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use berth_api::types::{ContainerConfig, EndpointSettings, HostConfig, NetworkingConfig};
use berth_runtime::spec::NsMode;

use super::record::{ContainerRecord, Status};
use super::{Container, ContainerService};
use crate::error::{EngineError, EngineResult, ErrorKind};
use crate::networks::sandbox::MAC_OPTION;
use crate::networks::{ContainerNetwork, SandboxRequest};

/// How a network mode joins a network namespace.
pub enum Mode<'a> {
    /// A sandbox of its own on bridge networks.
    Bridge,
    Host,
    /// A namespace with only `lo`.
    None,
    /// Another container's namespace.
    Container(&'a str),
}

pub fn mode(network_mode: &str) -> Mode<'_> {
    match network_mode {
        "host" => Mode::Host,
        "none" => Mode::None,
        m => match m.strip_prefix("container:") {
            Some(other) => Mode::Container(other),
            None => Mode::Bridge,
        },
    }
}

fn forbidden(message: impl Into<String>) -> EngineError {
    EngineError::new(ErrorKind::Forbidden, message)
}

impl ContainerService {
    /// The networks a create request puts a container on, checked as docker checks them.
    pub(super) fn initial_networks(
        &self,
        config: &ContainerConfig,
        host: &HostConfig,
        networking: Option<&NetworkingConfig>,
    ) -> EngineResult<ContainerNetwork> {
        let asked = networking
            .map(|n| n.endpoints_config.clone())
            .unwrap_or_default();
        let mode_name = match host.network_mode.as_str() {
            "" | "default" => "bridge",
            m => m,
        };
        match mode(mode_name) {
            Mode::Container(other) => {
                self.find(other)
                    .map_err(|_| EngineError::not_found(format!("No such container: {other}")))?;
                if !host.port_bindings.as_ref().is_none_or(|p| p.is_empty())
                    || host.publish_all_ports
                {
                    return Err(EngineError::invalid(
                        "conflicting options: port publishing and the container type network mode",
                    ));
                }
                return Ok(ContainerNetwork::default());
            }
            Mode::Host | Mode::None => {
                let net = self.networks.find(mode_name)?;
                let mut networks = BTreeMap::new();
                networks.insert(
                    mode_name.to_string(),
                    EndpointSettings {
                        network_id: net.rec.id.clone(),
                        ..Default::default()
                    },
                );
                return Ok(ContainerNetwork {
                    networks,
                    primary: mode_name.to_string(),
                    ..Default::default()
                });
            }
            Mode::Bridge => {}
        }
        let mut networks = BTreeMap::new();
        let primary_cfg = asked
            .get(mode_name)
            .or_else(|| {
                (mode_name == "bridge")
                    .then(|| asked.get("default"))
                    .flatten()
            })
            .cloned()
            .unwrap_or_default();
        let add = |networks: &mut BTreeMap<String, EndpointSettings>,
                   name: &str,
                   mut e: EndpointSettings|
         -> EngineResult<()> {
            let net = self.networks.check_endpoint(name, &e)?;
            if !net.rec.is_bridge() {
                return Err(EngineError::invalid(format!(
                    "container cannot be connected to network {name} together with others"
                )));
            }
            e.network_id = net.rec.id.clone();
            networks.insert(net.rec.name.clone(), e);
            Ok(())
        };
        let mut primary_cfg = primary_cfg;
        if !config.mac_address.is_empty() {
            berth_network::link::parse_mac(&config.mac_address)
                .map_err(|e| EngineError::invalid(e.to_string()))?;
            primary_cfg
                .driver_opts
                .get_or_insert_with(BTreeMap::new)
                .insert(MAC_OPTION.into(), config.mac_address.clone());
        }
        add(&mut networks, mode_name, primary_cfg)?;
        let primary = networks.keys().next().cloned().unwrap_or_default();
        for (name, e) in asked {
            if name == mode_name || name == "default" || networks.contains_key(&name) {
                continue;
            }
            add(&mut networks, &name, e)?;
        }
        Ok(ContainerNetwork {
            networks,
            primary,
            ..Default::default()
        })
    }

    /// The network namespace a container's process joins. For `container:<name>`, that
    /// container must be running.
    pub(super) fn netns_mode(&self, rec: &ContainerRecord) -> EngineResult<NsMode> {
        match mode(&rec.host_config.network_mode) {
            Mode::Host => Ok(NsMode::Host),
            Mode::None => Ok(NsMode::Private),
            Mode::Container(other) => {
                let o = self.find(other)?.record();
                if o.state.status != Status::Running || o.state.pid <= 0 {
                    return Err(EngineError::conflict(format!(
                        "cannot join network of a non running container: {}",
                        o.id
                    )));
                }
                Ok(match &o.network.sandbox_key {
                    Some(key) => NsMode::Path(key.clone()),
                    None if o.host_config.network_mode == "host" => NsMode::Host,
                    None => NsMode::Path(format!("/proc/{}/ns/net", o.state.pid).into()),
                })
            }
            Mode::Bridge => rec
                .network
                .sandbox_key
                .clone()
                .map(NsMode::Path)
                .ok_or_else(|| EngineError::internal("the container has no network sandbox")),
        }
    }

    /// Step one of a starting container's sandbox: addresses and ports planned and written
    /// into its record, before anything exists on the host. None for modes without one.
    pub(super) async fn plan_sandbox(
        &self,
        c: &Arc<Container>,
    ) -> EngineResult<Option<ContainerNetwork>> {
        let rec = c.record();
        if !matches!(mode(&rec.host_config.network_mode), Mode::Bridge) {
            return Ok(None);
        }
        let exposed: Vec<String> = rec
            .config
            .exposed_ports
            .as_ref()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let bindings = rec.host_config.port_bindings.clone().unwrap_or_default();
        let req = SandboxRequest {
            id: &rec.id,
            name: &rec.name,
            network: &rec.network,
            port_bindings: &bindings,
            exposed,
            publish_all: rec.host_config.publish_all_ports,
        };
        let plan = self.networks.plan(&req).await?;
        let dir = self.data_dir(&rec.id);
        if let Err(e) = c.update(&dir, |r| r.network = plan.clone()) {
            self.networks.teardown(&rec.id, &plan, false).await;
            return Err(e);
        }
        Ok(Some(plan))
    }

    /// Step two: the namespace, veths and rules of a plan. On failure nothing is left, and
    /// the record says so.
    pub(super) async fn build_sandbox(
        &self,
        c: &Arc<Container>,
        plan: Option<&ContainerNetwork>,
    ) -> EngineResult<()> {
        let Some(plan) = plan else {
            return Ok(());
        };
        let t0 = std::time::Instant::now();
        if let Err(e) = self.networks.build(&c.id, plan).await {
            let _ = c.update(&self.data_dir(&c.id), |r| r.network = plan.stopped());
            return Err(e);
        }
        tracing::debug!(id = %c.id, us = t0.elapsed().as_micros() as u64, "sandbox made");
        Ok(())
    }

    /// Undoes a container's sandbox once its process is gone.
    pub(super) async fn drop_sandbox(&self, c: &Arc<Container>) {
        let rec = c.record();
        if !rec.network.has_sandbox() {
            return;
        }
        let t0 = std::time::Instant::now();
        let shared = self.netns_shared(&rec);
        self.networks.teardown(&rec.id, &rec.network, shared).await;
        let dir = self.data_dir(&rec.id);
        let _ = c.update(&dir, |r| r.network = r.network.stopped());
        tracing::debug!(id = %rec.id, us = t0.elapsed().as_micros() as u64, "sandbox removed");
    }

    /// Whether another running container is in `rec`'s network namespace
    /// (`--network container:<it>`).
    fn netns_shared(&self, rec: &ContainerRecord) -> bool {
        self.any_record(|other| {
            other.id != rec.id
                && other.state.status.is_active()
                && match mode(&other.host_config.network_mode) {
                    Mode::Container(target) => {
                        target == rec.name
                            || target.trim_start_matches('/') == rec.name
                            || (target.len() >= 12 && rec.id.starts_with(target))
                    }
                    _ => false,
                }
        })
    }

    /// The nameserver a container's resolv.conf names: its user network's DNS server.
    pub(super) fn nameserver(&self, rec: &ContainerRecord) -> Option<Ipv4Addr> {
        self.networks.nameserver_for(&rec.network)
    }

    /// `network connect`: a running container is attached at once; a stopped one on its
    /// next start.
    pub async fn connect_network(
        self: &Arc<Self>,
        container: &str,
        network: &str,
        asked: EndpointSettings,
    ) -> EngineResult<()> {
        let c = self.find(container)?;
        let _op = c.op.lock().await;
        let rec = c.record();
        let net = self.networks.check_endpoint(network, &asked)?;
        match mode(&rec.host_config.network_mode) {
            Mode::Host => {
                return Err(forbidden(
                    "container cannot be disconnected from host network or connected to host network",
                ))
            }
            Mode::Container(_) => {
                return Err(forbidden(
                    "container sharing network namespace with another container or host cannot be connected to any other network",
                ))
            }
            Mode::None => {
                return Err(forbidden(
                    "container cannot be connected to multiple networks with one of the networks in private (none) mode",
                ))
            }
            Mode::Bridge => {}
        }
        if !net.rec.is_bridge() {
            return Err(forbidden(format!(
                "container cannot be connected to network {} of driver {}",
                net.rec.name, net.rec.driver
            )));
        }
        if rec.network.networks.contains_key(&net.rec.name) {
            return Err(forbidden(format!(
                "endpoint with name {} already exists in network {}",
                rec.name, net.rec.name
            )));
        }
        let mut asked = asked;
        asked.network_id = net.rec.id.clone();
        let dir = self.data_dir(&rec.id);
        let running = rec.state.status.is_active() && rec.network.has_sandbox();
        if !running {
            c.update(&dir, |r| {
                r.network.networks.insert(net.rec.name.clone(), asked);
            })?;
            return Ok(());
        }
        let (settled, ifname) = self
            .networks
            .connect_running(&rec.id, &rec.name, &rec.network, &net.rec.name, &asked)
            .await?;
        c.update(&dir, |r| {
            r.network.networks.insert(net.rec.name.clone(), settled);
            r.network.interfaces.insert(net.rec.name.clone(), ifname);
        })?;
        self.announce_network("connect", &net.rec.id, &net.rec.name, &rec.id);
        Ok(())
    }

    /// `network disconnect`.
    pub async fn disconnect_network(
        self: &Arc<Self>,
        container: &str,
        network: &str,
        _force: bool,
    ) -> EngineResult<()> {
        let c = self.find(container)?;
        let _op = c.op.lock().await;
        let rec = c.record();
        let net = self.networks.find(network)?;
        if matches!(mode(&rec.host_config.network_mode), Mode::Host) || net.rec.name == "host" {
            return Err(forbidden(
                "container cannot be disconnected from host network or connected to host network",
            ));
        }
        let Some(e) = rec.network.networks.get(&net.rec.name).cloned() else {
            return Err(forbidden(format!(
                "container {} is not connected to network {}",
                rec.id, net.rec.name
            )));
        };
        if rec.state.status.is_active() && rec.network.has_sandbox() {
            self.networks
                .disconnect_running(&rec.id, &net.rec.name, &e)
                .await;
        }
        let dir = self.data_dir(&rec.id);
        c.update(&dir, |r| {
            r.network.networks.remove(&net.rec.name);
            r.network.interfaces.remove(&net.rec.name);
            if r.network.primary == net.rec.name {
                r.network.primary = r
                    .network
                    .networks
                    .keys()
                    .next()
                    .cloned()
                    .unwrap_or_default();
            }
        })?;
        self.announce_network("disconnect", &net.rec.id, &net.rec.name, &rec.id);
        Ok(())
    }

    fn announce_network(&self, action: &str, id: &str, name: &str, container: &str) {
        let attrs = BTreeMap::from([
            ("container".to_string(), container.to_string()),
            ("name".to_string(), name.to_string()),
            ("type".to_string(), "bridge".to_string()),
        ]);
        self.events
            .publish(crate::networks::NETWORK, action, id, attrs);
    }
}

/// `NetworkSettings` as inspect shows it: the default bridge's fields at the top level (as
/// docker still does), every network in `Networks`, and the published ports.
pub fn settings_json(rec: &ContainerRecord, bridge_name: &str) -> serde_json::Value {
    let net = &rec.network;
    let bridge = net.networks.get("bridge").cloned().unwrap_or_default();
    let running = net.has_sandbox();
    let mut ports = serde_json::Map::new();
    if running {
        for (k, v) in &net.ports {
            ports.insert(k.clone(), serde_json::to_value(v).unwrap_or_default());
        }
    }
    // The namespace file is named by the sandbox's id.
    let sandbox_id = net
        .sandbox_key
        .as_ref()
        .and_then(|k| k.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    serde_json::json!({
        "Bridge": if running && net.networks.contains_key("bridge") { bridge_name } else { "" },
        "SandboxID": sandbox_id,
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SandboxKey": net.sandbox_key.as_ref().map(|k| k.display().to_string()).unwrap_or_default(),
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": bridge.endpoint_id,
        "Gateway": bridge.gateway,
        "GlobalIPv6Address": bridge.global_ipv6_address,
        "GlobalIPv6PrefixLen": bridge.global_ipv6_prefix_len,
        "IPAddress": bridge.ip_address,
        "IPPrefixLen": bridge.ip_prefix_len,
        "IPv6Gateway": bridge.ipv6_gateway,
        "MacAddress": bridge.mac_address,
        "Networks": net.networks,
    })
}

/// The `Ports` of a `ps` entry: published ports with their host side, exposed ones without.
pub fn summary_ports(rec: &ContainerRecord) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let running = rec.network.has_sandbox();
    let mut keys: Vec<String> = rec
        .config
        .exposed_ports
        .as_ref()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if running {
        keys.extend(rec.network.ports.keys().cloned());
    }
    keys.sort();
    keys.dedup();
    for key in keys {
        let Ok((port, proto)) = crate::networks::ports::parse_key(&key) else {
            continue;
        };
        let proto = match proto {
            berth_network::firewall::Proto::Tcp => "tcp",
            berth_network::firewall::Proto::Udp => "udp",
        };
        let published = running
            .then(|| rec.network.ports.get(&key).cloned().flatten())
            .flatten()
            .unwrap_or_default();
        if published.is_empty() {
            out.push(serde_json::json!({"PrivatePort": port, "Type": proto}));
        }
        for b in published {
            out.push(serde_json::json!({
                "IP": b.host_ip,
                "PrivatePort": port,
                "PublicPort": b.host_port.parse::<u16>().unwrap_or(0),
                "Type": proto,
            }));
        }
    }
    out
}

impl ContainerService {
    /// A starting container's /etc/hostname, /etc/hosts and /etc/resolv.conf: its own for
    /// its own network namespace, the other container's with `container:<name>`.
    pub(super) fn etc_files(
        &self,
        rec: &ContainerRecord,
        data: &std::path::Path,
    ) -> EngineResult<super::etc_files::EtcFiles> {
        if let Mode::Container(other) = mode(&rec.host_config.network_mode) {
            let o = self.find(other)?;
            let dir = self.data_dir(&o.id);
            return Ok(super::etc_files::EtcFiles {
                hostname: dir.join("hostname"),
                hosts: dir.join("hosts"),
                resolv_conf: dir.join("resolv.conf"),
            });
        }
        let host = &rec.host_config;
        let own = rec
            .network
            .networks
            .values()
            .flat_map(|e| {
                let v4 = e.ip_address.parse().ok().map(std::net::IpAddr::V4);
                let v6 = e.global_ipv6_address.parse().ok().map(std::net::IpAddr::V6);
                v4.into_iter().chain(v6)
            })
            .collect();
        let mut extra_hosts = host.extra_hosts.clone().unwrap_or_default();
        extra_hosts.extend(self.link_entries(rec)?);
        super::etc_files::write(
            data,
            &super::etc_files::EtcInput {
                hostname: &rec.config.hostname,
                extra_hosts: &extra_hosts,
                dns: host.dns.as_deref().unwrap_or(&[]),
                search: host.dns_search.as_deref().unwrap_or(&[]),
                options: host.dns_options.as_deref().unwrap_or(&[]),
                own,
                nameserver: self.nameserver(rec),
                host_gateway: self.networks.host_gateway(),
            },
        )
    }
}

impl ContainerService {
    /// Legacy `--link NAME[:ALIAS]`: /etc/hosts entries (`alias name` → the linked
    /// container's address), as docker writes them. The linked container must be running.
    fn link_entries(&self, rec: &ContainerRecord) -> EngineResult<Vec<String>> {
        let mut out = Vec::new();
        for link in rec.host_config.links.iter().flatten() {
            let (name, alias) = match link.split_once(':') {
                Some((n, a)) => (n, a.rsplit('/').next().unwrap_or(a)),
                None => (link.as_str(), link.as_str()),
            };
            let name = name.trim_start_matches('/');
            let other = self
                .find(name)
                .map_err(|_| EngineError::invalid(format!("could not get container for {name}")))?;
            let o = other.record();
            if o.state.status != Status::Running {
                return Err(EngineError::invalid(format!(
                    "Cannot link to a non running container: /{} AS /{}/{alias}",
                    o.name, rec.name
                )));
            }
            let ip = o
                .network
                .networks
                .values()
                .find_map(|e| (!e.ip_address.is_empty()).then(|| e.ip_address.clone()));
            if let Some(ip) = ip {
                // One `host:ip` entry per name, so /etc/hosts lists the alias and the name.
                out.push(format!("{alias}:{ip}"));
                if alias != o.name {
                    out.push(format!("{}:{ip}", o.name));
                }
            }
        }
        Ok(out)
    }
}
