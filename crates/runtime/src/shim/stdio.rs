//! A container's standard streams as the shim holds them: three pipes, or a pseudo-terminal
//! whose slave the container gets as stdin, stdout, stderr and controlling terminal.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;

use crate::linux::StartError;

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

pub fn create(tty: bool, open_stdin: bool) -> Result<(Streams, ChildEnds), StartError> {
    if tty {
        let master =
            rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
                .map_err(|e| StartError::os("opening a pseudo-terminal", e))?;
        rustix::pty::grantpt(&master).map_err(|e| StartError::os("grantpt", e))?;
        rustix::pty::unlockpt(&master).map_err(|e| StartError::os("unlockpt", e))?;
        let name =
            rustix::pty::ptsname(&master, Vec::new()).map_err(|e| StartError::os("ptsname", e))?;
        let open_slave = || {
            rustix::fs::open(
                name.as_c_str(),
                OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| StartError::os("opening the terminal", e))
        };
        let stdio = [open_slave()?, open_slave()?, open_slave()?];
        let console = Some(open_slave()?);
        nonblocking(&master)?;
        return Ok((Streams::Tty { master }, ChildEnds { stdio, console }));
    }
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
