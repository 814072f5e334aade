//! The storage part of a create request, built as docker 20.10's `run`/`create` build it:
//! `-v/--volume` specs split between `HostConfig.Binds` and `Config.Volumes`, `--mount`
//! values parsed into `HostConfig.Mounts` (docker's `MountOpt`, with its error messages),
//! `--volumes-from` and `--volume-driver` passed on.
//!
//! Docker's CLI checks no `-v` spec itself: it only decides where each goes, and the engine
//! refuses what it cannot use. A spec with a source (`name:/path[:opts]`, `/host:/path`,
//! `./rel:/path`) is a bind string; a spec without (`/path`) is an anonymous volume. A
//! relative source such as `./data` is sent as written, so the engine reads it as a volume
//! name and refuses it as docker's does.

use std::collections::BTreeMap;

use berth_api::types::{BindOptions, DriverConfig, Mount, TmpfsOptions, VolumeOptions};
use serde_json::Value;

use super::request::ram_in_bytes;
use crate::app::ContainerVolumeFlags;
use crate::commands::networks::flags::{csv_fields, flag_error};
use crate::error::CliResult;

/// What the storage flags give a create request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Storage {
    /// `HostConfig.Binds`: the `-v` specs with a source, as typed, in order, each once.
    pub binds: Option<Vec<String>>,
    /// `Config.Volumes`: the `-v` specs without a source, keyed by the whole spec.
    pub volumes: Option<BTreeMap<String, Value>>,
    /// `HostConfig.Mounts`.
    pub mounts: Option<Vec<Mount>>,
    pub volumes_from: Option<Vec<String>>,
    pub volume_driver: String,
    /// What docker warns about on stderr before creating.
    pub warnings: Vec<String>,
}

