//! Bringing up `lo` in a container's new network namespace, which the kernel creates with
//! its loopback interface down: without it even 127.0.0.1 is unreachable, where Docker's
//! containers (`--network none` included) always have it.

use std::os::fd::AsRawFd;

use rustix::net::{AddressFamily, SocketFlags, SocketType};

use super::StartError;

/// Sets `lo` up in the current network namespace.
pub fn up() -> Result<(), StartError> {
    let sock = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| StartError::os("opening a socket for lo", e))?;
    // SAFETY: ifreq is plain data; all-zero is a valid value of it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from and writes the flags into `req`, which
    // outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(StartError::os(
            "reading the flags of lo",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: after SIOCGIFFLAGS the union holds the flags.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and flags from `req`, which outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(StartError::os(
            "bringing up lo",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
