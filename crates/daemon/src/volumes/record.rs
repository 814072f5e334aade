//! A volume on disk: `<data-root>/volumes/<name>/_data` holds its content and
//! `<data-root>/volumes/<name>/volume.json` what it was created with, written whole
//! (temporary file, rename) before the volume is handed to anyone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, EngineResult};

pub const RECORD_FILE: &str = "volume.json";
pub const DATA_DIR: &str = "_data";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The local driver's options (`type`, `device`, `o`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Made for one container (`-v /path`, an image's `VOLUME`), and removed with it by
    /// `rm -v` and `run --rm`.
    #[serde(default)]
    pub anonymous: bool,
}

impl VolumeRecord {
    pub fn dir(root: &Path, name: &str) -> PathBuf {
        root.join(name)
    }

    pub fn save(&self, root: &Path) -> EngineResult<()> {
        let dir = Self::dir(root, &self.name);
        let bytes = serde_json::to_vec(self).map_err(|e| EngineError::internal(e.to_string()))?;
        berth_runtime::shim::write_atomic(&dir.join(RECORD_FILE), &bytes).map_err(|e| {
            EngineError::internal(format!("writing the record of volume {}: {e}", self.name))
        })?;
        if let Ok(f) = std::fs::File::open(dir.join(RECORD_FILE)) {
            let _ = f.sync_all();
        }
        Ok(())
    }

    /// Every volume under `root`; unreadable records are reported and skipped (never
    /// deleted: the data beside them is someone's).
    pub fn load_all(root: &Path) -> Vec<VolumeRecord> {
        let Ok(entries) = std::fs::read_dir(root) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path().join(RECORD_FILE);
            if !path.exists() {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(rec) => out.push(rec),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping a volume record")
                }
            }
        }
        out
    }
}