/// Whether docker's `loader.ParseVolume` finds a source in a `-v` spec (the test docker's
/// `run` uses to tell binds from anonymous volumes): a non-empty part before the first
/// colon. Specs of one or two bytes are a target only, and a single letter before a colon
/// is read as a Windows drive (`c:/x` is a target), as docker reads them on every platform.
pub fn has_source(spec: &str) -> bool {
    if spec.len() <= 2 {
        return false;
    }
    let first = spec.chars().next();
    for (len, c) in spec.chars().enumerate() {
        if c == ':' {
            let drive = len == 1 && first.is_some_and(char::is_alphabetic);
            if !drive {
                return len > 0;
            }
        }
    }
    false
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, 8, 32)`.
fn parse_octal_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok()
}

/// docker 20.10's `setValueOnMap`: `k=v`, or `k` for an empty value (an empty key too).
fn set_on_map(map: &mut BTreeMap<String, String>, value: &str) {
    let (k, v) = value.split_once('=').unwrap_or((value, ""));
    map.insert(k.to_string(), v.to_string());
}

/// The mount's volume options, made on first use as docker makes them: with a driver
/// config, so `volume-nocopy` alone sends `"DriverConfig": {}`.
fn volume_options(m: &mut Mount) -> &mut VolumeOptions {
    let opts = m.volume_options.get_or_insert_with(VolumeOptions::default);
    opts.driver_config.get_or_insert_with(DriverConfig::default);
    opts
}

fn driver_config(m: &mut Mount) -> &mut DriverConfig {
    volume_options(m)
        .driver_config
        .get_or_insert_with(DriverConfig::default)
}

fn bind_options(m: &mut Mount) -> &mut BindOptions {
    m.bind_options.get_or_insert_with(BindOptions::default)
}

fn tmpfs_options(m: &mut Mount) -> &mut TmpfsOptions {
    m.tmpfs_options.get_or_insert_with(TmpfsOptions::default)
}

/// docker's `MountOpt.Set`: one `--mount` value (a CSV record of `key=value` fields; keys
/// are case-insensitive; the type is `volume` unless given). The error is the text docker
/// puts after `invalid argument "…" for "--mount" flag: `.
pub fn parse_mount(value: &str) -> Result<Mount, String> {
    if value.is_empty() {
        // What Go's CSV reader says of an empty input.
        return Err("EOF".into());
    }
    let fields = csv_fields(value)?;
    let mut m = Mount {
        kind: "volume".into(),
        ..Default::default()
    };
    for field in &fields {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v)),
            None => (field.to_lowercase(), None),
        };
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => m.read_only = true,
                "volume-nocopy" => volume_options(&mut m).no_copy = true,
                "bind-nonrecursive" => bind_options(&mut m).non_recursive = true,
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let invalid = || format!("invalid value for {key}: {val}");
        match key.as_str() {
            "type" => m.kind = val.to_lowercase(),
            "source" | "src" => m.source = val.to_string(),
            "target" | "dst" | "destination" => m.target = val.to_string(),
            "readonly" | "ro" => m.read_only = parse_bool(val).ok_or_else(invalid)?,
            "consistency" => m.consistency = val.to_lowercase(),
            "bind-propagation" => bind_options(&mut m).propagation = val.to_lowercase(),
            "bind-nonrecursive" => {
                bind_options(&mut m).non_recursive = parse_bool(val).ok_or_else(invalid)?
            }
            "volume-nocopy" => {
                let v = parse_bool(val)
                    .ok_or_else(|| format!("invalid value for volume-nocopy: {val}"))?;
                volume_options(&mut m).no_copy = v;
            }
            "volume-label" => set_on_map(&mut volume_options(&mut m).labels, val),
            "volume-driver" => driver_config(&mut m).name = val.to_string(),
            "volume-opt" => set_on_map(&mut driver_config(&mut m).options, val),
            "tmpfs-size" => {
                tmpfs_options(&mut m).size_bytes = ram_in_bytes(val).map_err(|_| invalid())?
            }
            "tmpfs-mode" => {
                tmpfs_options(&mut m).mode = parse_octal_u32(val).ok_or_else(invalid)?
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.kind.is_empty() {
        return Err("type is required".into());
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    let mixed = |options: &str| {
        format!(
            "cannot mix '{options}-*' options with mount type '{}'",
            m.kind
        )
    };
    if m.volume_options.is_some() && m.kind != "volume" {
        return Err(mixed("volume"));
    }
    if m.bind_options.is_some() && m.kind != "bind" {
        return Err(mixed("bind"));
    }
    if m.tmpfs_options.is_some() && m.kind != "tmpfs" {
        return Err(mixed("tmpfs"));
    }
    Ok(m)
}

const VOLUME_DRIVER_IGNORED: &str = "`--volume-driver` is ignored for volumes specified via \
     `--mount`. Use `--mount type=volume,volume-driver=...` instead.";

/// Reads the storage flags of `run`/`create`, refusing what docker refuses.
pub fn storage(flags: &ContainerVolumeFlags) -> CliResult<Storage> {
    let mounts = flags
        .mount
        .iter()
        .map(|v| parse_mount(v).map_err(|why| flag_error(v, "--mount", why)))
        .collect::<CliResult<Vec<_>>>()?;
    let mut binds: Vec<String> = Vec::new();
    let mut volumes = BTreeMap::new();
    for spec in &flags.volume {
        if !has_source(spec) {
            volumes.insert(spec.clone(), Value::Object(Default::default()));
        } else if !binds.contains(spec) {
            binds.push(spec.clone());
        }
    }
    let volume_driver = flags.volume_driver.clone().unwrap_or_default();
    let mut warnings = Vec::new();
    if !mounts.is_empty() && !volume_driver.is_empty() {
        warnings.push(VOLUME_DRIVER_IGNORED.to_string());
    }
    Ok(Storage {
        binds: (!binds.is_empty()).then_some(binds),
        volumes: (!volumes.is_empty()).then_some(volumes),
        mounts: (!mounts.is_empty()).then_some(mounts),
        volumes_from: (!flags.volumes_from.is_empty()).then(|| flags.volumes_from.clone()),
        volume_driver,
        warnings,
    })
}

#[cfg(test)]
#[path = "volumes_tests.rs"]
mod tests;
