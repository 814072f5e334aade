//! The shim's event loop: one thread, one `poll`, over the listening socket, the engine's
//! connections, and the output and pidfd of every process the shim owns — the container's
//! own and those started in it by `exec`. The container's output goes to the log and to
//! attached connections; an exec's only to the connection that started it. When the
//! container's process exits the shim drains its output, records the exit, answers every
//! waiter, and ends.

mod exits;
mod requests;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use chrono::Utc;
use oci_spec::runtime::Spec;
use rustix::event::{PollFd, PollFlags};

use super::process::{self, Proc};
use super::protocol::{frame_header, ExitRecord, Reply};
use super::Hooks;
use crate::linux::launch::Launched;

/// Attached connections that fall this far behind are dropped rather than let the shim's
/// memory grow; the log still has everything.
const MAX_CLIENT_BACKLOG: usize = 8 << 20;
/// How long output may take to drain after a process exits (an exec's background children
/// may hold its streams open for ever).
const DRAIN: Duration = Duration::from_secs(2);
const READ_CHUNK: usize = 32 * 1024;
/// How many ended exec processes the shim remembers the exit of, for late waiters.
const EXITED_EXECS: usize = 128;

enum Role {
    /// Waiting for the request line.
    Request(Vec<u8>),
    /// Carrying the streams of a process: the container's (`None`) or an exec's.
    Attach {
        exec: Option<String>,
        stdin: bool,
        stdout: bool,
        stderr: bool,
        input_closed: bool,
    },
    Waiting {
        exec: Option<String>,
    },
    /// Nothing more to do but flush `out` and close.
    Closing,
}

struct Client {
    sock: UnixStream,
    role: Role,
    out: Vec<u8>,
}

/// What an exec process inherits from the container.
pub struct ExecContext {
    pub spec: Spec,
    pub seccomp: Option<seccompiler::BpfProgram>,
}

pub struct Server {
    listener: UnixListener,
    clients: Vec<Client>,
    /// The container's process.
    init: Proc,
    /// Exec processes not yet finished, by id.
    execs: Vec<(String, Proc)>,
    exited_execs: VecDeque<(String, ExitRecord)>,
    launched: Option<Launched>,
    started: bool,
    stdin_once: bool,
    hooks: Box<dyn Hooks>,
    context: ExecContext,
}

