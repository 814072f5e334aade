//! Following a running container until it exits: a connection to its shim waits for the
//! exit record; then the container's state is settled, its root file system unmounted, and
//! its restart policy or `--rm` applied.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use berth_runtime::shim::protocol::{ExitRecord, Request};
use berth_runtime::shim::SOCKET;
use chrono::Utc;

use super::record::Status;
use super::{shim_client, Container, ContainerService};

/// The first restart delay; it doubles after each quick failure, as docker's.
const RESTART_BASE: Duration = Duration::from_millis(100);
const RESTART_MAX: Duration = Duration::from_secs(60);
/// A container that ran this long before exiting restarts at the base delay again.
const RESTART_RESET: Duration = Duration::from_secs(10);

impl ContainerService {
    /// Starts following `c` (whose process is `pid`) in the background.
    pub(super) fn follow(self: &Arc<Self>, c: Arc<Container>, pid: i32) {
        let svc = self.clone();
        tokio::spawn(async move {
            let socket = svc.bundle_dir(&c.id).join(SOCKET);
            let exit = match shim_client::request(&socket, &Request::Wait).await {
                Ok((reply, mut conn)) => match reply.exit {
                    Some(exit) => Some(exit),
                    None => shim_client::read_reply(&mut conn)
                        .await
                        .ok()
                        .and_then(|r| r.exit),
                },
                Err(_) => None,
            };
            let exit = exit
                .or_else(|| berth_runtime::shim::read_exit(&svc.bundle_dir(&c.id)))
                .unwrap_or(ExitRecord {
                    pid,
                    exit_code: 255,
                    oom_killed: false,
                    finished_at: Utc::now(),
                });
            svc.exited(&c, exit).await;
        });
    }

    /// Removes what a container holds only while it runs: its cgroup (the shim removes it
    /// when it ends normally; one that was killed leaves it), the root file system mount and
    /// the bundle.
    pub(super) async fn release_runtime(&self, c: &Arc<Container>) {
        let id = c.id.clone();
        let images = self.images.clone();
        let bundle = self.bundle_dir(&c.id);
        // Gone already when the shim ended normally; a killed shim leaves it.
        let cgroup = self.cgroup_of(&c.record()).ok();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(cg) = cgroup {
                let _ = cg.delete();
            }
            if let Err(e) = images.layers().unmount(&id) {
                tracing::warn!(%id, error = %e, "unmounting the container's root file system");
            }
            let _ = std::fs::remove_dir_all(&bundle);
        })
        .await;
        self.drop_sandbox(c).await;
        self.release_volume_mounts(&c.record());
    }

    /// Settles a container whose process ended.
    pub(super) async fn exited(self: &Arc<Self>, c: &Arc<Container>, exit: ExitRecord) {
        let dir = self.data_dir(&c.id);
        self.release_runtime(c).await;
        let ran_for = c
            .record()
            .state
            .started_at
            .map(|s| (exit.finished_at - s).to_std().unwrap_or_default())
            .unwrap_or_default();
        let rec = match c.update(&dir, |r| {
            r.state.status = Status::Exited;
            r.state.pid = 0;
            r.state.exit_code = exit.exit_code;
            r.state.oom_killed = exit.oom_killed;
            r.state.finished_at = Some(exit.finished_at);
        }) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(id = %c.id, error = %e, "recording the container's exit");
                c.record()
            }
        };
        if exit.oom_killed {
            self.announce(&rec, "oom", &[]);
        }
        self.announce(&rec, "die", &[("exitCode", exit.exit_code.to_string())]);
        self.execs.remove_container(&c.id);
        c.lifecycle.send_modify(|l| l.exits += 1);
        tracing::debug!(id = %c.id, code = exit.exit_code, "container exited");

        if rec.host_config.auto_remove {
            let svc = self.clone();
            let id = c.id.clone();
            tokio::spawn(async move {
                if let Err(e) = svc
                    .remove(
                        &id,
                        super::remove::RemoveOptions {
                            force: true,
                            volumes: true,
                        },
                    )
                    .await
                {
                    tracing::warn!(%id, error = %e, "removing the container after it exited");
                }
            });
            return;
        }
        if should_restart(&rec, c.exit_on_next.load(Ordering::SeqCst)) {
            self.schedule_restart(c.clone(), ran_for);
        }
    }

    fn schedule_restart(self: &Arc<Self>, c: Arc<Container>, ran_for: Duration) {
        let svc = self.clone();
        tokio::spawn(async move {
            let count = c.record().restart_count;
            let delay = if ran_for >= RESTART_RESET {
                RESTART_BASE
            } else {
                RESTART_BASE
                    .saturating_mul(1 << count.min(10))
                    .min(RESTART_MAX)
            };
            let dir = svc.data_dir(&c.id);
            let _ = c.update(&dir, |r| r.state.status = Status::Restarting);
            tokio::time::sleep(delay).await;
            let _op = c.op.lock().await;
            // Stopped or removed meanwhile: nothing to do.
            let rec = c.record();
            if rec.state.status != Status::Restarting || c.exit_on_next.load(Ordering::SeqCst) {
                return;
            }
            let _ = c.update(&dir, |r| {
                r.restart_count += 1;
                r.state.status = Status::Exited;
            });
            if let Err(e) = svc.start_locked(&c).await {
                tracing::warn!(id = %c.id, error = %e, "restarting the container");
            }
        });
    }
}

/// docker's restart policies, for a container that exited. `exit_on_next`: it was stopped,
/// or killed with its stop signal, so this exit is final; a kill with another signal leaves
/// `always` and `on-failure` in force and only `unless-stopped` counts it as a stop.
pub fn should_restart(rec: &super::record::ContainerRecord, exit_on_next: bool) -> bool {
    if exit_on_next {
        return false;
    }
    let policy = &rec.host_config.restart_policy;
    match policy.name.as_str() {
        "always" => true,
        "unless-stopped" => !rec.manually_stopped,
        "on-failure" => {
            rec.state.exit_code != 0
                && (policy.maximum_retry_count == 0
                    || (rec.restart_count as i64) < policy.maximum_retry_count)
        }
        _ => false,
    }
}
