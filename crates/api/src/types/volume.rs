//! Volume bodies: volumes as listed, inspected, created and pruned, and the two ways a
//! container names its storage — the `Mounts` of `HostConfig` (`--mount`) and the
//! `MountPoint`s that container inspect reports.
//!
//! Field order and `omitempty`s are docker's own (its `types.Volume` is generated with the
//! fields in alphabetical order, and `docker volume inspect` prints them that way), so a
//! body serialized here reads as docker's does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::null_as_default;

/// `GET /volumes/{name}`, the entries of `GET /volumes`, and the answer to a create.
///
/// `Labels` and `Options` are `null` when the volume has none recorded (docker's anonymous
/// volumes) and `{}` when they were given empty (`docker volume create`); both read back as
/// they were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Volume {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    pub driver: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub mountpoint: String,
    pub name: String,
    pub options: Option<BTreeMap<String, String>>,
    pub scope: String,
    /// What the driver reports about the volume; left out when it reports nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, serde_json::Value>>,
    /// Only filled by `GET /system/df`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsageData>,
}

/// Disk use of a volume; `-1` for what is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeUsageData {
    pub size: i64,
    pub ref_count: i64,
}

impl Default for VolumeUsageData {
    fn default() -> Self {
        VolumeUsageData {
            size: -1,
            ref_count: -1,
        }
    }
}

/// `POST /volumes/create`. Docker's CLI sends every field, the maps as `{}` when empty;
/// other clients may leave any of them out or send `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeCreateRequest {
    pub driver: String,
    #[serde(deserialize_with = "null_as_default")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    pub name: String,
}

/// `GET /volumes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeListResponse {
    #[serde(deserialize_with = "null_as_default")]
    pub volumes: Vec<Volume>,
    #[serde(deserialize_with = "null_as_default")]
    pub warnings: Vec<String>,
}

/// `POST /volumes/prune`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumePruneResponse {
    #[serde(deserialize_with = "null_as_default")]
    pub volumes_deleted: Vec<String>,
    pub space_reclaimed: u64,
}

/// One entry of a container's `Mounts` in inspect (and in `GET /containers/json`): what is
/// mounted where, whichever flag asked for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    /// `bind`, `volume`, `tmpfs` or `npipe`.
    #[serde(rename = "Type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The volume's name; empty for binds.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// The options as given after the second colon of `-v` (`z`, `ro,nocopy`, …).
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

/// One entry of `HostConfig.Mounts`: a `--mount` flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    /// `bind`, `volume`, `tmpfs` or `npipe`.
    #[serde(rename = "Type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// A volume name or a host path; empty for an anonymous volume or a tmpfs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The path in the container.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// `default`, `consistent`, `cached` or `delegated` (meaningful on macOS only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    /// `private`, `rprivate`, `shared`, `rshared`, `slave` or `rslave`; empty for the default.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    /// Do not copy the image's content at the target into a new volume.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_copy: bool,
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
}

/// The driver to create a `--mount` volume with, and its options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    /// Zero for the kernel's default (half the memory).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub size_bytes: i64,
    /// The permission bits of the mount's root (Go's `os.FileMode`); zero for the default.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

#[cfg(test)]
#[path = "volume_tests.rs"]
mod tests;
