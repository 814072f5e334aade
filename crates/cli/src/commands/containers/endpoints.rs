//! The networking part of a create request, built as docker 20.10's `run`/`create` build it:
//! `--network` values (a name, or `name=…,alias=…,driver-opt=…`), the endpoint settings that
//! `--network-alias`, `--link`, `--ip`, `--ip6` and `--link-local-ip` add to the first
//! network, `HostConfig.NetworkMode` and `HostConfig.Links`, and `--mac-address`.
//!
//! As in docker, without `--network` no endpoint settings are sent at all (the engine
//! connects the container to its default network), and a single network with nothing to
//! say about its endpoint sends none either.

use std::collections::BTreeMap;

use berth_api::types::{EndpointIpamConfig, EndpointSettings, NetworkingConfig};

use crate::app::ContainerNetworkFlags;
use crate::commands::networks::flags::{csv_fields, flag_error, validate_links};
use crate::error::{CliError, CliResult};

/// A network flags refused, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("no name set for network")]
    NoName,
    #[error("network-scoped aliases are only supported for user-defined networks")]
    AliasesNeedUserNetwork,
    #[error("links are only supported for user-defined networks")]
    LinksNeedUserNetwork,
    #[error("network {0:?} is specified multiple times")]
    Repeated(String),
    #[error("conflicting options: cannot specify both --network-alias and per-network alias")]
    AliasConflict,
    #[error(
        "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
    )]
    MixedModes,
    #[error("{0} is not a valid mac address")]
    Mac(String),
}

impl From<EndpointError> for CliError {
    fn from(e: EndpointError) -> Self {
        CliError::usage(e.to_string())
    }
}

/// One `--network` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    pub target: String,
    pub aliases: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub links: Vec<String>,
    pub ipv4: String,
    pub ipv6: String,
    pub link_local_ips: Vec<String>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// docker's `NetworkOpt.Set`: the long form when the value holds `word=word` anywhere (its
/// unanchored `\w+=\w+` test), else a network name. Keys and values of the long form are
/// trimmed and lowercased, as docker does.
pub fn parse_network_flag(value: &str) -> CliResult<Attachment> {
    let long = value
        .as_bytes()
        .windows(3)
        .any(|w| is_word(w[0]) && w[1] == b'=' && is_word(w[2]));
    if !long {
        return Ok(Attachment {
            target: value.to_string(),
            ..Default::default()
        });
    }
    let bad = |why: String| flag_error(value, "--network", why);
    let mut att = Attachment::default();
    for field in csv_fields(value).map_err(bad)? {
        let Some((k, v)) = field.split_once('=') else {
            return Err(bad(format!("invalid field {field}")));
        };
        let key = k.trim().to_lowercase();
        let v = v.trim().to_lowercase();
        match key.as_str() {
            "name" => att.target = v,
            "alias" => att.aliases.push(v),
            "driver-opt" => {
                let Some((dk, dv)) = v.split_once('=') else {
                    return Err(bad("invalid key value pair format in driver options".into()));
                };
                att.driver_opts
                    .insert(dk.trim().to_string(), dv.trim().to_string());
            }
            _ => return Err(bad(format!("invalid field key {key}"))),
        }
    }
    if att.target.is_empty() {
        return Err(bad("network name/id is not specified".into()));
    }
    Ok(att)
}

/// docker's `NetworkMode.IsUserDefined` (Linux): not default, bridge, host, none or
/// `container:…`.
pub fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// `parseNetworkAttachmentOpt`.
fn endpoint(att: &Attachment) -> Result<EndpointSettings, EndpointError> {
    if att.target.trim().is_empty() {
        return Err(EndpointError::NoName);
    }
    if !is_user_defined(&att.target) {
        if !att.aliases.is_empty() {
            return Err(EndpointError::AliasesNeedUserNetwork);
        }
        if !att.links.is_empty() {
            return Err(EndpointError::LinksNeedUserNetwork);
        }
    }
    let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let has_ipam = !att.ipv4.is_empty() || !att.ipv6.is_empty() || !att.link_local_ips.is_empty();
    Ok(EndpointSettings {
        aliases: some(&att.aliases),
        driver_opts: (!att.driver_opts.is_empty()).then(|| att.driver_opts.clone()),
        links: some(&att.links),
        ipam_config: has_ipam.then(|| EndpointIpamConfig {
            ipv4_address: att.ipv4.clone(),
            ipv6_address: att.ipv6.clone(),
            link_local_ips: att.link_local_ips.clone(),
        }),
        ..Default::default()
    })
}

