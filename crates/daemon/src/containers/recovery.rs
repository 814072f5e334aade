//! Finding containers again when the engine starts: records are read back, running
//! containers whose shims are alive are followed again, and those that ended while the engine
//! was away are settled (with their real exit status when the shim recorded it, 255 when
//! nothing is known) — and their restart policies applied.

use std::sync::Arc;

use berth_runtime::shim::protocol::{ExitRecord, Request, Status as ShimStatus};
use berth_runtime::shim::SOCKET;
use chrono::Utc;

use super::record::{ContainerRecord, Status};
use super::{shim_client, Container, ContainerService};

impl ContainerService {
    pub async fn recover(self: &Arc<Self>) {
        let dir = self.data_root.join("containers");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::create_dir_all(self.exec_root.join("containers"));
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "reading {}", dir.display());
                return;
            }
        };
        let mut restored = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            match ContainerRecord::load(&path) {
                Ok(rec) => restored.push(rec),
                Err(e) => {
                    // A directory without a readable record is a create that never finished.
                    tracing::warn!(path = %path.display(), error = %e, "removing an incomplete container");
                    let _ = std::fs::remove_dir_all(&path);
                }
            }
        }
        let keep: std::collections::HashSet<String> =
            restored.iter().map(|r| r.id.clone()).collect();
        let images = self.images.clone();
        let _ = tokio::task::spawn_blocking(move || {
            images.layers().cleanup_active(&|key| keep.contains(key))
        })
        .await;

        for rec in restored {
            let status = rec.state.status;
            let c = Container::new(rec);
            self.insert(c.clone());
            match status {
                Status::Running | Status::Paused | Status::Restarting => self.reattach(c).await,
                Status::Removing => {
                    let svc = self.clone();
                    let id = c.id.clone();
                    tokio::spawn(async move {
                        let _ = svc
                            .remove(
                                &id,
                                super::remove::RemoveOptions {
                                    force: true,
                                    volumes: false,
                                },
                            )
                            .await;
                    });
                }
                _ => {}
            }
        }
        let (total, running, _, _) = self.count();
        if total > 0 {
            tracing::info!(containers = total, running, "containers restored");
        }
    }

    /// Follows a container that was running when the engine stopped, or settles it.
    async fn reattach(self: &Arc<Self>, c: Arc<Container>) {
        let bundle = self.bundle_dir(&c.id);
        let socket = bundle.join(SOCKET);
        match shim_client::call(&socket, &Request::State).await {
            Ok(reply) if reply.status == Some(ShimStatus::Running) => {
                let pid = reply.pid.unwrap_or(0);
                tracing::info!(id = %c.id, pid, "container still running; following it again");
                self.watch_health(&c, false);
                self.follow(c, pid);
            }
            Ok(reply) if reply.exit.is_some() => {
                if let Some(exit) = reply.exit {
                    self.exited(&c, exit).await;
                }
            }
            _ => {
                let exit = berth_runtime::shim::read_exit(&bundle).unwrap_or_else(|| ExitRecord {
                    pid: c.record().state.pid,
                    // Nothing recorded how it ended: docker's "unknown".
                    exit_code: 255,
                    oom_killed: false,
                    finished_at: Utc::now(),
                });
                tracing::info!(id = %c.id, code = exit.exit_code, "container ended while the engine was away");
                self.exited(&c, exit).await;
            }
        }
    }
}
