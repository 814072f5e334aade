//! Finding (and creating) the parent directory of each entry, confined to the root.
//!
//! Entries of a directory come one after another in a tar stream, so the last parent is
//! kept open: the common case costs no lookup at all. The cached descriptor is taken out
//! while an entry is written and put back after, and an entry only ever changes names
//! *inside* its parent, so the cache can never point at a directory the archive replaced.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{mkdirat, openat, Mode, OFlags};
use rustix::io::{Errno, Result};

use crate::fsutil::open_in_root;

const DIR_PATH: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);
const DEFAULT_DIR_MODE: Mode = Mode::from_raw_mode(0o755);

/// A parent directory handed out by [`DirCache::take`].
pub(crate) enum Parent {
    /// The root itself (entries at the top level).
    Root,
    /// Some directory below the root.
    Dir(OwnedFd),
    /// Does not exist, and the caller asked not to create it.
    Missing,
}

impl Parent {
    /// The descriptor to resolve names against, or `None` if missing.
    pub(crate) fn fd<'a>(&'a self, root: BorrowedFd<'a>) -> Option<BorrowedFd<'a>> {
        match self {
            Self::Root => Some(root),
            Self::Dir(fd) => Some(fd.as_fd()),
            Self::Missing => None,
        }
    }
}

#[derive(Default)]
pub(crate) struct DirCache {
    slot: Option<(Vec<u8>, OwnedFd)>,
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
        if let Some((cached, _)) = &self.slot {
            if cached.as_slice() == path {
                let (_, fd) = self.slot.take().expect("slot checked just above");
                return Ok(Parent::Dir(fd));
            }
        }
        match open_in_root(root, path, DIR_PATH) {
            Ok(fd) => Ok(Parent::Dir(fd)),
            Err(Errno::NOENT) if create => mkdir_all(root, path).map(Parent::Dir),
            Err(Errno::NOENT) => Ok(Parent::Missing),
            Err(e) => Err(e),
        }
    }

    /// Keeps `fd`, the directory at `path`, for the next entry.
    pub(crate) fn put(&mut self, path: &[u8], fd: OwnedFd) {
        let mut key = match self.slot.take() {
            Some((key, _)) => key,
            None => Vec::new(),
        };
        key.clear();
        key.extend_from_slice(path);
        self.slot = Some((key, fd));
    }

    /// Puts back what [`Self::take`] handed out, if it was a directory below the root.
    pub(crate) fn put_parent(&mut self, path: &[u8], parent: Parent) {
        if let Parent::Dir(fd) = parent {
            self.put(path, fd);
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
