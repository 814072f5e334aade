//! Networks as the API shows them: `GET /networks` with docker's filters (`driver`, `id`,
//! `label`, `name`, `scope`, `type`, `dangling`), `GET /networks/{id}` with the attached
//! containers and their addresses, and the filters of `network prune`.

use berth_api::filters::Filters;
use berth_api::types::{Ipam, IpamConfig, Network as ApiNetwork, NetworkContainer};
use chrono::{DateTime, Utc};

use super::record::NetworkRecord;
use super::{Network, NetworkService};
use crate::error::{EngineError, EngineResult};

const LIST_FILTERS: [&str; 7] = ["driver", "id", "label", "name", "scope", "type", "dangling"];

impl Network {
    /// The API's view of this network; `with_containers` for inspect (docker's list leaves
    /// them out).
    pub fn to_api(&self, with_containers: bool) -> ApiNetwork {
        let rec = &self.rec;
        let gateway = self.pool().as_ref().map(|p| p.gateway);
        let config = match rec.subnet {
            Some(s) => vec![IpamConfig {
                subnet: s.to_string(),
                ip_range: rec.ip_range.map(|r| r.to_string()).unwrap_or_default(),
                gateway: gateway.map(|g| g.to_string()).unwrap_or_default(),
                aux_addresses: rec
                    .aux_addresses
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
            }],
            None => Vec::new(),
        };
        let mut config = config;
        if let Some(p) = self.pool6().as_ref() {
            config.push(IpamConfig {
                subnet: p.subnet.to_string(),
                ip_range: rec.ip_range6.map(|r| r.to_string()).unwrap_or_default(),
                gateway: p.gateway.to_string(),
                aux_addresses: Default::default(),
            });
        }
        let prefix6 = self.pool6().as_ref().map_or(128, |p| p.subnet.prefix);
        let containers = if with_containers {
            let prefix = rec.subnet.map(|s| s.prefix).unwrap_or(32);
            self.attachments()
                .iter()
                .map(|(id, a)| {
                    (
                        id.clone(),
                        NetworkContainer {
                            name: a.container_name.clone(),
                            endpoint_id: a.endpoint_id.clone(),
                            mac_address: a.mac.clone(),
                            ipv4_address: format!("{}/{prefix}", a.ip),
                            ipv6_address: a
                                .ip6
                                .map(|ip| format!("{ip}/{prefix6}"))
                                .unwrap_or_default(),
                        },
                    )
                })
                .collect()
        } else {
            Default::default()
        };
        ApiNetwork {
            name: rec.name.clone(),
            id: rec.id.clone(),
            created: crate::timefmt::go_rfc3339_nano(rec.created),
            scope: "local".into(),
            driver: rec.driver.clone(),
            enable_ipv6: rec.enable_ipv6,
            ipam: Ipam {
                driver: "default".into(),
                config,
                options: rec.ipam_options.clone(),
            },
            internal: rec.internal,
            attachable: rec.attachable,
            ingress: false,
            config_from: Default::default(),
            config_only: false,
            containers,
            options: rec.options.clone(),
            labels: rec.labels.clone(),
        }
    }
}

fn one_of(values: &[String], value: &str) -> bool {
    values.is_empty() || values.iter().any(|v| v == value)
}

impl NetworkService {
    pub fn inspect(&self, name: &str) -> EngineResult<ApiNetwork> {
        Ok(self.find(name)?.to_api(true))
    }

    /// `GET /networks`, sorted by name as docker's CLI shows them.
    pub fn list(&self, filters: &Filters) -> EngineResult<Vec<ApiNetwork>> {
        filters
            .validate(&LIST_FILTERS)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        for t in filters.get("type") {
            if t != "custom" && t != "builtin" {
                return Err(EngineError::invalid(format!(
                    "invalid filter: 'type'='{t}'"
                )));
            }
        }
        let dangling = filters
            .bool("dangling")
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let mut out: Vec<ApiNetwork> = self
            .all()
            .into_iter()
            .filter(|n| {
                let rec = &n.rec;
                let kind = if rec.predefined { "builtin" } else { "custom" };
                one_of(filters.get("driver"), &rec.driver)
                    && (filters.get("id").is_empty()
                        || filters
                            .get("id")
                            .iter()
                            .any(|p| rec.id.starts_with(p.as_str())))
                    && (filters.get("name").is_empty()
                        || filters
                            .get("name")
                            .iter()
                            .any(|p| rec.name.contains(p.as_str())))
                    && one_of(filters.get("scope"), "local")
                    && one_of(filters.get("type"), kind)
                    && crate::images::labels_match(&rec.labels, filters.get("label"))
                    && dangling.is_none_or(|d| d == (!rec.predefined && !n.in_use()))
            })
            .map(|n| n.to_api(false))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Whether `prune` may take this network: `until`, `label`, `label!`.
pub fn matches_prune(
    rec: &NetworkRecord,
    filters: &Filters,
    now: DateTime<Utc>,
) -> EngineResult<bool> {
    filters
        .validate(&["until", "label", "label!"])
        .map_err(|e| EngineError::invalid(e.to_string()))?;
    let until = match filters.get("until") {
        [] => None,
        [v] => Some(crate::timefmt::parse_time_filter(v, now).ok_or_else(|| {
            EngineError::invalid(format!(
                "invalid filter 'until={v}': not a time or duration"
            ))
        })?),
        _ => {
            return Err(EngineError::invalid(
                "invalid filter 'until': more than one value",
            ))
        }
    };
    let excluded = filters.get("label!");
    Ok(until.is_none_or(|u| rec.created < u)
        && crate::images::labels_match(&rec.labels, filters.get("label"))
        && (excluded.is_empty() || !crate::images::labels_match(&rec.labels, excluded)))
}
