//! Making and removing networks: `network create` with docker's checks (a name in use, a
//! subnet overlapping another network or a host route, a gateway or range outside its
//! subnet), the predefined `bridge`, `host` and `none`, `network rm` and `network prune`.
//! A network's record is written before its bridge is made and deleted after the bridge is
//! gone, so no bridge ever exists without a record saying whose it is.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use berth_api::types::NetworkCreateRequest;
use berth_network::ipam::{check_overlap, free_subnet, parse_cidr, Subnet};
use berth_network::ipam6::{check_overlap6, free_subnet6, parse_cidr6, Subnet6};
use chrono::Utc;

use super::record::{NetworkRecord, DRIVER_BRIDGE, DRIVER_HOST, DRIVER_NULL};
use super::{host, Network, NetworkService};
use crate::error::{EngineError, EngineResult, ErrorKind};

/// `POST /networks/create`, as the service takes it.
pub type CreateNetwork = NetworkCreateRequest;

const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
const OPT_MTU: &str = "com.docker.network.driver.mtu";

fn new_id() -> String {
    crate::containers::new_id()
}

fn forbidden(message: String) -> EngineError {
    EngineError::new(ErrorKind::Forbidden, message)
}

/// Network names follow the rule of container names, as docker's do in practice.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The address family of an IPAM config entry, by its subnet (or gateway).
fn is_ipv6_config(c: &berth_api::types::IpamConfig) -> bool {
    c.subnet.contains(':') || c.gateway.contains(':') || c.ip_range.contains(':')
}

/// The IPv4 addressing a request asks for: subnet, gateway, range, auxiliary addresses.
struct Addressing {
    subnet: Option<Subnet>,
    gateway: Option<Ipv4Addr>,
    ip_range: Option<Subnet>,
    aux: BTreeMap<String, Ipv4Addr>,
}

fn addressing(req: &NetworkCreateRequest) -> EngineResult<Addressing> {
    let mut out = Addressing {
        subnet: None,
        gateway: None,
        ip_range: None,
        aux: BTreeMap::new(),
    };
    let configs: Vec<_> = req
        .ipam
        .iter()
        .flat_map(|i| i.config.iter())
        .filter(|c| !is_ipv6_config(c))
        .collect();
    if configs.len() > 1 {
        return Err(EngineError::invalid(
            "Berth bridge networks take one IPv4 subnet; more than one was given",
        ));
    }
    let Some(c) = configs.first() else {
        return Ok(out);
    };
    let parse_ip = |s: &str, what: &str| -> EngineResult<Ipv4Addr> {
        s.parse()
            .map_err(|_| EngineError::invalid(format!("invalid {what} address: {s}")))
    };
    if c.subnet.is_empty() {
        if !c.gateway.is_empty() || !c.ip_range.is_empty() {
            return Err(EngineError::invalid(
                "a gateway or an IP range needs a subnet (--subnet)",
            ));
        }
        return Ok(out);
    }
    let (given, subnet) = parse_cidr(&c.subnet).map_err(|e| EngineError::invalid(e.to_string()))?;
    if given != subnet.network {
        return Err(EngineError::invalid(format!(
            "invalid subnet {}: it has host bits set (the network address is {subnet})",
            c.subnet
        )));
    }
    if subnet.prefix > 30 {
        return Err(EngineError::invalid(format!(
            "invalid subnet {subnet}: too small for a gateway and a container"
        )));
    }
    out.subnet = Some(subnet);
    if !c.gateway.is_empty() {
        let gw = parse_ip(&c.gateway, "gateway")?;
        if !subnet.contains(gw) || gw == subnet.network || gw == subnet.broadcast() {
            return Err(EngineError::invalid(format!(
                "no matching subnet for gateway {gw}"
            )));
        }
        out.gateway = Some(gw);
    }
    if !c.ip_range.is_empty() {
        let range: Subnet = c
            .ip_range
            .parse()
            .map_err(|e: berth_network::ipam::IpamError| EngineError::invalid(e.to_string()))?;
        if !subnet.contains(range.network) || !subnet.contains(range.broadcast()) {
            return Err(EngineError::invalid(format!(
                "no matching subnet for range {range}"
            )));
        }
        out.ip_range = Some(range);
    }
    for (name, addr) in &c.aux_addresses {
        let ip = parse_ip(addr, "auxiliary")?;
        if !subnet.contains(ip) {
            return Err(EngineError::invalid(format!(
                "no matching subnet for aux-address {ip}"
            )));
        }
        out.aux.insert(name.clone(), ip);
    }
    Ok(out)
}

