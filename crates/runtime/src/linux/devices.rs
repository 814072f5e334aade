//! The container's private /dev: the standard device nodes and the symlinks every Linux
//! userland expects, created in the tmpfs mounted at the container's /dev.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};
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
        if name
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(StartError::engine(format!(
                "device {} is not a plain path under /dev",
                path.display()
            )));
        }
        make_parents(dev, name)?;
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

/// The directories above `name` (relative to `dev`), as for `/dev/net/tun`.
fn make_parents(dev: BorrowedFd<'_>, name: &Path) -> Result<(), StartError> {
    let mut built = PathBuf::new();
    let Some(parent) = name.parent() else {
        return Ok(());
    };
    for c in parent.components() {
        built.push(c);
        match rustix::fs::mkdirat(dev, &built, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(StartError::os(
                    format!("creating /dev/{}", built.display()),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// The host's device nodes, as `--privileged` gives them to a container (docker's list:
/// every device node under /dev but the terminals, shared memory, message queues and
/// console, which each container has of its own).
pub fn host_devices() -> Vec<LinuxDevice> {
    let mut out = Vec::new();
    walk(Path::new("/dev"), 0, &mut out);
    out
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<LinuxDevice>) {
    const SKIP_DIRS: [&str; 7] = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let name = entry.file_name();
        let ft = meta.file_type();
        if ft.is_dir() {
            if depth < 4 && !SKIP_DIRS.iter().any(|s| name == *s) {
                walk(&path, depth + 1, out);
            }
            continue;
        }
        // Each container has its own console and its own pts/ptmx (the /dev/ptmx link).
        if name == "console" || name == "ptmx" {
            continue;
        }
        let typ = if ft.is_char_device() {
            LinuxDeviceType::C
        } else if ft.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        let rdev = meta.rdev();
        let device = LinuxDeviceBuilder::default()
            .path(path)
            .typ(typ)
            .major(rustix::fs::major(rdev) as i64)
            .minor(rustix::fs::minor(rdev) as i64)
            .file_mode(meta.mode() & 0o7777)
            .uid(meta.uid())
            .gid(meta.gid())
            .build();
        if let Ok(d) = device {
            out.push(d);
        }
    }
}
