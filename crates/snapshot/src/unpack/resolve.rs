//! Finding (and creating) the parent directory of each entry, confined to the root.
//!
//! Entries of a directory come one after another in a tar stream, so the last parent is
//! kept open: the common case costs no lookup at all. Creating a name cannot change what
//! an existing path resolves to, but removing one can (a directory replaced by a symlink),
//! so every removal empties the cache. The parent in use is taken out of the cache while
//! its entry is written: removing a name inside it leaves the parent itself valid.
//!
//! Each directory comes with its group: a file created in a directory of our own group is
//! ours in full (whatever setgid or `grpid` semantics apply), so its chown can be skipped.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{fstat, mkdirat, openat, Mode, OFlags};
use rustix::io::{Errno, Result};

use crate::fsutil::open_in_root;

const DIR_PATH: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);
const DEFAULT_DIR_MODE: Mode = Mode::from_raw_mode(0o755);

/// A parent directory handed out by [`DirCache::take`].
pub(crate) enum Parent {
    /// The root itself (entries at the top level).
    Root,
    /// Some directory below the root, and its group.
    Dir(OwnedFd, u32),
    /// Does not exist, and the caller asked not to create it.
    Missing,
}

impl Parent {
    /// The descriptor to resolve names against, or `None` if missing.
    pub(crate) fn fd<'a>(&'a self, root: BorrowedFd<'a>) -> Option<BorrowedFd<'a>> {
        match self {
            Self::Root => Some(root),
            Self::Dir(fd, _) => Some(fd.as_fd()),
            Self::Missing => None,
        }
    }

    /// The group of the directory (`root_gid` for the root).
    pub(crate) fn gid(&self, root_gid: u32) -> u32 {
        match self {
            Self::Dir(_, gid) => *gid,
            Self::Root | Self::Missing => root_gid,
        }
    }
}

/// Pairs a freshly opened directory with its group.
fn with_gid(fd: OwnedFd) -> Result<Parent> {
    let gid = fstat(&fd)?.st_gid;
    Ok(Parent::Dir(fd, gid))
}

#[derive(Default)]
pub(crate) struct DirCache {
    slot: Option<(Vec<u8>, OwnedFd, u32)>,
}

impl DirCache {
    /// Opens directory `path` (normalised, relative to `root`), creating missing components
    /// with mode 0755 when `create` is set.
    pub(crate) fn take(
        &mut self,
        root: BorrowedFd<'_>,
        path: &[u8],
        create: bool,
    ) -> Result<Parent> {
        if path.is_empty() {
            return Ok(Parent::Root);
        }
        if let Some((cached, _, _)) = &self.slot {
            if cached.as_slice() == path {
                let (_, fd, gid) = self.slot.take().expect("slot checked just above");
                return Ok(Parent::Dir(fd, gid));
            }
        }
        match open_in_root(root, path, DIR_PATH) {
            Ok(fd) => with_gid(fd),
            Err(Errno::NOENT) if create => with_gid(mkdir_all(root, path)?),
            Err(Errno::NOENT) => Ok(Parent::Missing),
            Err(e) => Err(e),
        }
    }

    /// Keeps `fd`, the directory at `path` owned by group `gid`, for the next entry.
    pub(crate) fn put(&mut self, path: &[u8], fd: OwnedFd, gid: u32) {
        let mut key = match self.slot.take() {
            Some((key, _, _)) => key,
            None => Vec::new(),
        };
        key.clear();
        key.extend_from_slice(path);
        self.slot = Some((key, fd, gid));
    }

    /// Forgets the cached directory.
    pub(crate) fn clear(&mut self) {
        self.slot = None;
    }

    /// Puts back what [`Self::take`] handed out, if it was a directory below the root.
    pub(crate) fn put_parent(&mut self, path: &[u8], parent: Parent) {
        if let Parent::Dir(fd, gid) = parent {
            self.put(path, fd, gid);
        }
    }
}

/// Creates every missing directory of `path`. Existing components are resolved inside the
/// root (so an existing symlink is followed, confined); once one is missing, everything
/// below it is created by us and opened with `O_NOFOLLOW`.
fn mkdir_all(root: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd> {
    let mut parent: Option<OwnedFd> = None;
    let mut end = 0;
    let mut missing = false;
    while end < path.len() {
        let start = if end == 0 { 0 } else { end + 1 };
        end = path[start..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(path.len(), |i| start + i);
        let name = &path[start..end];
        let at = parent.as_ref().map_or(root, |fd| fd.as_fd());
        if !missing {
            match open_in_root(root, &path[..end], DIR_PATH) {
                Ok(fd) => {
                    parent = Some(fd);
                    continue;
                }
                Err(Errno::NOENT) => missing = true,
                Err(e) => return Err(e),
            }
        }
        match mkdirat(at, name, DEFAULT_DIR_MODE) {
            // Someone made it meanwhile; opening it below checks it is a directory.
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
        // EEXIST on a name that did not resolve is a dangling symlink: O_NOFOLLOW refuses
        // it (ENOTDIR) rather than guessing where it should point.
        let fd = openat(
            at,
            name,
            DIR_PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        parent = Some(fd);
    }
    parent.ok_or(Errno::NOENT)
}
