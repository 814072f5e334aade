//! The container's private /dev: the standard device nodes and the symlinks every Linux
//! userland expects, created in the tmpfs mounted at the container's /dev.

use std::os::fd::AsFd;

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use rustix::fs::{FileType, Gid, Mode, Uid};
use rustix::io::Errno;

use super::StartError;

/// The device nodes every container gets, as docker's defaults: (path, major, minor).
pub const DEFAULT_DEVICES: [(&str, u32, u32); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const SYMLINKS: [(&str, &str); 6] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", "/proc/kcore"),
];

/// Creates `devices` and the standard symlinks in `dev`, a directory descriptor of the
/// container's /dev.
pub fn populate(dev: impl AsFd, devices: &[LinuxDevice]) -> Result<(), StartError> {
    let dev = dev.as_fd();
    for d in devices {
        let path = d.path();
        let Some(name) = path
            .strip_prefix("/dev")
            .ok()
            .filter(|n| !n.as_os_str().is_empty())
        else {
            return Err(StartError::engine(format!(
                "device {} is not under /dev",
                path.display()
            )));
        };
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => FileType::CharacterDevice,
            LinuxDeviceType::B => FileType::BlockDevice,
            LinuxDeviceType::P => FileType::Fifo,
            other => {
                return Err(StartError::engine(format!(
                    "device {}: unsupported type {other:?}",
                    path.display()
                )))
            }
        };
        let mode = Mode::from_raw_mode(d.file_mode().unwrap_or(0o666));
        let number = rustix::fs::makedev(d.major() as u32, d.minor() as u32);
        match rustix::fs::mknodat(dev, name, kind, mode, number) {
            Ok(()) => {}
            Err(Errno::EXIST) => continue,
            Err(e) => {
                return Err(StartError::os(
                    format!("creating device {}", path.display()),
                    e,
                ))
            }
        }
        // mknod honours the umask; set the mode exactly, then the owner.
        rustix::fs::chmodat(dev, name, mode, rustix::fs::AtFlags::empty())
            .map_err(|e| StartError::os(format!("chmod {}", path.display()), e))?;
        let uid = d.uid().map(Uid::from_raw);
        let gid = d.gid().map(Gid::from_raw);
        if uid.is_some() || gid.is_some() {
            rustix::fs::chownat(dev, name, uid, gid, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| StartError::os(format!("chown {}", path.display()), e))?;
        }
    }
    for (name, target) in SYMLINKS {
        match rustix::fs::symlinkat(target, dev, name) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(StartError::os(format!("creating /dev/{name}"), e)),
        }
    }
    Ok(())
}
