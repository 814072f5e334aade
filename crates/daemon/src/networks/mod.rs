//! The network service: docker's networks (`bridge`, `host`, `none` and user-defined bridge
//! networks) and the attachments of running containers to them. It owns the bridges, the
//! address pools, the engine's firewall table and each user network's DNS server; the
//! container service asks it for a sandbox when a container starts and gives it back when
//! the container stops.
//!
//! What exists on the host is always derived from records: networks' own records, and the
//! network state in containers' records (written before anything is created). So a crashed
//! engine's leftovers are found and repaired or removed at the next start, and the firewall
//! table is rebuilt whole from that state after every change.

mod attached;
mod create;
mod host;
mod list;
pub mod ports;
mod record;
pub mod sandbox;
mod spare_netns;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use berth_network::dns::{DnsServer, Records};
use berth_network::firewall::{Firewall, NetworkRules, PortRule, Ruleset};
use berth_network::ipam::Pool;
use berth_network::ipam6::Pool6;
use berth_network::link::Links;

use crate::error::{EngineError, EngineResult};
use crate::events::EventBus;
pub use create::CreateNetwork;
pub use record::{NetworkRecord, DRIVER_BRIDGE, DRIVER_HOST, DRIVER_NULL};
pub use sandbox::{ContainerNetwork, RunningSandbox, SandboxRequest};

/// The event type of network events.
pub const NETWORK: &str = "network";

/// What the network service takes from the engine's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    /// The default bridge network's device.
    pub bridge: String,
    /// Its address and prefix, if configured.
    pub bip: Option<String>,
}

/// A container's place on one network.
#[derive(Debug, Clone)]
struct Attachment {
    container_name: String,
    endpoint_id: String,
    ip: Ipv4Addr,
    /// On a network with IPv6.
    ip6: Option<Ipv6Addr>,
    mac: String,
}

/// One network and what is attached to it.
pub struct Network {
    pub rec: NetworkRecord,
    pool: Mutex<Option<Pool>>,
    pool6: Mutex<Option<Pool6>>,
    attachments: Mutex<BTreeMap<String, Attachment>>,
    dns_records: Records,
    dns: tokio::sync::Mutex<Option<DnsServer>>,
    /// The bridge exists with its address (bridge networks only).
    ready: AtomicBool,
}

impl Network {
    fn new(rec: NetworkRecord) -> EngineResult<Arc<Network>> {
        let pool = rec.pool()?;
        let pool6 = rec.pool6()?;
        Ok(Arc::new(Network {
            rec,
            pool: Mutex::new(pool),
            pool6: Mutex::new(pool6),
            attachments: Mutex::new(BTreeMap::new()),
            dns_records: Records::default(),
            dns: tokio::sync::Mutex::new(None),
            ready: AtomicBool::new(false),
        }))
    }

    /// User-defined bridge networks have DNS by name; the default bridge, as docker's, not.
    fn has_dns(&self) -> bool {
        self.rec.is_bridge() && !self.is_default_bridge()
    }

    fn is_default_bridge(&self) -> bool {
        self.rec.name == "bridge"
    }

