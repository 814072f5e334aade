//! `exec`: further processes in a running container. An exec instance is created (kept in
//! the engine's memory only, listed in the container's `ExecIDs`), started once — through
//! the container's shim, which streams the process's stdio over the start's hijacked
//! connection and reports its exit — and inspected; instances go when their container stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use berth_api::types::{ExecConfig, ExecInspect, ProcessConfig};
use berth_runtime::shim::protocol::Request;
use berth_runtime::shim::SOCKET;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::watch;

use super::attach::{self, Io};
use super::exec_process::{exec_process, require_running, start_failed};
use super::{names, shim_client, ContainerService};
use crate::error::{EngineError, EngineResult};
use berth_api::detach::DEFAULT_KEYS as DEFAULT_DETACH_KEYS;

/// The exit code of a process whose end nobody could learn (its shim went away).
const EXIT_UNKNOWN: i64 = 255;

#[derive(Debug, Clone, Default)]
struct ExecState {
    started: bool,
    running: bool,
    pid: i32,
    exit_code: Option<i64>,
}

/// One exec instance.
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    /// Creation order, for the container's `ExecIDs`.
    seq: u64,
    state: Mutex<ExecState>,
    exit: watch::Sender<Option<i64>>,
}

impl Exec {
    fn state(&self) -> ExecState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, f: impl FnOnce(&mut ExecState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn finish(&self, code: i64) {
        self.set(|s| {
            s.running = false;
            s.exit_code = Some(code);
        });
        self.exit.send_replace(Some(code));
    }

    /// Waits until the process has exited and its code is recorded.
    async fn exited(&self) {
        let mut rx = self.exit.subscribe();
        let _ = rx.wait_for(|c| c.is_some()).await;
    }
}

/// The exec instances of every container.
#[derive(Default)]
pub struct ExecStore {
    execs: RwLock<HashMap<String, Arc<Exec>>>,
    next: Mutex<u64>,
}

impl ExecStore {
    fn get(&self, id: &str) -> EngineResult<Arc<Exec>> {
        self.execs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("No such exec instance: {id}")))
    }

    /// The IDs of a container's instances, oldest first.
    pub fn of_container(&self, container_id: &str) -> Vec<String> {
        let map = self.execs.read().unwrap_or_else(|e| e.into_inner());
        let mut mine: Vec<&Arc<Exec>> = map
            .values()
            .filter(|e| e.container_id == container_id)
            .collect();
        mine.sort_by_key(|e| e.seq);
        mine.iter().map(|e| e.id.clone()).collect()
    }

    /// Forgets a container's instances (it stopped).
    pub fn remove_container(&self, container_id: &str) {
        self.execs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.container_id != container_id);
    }
}

