//! A process's standard streams as the shim holds them: three pipes, or a pseudo-terminal
//! whose slave the process gets as stdin, stdout, stderr and controlling terminal. An exec's
//! terminal is made in the container's own devpts, so the process sees it as /dev/pts/N.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;

use crate::linux::paths::{fd_path, open_in_root, Create};
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

/// A pseudo-terminal of the devpts mounted in the container of process `pid`, opened through
/// its root (confined, so the container's own links cannot point elsewhere); the slave comes
/// from the master itself, with no path looked up.
fn container_pty(pid: i32) -> Result<(Streams, ChildEnds), StartError> {
    let root = rustix::fs::open(
        format!("/proc/{pid}/root"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StartError::os("opening the container's root", e))?;
    let ptmx = open_in_root(&root, Path::new("/dev/pts/ptmx"), Create::Nothing)
        .map_err(|e| StartError::os("finding the container's /dev/pts/ptmx", e))?;
    let st = rustix::fs::fstat(&ptmx).map_err(|e| StartError::os("stat /dev/pts/ptmx", e))?;
    let is_ptmx = rustix::fs::FileType::from_raw_mode(st.st_mode)
        == rustix::fs::FileType::CharacterDevice
        && rustix::fs::major(st.st_rdev) == 5
        && rustix::fs::minor(st.st_rdev) == 2;
    if !is_ptmx {
        return Err(StartError::engine(
            "the container's /dev/pts/ptmx is not a terminal multiplexer",
        ));
    }
    let master = rustix::fs::open(
        fd_path(&ptmx),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StartError::os("opening a pseudo-terminal", e))?;
    rustix::pty::unlockpt(&master).map_err(|e| StartError::os("unlockpt", e))?;
    let open_slave = || {
        rustix::pty::ioctl_tiocgptpeer(
            &master,
            OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
        )
        .map_err(|e| StartError::os("opening the terminal", e))
    };
    let stdio = [open_slave()?, open_slave()?, open_slave()?];
    let console = Some(open_slave()?);
    nonblocking(&master)?;
    Ok((Streams::Tty { master }, ChildEnds { stdio, console }))
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
        create(false, open_stdin)
    }
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
