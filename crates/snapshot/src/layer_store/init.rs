//! The init directory of an active snapshot: the mount points every container needs
//! (`/proc`, `/etc/hosts`, …) that its image lacks, made once in a directory stacked between
//! the image's layers and the container's upper directory, as docker's init layer. The
//! runtime then finds them in place instead of creating them in the upper directory, so
//! they never show as the container's changes (`diff`, `commit`, `SizeRw`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{
    fchmod, fchown, futimens, mkdirat, openat, statat, AtFlags, FileType, Gid, Mode, OFlags, Stat,
    Timestamps, Uid,
};
use rustix::io::Errno;

use crate::error::LayerError;
use crate::fsutil::open_in_root;

/// A path the init directory provides when the image does not have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitPath {
    /// An empty directory (a mount point for a file system).
    Dir(&'static str),
    /// An empty file (a mount point for a bind-mounted file).
    File(&'static str),
}

const DIR_PATH: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);
const DEFAULT_DIR: u32 = 0o755;
const DEFAULT_FILE: u32 = 0o644;

/// What the image has at a path: nothing, a directory (with its attributes), or something
/// else, under which nothing can be made.
enum Found {
    Nothing,
    Dir(Stat),
    Other,
}

/// The topmost of `lowers` that has `rel`; a whiteout hides it from the layers below.
fn find(lowers: &[OwnedFd], rel: &[u8]) -> Found {
    let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&b""[..], rel),
    };
    for lower in lowers {
        let Ok(dir) = open_in_root(lower.as_fd(), parent, DIR_PATH) else {
            continue;
        };
        match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                return match FileType::from_raw_mode(st.st_mode) {
                    FileType::Directory => Found::Dir(st),
                    FileType::CharacterDevice if st.st_rdev == 0 => Found::Nothing,
                    _ => Found::Other,
                }
            }
            Err(_) => continue,
        }
    }
    Found::Nothing
}

/// Fills `init` (an empty directory) with those of `paths` the layers `lowers` (topmost
/// first) lack. A directory the init directory must hold to reach a path gets the
/// attributes the image gives it, so the merged view looks as the image does.
pub(super) fn build(init: &Path, lowers: &[PathBuf], paths: &[InitPath]) -> Result<(), LayerError> {
    let open = |p: &Path| {
        rustix::fs::open(p, DIR_PATH | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| LayerError::io("opening", p)(e.into()))
    };
    let root = open(init)?;
    let lower_fds = lowers
        .iter()
        .map(|l| open(l))
        .collect::<Result<Vec<_>, _>>()?;
    let fail = |op: &'static str, rel: &[u8]| {
        let path = init.join(String::from_utf8_lossy(rel).as_ref());
        move |e: Errno| LayerError::io(op, path)(e.into())
    };
    // Directories made here whose times must match the image's, set once nothing more is
    // created inside them.
    let mut times: Vec<(OwnedFd, Timestamps)> = Vec::new();
    'paths: for p in paths {
        let (text, is_dir) = match p {
            InitPath::Dir(t) => (*t, true),
            InitPath::File(t) => (*t, false),
        };
        let rel = text.trim_matches('/').as_bytes();
        if rel.is_empty() {
            continue;
        }
        let mut end = 0;
        while let Some(i) = rel[end..].iter().position(|&b| b == b'/') {
            let ancestor = &rel[..end + i];
            end += i + 1;
            match find(&lower_fds, ancestor) {
                Found::Other => continue 'paths,
                found => {
                    let fd = ensure_dir(&root, ancestor).map_err(fail("creating", ancestor))?;
                    if let (Some(fd), Found::Dir(st)) = (fd, found) {
                        copy_owner_mode(&fd, &st).map_err(fail("setting", ancestor))?;
                        times.push((fd, stamps(&st)));
                    }
                }
            }
        }
        if !matches!(find(&lower_fds, rel), Found::Nothing) {
            continue;
        }
        let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => (&b""[..], rel),
        };
        let dir = open_in_root(root.as_fd(), parent, DIR_PATH).map_err(fail("opening", parent))?;
        let made = if is_dir {
            mkdirat(&dir, name, Mode::from_raw_mode(DEFAULT_DIR))
        } else {
            openat(
                &dir,
                name,
                OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(DEFAULT_FILE),
            )
            .map(drop)
        };
        match made {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(fail("creating", rel)(e)),
        }
    }
    for (fd, t) in times.iter().rev() {
        futimens(fd, t).map_err(|e| LayerError::io("setting times in", init)(e.into()))?;
    }
    Ok(())
}

/// Makes directory `rel` in the init directory; returns it (read-only) if this call made
/// it, so its attributes can be set.
fn ensure_dir(root: &OwnedFd, rel: &[u8]) -> Result<Option<OwnedFd>, Errno> {
    let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&b""[..], rel),
    };
    let dir = open_in_root(root.as_fd(), parent, DIR_PATH)?;
    let made = match mkdirat(&dir, name, Mode::from_raw_mode(DEFAULT_DIR)) {
        Ok(()) => true,
        Err(Errno::EXIST) => false,
        Err(e) => return Err(e),
    };
    if !made {
        return Ok(None);
    }
    let fd = openat(
        &dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Some(fd))
}

fn copy_owner_mode(fd: &OwnedFd, st: &Stat) -> Result<(), Errno> {
    fchown(
        fd,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777))
}

fn stamps(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}
