//! What a container changed, read from the upper directory of its active snapshot: the
//! list `docker diff` prints, the bytes it added (`SizeRw`), and the same changes as a layer
//! archive with OCI whiteouts (`commit`).
//!
//! The upper directory is walked with every level opened `O_NOFOLLOW` under its parent, and
//! lower layers are looked into with confined lookups, so symlinks a container made can
//! never lead a walk out of the snapshot. Overlayfs is mounted without `redirect_dir` and
//! `metacopy`, so everything a container changed is in its upper directory as it is.

use std::collections::HashSet;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{fgetxattr, openat, statat, AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::LayerStore;
use crate::error::LayerError;
use crate::fsutil::{list_names, open_in_root};
use crate::pack::{pack, PackOptions, PackStats, PackWhiteouts};
use crate::unpack::OPAQUE_XATTR;

/// How a path changed, with docker's numbering (`Kind` in the Engine API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Modified = 0,
    Added = 1,
    Deleted = 2,
}

/// One changed path, absolute inside the container (`/etc/passwd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

const DIR_PATH: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);

/// Called for each entry of a walk with its directory, absolute path, name and stat;
/// answers whether to descend into it.
type Visit<'v> = dyn FnMut(BorrowedFd<'_>, &[u8], &[u8], &Stat) -> Result<bool, LayerError> + 'v;

fn open_dir(path: &Path) -> Result<OwnedFd, LayerError> {
    rustix::fs::open(path, DIR_PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| LayerError::io("opening", path)(e.into()))
}

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

/// Whether directory `fd` hides the lower layers' content (an opaque directory).
fn is_opaque(dir: BorrowedFd<'_>, name: &[u8]) -> Result<bool, Errno> {
    let fd = openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = [0u8; 4];
    match fgetxattr(&fd, OPAQUE_XATTR, &mut buf) {
        Ok(n) => Ok(&buf[..n] == b"y"),
        Err(Errno::NODATA | Errno::NOTSUP) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Calls `visit` for everything under `dir` (pre-order, names sorted bytewise, as docker's
/// walk), with the entry's absolute path inside the tree; `visit` returns whether to
/// descend into a directory.
fn walk(dir: BorrowedFd<'_>, path: &mut Vec<u8>, visit: &mut Visit<'_>) -> Result<(), LayerError> {
    let io = |p: &[u8]| {
        let p = PathBuf::from(String::from_utf8_lossy(p).into_owned());
        move |e: Errno| LayerError::io("walking", p)(e.into())
    };
    let mut names: Vec<Vec<u8>> = list_names(dir)
        .map_err(io(path))?
        .into_iter()
        .map(|n| n.into_bytes())
        .collect();
    names.sort();
    for name in names {
        let len = path.len();
        path.push(b'/');
        path.extend_from_slice(&name);
        let st = match statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            // Gone meanwhile (the container runs): nothing to report.
            Err(Errno::NOENT) => {
                path.truncate(len);
                continue;
            }
            Err(e) => return Err(io(path)(e)),
        };
        let descend = visit(dir, path, &name, &st)?;
        if descend && FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            match openat(
                dir,
                &name,
                DIR_PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(sub) => walk(sub.as_fd(), path, visit)?,
                Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => {}
                Err(e) => return Err(io(path)(e)),
            }
        }
        path.truncate(len);
    }
    Ok(())
}

/// The first of `lowers` (topmost first) that has `path`, as it is there; a whiteout hides
/// it from the layers below.
fn lookup(lowers: &[OwnedFd], path: &[u8]) -> Option<Stat> {
    let rel = path.strip_prefix(b"/").unwrap_or(path);
    let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&b""[..], rel),
    };
    for lower in lowers {
        let Ok(dir) = open_in_root(lower.as_fd(), parent, DIR_PATH) else {
            continue;
        };
        if let Ok(st) = statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            return (!is_whiteout(&st)).then_some(st);
        }
    }
    None
}

/// Go's `sameFsTime`: equal, or equal seconds where one side lost its nanoseconds.
fn same_time(a: &Stat, b: &Stat) -> bool {
    a.st_mtime == b.st_mtime
        && (a.st_mtime_nsec == b.st_mtime_nsec || a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0)
}

fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/",
        Some(i) => &path[..i],
    }
}

