//! What the shim does around the process, with the runtime's pieces: the cgroup (created,
//! limited, the process placed in it, deleted at the end), the compiled seccomp filter, the
//! log writer, signals, and the exit record.

use std::path::{Path, PathBuf};

use chrono::Utc;
use oci_spec::runtime::Spec;

use super::host::HostFacts;
use super::protocol::ExitRecord;
use super::{Hooks, ShimConfig, EXIT_FILE};
use crate::cgroups::{self, Cgroup, Resources};
use crate::linux::StartError;
use crate::logs::{LogConfig, LogWriter, Stream};

pub struct RuntimeHooks {
    bundle: PathBuf,
    cgroup: Cgroup,
    log: Option<LogWriter>,
    /// Compiled before the fork; the child installs it.
    pub seccomp: Option<seccompiler::BpfProgram>,
}

impl RuntimeHooks {
    /// Sets up everything the process needs before it is forked.
    pub fn prepare(
        bundle: &Path,
        config: &ShimConfig,
        spec: &Spec,
        host: &HostFacts,
    ) -> Result<RuntimeHooks, StartError> {
        let cgroup = Cgroup::create(&host.layout, &config.cgroup_parent, &config.id)
            .map_err(|e| StartError::engine(format!("creating the cgroup: {e}")))?;
        let mut resources = spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
            .map(Resources::from)
            .unwrap_or_default();
        if resources.devices.is_none() {
            resources.devices = Some(if config.privileged {
                cgroups::allow_all_device_rules()
            } else {
                cgroups::default_device_rules()
            });
        }
        if let Err(e) = cgroup.apply(&resources) {
            let _ = cgroup.delete();
            return Err(StartError::engine(format!("applying resource limits: {e}")));
        }
        let result = (|| {
            let seccomp = host.seccomp(&config.seccomp, spec)?;
            let log_config = LogConfig::parse(&config.log_driver, &config.log_opts)
                .map_err(|e| StartError::engine(format!("logging: {e}")))?;
            let log = match LogWriter::open(&config.log_dir, &config.id, &log_config) {
                Ok(mut w) => {
                    w.set_attrs(&config.log_attrs);
                    Some(w)
                }
                Err(e) => return Err(StartError::engine(format!("opening the log: {e}"))),
            };
            Ok((seccomp, log))
        })();
        match result {
            Ok((seccomp, log)) => Ok(RuntimeHooks {
                bundle: bundle.to_path_buf(),
                cgroup,
                log,
                seccomp,
            }),
            Err(e) => {
                let _ = cgroup.delete();
                Err(e)
            }
        }
    }

    /// What the container's processes enter its cgroup through.
    pub fn entry(&self) -> Result<cgroups::Entry, StartError> {
        self.cgroup
            .entry()
            .map_err(|e| StartError::engine(format!("opening the cgroup: {e}")))
    }

    /// Undoes `prepare` when the process could not be created.
    pub fn abandon(&self) {
        let _ = self.cgroup.delete();
    }
}

impl Hooks for RuntimeHooks {
    fn log(&mut self, stream: u8, data: &[u8]) {
        if let Some(w) = &mut self.log {
            let s = if stream == 2 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            if let Err(e) = w.write(s, data, Utc::now()) {
                tracing::warn!(error = %e, "writing the container's log");
            }
        }
    }

    fn kill(&mut self, pid: i32, signal: i32, all: bool) -> Result<(), String> {
        if all {
            return self.cgroup.kill_all(signal).map_err(|e| e.to_string());
        }
        let pid = rustix::process::Pid::from_raw(pid).ok_or("no process")?;
        let sig = rustix::process::Signal::from_named_raw(signal)
            .ok_or_else(|| format!("invalid signal {signal}"))?;
        rustix::process::kill_process(pid, sig).map_err(|e| e.to_string())
    }

    fn entry(&mut self) -> Result<cgroups::Entry, String> {
        RuntimeHooks::entry(self).map_err(|e| e.message)
    }

    fn oom_killed(&mut self) -> bool {
        self.cgroup.oom_killed().unwrap_or(false)
    }

    fn finish(&mut self, exit: &ExitRecord) {
        if let Some(w) = &mut self.log {
            let _ = w.flush_partial();
        }
        // Whatever is left (the process's children) goes with the cgroup.
        if let Err(e) = self.cgroup.delete() {
            tracing::warn!(error = %e, "removing the container's cgroup");
        }
        match serde_json::to_vec(exit) {
            Ok(bytes) => {
                if let Err(e) = super::write_atomic(&self.bundle.join(EXIT_FILE), &bytes) {
                    tracing::error!(error = %e, "recording the exit");
                }
            }
            Err(e) => tracing::error!(error = %e, "recording the exit"),
        }
    }
}