/// The IPv6 addressing a request asks for (`--ipv6` with `--subnet fd00::/64` and friends).
#[derive(Default)]
struct Addressing6 {
    subnet: Option<Subnet6>,
    gateway: Option<Ipv6Addr>,
    ip_range: Option<Subnet6>,
}

fn addressing6(req: &NetworkCreateRequest) -> EngineResult<Addressing6> {
    let configs: Vec<_> = req
        .ipam
        .iter()
        .flat_map(|i| i.config.iter())
        .filter(|c| is_ipv6_config(c))
        .collect();
    if configs.len() > 1 {
        return Err(EngineError::invalid(
            "Berth bridge networks take one IPv6 subnet; more than one was given",
        ));
    }
    let Some(c) = configs.first() else {
        return Ok(Addressing6::default());
    };
    if !req.enable_ipv6 {
        return Err(EngineError::invalid(format!(
            "IPv6 subnet {} given, but IPv6 is not enabled on the network: add --ipv6",
            c.subnet
        )));
    }
    if c.subnet.is_empty() {
        return Err(EngineError::invalid(
            "an IPv6 gateway or IP range needs an IPv6 subnet (--subnet)",
        ));
    }
    if !c.aux_addresses.is_empty() {
        return Err(EngineError::invalid(
            "auxiliary addresses on an IPv6 subnet are not supported by Berth",
        ));
    }
    let (given, subnet) =
        parse_cidr6(&c.subnet).map_err(|e| EngineError::invalid(e.to_string()))?;
    if given != subnet.network {
        return Err(EngineError::invalid(format!(
            "invalid subnet {}: it has host bits set (the network address is {subnet})",
            c.subnet
        )));
    }
    if subnet.prefix > 126 {
        return Err(EngineError::invalid(format!(
            "invalid subnet {subnet}: too small for a gateway and a container"
        )));
    }
    let mut out = Addressing6 {
        subnet: Some(subnet),
        ..Default::default()
    };
    if !c.gateway.is_empty() {
        let gw: Ipv6Addr = c
            .gateway
            .parse()
            .map_err(|_| EngineError::invalid(format!("invalid gateway address: {}", c.gateway)))?;
        if !subnet.contains(gw) || gw == subnet.network {
            return Err(EngineError::invalid(format!(
                "no matching subnet for gateway {gw}"
            )));
        }
        out.gateway = Some(gw);
    }
    if !c.ip_range.is_empty() {
        let range: Subnet6 = c
            .ip_range
            .parse()
            .map_err(|e: berth_network::ipam6::Ipam6Error| EngineError::invalid(e.to_string()))?;
        if !subnet.contains(range.network) || !subnet.contains(range.last_address()) {
            return Err(EngineError::invalid(format!(
                "no matching subnet for range {range}"
            )));
        }
        out.ip_range = Some(range);
    }
    Ok(out)
}

fn check_options(options: &BTreeMap<String, String>) -> EngineResult<()> {
    if let Some(name) = options.get(OPT_BRIDGE_NAME) {
        if !berth_network::valid_ifname(name) {
            return Err(EngineError::invalid(format!(
                "invalid bridge name {name:?}: 1 to 15 letters, digits, '-', '_' or '.'"
            )));
        }
    }
    if let Some(mtu) = options.get(OPT_MTU) {
        match mtu.parse::<u32>() {
            Ok(m) if (68..=65535).contains(&m) => {}
            _ => {
                return Err(EngineError::invalid(format!(
                    "invalid MTU {mtu:?}: a number from 68 to 65535"
                )))
            }
        }
    }
    for key in [
        "com.docker.network.bridge.enable_icc",
        "com.docker.network.bridge.enable_ip_masquerade",
    ] {
        if let Some(v) = options.get(key) {
            if !matches!(v.as_str(), "true" | "false" | "1" | "0") {
                return Err(EngineError::invalid(format!(
                    "invalid value {v:?} for option {key}: true or false"
                )));
            }
        }
    }
    Ok(())
}