impl LayerStore {
    /// The directories stacked under the upper directory of snapshot `key`, topmost first:
    /// its init directory (if it has one) and its layers.
    pub(super) fn lower_dirs(&self, key: &str) -> Result<Vec<PathBuf>, LayerError> {
        let dir = self.active_dir(key)?;
        let lowers_file = dir.join(super::active::LOWERS);
        let text = std::fs::read_to_string(&lowers_file).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                LayerError::SnapshotNotFound(key.to_owned())
            } else {
                LayerError::io("reading", &lowers_file)(e)
            }
        })?;
        let mut dirs = Vec::new();
        let init = dir.join(super::active::INIT);
        if init.is_dir() {
            dirs.push(init);
        }
        for diff_id in text.lines().filter(|l| !l.is_empty()) {
            dirs.push(self.path(diff_id)?);
        }
        Ok(dirs)
    }

    fn upper_fd(&self, key: &str) -> Result<OwnedFd, LayerError> {
        let upper = self.upper(key)?;
        if !upper.is_dir() {
            return Err(LayerError::SnapshotNotFound(key.to_owned()));
        }
        open_dir(&upper)
    }

    /// What the container on snapshot `key` changed, in docker's order and with docker's
    /// rules: a parent of an added or deleted path shows as modified, and a directory
    /// overlayfs merely copied up (same size, mode and time as below) does not show.
    pub fn changes(&self, key: &str) -> Result<Vec<Change>, LayerError> {
        let upper = self.upper_fd(key)?;
        let lowers = self
            .lower_dirs(key)?
            .iter()
            .map(|d| open_dir(d))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out: Vec<Change> = Vec::new();
        let mut changed_dirs: HashSet<Vec<u8>> = HashSet::new();
        let mut visit = |dir: BorrowedFd<'_>, path: &[u8], name: &[u8], st: &Stat| {
            let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
            let opaque = is_dir
                && is_opaque(dir, name).map_err(|e| {
                    LayerError::io(
                        "reading xattrs of",
                        String::from_utf8_lossy(path).into_owned(),
                    )(e.into())
                })?;
            let kind = if is_whiteout(st) || opaque {
                ChangeKind::Deleted
            } else {
                match lookup(&lowers, path) {
                    None => ChangeKind::Added,
                    Some(lower) => {
                        let lower_dir =
                            FileType::from_raw_mode(lower.st_mode) == FileType::Directory;
                        if is_dir
                            && lower_dir
                            && lower.st_size == st.st_size
                            && lower.st_mode == st.st_mode
                            && same_time(st, &lower)
                        {
                            return Ok(true);
                        }
                        ChangeKind::Modified
                    }
                }
            };
            if is_dir {
                changed_dirs.insert(path.to_vec());
            }
            if kind != ChangeKind::Modified {
                let parent = parent_of(path);
                if parent != b"/" && changed_dirs.insert(parent.to_vec()) {
                    out.push(Change {
                        path: String::from_utf8_lossy(parent).into_owned(),
                        kind: ChangeKind::Modified,
                    });
                }
            }
            out.push(Change {
                path: String::from_utf8_lossy(path).into_owned(),
                kind,
            });
            Ok(true)
        };
        walk(upper.as_fd(), &mut Vec::new(), &mut visit)?;
        Ok(out)
    }

    /// Bytes the container on snapshot `key` wrote: the sizes of everything but directories
    /// in its upper directory, each hard-linked file once (docker's `SizeRw`).
    pub fn upper_size(&self, key: &str) -> Result<u64, LayerError> {
        let upper = self.upper_fd(key)?;
        let mut seen = HashSet::new();
        let mut total = 0u64;
        let mut visit = |_: BorrowedFd<'_>, _: &[u8], _: &[u8], st: &Stat| {
            let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
            let size = u64::try_from(st.st_size).unwrap_or(0);
            if !is_dir && size > 0 && seen.insert((st.st_dev, st.st_ino)) {
                total += size;
            }
            Ok(true)
        };
        walk(upper.as_fd(), &mut Vec::new(), &mut visit)?;
        Ok(total)
    }

    /// Writes the changes of snapshot `key` as a layer: a tar of its upper directory with
    /// overlayfs whiteouts turned into OCI ones. An unchanged container gives an empty
    /// archive (docker's empty layer).
    pub fn write_diff(&self, key: &str, out: &mut dyn Write) -> Result<PackStats, LayerError> {
        self.write_diff_clamped(key, out, None)
    }

    /// [`LayerStore::write_diff`] with no entry's time later than `clamp_mtime`.
    pub fn write_diff_clamped(
        &self,
        key: &str,
        out: &mut dyn Write,
        clamp_mtime: Option<u64>,
    ) -> Result<PackStats, LayerError> {
        let upper = self.upper_fd(key)?;
        let opts = PackOptions {
            whiteouts: PackWhiteouts::Oci,
            clamp_mtime,
        };
        Ok(pack(upper.as_fd(), b".", b"", &opts, out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::parent_of;

    #[test]
    fn parents_of_absolute_paths() {
        assert_eq!(parent_of(b"/etc/passwd"), b"/etc");
        assert_eq!(parent_of(b"/etc"), b"/");
    }
}
