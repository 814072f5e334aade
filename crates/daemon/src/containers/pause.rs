//! Pausing and resuming containers with the freezer cgroup (v1 `freezer.state`, v2
//! `cgroup.freeze`): every process stops where it is, without being told, until thawed.
//! The record follows the cgroup, so a paused container is still paused after an engine
//! restart, and one thawed behind the engine's back is running again.

use std::sync::Arc;

use super::record::Status;
use super::{Container, ContainerService};
use crate::error::{EngineError, EngineResult};

impl ContainerService {
    /// Freezes or thaws the cgroup of `c`, off the async threads (a freeze may take a while
    /// to settle).
    async fn set_frozen(&self, c: &Container, frozen: bool) -> EngineResult<()> {
        let cgroup = self.cgroup_of(&c.record())?;
        tokio::task::spawn_blocking(move || {
            if frozen {
                cgroup.freeze()
            } else {
                cgroup.thaw()
            }
        })
        .await
        .map_err(|e| EngineError::internal(e.to_string()))?
        .map_err(EngineError::from)
    }

    /// `docker pause`.
    pub async fn pause(self: &Arc<Self>, name: &str) -> EngineResult<()> {
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        match c.record().state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::conflict(format!(
                    "Container {} is already paused",
                    c.id
                )))
            }
            Status::Restarting => {
                return Err(EngineError::conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    c.id
                )))
            }
            _ => {
                return Err(EngineError::conflict(format!(
                    "Container {} is not running",
                    c.id
                )))
            }
        }
        self.set_frozen(&c, true)
            .await
            .map_err(|e| e.context(format!("Cannot pause container {}", c.id)))?;
        // Only a container still running becomes paused: one that exited meanwhile stays so.
        let rec = c.update(&self.data_dir(&c.id), |r| {
            if r.state.status == Status::Running {
                r.state.status = Status::Paused;
            }
        })?;
        self.announce(&rec, "pause", &[]);
        Ok(())
    }

    /// `docker unpause`.
    pub async fn unpause(self: &Arc<Self>, name: &str) -> EngineResult<()> {
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        if c.record().state.status != Status::Paused {
            return Err(EngineError::conflict(format!(
                "Container {} is not paused",
                c.id
            )));
        }
        self.resume(&c)
            .await
            .map_err(|e| e.context(format!("Cannot unpause container {}", c.id)))?;
        self.announce(&c.record(), "unpause", &[]);
        Ok(())
    }

    /// Thaws a paused container and records it as running again.
    pub(super) async fn resume(&self, c: &Container) -> EngineResult<()> {
        self.set_frozen(c, false).await?;
        c.update(&self.data_dir(&c.id), |r| {
            if r.state.status == Status::Paused {
                r.state.status = Status::Running;
            }
        })?;
        Ok(())
    }

    /// After an engine restart: makes the record of a live container say what its cgroup
    /// is, paused or running.
    pub(super) fn settle_pause_state(&self, c: &Container) {
        let frozen = match self
            .cgroup_of(&c.record())
            .and_then(|cg| Ok(cg.is_frozen()?))
        {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(id = %c.id, error = %e, "reading the container's freezer state");
                return;
            }
        };
        let _ = c.update(&self.data_dir(&c.id), |r| {
            r.state.status = match (r.state.status, frozen) {
                (Status::Running, true) => Status::Paused,
                (Status::Paused, false) => Status::Running,
                (s, _) => s,
            };
        });
    }
}
