//! A container's volumes and bind mounts: what `-v`, `VOLUME` and `--volumes-from` ask for,
//! checked and resolved at create (named volumes made on first use, anonymous ones made for
//! the container), kept in its record, mounted at start (an empty volume first filled from
//! the image), shown by inspect, and its anonymous volumes removed with it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use berth_api::types::{ContainerConfig, HostConfig};
use oci_spec::runtime::{Mount, MountBuilder};
use serde::{Deserialize, Serialize};

use super::record::ContainerRecord;
use super::ContainerService;
use crate::error::{EngineError, EngineResult};
use crate::volumes::{self, CreateVolume};

pub const BIND: &str = "bind";
pub const VOLUME: &str = "volume";
pub const TMPFS: &str = "tmpfs";

/// One mount of a container, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountRecord {
    /// `bind` or `volume`.
    pub kind: String,
    /// The host path of a bind; the name of a volume.
    pub source: String,
    pub destination: String,
    #[serde(default)]
    pub read_only: bool,
    /// `rprivate` unless asked otherwise.
    #[serde(default)]
    pub propagation: String,
    /// Never fill the volume from the image.
    #[serde(default)]
    pub nocopy: bool,
    /// The options as the user wrote them (docker's `Mode`).
    #[serde(default)]
    pub mode: String,
    /// The volume was made for this container (removed with it by `rm -v`).
    #[serde(default)]
    pub anonymous: bool,
    /// `--mount`: a missing bind source is an error rather than made.
    #[serde(default)]
    pub must_exist: bool,
    /// `bind-nonrecursive`: the mounts under the bind source are not taken along.
    #[serde(default)]
    pub non_recursive: bool,
    /// A new volume's labels (`volume-label`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// A new volume's driver options (`volume-opt`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_options: BTreeMap<String, String>,
    /// A tmpfs mount's options (`size=…`, `mode=…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
}

const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

fn bad_spec(spec: &str) -> EngineError {
    EngineError::invalid(format!("invalid volume specification: '{spec}'"))
}

fn check_destination(spec: &str, dest: &str) -> EngineResult<()> {
    if !dest.starts_with('/') {
        return Err(EngineError::invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"volume\": invalid mount path: '{dest}' mount path must be absolute"
        )));
    }
    if dest == "/" {
        return Err(EngineError::invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        )));
    }
    Ok(())
}

/// One `-v` / `Binds` entry: `name:/path[:opts]` or `/host:/path[:opts]`.
pub fn parse_bind(spec: &str) -> EngineResult<MountRecord> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, opts) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return Err(bad_spec(spec)),
    };
    if source.is_empty() || dest.is_empty() {
        return Err(bad_spec(spec));
    }
    check_destination(spec, dest)?;
    let kind = if source.starts_with('/') {
        BIND
    } else {
        VOLUME
    };
    if kind == VOLUME && !volumes::valid_name(source) {
        return Err(volumes::invalid_name(source));
    }
    let mut m = MountRecord {
        kind: kind.into(),
        source: source.into(),
        destination: clean(dest),
        read_only: false,
        propagation: String::new(),
        nocopy: false,
        mode: opts.into(),
        anonymous: false,
        must_exist: false,
        non_recursive: false,
        labels: BTreeMap::new(),
        volume_options: BTreeMap::new(),
        tmpfs: Vec::new(),
    };
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            // SELinux relabelling: nothing to relabel on a host without it.
            "z" | "Z" => {}
            "nocopy" if kind == VOLUME => m.nocopy = true,
            p if PROPAGATIONS.contains(&p) && kind == BIND => m.propagation = p.into(),
            _ => return Err(EngineError::invalid(format!("invalid mode: {opts}"))),
        }
    }
    Ok(m)
}

