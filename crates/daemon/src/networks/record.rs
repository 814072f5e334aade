//! A network's record: what it was created with, kept in `<data-root>/networks/<id>.json`
//! and written whole (temporary file, rename), so a crash leaves the old record or the new.
//! Which containers use a network is not recorded here: containers' own records say which
//! networks they are on and with which addresses, and the service rebuilds its view from
//! them at start.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use berth_network::ipam::{Pool, Subnet};
use berth_network::ipam6::{Pool6, Subnet6};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, EngineResult};

pub const DRIVER_BRIDGE: &str = "bridge";
pub const DRIVER_HOST: &str = "host";
pub const DRIVER_NULL: &str = "null";

/// Docker's MTU towards other hosts.
pub const DEFAULT_MTU: u32 = 1500;

/// The MTU of the bridge and its veths. Nothing physical limits a software bridge, so
/// traffic between the host and its containers (published ports reached from the host
/// included) and between containers moves in 64 KiB frames, as over loopback: at 1500 it
/// ran at half of loopback's speed. Traffic to other hosts takes the default route, whose
/// MTU is the network's outside MTU.
pub const LINK_MTU: u32 = 65535;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    /// The bridge device (bridge networks only).
    #[serde(default)]
    pub bridge: String,
    /// Present for bridge networks.
    #[serde(default)]
    pub subnet: Option<Subnet>,
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    #[serde(default)]
    pub ip_range: Option<Subnet>,
    #[serde(default)]
    pub aux_addresses: BTreeMap<String, Ipv4Addr>,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub enable_ipv6: bool,
    /// The IPv6 subnet, gateway and range of a network with `--ipv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<Subnet6>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<Ipv6Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range6: Option<Subnet6>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    /// The subnet was picked by the engine rather than given by the user (docker shows
    /// such pools in inspect all the same).
    #[serde(default)]
    pub predefined: bool,
}

impl NetworkRecord {
    pub fn path(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    /// Made durable before the network is used: containers that name it need it after a
    /// power cut.
    pub fn save(&self, dir: &Path) -> EngineResult<()> {
        crate::json_record::save(
            &Self::path(dir, &self.id),
            self,
            &format!("network {}", self.name),
        )
    }

    pub fn delete(&self, dir: &Path) -> EngineResult<()> {
        match std::fs::remove_file(Self::path(dir, &self.id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(EngineError::internal(format!(
                "removing the record of network {}: {e}",
                self.name
            ))),
        }
    }

    /// Every record in `dir`; unreadable ones are reported and skipped.
    pub fn load_all(dir: &Path) -> Vec<NetworkRecord> {
        crate::json_record::load_all(
            crate::json_record::entries(dir)
                .into_iter()
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json")),
        )
    }

    pub fn is_bridge(&self) -> bool {
        self.driver == DRIVER_BRIDGE
    }

    /// The address pool of a bridge network, with the gateway and auxiliary addresses taken.
    pub fn pool(&self) -> EngineResult<Option<Pool>> {
        let Some(subnet) = self.subnet else {
            return Ok(None);
        };
        let mut pool = Pool::new(subnet, self.gateway, self.ip_range)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        for addr in self.aux_addresses.values() {
            pool.take(*addr)
                .map_err(|e| EngineError::invalid(format!("auxiliary address: {e}")))?;
        }
        Ok(Some(pool))
    }

    /// The IPv6 address pool of a network with `--ipv6`.
    pub fn pool6(&self) -> EngineResult<Option<Pool6>> {
        let Some(subnet) = self.subnet6.filter(|_| self.enable_ipv6) else {
            return Ok(None);
        };
        Pool6::new(subnet, self.gateway6, self.ip_range6)
            .map(Some)
            .map_err(|e| EngineError::invalid(e.to_string()))
    }

    /// A boolean driver option (`com.docker.network.bridge.enable_icc` and friends).
    pub fn option_bool(&self, key: &str, default: bool) -> bool {
        match self.options.get(key).map(String::as_str) {
            Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            _ => default,
        }
    }

    /// The MTU towards other hosts (`com.docker.network.driver.mtu`, docker's 1500 by
    /// default): the path MTU of the containers' default route.
    pub fn outside_mtu(&self) -> u32 {
        self.options
            .get("com.docker.network.driver.mtu")
            .and_then(|m| m.parse().ok())
            .unwrap_or(DEFAULT_MTU)
    }
}
