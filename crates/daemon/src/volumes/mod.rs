//! The volume service: docker's `local` volumes, each a directory under
//! `<data-root>/volumes/<name>/_data` with its record beside it. Which containers use a volume
//! is not recorded here but read from the containers' own records, so a volume is never
//! removed while a container names it, whatever state the engine crashed in.

mod copyup;
mod engine_ops;
mod local;
mod record;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::Utc;

use crate::error::{EngineError, EngineResult};
use crate::events::EventBus;
pub use copyup::copy_up;
pub use record::VolumeRecord;

/// The event type of volume events.
pub const VOLUME: &str = "volume";

/// docker's rule for volume names: no `/`, so never a path, and never `.` or `..`.
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() >= 2
        && matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The error docker gives a bad volume name.
pub fn invalid_name(name: &str) -> EngineError {
    EngineError::invalid(format!(
        "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    ))
}

/// What `volume create` (or a container naming a new volume) asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateVolume {
    pub name: Option<String>,
    pub driver: String,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub anonymous: bool,
}

pub struct VolumeService {
    root: PathBuf,
    volumes: RwLock<BTreeMap<String, VolumeRecord>>,
    /// Orders creations and removals.
    changes: std::sync::Mutex<()>,
    events: Arc<EventBus>,
}

impl VolumeService {
    pub fn open(data_root: &Path, events: Arc<EventBus>) -> EngineResult<VolumeService> {
        let root = data_root.join("volumes");
        crate::engine::ensure_private_dir(&root, 0o701)?;
        let volumes = VolumeRecord::load_all(&root)
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        Ok(VolumeService {
            root,
            volumes: RwLock::new(volumes),
            changes: std::sync::Mutex::new(()),
            events,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn all(&self) -> Vec<VolumeRecord> {
        self.volumes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn get(&self, name: &str) -> EngineResult<VolumeRecord> {
        self.volumes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("get {name}: no such volume")))
    }

    /// Where a volume's content is.
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join(record::DATA_DIR)
    }

    /// Checks a request without changing anything.
    pub fn check(&self, req: &CreateVolume) -> EngineResult<()> {
        if let Some(name) = &req.name {
            if !valid_name(name) {
                return Err(invalid_name(name));
            }
        }
        if !matches!(req.driver.as_str(), "" | "local") {
            return Err(EngineError::not_found(format!(
                "error looking up volume plugin {}: plugin \"{}\" not found",
                req.driver, req.driver
            )));
        }
        local::check(&req.options)
    }

    /// `volume create`: a new volume, or the existing one of that name (as docker answers).
    pub fn create(&self, req: CreateVolume) -> EngineResult<VolumeRecord> {
        self.check(&req)?;
        let _g = self.lock();
        let name = req.name.clone().unwrap_or_else(crate::containers::new_id);
        if let Ok(existing) = self.get(&name) {
            return Ok(existing);
        }
        let rec = VolumeRecord {
            name: name.clone(),
            driver: "local".into(),
            created: Utc::now(),
            labels: req.labels,
            options: req.options,
            anonymous: req.anonymous,
        };
        let dir = VolumeRecord::dir(&self.root, &name);
        let data = dir.join(record::DATA_DIR);
        let made = std::fs::create_dir_all(&data)
            .map_err(|e| EngineError::internal(format!("creating {}: {e}", data.display())))
            .and_then(|()| rec.save(&self.root));
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        self.volumes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), rec.clone());
        self.announce("create", &rec);
        Ok(rec)
    }

    /// Removes a volume no container uses (`users`: the containers naming it). With
    /// `force`, a missing volume is no error.
    pub fn remove(&self, name: &str, force: bool, users: &[String]) -> EngineResult<()> {
        let _g = self.lock();
        let rec = match self.get(name) {
            Ok(r) => r,
            Err(_) if force => return Ok(()),
            Err(e) => return Err(e),
        };
        if !users.is_empty() {
            return Err(EngineError::conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(", ")
            )));
        }
        self.volumes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        // Its device, if it is a mount of one, is left alone: only the mount goes.
        local::unmount(name, &self.data_path(name))?;
        // The record goes first: a crash leaves content without a record (removed at the
        // next start), never a record without its content.
        let dir = VolumeRecord::dir(&self.root, name);
        let _ = std::fs::remove_file(dir.join(record::RECORD_FILE));
        std::fs::remove_dir_all(&dir)
            .map_err(|e| EngineError::internal(format!("removing {}: {e}", dir.display())))?;
        self.announce("destroy", &rec);
        Ok(())
    }

    /// Mounts a volume's device (local driver options) for a starting container.
    pub fn mount_for_use(&self, name: &str) -> EngineResult<()> {
        let rec = self.get(name)?;
        local::mount(name, &rec.options, &self.data_path(name))
    }

    /// Undoes [`VolumeService::mount_for_use`] once no running container uses the volume.
    pub fn release_use(&self, name: &str) {
        let Ok(rec) = self.get(name) else { return };
        if rec.options.is_empty() {
            return;
        }
        if let Err(e) = local::unmount(name, &self.data_path(name)) {
            tracing::warn!(volume = %name, error = %e.message, "unmounting a volume");
        }
    }

    /// Content left by a removal a crash interrupted: directories without a record.
    pub fn remove_orphans(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() && !path.join(record::RECORD_FILE).exists() {
                tracing::info!(path = %path.display(), "removing a volume whose removal was interrupted");
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }

    fn announce(&self, action: &str, rec: &VolumeRecord) {
        let attrs = BTreeMap::from([("driver".to_string(), rec.driver.clone())]);
        self.events.publish(VOLUME, action, &rec.name, attrs);
    }

    /// The API's view of a volume.
    pub fn to_api(&self, rec: &VolumeRecord) -> berth_api::types::Volume {
        berth_api::types::Volume {
            name: rec.name.clone(),
            driver: rec.driver.clone(),
            mountpoint: self.data_path(&rec.name).display().to_string(),
            created_at: rec
                .created
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            labels: Some(rec.labels.clone()),
            scope: "local".into(),
            options: Some(rec.options.clone()),
            ..Default::default()
        }
    }
}

