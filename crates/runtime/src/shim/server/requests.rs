//! The shim's answers to the engine's requests (see `protocol`), including starting exec
//! processes in the container.

use super::{Role, Server};
use crate::linux::exec::ExecSetup;
use crate::linux::StartError;
use crate::shim::process::Proc;
use crate::shim::protocol::{ExecProcess, Reply, Request, Status};
use crate::shim::stdio;

impl Server {
    pub(super) fn handle_request(&mut self, i: usize, line: &[u8]) {
        let req: Request = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                self.reply(
                    i,
                    &Reply::error(StartError::engine(format!("bad request: {e}"))),
                    Role::Closing,
                );
                return;
            }
        };
        match req {
            Request::State => {
                let status = if self.init.exit.is_some() {
                    Status::Stopped
                } else if self.started {
                    Status::Running
                } else {
                    Status::Created
                };
                let reply = Reply {
                    pid: Some(self.init.pid),
                    status: Some(status),
                    exit: self.init.exit.clone(),
                    ..Default::default()
                };
                self.reply(i, &reply, Role::Closing);
            }
            Request::Start => {
                let reply = match self.launched.take() {
                    Some(l) => match l.start() {
                        Ok(()) => {
                            self.started = true;
                            Reply {
                                pid: Some(self.init.pid),
                                ..Default::default()
                            }
                        }
                        Err(e) => Reply::error(e),
                    },
                    None => Reply::error(StartError::engine("the container was already started")),
                };
                self.reply(i, &reply, Role::Closing);
            }
            Request::Kill { signal, all, exec } => {
                let target = match &exec {
                    None => Ok(self.init.pid),
                    Some(id) => match self.index_of(&exec) {
                        Some(index) if self.proc(index).exit.is_none() => Ok(self.proc(index).pid),
                        _ => Err(StartError::engine(format!("exec {id} is not running"))),
                    },
                };
                let reply = match target.and_then(|pid| {
                    self.hooks
                        .kill(pid, signal, all)
                        .map_err(StartError::engine)
                }) {
                    Ok(()) => Reply::ok(),
                    Err(e) => Reply::error(e),
                };
                self.reply(i, &reply, Role::Closing);
            }
            Request::Wait => match &self.init.exit {
                Some(exit) => {
                    let reply = Reply {
                        exit: Some(exit.clone()),
                        ..Default::default()
                    };
                    self.reply(i, &reply, Role::Closing);
                }
                None => self.reply(i, &Reply::ok(), Role::Waiting { exec: None }),
            },
            Request::ExecWait { id } => {
                let ended = self
                    .exited_execs
                    .iter()
                    .find(|(e, _)| *e == id)
                    .map(|(_, exit)| exit.clone());
                match ended {
                    Some(exit) => {
                        let reply = Reply {
                            exit: Some(exit),
                            ..Default::default()
                        };
                        self.reply(i, &reply, Role::Closing);
                    }
                    None if self.index_of(&Some(id.clone())).is_some() => {
                        self.reply(i, &Reply::ok(), Role::Waiting { exec: Some(id) })
                    }
                    None => self.reply(
                        i,
                        &Reply::error(StartError::engine(format!("no such exec: {id}"))),
                        Role::Closing,
                    ),
                }
            }
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                let role = if self.init.exit.is_some() {
                    Role::Closing
                } else {
                    Role::Attach {
                        exec: None,
                        stdin,
                        stdout,
                        stderr,
                        input_closed: false,
                    }
                };
                self.reply(i, &Reply::ok(), role);
            }
            Request::Resize {
                height,
                width,
                exec,
            } => {
                let reply = match self.index_of(&exec) {
                    Some(index) => match self.proc(index).resize(height, width) {
                        Ok(()) => Reply::ok(),
                        Err(e) => Reply::error(e),
                    },
                    None => Reply::error(StartError::engine("no such exec")),
                };
                self.reply(i, &reply, Role::Closing);
            }
            Request::Exec { id, process } => match self.start_exec(&id, &process) {
                Ok(pid) => {
                    let role = Role::Attach {
                        exec: Some(id),
                        stdin: process.stdin,
                        stdout: process.stdout,
                        stderr: process.stderr,
                        input_closed: false,
                    };
                    let reply = Reply {
                        pid: Some(pid),
                        ..Default::default()
                    };
                    self.reply(i, &reply, role);
                }
                Err(e) => self.reply(i, &Reply::error(e), Role::Closing),
            },
        }
    }

    /// Starts an exec process in the container; its pid.
    fn start_exec(&mut self, id: &str, process: &ExecProcess) -> Result<i32, StartError> {
        if !self.started || self.init.exit.is_some() {
            return Err(StartError::engine("the container is not running"));
        }
        let known = self.execs.iter().any(|(e, _)| e == id)
            || self.exited_execs.iter().any(|(e, _)| e == id);
        if known {
            return Err(StartError::engine(format!("exec {id} already exists")));
        }
        let (streams, ends) = stdio::create_exec(self.init.pid, process.tty, process.stdin)?;
        let entry = self.hooks.entry().map_err(StartError::engine)?;
        let pid = crate::linux::exec::launch(
            ExecSetup {
                init_pid: self.init.pid,
                spec: &self.context.spec,
                process,
                stdio: ends.stdio,
                console: ends.console,
                seccomp: self.context.seccomp.as_deref(),
            },
            &entry,
        )?;
        let pidfd = match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
                return Err(StartError::os("pidfd_open", e));
            }
        };
        let raw = pid.as_raw_nonzero().get();
        tracing::debug!(exec = id, pid = raw, "exec started");
        self.execs
            .push((id.to_string(), Proc::new(raw, pidfd, streams, process.tty)));
        Ok(raw)
    }
}
