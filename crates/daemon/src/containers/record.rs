//! A container's record: what it was created with and where it is in its life, kept in
//! `<data-root>/containers/<id>/config.v2.json`, written whole (temporary file, rename) on
//! every change so a crash leaves the old record or the new one, never a mix.

use std::path::Path;

use berth_api::types::{ContainerConfig, Health, HostConfig};
use berth_store::Digest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, EngineResult};

pub const RECORD_FILE: &str = "config.v2.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Whether a process is (or may be) alive for this state.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    pub pid: i32,
    pub exit_code: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    pub oom_killed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// docker's `State.Health`, for containers with a health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    /// Without docker's leading `/`.
    pub name: String,
    pub created: DateTime<Utc>,
    /// The image as the user named it.
    pub image: String,
    pub image_id: Digest,
    /// The effective config: the request's merged over the image's.
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    #[serde(default)]
    pub state: State,
    #[serde(default)]
    pub restart_count: u32,
    /// Stopped by the user (`stop`, `kill`), which `unless-stopped` honours.
    #[serde(default)]
    pub manually_stopped: bool,
    #[serde(default)]
    pub has_been_started: bool,
    /// The networks it is on and, while it runs, its sandbox.
    #[serde(default)]
    pub network: crate::networks::ContainerNetwork,
    /// Its volumes and bind mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<super::mounts::MountRecord>,
}

impl ContainerRecord {
    pub fn save(&self, dir: &Path) -> EngineResult<()> {
        let bytes = serde_json::to_vec(self).map_err(|e| EngineError::internal(e.to_string()))?;
        berth_runtime::shim::write_atomic(&dir.join(RECORD_FILE), &bytes).map_err(|e| {
            EngineError::internal(format!("writing the record of container {}: {e}", self.id))
        })
    }

    pub fn load(dir: &Path) -> EngineResult<ContainerRecord> {
        let path = dir.join(RECORD_FILE);
        let bytes = std::fs::read(&path)
            .map_err(|e| EngineError::internal(format!("reading {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::internal(format!("{}: {e}", path.display())))
    }

    /// The command line docker shows: the entrypoint and command, joined.
    pub fn command(&self) -> Vec<String> {
        let mut v = self.config.entrypoint.clone().unwrap_or_default();
        v.extend(self.config.cmd.clone().unwrap_or_default());
        v
    }
}