/// The size of a directory tree in bytes (for prune's reclaimed space).
pub fn tree_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|d| d.flatten().map(|e| tree_size(&e.path())).sum())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names() {
        assert!(valid_name("data"));
        assert!(valid_name("my_vol.1-x"));
        assert!(!valid_name("a"));
        assert!(!valid_name("../etc"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(".."));
        assert!(!valid_name("-x"));
        assert_contains(&invalid_name("a/b").message, "includes invalid characters");
    }

    fn assert_contains(h: &str, n: &str) {
        assert!(h.contains(n), "{h}");
    }

    #[test]
    fn create_get_remove() {
        let dir = tempfile::tempdir().unwrap();
        let svc = VolumeService::open(dir.path(), Arc::new(EventBus::new())).unwrap();
        let v = svc
            .create(CreateVolume {
                name: Some("data".into()),
                labels: BTreeMap::from([("a".into(), "b".into())]),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(v.name, "data");
        assert!(svc.data_path("data").is_dir());
        // The same name again is the same volume.
        assert_eq!(
            svc.create(CreateVolume {
                name: Some("data".into()),
                ..Default::default()
            })
            .unwrap(),
            v
        );
        let err = svc.remove("data", false, &["c1".into()]).unwrap_err();
        assert_contains(&err.message, "volume is in use - [c1]");
        svc.remove("data", false, &[]).unwrap();
        assert!(!svc.data_path("data").exists());
        assert_contains(
            &svc.remove("data", false, &[]).unwrap_err().message,
            "no such volume",
        );
        svc.remove("data", true, &[]).unwrap();
        let bad = CreateVolume {
            name: Some("a/b".into()),
            ..Default::default()
        };
        assert!(svc.create(bad).is_err());
        let plugin = CreateVolume {
            driver: "nfs".into(),
            ..Default::default()
        };
        assert_contains(
            &svc.create(plugin).unwrap_err().message,
            "plugin \"nfs\" not found",
        );
        let reopened = VolumeService::open(dir.path(), Arc::new(EventBus::new())).unwrap();
        assert!(reopened.all().is_empty());
    }
}