impl ContainerService {
    /// `POST /containers/{id}/exec`.
    pub fn create_exec(&self, name: &str, config: ExecConfig) -> EngineResult<String> {
        let c = self.find(name)?;
        require_running(&c.record())?;
        if config.cmd.is_empty() {
            return Err(EngineError::invalid("No exec command specified"));
        }
        if !config.detach_keys.is_empty() {
            attach::parse_detach_keys(&config.detach_keys)?;
        }
        let id = names::new_id();
        let seq = {
            let mut next = self.execs.next.lock().unwrap_or_else(|e| e.into_inner());
            *next += 1;
            *next
        };
        let (exit, _) = watch::channel(None);
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id: c.id.clone(),
            config,
            seq,
            state: Mutex::new(ExecState::default()),
            exit,
        });
        self.execs
            .execs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), exec);
        Ok(id)
    }

    /// Checks made before a start's connection is hijacked, so refusals are ordinary errors.
    pub fn check_exec_start(&self, id: &str) -> EngineResult<()> {
        let e = self.execs.get(id)?;
        let s = e.state();
        if s.running {
            return Err(EngineError::conflict(format!(
                "Error: Exec command {id} is already running"
            )));
        }
        if s.started {
            return Err(EngineError::conflict(format!(
                "Error: Exec command {id} has already run"
            )));
        }
        require_running(&self.find(&e.container_id)?.record())
    }

    /// Starts the process through the shim; the connection then carries its streams.
    async fn launch_exec(self: &Arc<Self>, e: &Arc<Exec>) -> EngineResult<BufReader<UnixStream>> {
        self.check_exec_start(&e.id)?;
        let rec = self.find(&e.container_id)?.record();
        let mut claimed = false;
        e.set(|s| {
            claimed = !s.started;
            s.started = true;
        });
        if !claimed {
            return Err(EngineError::conflict(format!(
                "Error: Exec command {} is already running",
                e.id
            )));
        }
        let socket = self.bundle_dir(&rec.id).join(SOCKET);
        let req = Request::Exec {
            id: e.id.clone(),
            process: exec_process(&rec, &e.config),
        };
        let (reply, conn) = match shim_client::request(&socket, &req).await {
            Ok(r) => r,
            Err(err) => {
                e.finish(EXIT_UNKNOWN);
                return Err(err);
            }
        };
        if let Some(err) = reply.error {
            e.finish(err.code as i64);
            return Err(start_failed(&err.message));
        }
        e.set(|s| {
            s.running = true;
            s.pid = reply.pid.unwrap_or_default();
        });
        let exec = e.clone();
        tokio::spawn(async move {
            let code = wait_exec(&socket, &exec.id).await;
            exec.finish(code.unwrap_or(EXIT_UNKNOWN));
        });
        Ok(conn)
    }

    /// `POST /exec/{id}/start` with `Detach`: returns once the process has started; its
    /// output is discarded.
    pub async fn start_exec_detached(self: &Arc<Self>, id: &str) -> EngineResult<()> {
        let e = self.execs.get(id)?;
        self.launch_exec(&e).await.map(drop)
    }

    /// `POST /exec/{id}/start`, attached: streams between `io` and the process until it
    /// ends (or the client detaches). The connection is already hijacked, so a failure to
    /// start is written into it, as docker does.
    pub async fn start_exec_attached(self: &Arc<Self>, id: &str, mut io: Box<dyn Io>) {
        let Ok(e) = self.execs.get(id) else { return };
        match self.launch_exec(&e).await {
            Ok(conn) => {
                let detach = attach::parse_detach_keys(&e.config.detach_keys)
                    .ok()
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| DEFAULT_DETACH_KEYS.to_vec());
                let exec = e.clone();
                // The stream ends only once the exit code is known, so a client that
                // inspects the instance right after sees it.
                let ended = async move { exec.exited().await };
                attach::splice(conn, io, e.config.attach_stdin, detach, ended);
            }
            Err(err) => {
                let text = format!("{}\r\n", err.message).into_bytes();
                let mut out = Vec::new();
                if !e.config.tty {
                    out.extend_from_slice(&berth_runtime::shim::protocol::frame_header(
                        1,
                        text.len(),
                    ));
                }
                out.extend_from_slice(&text);
                let _ = io.write_all(&out).await;
                let _ = io.shutdown().await;
            }
        }
    }

    /// `GET /exec/{id}/json`.
    pub fn inspect_exec(&self, id: &str) -> EngineResult<ExecInspect> {
        let e = self.execs.get(id)?;
        let s = e.state();
        let c = &e.config;
        Ok(ExecInspect {
            id: e.id.clone(),
            running: s.running,
            exit_code: s.exit_code,
            process_config: ProcessConfig {
                privileged: c.privileged,
                user: c.user.clone(),
                tty: c.tty,
                entrypoint: c.cmd.first().cloned().unwrap_or_default(),
                arguments: c.cmd.iter().skip(1).cloned().collect(),
            },
            open_stdin: c.attach_stdin,
            open_stderr: c.attach_stderr,
            open_stdout: c.attach_stdout,
            can_remove: false,
            container_id: e.container_id.clone(),
            detach_keys: c.detach_keys.clone(),
            pid: s.pid as i64,
        })
    }

    /// `POST /exec/{id}/resize`.
    pub async fn resize_exec(&self, id: &str, height: u16, width: u16) -> EngineResult<()> {
        let e = self.execs.get(id)?;
        if !e.state().running {
            return Err(EngineError::conflict(format!("Exec {id} is not running")));
        }
        let req = Request::Resize {
            height,
            width,
            exec: Some(e.id.clone()),
        };
        let reply = shim_client::call(&self.bundle_dir(&e.container_id).join(SOCKET), &req).await?;
        match reply.error {
            Some(err) => Err(EngineError::invalid(err.message)),
            None => Ok(()),
        }
    }
}

/// Waits for an exec process's exit code, through the shim.
pub async fn wait_exec(socket: &std::path::Path, id: &str) -> Option<i64> {
    let req = Request::ExecWait { id: id.to_string() };
    let (reply, mut conn) = shim_client::request(socket, &req).await.ok()?;
    if let Some(exit) = reply.exit {
        return Some(exit.exit_code as i64);
    }
    if reply.error.is_some() {
        return None;
    }
    let reply = shim_client::read_reply(&mut conn).await.ok()?;
    reply.exit.map(|x| x.exit_code as i64)
}
