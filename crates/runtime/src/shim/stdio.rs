//! A process's standard streams as the shim holds them: three pipes, or a pseudo-terminal
//! whose slave the process gets as stdin, stdout, stderr and controlling terminal. Terminals
//! are made in the container's own devpts, so its processes see /dev/pts/N: the first
//! process makes its own (its devpts does not exist before it), an exec's is made here.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::linux::child::ChildStdio;
use crate::linux::paths::{open_in_root, Create};
use crate::linux::{terminal, StartError};

/// The shim's ends.
pub enum Streams {
    Pipes {
        /// None when the container's stdin is closed (`-i` not given).
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    Tty {
        master: OwnedFd,
    },
}

/// The container's ends, and the terminal to make controlling.
pub struct ChildEnds {
    pub stdio: [OwnedFd; 3],
    pub console: Option<OwnedFd>,
}

fn nonblocking(fd: impl AsFd) -> Result<(), StartError> {
    let flags = rustix::fs::fcntl_getfl(&fd).map_err(|e| StartError::os("fcntl", e))?;
    rustix::fs::fcntl_setfl(&fd, flags | OFlags::NONBLOCK).map_err(|e| StartError::os("fcntl", e))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), StartError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| StartError::os("creating a pipe", e))
}

/// A pseudo-terminal of the devpts mounted in the container of process `pid`, opened through
/// its root (confined, so the container's own links cannot point elsewhere).
fn container_pty(pid: i32) -> Result<(Streams, ChildEnds), StartError> {
    let root = rustix::fs::open(
        format!("/proc/{pid}/root"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StartError::os("opening the container's root", e))?;
    let ptmx = open_in_root(&root, Path::new("/dev/pts/ptmx"), Create::Nothing)
        .map_err(|e| StartError::os("finding the container's /dev/pts/ptmx", e))?;
    let pty = terminal::open(&ptmx)?;
    nonblocking(&pty.master)?;
    Ok((
        Streams::Tty { master: pty.master },
        ChildEnds {
            stdio: pty.stdio,
            console: Some(pty.console),
        },
    ))
}

/// The streams of an exec process in the container of process `pid`.
pub fn create_exec(
    pid: i32,
    tty: bool,
    open_stdin: bool,
) -> Result<(Streams, ChildEnds), StartError> {
    if tty {
        container_pty(pid)
    } else {
        pipes(open_stdin)
    }
}

/// The container process's streams. Pipes are made now; a terminal is made by the process
/// itself in its own devpts, and [`Init::streams`] receives its master.
pub fn create_init(tty: bool, open_stdin: bool) -> Result<(Init, ChildStdio), StartError> {
    if tty {
        let (shim, child) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| StartError::os("creating a socket pair", e))?;
        return Ok((Init::Terminal(shim), ChildStdio::Terminal(child)));
    }
    let (streams, ends) = pipes(open_stdin)?;
    Ok((Init::Ready(streams), ChildStdio::Fds(ends.stdio)))
}

/// The shim's side of the container process's streams until the process has made them.
pub enum Init {
    Ready(Streams),
    /// The socket the terminal's master arrives on.
    Terminal(OwnedFd),
}

impl Init {
    /// The streams, once the process has reported ready (its terminal sent by then).
    pub fn streams(self) -> Result<Streams, StartError> {
        match self {
            Init::Ready(s) => Ok(s),
            Init::Terminal(socket) => {
                let master = terminal::recv_fd(&socket)?;
                nonblocking(&master)?;
                Ok(Streams::Tty { master })
            }
        }
    }
}

/// Pipes (or /dev/null for a closed stdin) for a process without a terminal.
fn pipes(open_stdin: bool) -> Result<(Streams, ChildEnds), StartError> {
    let (stdin_child, stdin_shim) = if open_stdin {
        let (r, w) = pipe()?;
        nonblocking(&w)?;
        (r, Some(w))
    } else {
        let null = rustix::fs::open("/dev/null", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| StartError::os("opening /dev/null", e))?;
        (null, None)
    };
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    nonblocking(&out_r)?;
    nonblocking(&err_r)?;
    Ok((
        Streams::Pipes {
            stdin: stdin_shim,
            stdout: out_r,
            stderr: err_r,
        },
        ChildEnds {
            stdio: [stdin_child, out_w, err_w],
            console: None,
        },
    ))
}