impl NetworkService {
    /// Subnets already taken: other networks' and the host's routes.
    fn subnets_in_use(&self) -> Vec<Subnet> {
        let mut used = host::routed_subnets();
        used.extend(self.all().iter().filter_map(|n| n.rec.subnet));
        used
    }

    /// IPv6 subnets already taken: other networks' and the host's routes.
    fn subnets6_in_use(&self) -> Vec<Subnet6> {
        let mut used = host::routed_subnets6();
        used.extend(self.all().iter().filter_map(|n| n.rec.subnet6));
        used
    }

    /// `network create`. Returns the new network's ID.
    pub async fn create(&self, req: NetworkCreateRequest) -> EngineResult<String> {
        let name = req.name.trim().to_string();
        if name.is_empty() {
            return Err(EngineError::invalid("a network needs a name"));
        }
        if !valid_name(&name) {
            return Err(EngineError::invalid(format!(
                "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        match req.driver.as_str() {
            "" | DRIVER_BRIDGE => {}
            DRIVER_HOST | DRIVER_NULL => {
                return Err(forbidden(format!(
                    "only one instance of \"{}\" network is allowed",
                    req.driver
                )))
            }
            other => {
                return Err(EngineError::not_found(format!(
                    "plugin \"{other}\" not found"
                )))
            }
        }
        if let Some(ipam) = &req.ipam {
            if !matches!(ipam.driver.as_str(), "" | "default") {
                return Err(EngineError::not_found(format!(
                    "plugin \"{}\" not found",
                    ipam.driver
                )));
            }
        }
        check_options(&req.options)?;
        let addressing = addressing(&req)?;
        let addressing6 = addressing6(&req)?;

        let _g = self.changes.lock().await;
        if self.all().iter().any(|n| n.rec.name == name) {
            return Err(EngineError::conflict(format!(
                "network with name {name} already exists"
            )));
        }
        let id = new_id();
        let bridge = match req.options.get(OPT_BRIDGE_NAME) {
            Some(b) => b.clone(),
            None => format!("br-{}", &id[..12]),
        };
        if self.all().iter().any(|n| n.rec.bridge == bridge) {
            return Err(EngineError::conflict(format!(
                "bridge name {bridge} is already used by another network"
            )));
        }
        // Choosing the subnet and making the bridge are one step for every engine on the
        // host, so a second engine sees the first one's route.
        let _host_lock = host::lock_subnets()?;
        let in_use = self.subnets_in_use();
        let subnet = match addressing.subnet {
            Some(s) => {
                check_overlap(&s, &in_use).map_err(|e| forbidden(e.to_string()))?;
                s
            }
            None => free_subnet(&host::candidate_subnets(), &in_use).ok_or_else(|| {
                EngineError::invalid(
                    "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
                )
            })?,
        };
        let subnet6 = match (req.enable_ipv6, addressing6.subnet) {
            (false, _) => None,
            (true, Some(s)) => {
                check_overlap6(&s, &self.subnets6_in_use())
                    .map_err(|e| forbidden(e.to_string()))?;
                Some(s)
            }
            (true, None) => Some(
                free_subnet6(host::candidate_subnets6(), &self.subnets6_in_use()).ok_or_else(
                    || {
                        EngineError::invalid(
                            "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network",
                        )
                    },
                )?,
            ),
        };
        let rec = NetworkRecord {
            id: id.clone(),
            name,
            created: Utc::now(),
            driver: DRIVER_BRIDGE.into(),
            bridge,
            subnet: Some(subnet),
            gateway: addressing.gateway,
            ip_range: addressing.ip_range,
            aux_addresses: addressing.aux,
            internal: req.internal,
            attachable: req.attachable,
            enable_ipv6: req.enable_ipv6,
            subnet6,
            gateway6: addressing6.gateway,
            ip_range6: addressing6.ip_range,
            options: req.options.clone(),
            labels: req.labels.clone(),
            ipam_options: req.ipam.map(|i| i.options).unwrap_or_default(),
            predefined: false,
        };
        let net = Network::new(rec.clone())?;
        rec.save(&self.dir)?;
        self.insert(net.clone());
        let made = async {
            self.ensure_ready(&net).await?;
            self.apply_firewall().await
        }
        .await;
        if let Err(e) = made {
            self.destroy(&net).await;
            return Err(e);
        }
        self.announce("create", &rec, &[]);
        Ok(id)
    }

    /// Removes a network's bridge, DNS server and record, and its rules. Called with
    /// `changes` held.
    async fn destroy(&self, net: &Arc<Network>) {
        if let Some(server) = net.dns.lock().await.take() {
            server.shutdown().await;
        }
        if net.rec.is_bridge() {
            if let Ok(links) = self.links().await {
                if let Err(e) = links.delete_link(&net.rec.bridge).await {
                    tracing::warn!(bridge = %net.rec.bridge, error = %e, "removing a bridge");
                }
            }
        }
        net.ready.store(false, Ordering::SeqCst);
        self.networks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&net.rec.id);
        if let Err(e) = self.apply_firewall().await {
            tracing::warn!(error = %e.message, "updating the firewall after removing a network");
        }
        if let Err(e) = net.rec.delete(&self.dir) {
            tracing::warn!(error = %e.message, "removing a network record");
        }
    }

    /// `network rm`: refused for the predefined networks and while containers are attached.
    pub async fn remove(&self, name: &str) -> EngineResult<()> {
        let net = self.find(name)?;
        if net.rec.predefined {
            return Err(forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                net.rec.name
            )));
        }
        let _g = self.changes.lock().await;
        if net.in_use() {
            return Err(forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                net.rec.name, net.rec.id
            )));
        }
        self.destroy(&net).await;
        self.announce("destroy", &net.rec, &[]);
        Ok(())
    }

    /// `network prune`: every user network no container is attached to, that the filters
    /// (`label`, `label!`, `until`) select. Returns the names removed.
    pub async fn prune(&self, filters: &berth_api::filters::Filters) -> EngineResult<Vec<String>> {
        let now = Utc::now();
        let mut removed = Vec::new();
        for net in self.all() {
            if net.rec.predefined || net.in_use() {
                continue;
            }
            if !super::list::matches_prune(&net.rec, filters, now)? {
                continue;
            }
            let _g = self.changes.lock().await;
            if net.in_use() {
                continue;
            }
            self.destroy(&net).await;
            self.announce("destroy", &net.rec, &[]);
            removed.push(net.rec.name.clone());
        }
        removed.sort();
        Ok(removed)
    }

    /// The `bridge`, `host` and `none` networks, made on first start; the default bridge's
    /// subnet follows `--bip`, or is chosen once and kept. Called with `changes` held.
    pub(super) async fn ensure_predefined(&self) -> EngineResult<()> {
        let all = self.all();
        for (name, driver) in [("host", DRIVER_HOST), ("none", DRIVER_NULL)] {
            if !all.iter().any(|n| n.rec.name == name) {
                let rec = predefined(name, driver);
                rec.save(&self.dir)?;
                self.insert(Network::new(rec)?);
            }
        }
        let bip = match &self.settings.bip {
            Some(b) => Some(parse_cidr(b).map_err(|e| EngineError::invalid(e.to_string()))?),
            None => None,
        };
        let existing = all.iter().find(|n| n.rec.name == "bridge").cloned();
        if let Some(net) = &existing {
            let same_bridge = net.rec.bridge == self.settings.bridge;
            let same_bip =
                bip.is_none_or(|(gw, s)| net.rec.subnet == Some(s) && net.rec.gateway == Some(gw));
            if same_bridge && same_bip {
                return Ok(());
            }
            if net.in_use() {
                tracing::warn!("the default bridge's settings changed while containers use it; keeping the old ones");
                return Ok(());
            }
            if let Ok(links) = self.links().await {
                let _ = links.delete_link(&net.rec.bridge).await;
            }
        }
        let _host_lock = host::lock_subnets()?;
        let mut in_use = host::routed_subnets();
        in_use.extend(
            self.all()
                .iter()
                .filter(|n| n.rec.name != "bridge")
                .filter_map(|n| n.rec.subnet),
        );
        // A subnet this engine's own bridge already routes is not taken by someone else.
        if let Some(net) = &existing {
            if let Some(s) = net.rec.subnet {
                in_use.retain(|u| *u != s);
            }
        }
        let (gateway, subnet) = match bip {
            Some((gw, s)) => {
                check_overlap(&s, &in_use).map_err(|e| forbidden(format!("--bip: {e}")))?;
                (Some(gw), s)
            }
            None => {
                let s = free_subnet(&host::candidate_subnets(), &in_use).ok_or_else(|| {
                    EngineError::internal("no free subnet for the default bridge; set --bip")
                })?;
                (None, s)
            }
        };
        let mut rec = predefined("bridge", DRIVER_BRIDGE);
        if let Some(old) = &existing {
            rec.id = old.rec.id.clone();
            rec.created = old.rec.created;
        }
        rec.bridge = self.settings.bridge.clone();
        rec.subnet = Some(subnet);
        rec.gateway = gateway;
        rec.options = BTreeMap::from([
            (
                "com.docker.network.bridge.default_bridge".into(),
                "true".into(),
            ),
            ("com.docker.network.bridge.enable_icc".into(), "true".into()),
            (
                "com.docker.network.bridge.enable_ip_masquerade".into(),
                "true".into(),
            ),
            (
                "com.docker.network.bridge.host_binding_ipv4".into(),
                "0.0.0.0".into(),
            ),
            (OPT_BRIDGE_NAME.into(), self.settings.bridge.clone()),
            (OPT_MTU.into(), "1500".into()),
        ]);
        let net = Network::new(rec.clone())?;
        rec.save(&self.dir)?;
        self.insert(net.clone());
        self.ensure_ready(&net).await
    }
}