/// A source of readiness in one round of polling; processes by index (0 is the container's,
/// `i + 1` the exec at `i`).
#[derive(Clone, Copy)]
enum Source {
    Listener,
    Client(usize),
    Output(usize, u8),
    Stdin(usize),
    Pidfd(usize),
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Server {
    pub fn new(
        listener: UnixListener,
        launched: Launched,
        init: Proc,
        stdin_once: bool,
        hooks: Box<dyn Hooks>,
        context: ExecContext,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            clients: Vec::new(),
            init,
            execs: Vec::new(),
            exited_execs: VecDeque::new(),
            launched: Some(launched),
            started: false,
            stdin_once,
            hooks,
            context,
        })
    }

    fn proc(&self, index: usize) -> &Proc {
        match index {
            0 => &self.init,
            i => &self.execs[i - 1].1,
        }
    }

    fn proc_mut(&mut self, index: usize) -> &mut Proc {
        match index {
            0 => &mut self.init,
            i => &mut self.execs[i - 1].1,
        }
    }

    /// The index of the process a connection is about.
    fn index_of(&self, exec: &Option<String>) -> Option<usize> {
        match exec {
            None => Some(0),
            Some(id) => self.execs.iter().position(|(e, _)| e == id).map(|i| i + 1),
        }
    }

    fn exec_of(&self, index: usize) -> Option<String> {
        (index > 0).then(|| self.execs[index - 1].0.clone())
    }

    /// Runs until the container's process has exited and every connection is served.
    pub fn run(mut self) -> ExitRecord {
        loop {
            if let Some(deadline) = self.init.drain_deadline {
                let flushed = self.clients.iter().all(|c| c.out.is_empty());
                let done = self.init.open.is_empty() && self.init.finished;
                if (flushed && done && self.execs.is_empty()) || Instant::now() >= deadline {
                    break;
                }
            }
            if !self.poll_once() {
                break;
            }
            self.settle();
            self.clients
                .retain(|c| !(matches!(c.role, Role::Closing) && c.out.is_empty()));
        }
        self.finish_init();
        self.init.exit.clone().unwrap_or(ExitRecord {
            pid: self.init.pid,
            exit_code: 255,
            oom_killed: false,
            finished_at: Utc::now(),
        })
    }

    /// One round: poll everything, then handle what is ready. False when polling failed.
    fn poll_once(&mut self) -> bool {
        let mut sources = Vec::new();
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        fds.push(PollFd::from_borrowed_fd(
            self.listener.as_fd(),
            PollFlags::IN,
        ));
        sources.push(Source::Listener);
        for (i, c) in self.clients.iter().enumerate() {
            let mut f = PollFlags::empty();
            let reading = match &c.role {
                Role::Request(_) => true,
                Role::Attach {
                    exec,
                    stdin: true,
                    input_closed: false,
                    ..
                } => self
                    .index_of(exec)
                    .is_some_and(|p| self.proc(p).pending_stdin.is_empty()),
                _ => false,
            };
            if reading {
                f |= PollFlags::IN;
            }
            if !c.out.is_empty() {
                f |= PollFlags::OUT;
            }
            fds.push(PollFd::from_borrowed_fd(c.sock.as_fd(), f));
            sources.push(Source::Client(i));
        }
        let mut draining = false;
        for index in 0..=self.execs.len() {
            let p = self.proc(index);
            for &stream in &p.open {
                fds.push(PollFd::from_borrowed_fd(p.output_fd(stream), PollFlags::IN));
                sources.push(Source::Output(index, stream));
            }
            if !p.pending_stdin.is_empty() {
                if let Some(fd) = p.stdin_fd() {
                    fds.push(PollFd::from_borrowed_fd(fd, PollFlags::OUT));
                    sources.push(Source::Stdin(index));
                }
            }
            if p.exit.is_none() {
                fds.push(PollFd::from_borrowed_fd(p.pidfd.as_fd(), PollFlags::IN));
                sources.push(Source::Pidfd(index));
            }
            draining |= p.drain_deadline.is_some();
        }
        let timeout = draining.then_some(rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        });
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return true,
            Err(e) => {
                tracing::error!(error = %e, "poll failed");
                return false;
            }
        }
        let ready: Vec<(Source, PollFlags)> = fds
            .iter()
            .zip(sources)
            .map(|(f, s)| (s, f.revents()))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        drop(fds);
        for (source, revents) in ready {
            match source {
                Source::Listener => self.accept(),
                Source::Client(i) => self.client_event(i, revents),
                Source::Output(index, stream) => self.read_output(index, stream),
                Source::Stdin(index) => self.proc_mut(index).flush_stdin(),
                Source::Pidfd(index) => self.reap(index),
            }
        }
        true
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((sock, _)) => {
                    if sock.set_nonblocking(true).is_ok() {
                        self.clients.push(Client {
                            sock,
                            role: Role::Request(Vec::new()),
                            out: Vec::new(),
                        });
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    return;
                }
            }
        }
    }

    fn client_event(&mut self, i: usize, revents: PollFlags) {
        if revents.contains(PollFlags::OUT) {
            let c = &mut self.clients[i];
            match c.sock.write(&c.out) {
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) if would_block(&e) => {}
                Err(_) => {
                    c.out.clear();
                    c.role = Role::Closing;
                }
            }
        }
        if !revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            return;
        }
        let mut buf = [0u8; READ_CHUNK];
        let n = match self.clients[i].sock.read(&mut buf) {
            Ok(n) => n,
            Err(e) if would_block(&e) => return,
            Err(_) => 0,
        };
        match &mut self.clients[i].role {
            Role::Request(line) => {
                if n == 0 {
                    self.clients[i].role = Role::Closing;
                    return;
                }
                line.extend_from_slice(&buf[..n]);
                if let Some(pos) = line.iter().position(|b| *b == b'\n') {
                    let req = line[..pos].to_vec();
                    self.handle_request(i, &req);
                } else if line.len() > 64 * 1024 {
                    self.clients[i].role = Role::Closing;
                }
            }
            Role::Attach {
                exec,
                stdin: true,
                input_closed,
                ..
            } => {
                let exec = exec.clone();
                if n == 0 {
                    *input_closed = true;
                }
                let Some(index) = self.index_of(&exec) else {
                    return;
                };
                let stdin_once = self.stdin_once;
                let p = self.proc_mut(index);
                if n > 0 {
                    p.pending_stdin.extend_from_slice(&buf[..n]);
                    p.flush_stdin();
                } else if !p.tty && (exec.is_some() || stdin_once) {
                    // An exec's input is always once-only, as docker's.
                    p.close_stdin();
                }
            }
            Role::Waiting { .. } | Role::Attach { .. } => {
                if n == 0 {
                    self.clients[i].role = Role::Closing;
                }
            }
            Role::Closing => {}
        }
    }

    fn reply(&mut self, i: usize, reply: &Reply, then: Role) {
        let c = &mut self.clients[i];
        if let Ok(mut line) = serde_json::to_vec(reply) {
            line.push(b'\n');
            c.out.extend_from_slice(&line);
        }
        c.role = then;
    }

    /// Reads one chunk of a process's output into the attached connections (and, for the
    /// container's own, into the log).
    fn read_output(&mut self, index: usize, stream: u8) {
        let mut buf = [0u8; READ_CHUNK];
        let n = match self.proc_mut(index).read_output(stream, &mut buf) {
            process::Read::Data(n) => n,
            process::Read::Nothing | process::Read::End => return,
        };
        let data = &buf[..n];
        if index == 0 {
            self.hooks.log(stream, data);
        }
        let tty = self.proc(index).tty;
        let exec = self.exec_of(index);
        for c in &mut self.clients {
            let wants = match &c.role {
                Role::Attach {
                    exec: e,
                    stdout,
                    stderr,
                    ..
                } => *e == exec && ((stream == 1 && *stdout) || (stream == 2 && *stderr)),
                _ => false,
            };
            if !wants {
                continue;
            }
            if c.out.len() > MAX_CLIENT_BACKLOG {
                tracing::warn!("an attached client fell too far behind; detaching it");
                c.out.clear();
                c.role = Role::Closing;
                continue;
            }
            if !tty {
                c.out.extend_from_slice(&frame_header(stream, n));
            }
            c.out.extend_from_slice(data);
        }
    }
}