/// `parseNetworkOpts`: the endpoint settings by network name. The flags that name no
/// network go to the first `--network`.
pub fn endpoints(
    flags: &ContainerNetworkFlags,
    attachments: &[Attachment],
) -> Result<BTreeMap<String, EndpointSettings>, EndpointError> {
    let mut out = BTreeMap::new();
    let (mut user_defined, mut builtin) = (false, false);
    for (i, att) in attachments.iter().enumerate() {
        if is_user_defined(&att.target) {
            user_defined = true;
        } else {
            builtin = true;
        }
        let mut att = att.clone();
        if i == 0 {
            if !att.aliases.is_empty() && !flags.network_alias.is_empty() {
                return Err(EndpointError::AliasConflict);
            }
            if !flags.network_alias.is_empty() {
                att.aliases = flags.network_alias.clone();
            }
            if !flags.link.is_empty() {
                att.links = flags.link.clone();
            }
            if let Some(ip) = flags.ip.as_ref().filter(|ip| !ip.is_empty()) {
                att.ipv4 = ip.clone();
            }
            if let Some(ip) = flags.ip6.as_ref().filter(|ip| !ip.is_empty()) {
                att.ipv6 = ip.clone();
            }
            if !flags.link_local_ip.is_empty() {
                att.link_local_ips = flags.link_local_ip.clone();
            }
        }
        let ep = endpoint(&att)?;
        if out.contains_key(&att.target) {
            return Err(EndpointError::Repeated(att.target));
        }
        if i == 0 && attachments.len() == 1 && ep == EndpointSettings::default() {
            continue;
        }
        out.insert(att.target, ep);
    }
    if user_defined && builtin {
        return Err(EndpointError::MixedModes);
    }
    Ok(out)
}

/// Go's `net.ParseMAC`: 6, 8 or 20 bytes as `xx:xx:…`, `xx-xx-…` or `xxxx.xxxx.…`.
pub fn valid_mac(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 14 {
        return false;
    }
    let (group, sep) = match (b[2], b[4]) {
        (c @ (b':' | b'-'), _) => (2, c),
        (_, b'.') => (4, b'.'),
        _ => return false,
    };
    if !(b.len() + 1).is_multiple_of(group + 1) {
        return false;
    }
    let groups = (b.len() + 1) / (group + 1);
    if !matches!(groups * group / 2, 6 | 8 | 20) {
        return false;
    }
    b.chunks(group + 1).all(|chunk| {
        chunk[..group].iter().all(u8::is_ascii_hexdigit)
            && chunk.get(group).is_none_or(|&c| c == sep)
    })
}

/// What the network flags give a create request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Networking {
    pub network_mode: String,
    pub links: Option<Vec<String>>,
    pub config: NetworkingConfig,
    pub mac_address: String,
}

/// Reads the network flags of `run`/`create`, refusing what docker refuses.
pub fn networking(flags: &ContainerNetworkFlags) -> CliResult<Networking> {
    validate_links(&flags.link)?;
    let attachments = flags
        .network
        .iter()
        .map(|n| parse_network_flag(n))
        .collect::<CliResult<Vec<_>>>()?;
    let mac_address = flags.mac_address.clone().unwrap_or_default();
    if !mac_address.is_empty() && !valid_mac(&mac_address) {
        return Err(EndpointError::Mac(mac_address).into());
    }
    let endpoints_config = endpoints(flags, &attachments)?;
    Ok(Networking {
        network_mode: attachments
            .first()
            .map_or_else(|| "default".to_string(), |a| a.target.clone()),
        links: (!flags.link.is_empty()).then(|| flags.link.clone()),
        config: NetworkingConfig { endpoints_config },
        mac_address,
    })
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;
