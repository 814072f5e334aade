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
            if !path.join(super::record::RECORD_FILE).exists() {
                // No record at all: a create that never finished; nothing else is there.
                tracing::warn!(path = %path.display(), "removing an incomplete container");
                let _ = std::fs::remove_dir_all(&path);
                continue;
            }
            match ContainerRecord::load(&path) {
                Ok(rec) => restored.push(rec),
                // A record that cannot be read is kept, with the container's logs, for
                // someone to look at: never deleted on a guess.
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "ignoring a container whose record cannot be read")
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

        // The network service learns which addresses and ports the containers believed
        // running hold, and brings bridges and the firewall in line, before any container
        // starts again and asks for an address.
        let running: Vec<crate::networks::RunningSandbox> = restored
            .iter()
            .filter(|r| r.state.status.is_active() && r.network.has_sandbox())
            .map(|r| crate::networks::RunningSandbox {
                id: r.id.clone(),
                name: r.name.clone(),
                network: r.network.clone(),
            })
            .collect();
        if let Err(e) = self.networks.activate(&running).await {
            tracing::error!(error = %e.message, "setting up networking; containers on bridge networks will not start");
        }

        for rec in restored {
            let status = rec.state.status;
            let c = Container::new(rec, self.flusher.clone());
            self.insert(c.clone());
            match status {
                Status::Running | Status::Paused => self.reattach(c).await,
                // Its process had exited (the code is recorded) and a restart was due.
                Status::Restarting => {
                    let _ = c.update(&self.data_dir(&c.id), |r| r.state.status = Status::Exited);
                    tokio::spawn(self.clone().restart_at_boot(c));
                }
                Status::Created | Status::Exited => {
                    if self.bundle_dir(&c.id).exists() {
                        // The engine died between spawning a shim and recording the start.
                        self.settle_interrupted_start(c).await;
                    } else {
                        // A start that died after planning its sandbox.
                        self.drop_sandbox(&c).await;
                        if status == Status::Exited {
                            tokio::spawn(self.clone().restart_at_boot(c));
                        }
                    }
                }
                Status::Removing => {
                    self.drop_sandbox(&c).await;
                    tokio::spawn(self.clone().finish_removal(c));
                }
                _ => {}
            }
        }
        self.release_unused_volume_mounts();
        let (total, running, _, _) = self.count();
        if total > 0 {
            tracing::info!(containers = total, running, "containers restored");
        }
    }

    /// docker's restart policies when the engine starts: `always` containers start, even
    /// those stopped by hand; `unless-stopped` ones unless stopped by hand; `on-failure` ones
    /// that failed and have retries left.
    async fn restart_at_boot(self: Arc<Self>, c: Arc<Container>) {
        let rec = c.record();
        let policy = &rec.host_config.restart_policy;
        let wanted = rec.has_been_started
            && match policy.name.as_str() {
                "always" => true,
                "unless-stopped" => !rec.manually_stopped,
                "on-failure" => super::monitor::should_restart(&rec, false),
                _ => false,
            };
        if !wanted {
            return;
        }
        let _op = c.op.lock().await;
        let _ = c.update(&self.data_dir(&c.id), |r| r.manually_stopped = false);
        match self.start_locked(&c).await {
            Ok(_) => {
                tracing::info!(id = %c.id, policy = %policy.name, "container restarted by its policy")
            }
            Err(e) => {
                tracing::warn!(id = %c.id, error = %e, "restarting the container by its policy")
            }
        }
    }

    /// A container whose record does not say it runs but whose bundle is there: a start was
    /// cut short. A process that got as far as running is followed again, recorded as
    /// running; one only created is killed, and everything of it undone.
    async fn settle_interrupted_start(self: &Arc<Self>, c: Arc<Container>) {
        let socket = self.bundle_dir(&c.id).join(SOCKET);
        match shim_client::call(&socket, &Request::State).await {
            Ok(reply) if reply.status == Some(ShimStatus::Running) => {
                let pid = reply.pid.unwrap_or(0);
                tracing::info!(id = %c.id, pid, "a start was cut short; the container runs");
                let _ = c.update(&self.data_dir(&c.id), |r| {
                    r.state.status = Status::Running;
                    r.state.pid = pid;
                    r.state.started_at.get_or_insert_with(Utc::now);
                    r.has_been_started = true;
                });
                self.follow(c, pid);
            }
            Ok(_) => {
                tracing::info!(id = %c.id, "a start was cut short; undoing it");
                let kill = Request::Kill {
                    signal: libc::SIGKILL,
                    all: true,
                    exec: None,
                };
                let _ = shim_client::call(&socket, &kill).await;
                // The shim ends once its process has; then nothing of the start is left.
                for _ in 0..100 {
                    if shim_client::call(&socket, &Request::State).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                self.release_runtime(&c).await;
            }
            Err(_) => self.release_runtime(&c).await,
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
                self.settle_pause_state(&c);
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