/// One `--mount` (`HostConfig.Mounts`) entry, checked as docker's daemon checks it.
fn from_mount(m: &berth_api::types::Mount) -> EngineResult<MountRecord> {
    let kind = m.kind.as_str();
    let invalid = |why: String| {
        EngineError::invalid(format!("invalid mount config for type \"{kind}\": {why}"))
    };
    if m.target.is_empty() {
        return Err(invalid("field Target must not be empty".into()));
    }
    if !m.target.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount path: '{}' mount path must be absolute",
            m.target
        )));
    }
    let mut out = MountRecord {
        kind: kind.into(),
        source: m.source.clone(),
        destination: clean(&m.target),
        read_only: m.read_only,
        propagation: String::new(),
        nocopy: false,
        mode: String::new(),
        anonymous: false,
        must_exist: true,
        non_recursive: false,
        labels: BTreeMap::new(),
        volume_options: BTreeMap::new(),
        tmpfs: Vec::new(),
    };
    match kind {
        BIND => {
            if m.source.is_empty() {
                return Err(invalid("field Source must not be empty".into()));
            }
            if !m.source.starts_with('/') {
                return Err(invalid(format!(
                    "invalid mount path: '{}' mount path must be absolute",
                    m.source
                )));
            }
            if !std::path::Path::new(&m.source).exists() {
                return Err(invalid(format!(
                    "bind source path does not exist: {}",
                    m.source
                )));
            }
            if let Some(b) = &m.bind_options {
                out.non_recursive = b.non_recursive;
                if !b.propagation.is_empty() {
                    if !PROPAGATIONS.contains(&b.propagation.as_str()) {
                        return Err(invalid(format!(
                            "invalid propagation mode: {}",
                            b.propagation
                        )));
                    }
                    out.propagation = b.propagation.clone();
                }
            }
            if m.volume_options.is_some() || m.tmpfs_options.is_some() {
                return Err(invalid("only BindOptions may be given".into()));
            }
        }
        VOLUME => {
            if !m.source.is_empty() && !volumes::valid_name(&m.source) {
                return Err(volumes::invalid_name(&m.source));
            }
            out.anonymous = m.source.is_empty();
            if let Some(v) = &m.volume_options {
                out.nocopy = v.no_copy;
                out.labels = v.labels.clone();
                if let Some(d) = &v.driver_config {
                    out.volume_options = d.options.clone();
                }
                if v.driver_config
                    .as_ref()
                    .is_some_and(|d| !matches!(d.name.as_str(), "" | "local"))
                {
                    return Err(EngineError::not_found(format!(
                        "error looking up volume plugin {0}: plugin \"{0}\" not found",
                        v.driver_config
                            .as_ref()
                            .map(|d| d.name.clone())
                            .unwrap_or_default()
                    )));
                }
            }
            if m.bind_options.is_some() || m.tmpfs_options.is_some() {
                return Err(invalid("only VolumeOptions may be given".into()));
            }
        }
        TMPFS => {
            if !m.source.is_empty() {
                return Err(invalid("field Source must not be specified".into()));
            }
            if let Some(t) = &m.tmpfs_options {
                if t.size_bytes < 0 {
                    return Err(invalid(format!("invalid tmpfs size {}", t.size_bytes)));
                }
                if t.size_bytes > 0 {
                    out.tmpfs.push(format!("size={}", t.size_bytes));
                }
                if t.mode != 0 {
                    out.tmpfs.push(format!("mode={:o}", t.mode));
                }
            }
        }
        other => {
            return Err(EngineError::invalid(format!(
                "mount type unknown: {other:?}"
            )))
        }
    }
    Ok(out)
}

