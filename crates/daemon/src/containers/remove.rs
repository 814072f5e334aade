//! Removing containers (`rm`, `rm -f`, and `--rm` after exit) and pruning stopped ones.

use std::sync::Arc;

use berth_api::filters::Filters;
use berth_api::types::ContainersPruneReport;

use super::record::{ContainerRecord, Status};
use super::{Container, ContainerService};
use crate::error::{EngineError, EngineResult};

#[derive(Debug, Default, Clone, Copy)]
pub struct RemoveOptions {
    pub force: bool,
    /// Also remove the container's anonymous volumes.
    pub volumes: bool,
}

impl ContainerService {
    pub async fn remove(self: &Arc<Self>, name: &str, opts: RemoveOptions) -> EngineResult<()> {
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        let rec = c.record();
        if rec.state.status == Status::Removing {
            return Err(EngineError::conflict(format!(
                "removal of container {} is already in progress",
                c.id
            )));
        }
        if rec.state.status.is_active() && rec.state.status != Status::Restarting {
            if !opts.force {
                return Err(EngineError::conflict(format!(
                    "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                    c.id
                )));
            }
            self.kill_locked(&c).await?;
        }
        let dir = self.data_dir(&c.id);
        c.update(&dir, |r| {
            r.state.status = Status::Removing;
            r.manually_stopped = true;
        })?;
        self.destroy(&c, &rec).await?;
        if opts.volumes {
            // Its anonymous volumes; named ones stay, as docker's do.
            self.remove_volumes(&Self::anonymous_volumes(&rec));
        }
        Ok(())
    }

    /// Finishes a removal an engine crash cut short (the record says `Removing`): what the
    /// container held while it ran goes first, in case the crash came before it went.
    pub(super) async fn finish_removal(self: Arc<Self>, c: Arc<Container>) {
        let _op = c.op.lock().await;
        self.release_runtime(&c).await;
        let rec = c.record();
        if let Err(e) = self.destroy(&c, &rec).await {
            tracing::warn!(id = %c.id, error = %e, "finishing the removal of a container");
        }
    }

    /// Deletes a container marked `Removing`: its file system, bundle and data, then forgets
    /// it. A failure leaves it `Dead`, to be removed again. The caller holds its operation
    /// lock.
    async fn destroy(&self, c: &Arc<Container>, rec: &ContainerRecord) -> EngineResult<()> {
        let dir = self.data_dir(&c.id);
        let images = self.images.clone();
        let trash = self.trash.clone();
        let id = c.id.clone();
        let bundle = self.bundle_dir(&c.id);
        let data = dir.clone();
        // Moved into the trash (instant), deleted there in the background.
        let cleaned = tokio::task::spawn_blocking(move || -> EngineResult<()> {
            let layers = images.layers();
            if layers.has_active(&id) {
                let slot = trash.slot();
                layers.release_into(&id, &slot).map_err(|e| {
                    EngineError::internal(format!("removing the container's file system: {e}"))
                })?;
                trash.empty(slot);
            }
            let _ = std::fs::remove_dir_all(&bundle);
            trash
                .discard(&data)
                .map_err(|e| EngineError::internal(format!("removing {}: {e}", data.display())))
        })
        .await
        .map_err(|e| EngineError::internal(e.to_string()))?;
        if let Err(e) = cleaned {
            let _ = c.update(&dir, |r| r.state.status = Status::Dead);
            return Err(e);
        }
        self.forget(&c.id, &rec.name);
        self.announce(rec, "destroy", &[]);
        c.lifecycle.send_modify(|l| l.removed = true);
        tracing::debug!(id = %c.id, "container removed");
        Ok(())
    }

    /// `docker container prune`: every stopped container (filters `until`, `label`,
    /// `label!`).
    pub async fn prune(self: &Arc<Self>, filters: &Filters) -> EngineResult<ContainersPruneReport> {
        filters
            .validate(&["until", "label", "label!"])
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let until = match filters.get("until") {
            [] => None,
            [v] => Some(
                crate::timefmt::parse_time_filter(v, chrono::Utc::now()).ok_or_else(|| {
                    EngineError::invalid(format!(
                        "invalid filter 'until={v}': not a time or duration"
                    ))
                })?,
            ),
            _ => {
                return Err(EngineError::invalid(
                    "invalid filter 'until': more than one value",
                ))
            }
        };
        let mut report = ContainersPruneReport::default();
        for c in self.all() {
            let rec = c.record();
            let labels = super::create::labels(&rec.config);
            let excluded = filters.get("label!");
            let eligible = matches!(
                rec.state.status,
                Status::Created | Status::Exited | Status::Dead
            ) && until.is_none_or(|u| rec.created < u)
                && crate::images::labels_match(&labels, filters.get("label"))
                && (excluded.is_empty() || !crate::images::labels_match(&labels, excluded));
            if !eligible {
                continue;
            }
            if self.remove(&c.id, RemoveOptions::default()).await.is_ok() {
                report.containers_deleted.push(c.id.clone());
            }
        }
        Ok(report)
    }
}