fn predefined(name: &str, driver: &str) -> NetworkRecord {
    NetworkRecord {
        id: new_id(),
        name: name.into(),
        created: Utc::now(),
        driver: driver.into(),
        bridge: String::new(),
        subnet: None,
        gateway: None,
        ip_range: None,
        aux_addresses: BTreeMap::new(),
        internal: false,
        attachable: false,
        enable_ipv6: false,
        subnet6: None,
        gateway6: None,
        ip_range6: None,
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        ipam_options: BTreeMap::new(),
        predefined: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::types::{Ipam, IpamConfig};

    fn request(subnet: &str, gateway: &str, range: &str) -> NetworkCreateRequest {
        NetworkCreateRequest {
            name: "n".into(),
            ipam: Some(Ipam {
                config: vec![IpamConfig {
                    subnet: subnet.into(),
                    gateway: gateway.into(),
                    ip_range: range.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn addressing_is_checked_as_docker_checks_it() {
        let a = addressing(&request("10.9.0.0/24", "10.9.0.254", "10.9.0.128/25")).unwrap();
        assert_eq!(a.subnet.unwrap().to_string(), "10.9.0.0/24");
        assert_eq!(a.gateway.unwrap(), Ipv4Addr::new(10, 9, 0, 254));
        assert_eq!(a.ip_range.unwrap().to_string(), "10.9.0.128/25");
        let err = |r| addressing(&r).err().unwrap().message;
        assert_eq!(
            err(request("10.9.0.0/24", "10.9.1.1", "")),
            "no matching subnet for gateway 10.9.1.1"
        );
        assert_eq!(
            err(request("10.9.0.0/24", "", "10.9.1.0/25")),
            "no matching subnet for range 10.9.1.0/25"
        );
        assert_eq!(
            err(request("10.9.0/24", "", "")),
            "invalid CIDR address: 10.9.0/24"
        );
        assert!(err(request("10.9.0.1/24", "", "")).contains("host bits"));
        assert!(err(request("", "10.9.0.1", "")).contains("needs a subnet"));
        assert!(err(request("10.9.0.0/24", "nope", "")).contains("invalid gateway address"));
    }

    #[test]
    fn names_and_options() {
        assert!(valid_name("app_default"));
        assert!(valid_name("a.b-c"));
        assert!(!valid_name("-a"));
        assert!(!valid_name("a/b"));
        let opts = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(check_options(&opts(OPT_BRIDGE_NAME, "br-ok")).is_ok());
        assert!(check_options(&opts(OPT_BRIDGE_NAME, "much-too-long-name")).is_err());
        assert!(check_options(&opts(OPT_MTU, "abc")).is_err());
        assert!(check_options(&opts(OPT_MTU, "1400")).is_ok());
        assert!(check_options(&opts("com.docker.network.bridge.enable_icc", "maybe")).is_err());
    }
}
