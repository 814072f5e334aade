//! The shim's event loop: one thread, one `poll`, over the listening socket, the engine's
//! connections, the container's output and the process's pidfd. Output goes to the log and
//! to attached connections; attached stdin goes to the container; when the process exits the
//! shim drains the output, records the exit, answers every waiter, and ends.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use chrono::Utc;
use rustix::event::{PollFd, PollFlags};

use super::protocol::{frame_header, ExitRecord, Reply, Request, Status};
use super::stdio::Streams;
use super::Hooks;
use crate::linux::launch::Launched;
use crate::linux::StartError;

/// Attached connections that fall this far behind are dropped rather than let the shim's
/// memory grow; the log still has everything.
const MAX_CLIENT_BACKLOG: usize = 8 << 20;
/// How long output may take to drain after the process exits.
const DRAIN: Duration = Duration::from_secs(2);
const READ_CHUNK: usize = 32 * 1024;

enum Role {
    /// Waiting for the request line.
    Request(Vec<u8>),
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
        input_closed: bool,
    },
    Waiting,
    /// Nothing more to do but flush `out` and close.
    Closing,
}

struct Client {
    sock: UnixStream,
    role: Role,
    out: Vec<u8>,
}

pub struct Server {
    listener: UnixListener,
    clients: Vec<Client>,
    pid: i32,
    pidfd: OwnedFd,
    launched: Option<Launched>,
    started: bool,
    streams: Streams,
    tty: bool,
    stdin_once: bool,
    pending_stdin: Vec<u8>,
    exit: Option<ExitRecord>,
    finished: bool,
    hooks: Box<dyn Hooks>,
}

