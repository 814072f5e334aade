//! Starting a container: its root file system mounted, its /etc files and runtime spec
//! written into the bundle, its shim spawned (which creates the process, stopped before
//! exec), pending attaches connected, then the exec — so no early output is ever missed.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use berth_runtime::shim::protocol::Request;
use berth_runtime::shim::{ShimConfig, CONFIG, SOCKET};
use chrono::Utc;

use super::record::{ContainerRecord, Status};
use super::{shim_client, spec, Container, ContainerService};
use crate::error::{EngineError, EngineResult, ErrorKind};

/// Whether `start` did anything (docker answers 304 for a container already running).
#[derive(Debug, PartialEq, Eq)]
pub enum Started {
    Now,
    Already,
}

impl ContainerService {
    pub async fn start(self: &Arc<Self>, name: &str) -> EngineResult<Started> {
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        self.start_locked(&c).await
    }

    /// Starts `c`; the caller holds its operation lock.
    pub(super) async fn start_locked(
        self: &Arc<Self>,
        c: &Arc<Container>,
    ) -> EngineResult<Started> {
        let rec = c.record();
        match rec.state.status {
            Status::Running => return Ok(Started::Already),
            Status::Paused => {
                return Err(EngineError::conflict(
                    "cannot start a paused container, try unpause instead",
                ))
            }
            Status::Removing | Status::Dead => {
                return Err(EngineError::conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    rec.id
                )))
            }
            _ => {}
        }
        let bundle = self.bundle_dir(&rec.id);
        let plan = self.plan_sandbox(c).await?;
        let rec = c.record();
        let svc = self.clone();
        // The sandbox and the bundle need nothing of each other (the bundle names the
        // namespace file the plan chose): made side by side.
        let prepare = {
            let rec = rec.clone();
            let bundle = bundle.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let t0 = std::time::Instant::now();
                    let prepared = svc.prepare_bundle(&rec, &bundle);
                    tracing::debug!(us = t0.elapsed().as_micros() as u64, "bundle prepared");
                    prepared
                })
                .await
                .map_err(|e| EngineError::internal(e.to_string()))?
            }
        };
        let (prepared, built) = tokio::join!(prepare, self.build_sandbox(c, plan.as_ref()));
        if let Err(e) = built {
            let _ = self.images.layers().unmount(&rec.id);
            let _ = std::fs::remove_dir_all(&bundle);
            return Err(e);
        }
        if let Err(e) = prepared {
            let _ = self.images.layers().unmount(&rec.id);
            self.drop_sandbox(c).await;
            return Err(e);
        }
        let created = self.shims.create(&bundle).await;
        // The next start's shim, made now that this one has what it needs.
        let svc = self.clone();
        tokio::spawn(async move { svc.shims.refill() });
        let pid = match created {
            Ok(pid) => pid,
            Err(e) => {
                self.settle_failed_start(c, &e).await;
                return Err(e);
            }
        };
        let socket = bundle.join(SOCKET);
        let pending =
            std::mem::take(&mut *c.pending_attach.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pending {
            super::attach::connect(&socket, p).await;
        }
        let reply = shim_client::call(&socket, &Request::Start).await?;
        if let Some(err) = reply.error {
            // The process reported why it could not exec and exited with docker's code;
            // the monitor records that exit.
            let message = err.message.clone();
            self.follow(c.clone(), pid);
            let e = EngineError::new(if err.code == 125 { ErrorKind::Internal } else { ErrorKind::InvalidArgument }, format!(
                "failed to create task for container: failed to create shim task: OCI runtime create failed: unable to start container process: {message}: unknown"
            ));
            let dir = self.data_dir(&c.id);
            let _ = c.update(&dir, |r| r.state.error = message);
            return Err(e);
        }
        let dir = self.data_dir(&c.id);
        c.exit_on_next.store(false, Ordering::SeqCst);
        let rec = c.update(&dir, |r| {
            r.state.status = Status::Running;
            r.state.pid = pid;
            r.state.exit_code = 0;
            r.state.error.clear();
            r.state.oom_killed = false;
            r.state.started_at = Some(Utc::now());
            r.has_been_started = true;
            r.manually_stopped = false;
        })?;
        self.announce(&rec, "start", &[]);
        self.follow(c.clone(), pid);
        self.watch_health(c, true);
        tracing::debug!(id = %c.id, pid, "container started");
        Ok(Started::Now)
    }

    /// Mounts the root file system and writes everything the shim reads. Blocking.
    fn prepare_bundle(&self, rec: &ContainerRecord, bundle: &PathBuf) -> EngineResult<()> {
        let rootfs = self.mount_rootfs(rec)?;

        let data = self.data_dir(&rec.id);
        let host = &rec.host_config;
        let etc = self.etc_files(rec, &data)?;
        let root_fd = rustix::fs::open(
            &rootfs,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| EngineError::internal(format!("opening {}: {e}", rootfs.display())))?;
        let who = berth_runtime::linux::user::resolve(
            &root_fd,
            &rec.config.user,
            host.group_add.as_deref().unwrap_or(&[]),
        )
        .map_err(|e| EngineError::invalid(e.to_string()))?;
        let seccomp = spec::seccomp_setting(host)?;
        let mut spec_input = spec::build(rec, &rootfs, &who, &etc)?;
        let mut volumes = self.runtime_mounts(rec, &rootfs)?;
        // Parents before children, so a mount inside another volume lands on top of it.
        volumes.sort_by_key(|m| m.destination().components().count());
        spec_input.mounts.extend(volumes);
        spec_input.network = self.netns_mode(rec)?;
        let runtime_spec = berth_runtime::spec::build(&spec_input)
            .map_err(|e| EngineError::invalid(e.to_string()))?;

        let _ = std::fs::remove_dir_all(bundle);
        std::fs::create_dir_all(bundle)
            .map_err(|e| EngineError::internal(format!("creating {}: {e}", bundle.display())))?;
        let shim = ShimConfig {
            id: rec.id.clone(),
            log_dir: data.clone(),
            log_driver: super::create::log_driver(host),
            log_opts: host.log_config.config.clone(),
            log_attrs: super::log_attrs::log_attributes(rec)?,
            tty: rec.config.tty,
            open_stdin: rec.config.open_stdin,
            stdin_once: rec.config.stdin_once,
            cgroup_parent: self.cgroup_parent_of(host),
            privileged: host.privileged,
            seccomp,
            init: host.init.unwrap_or(false),
        };
        let write = |name: &str, bytes: Vec<u8>| {
            std::fs::write(bundle.join(name), bytes)
                .map_err(|e| EngineError::internal(format!("writing {name}: {e}")))
        };
        write(
            "config.json",
            serde_json::to_vec(&runtime_spec).map_err(|e| EngineError::internal(e.to_string()))?,
        )?;
        write(
            CONFIG,
            serde_json::to_vec(&shim).map_err(|e| EngineError::internal(e.to_string()))?,
        )?;
        Ok(())
    }

    /// A start that failed before the process existed leaves the container as it was,
    /// with the error recorded and nothing mounted.
    async fn settle_failed_start(&self, c: &Arc<Container>, e: &EngineError) {
        let id = c.id.clone();
        let layers = self.images.clone();
        let _ = tokio::task::spawn_blocking(move || layers.layers().unmount(&id)).await;
        self.drop_sandbox(c).await;
        let dir = self.data_dir(&c.id);
        let message = e.message.clone();
        let _ = c.update(&dir, |r| {
            r.state.error = message;
            if r.has_been_started {
                r.state.status = Status::Exited;
                r.state.exit_code = 128;
            }
        });
    }
}