/// `/a//b/` → `/a/b`.
fn clean(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

impl ContainerService {
    /// The mounts a create request asks for, checked as docker checks them; nothing is
    /// made yet.
    pub(super) fn requested_mounts(
        &self,
        config: &ContainerConfig,
        host: &HostConfig,
    ) -> EngineResult<Vec<MountRecord>> {
        let mut out: Vec<MountRecord> = Vec::new();
        for spec in host.binds.iter().flatten() {
            out.push(parse_bind(spec)?);
        }
        for m in host.mounts.iter().flatten() {
            out.push(from_mount(m)?);
        }
        for from in host.volumes_from.iter().flatten() {
            let (name, mode) = match from.rsplit_once(':') {
                Some((n, m @ ("ro" | "rw"))) => (n, Some(m)),
                Some(_) => {
                    return Err(EngineError::invalid(format!(
                        "invalid mode for volumes-from: {from}"
                    )))
                }
                None => (from.as_str(), None),
            };
            let other = self.find(name)?.record();
            for m in &other.mounts {
                let mut m = m.clone();
                m.anonymous = false;
                if let Some(mode) = mode {
                    m.read_only = mode == "ro";
                }
                out.push(m);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for m in &out {
            if !seen.insert(m.destination.clone()) {
                return Err(EngineError::invalid(format!(
                    "Duplicate mount point: {}",
                    m.destination
                )));
            }
        }
        // `-v /path` and the image's VOLUMEs: an anonymous volume each, unless something
        // else is mounted there.
        for dest in config.volumes.iter().flat_map(|v| v.keys()) {
            check_destination(dest, dest)?;
            let dest = clean(dest);
            if seen.insert(dest.clone()) {
                out.push(MountRecord {
                    kind: VOLUME.into(),
                    source: String::new(),
                    destination: dest,
                    read_only: false,
                    propagation: String::new(),
                    nocopy: false,
                    mode: String::new(),
                    anonymous: true,
                    must_exist: false,
                    non_recursive: false,
                    labels: BTreeMap::new(),
                    volume_options: BTreeMap::new(),
                    tmpfs: Vec::new(),
                });
            }
        }
        for m in &out {
            if m.kind == VOLUME {
                self.volumes.check(&CreateVolume {
                    name: (!m.source.is_empty()).then(|| m.source.clone()),
                    options: m.volume_options.clone(),
                    ..Default::default()
                })?;
            }
        }
        Ok(out)
    }

    /// Makes what the checked mounts need: named volumes that do not exist yet, a volume for
    /// each anonymous mount, a missing bind source directory (as `-v` does). Returns the
    /// volumes it made, to be removed again if the create fails.
    pub(super) fn make_mount_sources(
        &self,
        mounts: &mut [MountRecord],
    ) -> EngineResult<Vec<String>> {
        let mut made = Vec::new();
        let result = (|| {
            for m in mounts.iter_mut() {
                if m.kind == TMPFS {
                    continue;
                }
                if m.kind == BIND {
                    if !std::path::Path::new(&m.source).exists() && !m.must_exist {
                        std::fs::create_dir_all(&m.source).map_err(|e| {
                            EngineError::invalid(format!(
                                "error while creating mount source path '{}': {e}",
                                m.source
                            ))
                        })?;
                    }
                    continue;
                }
                let existed = !m.source.is_empty() && self.volumes.get(&m.source).is_ok();
                if existed {
                    continue;
                }
                let rec = self.volumes.create(CreateVolume {
                    name: (!m.source.is_empty()).then(|| m.source.clone()),
                    anonymous: m.source.is_empty(),
                    labels: m.labels.clone(),
                    options: m.volume_options.clone(),
                    ..Default::default()
                })?;
                m.source = rec.name.clone();
                made.push(rec.name);
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.remove_volumes(&made);
            return Err(e);
        }
        Ok(made)
    }

    /// Removes volumes no container uses any more (quietly: a failure is logged).
    pub(super) fn remove_volumes(&self, names: &[String]) {
        for name in names {
            let users = self.volume_users(name);
            if let Err(e) = self.volumes.remove(name, true, &users) {
                tracing::warn!(volume = %name, error = %e.message, "removing a volume");
            }
        }
    }

    /// The containers whose mounts name volume `name`.
    pub fn volume_users(&self, name: &str) -> Vec<String> {
        self.all()
            .iter()
            .map(|c| c.record())
            .filter(|r| {
                r.mounts
                    .iter()
                    .any(|m| m.kind == VOLUME && m.source == name)
            })
            .map(|r| r.id.clone())
            .collect()
    }

    /// The runtime mounts of a starting container, each volume filled from the image
    /// first if it is new and empty. Blocking.
    pub(super) fn runtime_mounts(
        &self,
        rec: &ContainerRecord,
        rootfs: &std::path::Path,
    ) -> EngineResult<Vec<Mount>> {
        let mut out = Vec::new();
        for m in &rec.mounts {
            if m.kind == TMPFS {
                let mut options = vec![
                    "nosuid".to_string(),
                    "nodev".to_string(),
                    "noexec".to_string(),
                ];
                options.extend(m.tmpfs.iter().cloned());
                if m.read_only {
                    options.push("ro".into());
                }
                out.push(
                    MountBuilder::default()
                        .destination(&m.destination)
                        .typ("tmpfs")
                        .source("tmpfs")
                        .options(options)
                        .build()
                        .map_err(|e| EngineError::internal(e.to_string()))?,
                );
                continue;
            }
            let source = self.mount_source(m);
            if m.kind == VOLUME {
                if self.volumes.get(&m.source).is_err() {
                    return Err(EngineError::not_found(format!(
                        "get {}: no such volume",
                        m.source
                    )));
                }
                self.volumes.mount_for_use(&m.source)?;
                if !m.nocopy {
                    volumes::copy_up(rootfs, &m.destination, &source)?;
                }
            } else if !source.exists() {
                return Err(EngineError::invalid(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {}",
                    source.display()
                )));
            }
            let mut options = vec![
                if m.non_recursive { "bind" } else { "rbind" }.to_string(),
                if m.propagation.is_empty() {
                    "rprivate".to_string()
                } else {
                    m.propagation.clone()
                },
            ];
            if m.read_only {
                options.push("ro".into());
            }
            out.push(
                MountBuilder::default()
                    .destination(&m.destination)
                    .typ("bind")
                    .source(source)
                    .options(options)
                    .build()
                    .map_err(|e| EngineError::internal(e.to_string()))?,
            );
        }
        Ok(out)
    }

    fn mount_source(&self, m: &MountRecord) -> PathBuf {
        if m.kind == VOLUME {
            self.volumes.data_path(&m.source)
        } else {
            PathBuf::from(&m.source)
        }
    }

    /// docker's `Mounts` of inspect and `ps`.
    pub(super) fn mount_points(&self, rec: &ContainerRecord) -> Vec<serde_json::Value> {
        rec.mounts
            .iter()
            .map(|m| {
                let mut v = serde_json::json!({
                    "Type": m.kind,
                    "Source": self.mount_source(m).display().to_string(),
                    "Destination": m.destination,
                    "Mode": m.mode,
                    "RW": !m.read_only,
                    "Propagation": if m.kind == BIND {
                        if m.propagation.is_empty() { "rprivate".to_string() } else { m.propagation.clone() }
                    } else {
                        String::new()
                    },
                });
                if m.kind == VOLUME {
                    v["Name"] = m.source.clone().into();
                    v["Driver"] = "local".into();
                }
                v
            })
            .collect()
    }

    /// Unmounts the devices of `rec`'s volumes (local driver options) that no other running
    /// container uses, once `rec`'s process is gone.
    pub(super) fn release_volume_mounts(&self, rec: &ContainerRecord) {
        // Only volumes that are mounts of a device have anything to undo; the scan of the
        // other containers is for those alone.
        let mounted = rec.mounts.iter().filter(|m| {
            m.kind == VOLUME
                && self
                    .volumes
                    .get(&m.source)
                    .is_ok_and(|v| !v.options.is_empty())
        });
        for m in mounted {
            let used = self.any_record(|r| {
                r.id != rec.id
                    && r.state.status.is_active()
                    && r.mounts
                        .iter()
                        .any(|o| o.kind == VOLUME && o.source == m.source)
            });
            if !used {
                self.volumes.release_use(&m.source);
            }
        }
    }

    /// At engine start: volume devices left mounted for containers that ended while the
    /// engine was away.
    pub(super) fn release_unused_volume_mounts(&self) {
        let users = users_by_volume(
            &self
                .records()
                .into_iter()
                .filter(|r| r.state.status.is_active())
                .collect::<Vec<_>>(),
        );
        for v in self.volumes.all() {
            if !v.options.is_empty() && !users.contains_key(&v.name) {
                self.volumes.release_use(&v.name);
            }
        }
    }

    /// The anonymous volumes of a container being removed.
    pub(super) fn anonymous_volumes(rec: &ContainerRecord) -> Vec<String> {
        rec.mounts
            .iter()
            .filter(|m| m.kind == VOLUME && m.anonymous)
            .map(|m| m.source.clone())
            .collect()
    }
}

/// The volumes each container uses, by volume name (for `volume ls`, `rm` and `prune`).
pub fn users_by_volume(records: &[Arc<ContainerRecord>]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records {
        for m in r.mounts.iter().filter(|m| m.kind == VOLUME) {
            out.entry(m.source.clone()).or_default().push(r.id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_specs_parse_as_dockers() {
        let m = parse_bind("data:/srv/data:ro,nocopy").unwrap();
        assert_eq!(
            (m.kind.as_str(), m.source.as_str(), m.destination.as_str()),
            (VOLUME, "data", "/srv/data")
        );
        assert!(m.read_only && m.nocopy);
        let b = parse_bind("/host/dir:/x//y/:rshared").unwrap();
        assert_eq!(
            (
                b.kind.as_str(),
                b.destination.as_str(),
                b.propagation.as_str()
            ),
            (BIND, "/x/y", "rshared")
        );
        let err = |s: &str| parse_bind(s).unwrap_err().message;
        assert!(err("data").contains("invalid volume specification"));
        assert!(err("data:rel").contains("must be absolute"));
        assert!(err("./rel:/x").contains("invalid characters for a local volume name"));
        assert!(err("../etc:/x").contains("invalid characters"));
        assert!(err("data:/x:bogus").contains("invalid mode: bogus"));
        assert!(err("/h:/x:nocopy").contains("invalid mode"));
        assert!(err("/h:/").contains("destination can't be '/'"));
    }
}