/// A source of readiness in one round of polling.
#[derive(Clone, Copy)]
enum Source {
    Listener,
    Client(usize),
    Stdout,
    Stderr,
    Stdin,
    Pidfd,
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Server {
    pub fn new(
        listener: UnixListener,
        launched: Launched,
        pidfd: OwnedFd,
        streams: Streams,
        tty: bool,
        stdin_once: bool,
        hooks: Box<dyn Hooks>,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            clients: Vec::new(),
            pid: launched.pid.as_raw_nonzero().get(),
            pidfd,
            launched: Some(launched),
            started: false,
            streams,
            tty,
            stdin_once,
            pending_stdin: Vec::new(),
            exit: None,
            finished: false,
            hooks,
        })
    }

    /// The output streams still open (1 stdout, 2 stderr) and their descriptors.
    fn output_fds(&self, open: &[u8]) -> Vec<(Source, BorrowedFd<'_>)> {
        let all = match &self.streams {
            Streams::Tty { master } => vec![(Source::Stdout, master.as_fd())],
            Streams::Pipes { stdout, stderr, .. } => vec![
                (Source::Stdout, stdout.as_fd()),
                (Source::Stderr, stderr.as_fd()),
            ],
        };
        all.into_iter()
            .filter(|(s, _)| open.contains(&if matches!(s, Source::Stdout) { 1 } else { 2 }))
            .collect()
    }

    fn stdin_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.streams {
            Streams::Tty { master } => Some(master.as_fd()),
            Streams::Pipes { stdin, .. } => stdin.as_ref().map(|s| s.as_fd()),
        }
    }

    /// Runs until the process has exited and every connection is served.
    pub fn run(mut self) -> ExitRecord {
        let mut drain_deadline: Option<Instant> = None;
        let mut open: Vec<u8> = if self.tty { vec![1] } else { vec![1, 2] };
        loop {
            let outputs_open = !open.is_empty();
            if let Some(deadline) = drain_deadline {
                let flushed = self.clients.iter().all(|c| c.out.is_empty());
                if (flushed && !outputs_open && self.finished) || Instant::now() >= deadline {
                    break;
                }
            }
            let mut sources = Vec::new();
            let mut fds: Vec<PollFd<'_>> = Vec::new();
            fds.push(PollFd::from_borrowed_fd(
                self.listener.as_fd(),
                PollFlags::IN,
            ));
            sources.push(Source::Listener);
            for (i, c) in self.clients.iter().enumerate() {
                let mut f = PollFlags::empty();
                let reading = matches!(c.role, Role::Request(_))
                    || matches!(c.role, Role::Attach { stdin: true, input_closed: false, .. } if self.pending_stdin.is_empty());
                if reading {
                    f |= PollFlags::IN;
                }
                if !c.out.is_empty() {
                    f |= PollFlags::OUT;
                }
                fds.push(PollFd::from_borrowed_fd(c.sock.as_fd(), f));
                sources.push(Source::Client(i));
            }
            if outputs_open {
                for (s, fd) in self.output_fds(&open) {
                    fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
                    sources.push(s);
                }
            }
            if !self.pending_stdin.is_empty() {
                if let Some(fd) = self.stdin_fd() {
                    fds.push(PollFd::from_borrowed_fd(fd, PollFlags::OUT));
                    sources.push(Source::Stdin);
                }
            }
            if self.exit.is_none() {
                fds.push(PollFd::from_borrowed_fd(self.pidfd.as_fd(), PollFlags::IN));
                sources.push(Source::Pidfd);
            }
            let timeout = drain_deadline.map(|_| rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            });
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "poll failed");
                    break;
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
                    Source::Stdout | Source::Stderr => {
                        let stream = if matches!(source, Source::Stdout) {
                            1
                        } else {
                            2
                        };
                        if !self.read_output(stream) {
                            open.retain(|s| *s != stream);
                        }
                    }
                    Source::Stdin => self.flush_stdin(),
                    Source::Pidfd => {
                        self.reap();
                        // Whatever is still in the pipes is read on the next rounds; the
                        // container's processes are gone, so the streams end soon.
                        drain_deadline = Some(Instant::now() + DRAIN);
                    }
                }
            }
            if open.is_empty() && self.exit.is_some() {
                self.finish_outputs();
            }
            self.clients
                .retain(|c| !(matches!(c.role, Role::Closing) && c.out.is_empty()));
        }
        self.finish_outputs();
        self.exit.clone().unwrap_or(ExitRecord {
            pid: self.pid,
            exit_code: 255,
            oom_killed: false,
            finished_at: Utc::now(),
        })
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
        if revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
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
                    stdin: true,
                    input_closed,
                    ..
                } => {
                    if n == 0 {
                        *input_closed = true;
                        if self.stdin_once && !self.tty {
                            self.close_stdin();
                        }
                    } else {
                        self.pending_stdin.extend_from_slice(&buf[..n]);
                        self.flush_stdin();
                    }
                }
                Role::Waiting | Role::Attach { .. } => {
                    if n == 0 {
                        self.clients[i].role = Role::Closing;
                    }
                }
                Role::Closing => {}
            }
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

    fn handle_request(&mut self, i: usize, line: &[u8]) {
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
                let status = if self.exit.is_some() {
                    Status::Stopped
                } else if self.started {
                    Status::Running
                } else {
                    Status::Created
                };
                let reply = Reply {
                    pid: Some(self.pid),
                    status: Some(status),
                    exit: self.exit.clone(),
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
                                pid: Some(self.pid),
                                ..Default::default()
                            }
                        }
                        Err(e) => Reply::error(e),
                    },
                    None => Reply::error(StartError::engine("the container was already started")),
                };
                self.reply(i, &reply, Role::Closing);
            }
            Request::Kill { signal, all } => {
                let reply = match self.hooks.kill(self.pid, signal, all) {
                    Ok(()) => Reply::ok(),
                    Err(e) => Reply::error(StartError::engine(e)),
                };
                self.reply(i, &reply, Role::Closing);
            }
            Request::Wait => match &self.exit {
                Some(exit) => {
                    let reply = Reply {
                        exit: Some(exit.clone()),
                        ..Default::default()
                    };
                    self.reply(i, &reply, Role::Closing);
                }
                None => self.reply(i, &Reply::ok(), Role::Waiting),
            },
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                let role = if self.exit.is_some() {
                    Role::Closing
                } else {
                    Role::Attach {
                        stdin,
                        stdout,
                        stderr,
                        input_closed: false,
                    }
                };
                self.reply(i, &Reply::ok(), role);
            }
            Request::Resize { height, width } => {
                let reply = match &self.streams {
                    Streams::Tty { master } => {
                        let size = rustix::termios::Winsize {
                            ws_row: height,
                            ws_col: width,
                            ws_xpixel: 0,
                            ws_ypixel: 0,
                        };
                        match rustix::termios::tcsetwinsize(master, size) {
                            Ok(()) => Reply::ok(),
                            Err(e) => Reply::error(StartError::os("resizing the terminal", e)),
                        }
                    }
                    Streams::Pipes { .. } => {
                        Reply::error(StartError::engine("the container has no terminal"))
                    }
                };
                self.reply(i, &reply, Role::Closing);
            }
        }
    }

    /// Reads one chunk of output into the log and the attached connections; false at the
    /// end of the stream (or when nothing is there).
    fn read_output(&mut self, stream: u8) -> bool {
        let mut buf = [0u8; READ_CHUNK];
        let n = {
            let fd = match (&self.streams, stream) {
                (Streams::Tty { master }, _) => master.as_fd(),
                (Streams::Pipes { stdout, .. }, 1) => stdout.as_fd(),
                (Streams::Pipes { stderr, .. }, _) => stderr.as_fd(),
            };
            match rustix::io::read(fd, &mut buf) {
                Ok(n) => n,
                Err(rustix::io::Errno::AGAIN) => return true,
                // EIO: the terminal's other side is closed.
                Err(_) => 0,
            }
        };
        if n == 0 {
            return false;
        }
        let data = &buf[..n];
        self.hooks.log(stream, data);
        let tty = self.tty;
        for c in &mut self.clients {
            let wants = match c.role {
                Role::Attach { stdout, stderr, .. } => {
                    (stream == 1 && stdout) || (stream == 2 && stderr)
                }
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
        true
    }

    fn flush_stdin(&mut self) {
        let Some(fd) = self.stdin_fd() else {
            self.pending_stdin.clear();
            return;
        };
        match rustix::io::write(fd, &self.pending_stdin) {
            Ok(n) => {
                self.pending_stdin.drain(..n);
            }
            Err(rustix::io::Errno::AGAIN) => {}
            Err(_) => self.pending_stdin.clear(),
        }
    }

    fn close_stdin(&mut self) {
        if let Streams::Pipes { stdin, .. } = &mut self.streams {
            *stdin = None;
        }
        self.pending_stdin.clear();
    }

    /// Collects the process's exit status.
    fn reap(&mut self) {
        let status = rustix::process::waitpid(
            rustix::process::Pid::from_raw(self.pid),
            rustix::process::WaitOptions::NOHANG,
        );
        let exit_code = match status {
            Ok(Some((_, s))) => {
                if let Some(code) = s.exit_status() {
                    code
                } else if let Some(sig) = s.terminating_signal() {
                    128 + sig
                } else {
                    255
                }
            }
            _ => return,
        };
        let oom_killed = self.hooks.oom_killed();
        self.exit = Some(ExitRecord {
            pid: self.pid,
            exit_code,
            oom_killed,
            finished_at: Utc::now(),
        });
        self.close_stdin();
    }

    /// After the exit (once): flush the log, release the process's resources, record the
    /// exit, and answer every waiter and attached connection.
    fn finish_outputs(&mut self) {
        let Some(exit) = self.exit.clone() else {
            return;
        };
        if self.finished {
            return;
        }
        self.finished = true;
        self.hooks.finish(&exit);
        let reply = Reply {
            exit: Some(exit),
            ..Default::default()
        };
        let line = serde_json::to_vec(&reply).unwrap_or_default();
        for c in &mut self.clients {
            match c.role {
                Role::Waiting => {
                    c.out.extend_from_slice(&line);
                    c.out.push(b'\n');
                    c.role = Role::Closing;
                }
                Role::Attach { .. } => c.role = Role::Closing,
                _ => {}
            }
        }
    }
}
