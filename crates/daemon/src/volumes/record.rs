//! A volume on disk: `<data-root>/volumes/<name>/_data` holds its content and
//! `<data-root>/volumes/<name>/volume.json` what it was created with, written whole
//! (temporary file, rename) before the volume is handed to anyone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::EngineResult;

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
        let path = Self::dir(root, &self.name).join(RECORD_FILE);
        crate::json_record::save(&path, self, &format!("volume {}", self.name))
    }

    /// Every volume under `root`; unreadable records are reported and skipped (never
    /// deleted: the data beside them is someone's).
    pub fn load_all(root: &Path) -> Vec<VolumeRecord> {
        crate::json_record::load_all(
            crate::json_record::entries(root)
                .into_iter()
                .map(|dir| dir.join(RECORD_FILE)),
        )
    }
}