    fn attachments(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Attachment>> {
        self.attachments.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Option<Pool>> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pool6(&self) -> std::sync::MutexGuard<'_, Option<Pool6>> {
        self.pool6.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The IPv6 gateway and prefix length, on a network with IPv6.
    fn gateway6(&self) -> Option<(Ipv6Addr, u8)> {
        self.pool6().as_ref().map(|p| (p.gateway, p.subnet.prefix))
    }

    /// Makes a container's name and aliases answer with its addresses in this network's DNS;
    /// the name first, as it is what a reverse lookup answers.
    fn name_in_dns(&self, name: &str, aliases: &[String], ip: Ipv4Addr, ip6: Option<Ipv6Addr>) {
        for ip in std::iter::once(IpAddr::V4(ip)).chain(ip6.map(IpAddr::V6)) {
            self.dns_records.insert(name, ip);
            for a in aliases {
                self.dns_records.insert(a, ip);
            }
        }
    }

    pub fn in_use(&self) -> bool {
        !self.attachments().is_empty()
    }
}

pub struct NetworkService {
    dir: PathBuf,
    netns_dir: PathBuf,
    settings: Settings,
    networks: RwLock<BTreeMap<String, Arc<Network>>>,
    firewall: Firewall,
    links: tokio::sync::OnceCell<Links>,
    /// Orders changes to bridges, pools and the firewall table.
    changes: tokio::sync::Mutex<()>,
    /// The ports each running container publishes, by container ID.
    published: Mutex<HashMap<String, Vec<PortRule>>>,
    /// What the firewall table holds now, when this engine wrote it: a change that leaves
    /// the ruleset as it was (a container with no published port) costs no netlink batch.
    applied: Mutex<Option<Ruleset>>,
    /// Sandboxes being deleted, and the spare namespace being made, in the background.
    background: tokio_util::task::TaskTracker,
    /// The next start's network namespace, made ahead.
    spare_netns: Arc<spare_netns::SpareNetns>,
    events: Arc<EventBus>,
}

impl NetworkService {
    /// Loads the network records (creating the predefined networks' on first start).
    /// Nothing on the host changes until [`NetworkService::activate`].
    pub fn open(settings: Settings, events: Arc<EventBus>) -> EngineResult<NetworkService> {
        let dir = settings.data_root.join("networks");
        crate::engine::ensure_private_dir(&dir, 0o700)?;
        let netns_dir = settings.exec_root.join("netns");
        let table = if settings.bridge == crate::config::DEFAULT_BRIDGE {
            "berth".to_string()
        } else {
            format!("berth-{}", settings.bridge)
        };
        let svc = NetworkService {
            dir,
            spare_netns: spare_netns::SpareNetns::new(netns_dir.clone()),
            netns_dir,
            firewall: Firewall::new(&table).map_err(|e| {
                EngineError::internal(format!("opening the firewall (nftables over netlink): {e}"))
            })?,
            settings,
            networks: RwLock::new(BTreeMap::new()),
            links: tokio::sync::OnceCell::new(),
            changes: tokio::sync::Mutex::new(()),
            published: Mutex::new(HashMap::new()),
            applied: Mutex::new(None),
            background: tokio_util::task::TaskTracker::new(),
            events,
        };
        for rec in NetworkRecord::load_all(&svc.dir) {
            let net = Network::new(rec)?;
            svc.insert(net);
        }
        Ok(svc)
    }

    fn insert(&self, net: Arc<Network>) {
        self.networks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(net.rec.id.clone(), net);
    }

    fn all(&self) -> Vec<Arc<Network>> {
        self.networks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Finds a network by full ID, exact name, or unique ID prefix, as docker does.
    pub fn find(&self, name: &str) -> EngineResult<Arc<Network>> {
        let all = self.all();
        if let Some(n) = all.iter().find(|n| n.rec.id == name) {
            return Ok(n.clone());
        }
        if let Some(n) = all.iter().find(|n| n.rec.name == name) {
            return Ok(n.clone());
        }
        let mut found = all
            .iter()
            .filter(|n| !name.is_empty() && n.rec.id.starts_with(name));
        match (found.next(), found.next()) {
            (Some(n), None) => Ok(n.clone()),
            (Some(_), Some(_)) => Err(EngineError::invalid(format!(
                "network {name} is ambiguous ({} matches found based on ID prefix)",
                all.iter().filter(|n| n.rec.id.starts_with(name)).count()
            ))),
            _ => Err(EngineError::not_found(format!("network {name} not found"))),
        }
    }

    async fn links(&self) -> EngineResult<&Links> {
        self.links
            .get_or_try_init(|| async {
                Links::new()
                    .await
                    .map_err(|e| EngineError::internal(format!("opening netlink: {e}")))
            })
            .await
    }

    /// Makes sure a bridge network's device exists with its gateway address, and its DNS
    /// server listens. Called with `changes` held.
    async fn ensure_ready(&self, net: &Arc<Network>) -> EngineResult<()> {
        if !net.rec.is_bridge() || net.ready.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (Some(subnet), Some(gateway)) =
            (net.rec.subnet, net.pool().as_ref().map(|p| p.gateway))
        else {
            return Err(EngineError::internal(format!(
                "network {} has no subnet",
                net.rec.name
            )));
        };
        self.links()
            .await?
            .ensure_bridge(
                &net.rec.bridge,
                gateway,
                subnet.prefix,
                Some(record::LINK_MTU),
            )
            .await
            .map_err(|e| {
                EngineError::internal(format!("creating bridge {}: {e}", net.rec.bridge))
            })?;
        host::enable_forwarding(&net.rec.bridge)?;
        if let Some((gateway6, prefix6)) = net.gateway6() {
            self.links()
                .await?
                .ensure_bridge_ipv6(&net.rec.bridge, gateway6, prefix6)
                .await
                .map_err(|e| {
                    EngineError::internal(format!(
                        "adding the IPv6 gateway to bridge {}: {e}",
                        net.rec.bridge
                    ))
                })?;
            host::enable_forwarding6()?;
        }
        if net.has_dns() {
            let mut dns = net.dns.lock().await;
            if dns.is_none() {
                let upstreams = host::upstream_resolvers();
                let server =
                    berth_network::dns::serve(gateway, 53, net.dns_records.clone(), upstreams)
                        .await
                        .map_err(|e| {
                            EngineError::internal(format!(
                                "starting the DNS server of network {} on {gateway}:53: {e}",
                                net.rec.name
                            ))
                        })?;
                *dns = Some(server);
            }
        }
        net.ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The whole firewall table, as the current state asks for it.
    fn ruleset(&self) -> Ruleset {
        let networks = self
            .all()
            .into_iter()
            .filter(|n| n.rec.is_bridge() && n.ready.load(Ordering::SeqCst))
            .filter_map(|n| {
                Some(NetworkRules {
                    bridge: n.rec.bridge.clone(),
                    subnet: n.rec.subnet?,
                    subnet6: n.pool6().as_ref().map(|p| p.subnet),
                    internal: n.rec.internal,
                    masquerade: n
                        .rec
                        .option_bool("com.docker.network.bridge.enable_ip_masquerade", true),
                    icc: n
                        .rec
                        .option_bool("com.docker.network.bridge.enable_icc", true),
                })
            })
            .collect();
        let mut ports: Vec<PortRule> = self
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flatten()
            .cloned()
            .collect();
        // In a stable order, so an unchanged state compares equal to what was applied.
        ports.sort_by_key(|p| {
            (
                p.host_port,
                p.host_ip,
                p.container_ip,
                p.container_port,
                p.proto as u8,
            )
        });
        Ruleset { networks, ports }
    }

    /// Replaces the firewall table with what the state asks for. Called with `changes` held.
    async fn apply_firewall(&self) -> EngineResult<()> {
        let rules = self.ruleset();
        let unchanged = self
            .applied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            == Some(&rules);
        if unchanged {
            return Ok(());
        }
        *self.applied.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.firewall
            .apply(&rules)
            .await
            .map_err(|e| EngineError::internal(format!("programming the firewall: {e}")))?;
        *self.applied.lock().unwrap_or_else(|e| e.into_inner()) = Some(rules);
        Ok(())
    }

    /// Brings the host in line with the records at engine start: the default networks exist,
    /// running containers' attachments are known again, bridges are up and the firewall
    /// table is rebuilt (repairing or replacing whatever a crashed engine left).
    pub async fn activate(&self, running: &[RunningSandbox]) -> EngineResult<()> {
        let _g = self.changes.lock().await;
        self.ensure_predefined().await?;
        for r in running {
            self.restore(r);
        }
        self.remove_stray_sandboxes(running).await;
        for net in self.all() {
            if net.rec.is_bridge() {
                if let Err(e) = self.ensure_ready(&net).await {
                    tracing::warn!(network = %net.rec.name, error = %e.message, "network not ready");
                }
            }
        }
        self.spare_netns.refill(&self.background);
        self.apply_firewall().await
    }

    /// At a clean stop with no container running, the engine leaves nothing on the host:
    /// no firewall table, no bridge, no DNS listener.
    pub async fn shutdown(&self, containers_running: bool) {
        // First, so that no spare is made from here on.
        self.spare_netns.close();
        self.background.close();
        self.background.wait().await;
        let _g = self.changes.lock().await;
        for net in self.all() {
            if let Some(server) = net.dns.lock().await.take() {
                server.shutdown().await;
            }
        }
        if containers_running {
            return;
        }
        if let Err(e) = self.firewall.remove().await {
            tracing::warn!(error = %e, "removing the firewall table");
        }
        *self.applied.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Err(e) = berth_network::netns::release_dir(&self.netns_dir) {
            tracing::warn!(error = %e, "unmounting the network namespace directory");
        }
        if let Ok(links) = self.links().await {
            for net in self.all().into_iter().filter(|n| n.rec.is_bridge()) {
                if let Err(e) = links.delete_link(&net.rec.bridge).await {
                    tracing::warn!(bridge = %net.rec.bridge, error = %e, "removing a bridge");
                }
                net.ready.store(false, Ordering::SeqCst);
            }
        }
    }

    /// The default bridge's device name.
    pub fn default_bridge(&self) -> String {
        self.settings.bridge.clone()
    }

    /// Namespace files no running container owns: left by an engine that crashed while
    /// removing them.
    async fn remove_stray_sandboxes(&self, running: &[RunningSandbox]) {
        let owned: Vec<&std::path::Path> = running
            .iter()
            .filter_map(|r| r.network.sandbox_key.as_deref())
            .collect();
        let Ok(files) = berth_network::netns::list(&self.netns_dir) else {
            return;
        };
        for f in files {
            let path = self.netns_dir.join(&f);
            if !owned.contains(&path.as_path()) {
                tracing::info!(sandbox = %f, "removing a network namespace left by a crash");
                self.remove_sandbox(&f, &[], Some(path)).await;
            }
        }
    }

    fn announce(&self, action: &str, net: &NetworkRecord, extra: &[(&str, &str)]) {
        let mut attrs = BTreeMap::from([
            ("name".to_string(), net.name.clone()),
            ("type".to_string(), net.driver.clone()),
        ]);
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.to_string());
        }
        self.events.publish(NETWORK, action, &net.id, attrs);
    }
}
