//! Pseudo-terminals of a container's own devpts, so its processes see their terminal as
//! `/dev/pts/N` as under Docker. The container's first process makes its terminal itself,
//! once its devpts is mounted, and hands the master to the shim over a socket; an exec's is
//! made by the shim through the container's root.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use rustix::pty::OpenptFlags;

use super::paths::fd_path;
use super::StartError;

/// A terminal: its master, the slave three times (for stdin, stdout and stderr) and once
/// more to make controlling.
pub struct Pty {
    pub master: OwnedFd,
    pub stdio: [OwnedFd; 3],
    pub console: OwnedFd,
}

/// Opens a new terminal from `ptmx`, an `O_PATH` descriptor of a devpts instance's `ptmx`
/// (checked to be one). The slaves come from the master itself, with no path looked up.
pub fn open(ptmx: impl AsFd) -> Result<Pty, StartError> {
    let st = rustix::fs::fstat(&ptmx).map_err(|e| StartError::os("stat ptmx", e))?;
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
    let slave = || {
        rustix::pty::ioctl_tiocgptpeer(
            &master,
            OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
        )
        .map_err(|e| StartError::os("opening the terminal", e))
    };
    Ok(Pty {
        stdio: [slave()?, slave()?, slave()?],
        console: slave()?,
        master,
    })
}

/// Sends `fd` over the unix socket `to`.
pub fn send_fd(to: impl AsFd, fd: impl AsFd) -> Result<(), StartError> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [fd.as_fd()];
    control.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(to, &[IoSlice::new(b"t")], &mut control, SendFlags::empty())
        .map_err(|e| StartError::os("handing over the terminal", e))?;
    Ok(())
}

/// Receives one descriptor sent by [`send_fd`] on `from`.
pub fn recv_fd(from: impl AsFd) -> Result<OwnedFd, StartError> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    rustix::net::recvmsg(
        from,
        &mut [IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| StartError::os("receiving the terminal", e))?;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = message {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(StartError::engine("the container process sent no terminal"))
}
