//! Writing one entry of each kind (file, directory, symlink, hard link, device, FIFO) into
//! its already-resolved parent directory. Names handed to the `*at` calls are single
//! components and the final one is never followed, so nothing here can leave the parent.

use std::fs::File;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{
    fchmod, fchown, fstat, linkat, makedev, mkdirat, mknodat, openat, statat, symlinkat, unlinkat,
    AtFlags, FileType, Gid, Mode, OFlags, Uid,
};
use rustix::io::Errno;

use super::meta::{apply_xattrs, Meta};
use super::path::{normalize, split};
use super::resolve::DirCache;
use super::{At, Cx, DeferredDir, State};
use crate::error::UnpackError;
use crate::fsutil::{open_in_root, remove_all_at, reopen_dir};

/// Runs `create`; if the name is taken, removes whatever is there (recursively, without
/// following symlinks) and runs it again, so an entry always replaces what it lands on.
/// A removal can change what a cached directory path resolves to, so it empties `dirs`.
///
/// With `keep_dirs`, a directory in the way is left alone and `EISDIR` returned instead
/// (which no create call returns by itself), for [`State::created`] to report.
pub(super) fn create_replacing<T>(
    dirs: &mut DirCache,
    keep_dirs: bool,
    dir: BorrowedFd<'_>,
    name: &[u8],
    mut create: impl FnMut() -> rustix::io::Result<T>,
) -> rustix::io::Result<T> {
    match create() {
        Err(Errno::EXIST) => {
            if keep_dirs {
                let st = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    return Err(Errno::ISDIR);
                }
            }
            dirs.clear();
            remove_all_at(dir, name)?;
            create()
        }
        other => other,
    }
}

impl State {
    /// Maps the outcome of [`create_replacing`] to the entry's error.
    fn created<T>(
        &self,
        cx: &Cx<'_>,
        op: &'static str,
        r: rustix::io::Result<T>,
    ) -> Result<T, UnpackError> {
        match r {
            Err(Errno::ISDIR) if self.keep_kinds => Err(UnpackError::Overwrite {
                entry: cx.name(),
                existing: "directory",
                new: "non-directory",
            }),
            other => other.map_err(cx.errno(op)),
        }
    }

    /// Whether an entry created by us in a directory of group `parent_gid` still needs a
    /// chown: it is born with our uid, and with our gid when the directory has it.
    fn needs_chown(&self, meta: &Meta, parent_gid: u32) -> bool {
        self.owner && !(meta.uid == self.euid && meta.gid == self.egid && parent_gid == self.egid)
    }

    pub(super) fn file<R: Read>(
        &mut self,
        cx: &Cx<'_>,
        at: At<'_>,
        name: &[u8],
        content: &mut R,
        size: u64,
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let parent = at.fd;
        let made = create_replacing(&mut self.dirs, self.keep_kinds, parent, name, || {
            openat(parent, name, flags, Mode::from_raw_mode(0o600))
        });
        let fd = self.created(cx, "creating file", made)?;
        let mut file = File::from(fd);
        let mut got = 0u64;
        loop {
            let n = match content.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(e) => return Err(cx.read_error(e)),
            };
            file.write_all(&self.buf[..n])
                .map_err(cx.io("writing file"))?;
            got += n as u64;
        }
        if got >= WRITEBACK_FROM {
            start_writeback(file.as_fd());
        }
        if got != size {
            return Err(UnpackError::Truncated {
                entry: cx.name(),
                expected: size,
                got,
            });
        }
        meta.apply_fd(file.as_fd(), self.needs_chown(meta, at.gid))
            .map_err(cx.errno("setting owner and mode"))?;
        apply_xattrs(file.as_fd(), &self.xattrs, self.privileged)
            .map_err(cx.errno("setting xattrs"))?;
        meta.apply_times_fd(file.as_fd())
            .map_err(cx.errno("setting times"))?;
        self.stats.bytes += size;
        self.mark(cx.path);
        Ok(())
    }

    /// Creates (or keeps, if one is there) the directory `name`, returning it open (with its
    /// group) so the entries inside it can be written without another lookup.
    pub(super) fn dir(
        &mut self,
        cx: &Cx<'_>,
        parent: BorrowedFd<'_>,
        name: &[u8],
        meta: &Meta,
    ) -> Result<(OwnedFd, u32), UnpackError> {
        let open = || {
            openat(
                parent,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
        };
        // Created private; the header's mode is applied once ownership is right.
        let private = Mode::from_raw_mode(0o700);
        match mkdirat(parent, name, private) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(cx.errno("creating directory")(e)),
        }
        let fd = match open() {
            Ok(fd) => fd,
            Err(Errno::NOTDIR | Errno::LOOP) if self.keep_kinds => {
                return Err(UnpackError::Overwrite {
                    entry: cx.name(),
                    existing: "non-directory",
                    new: "directory",
                })
            }
            // A file or symlink is in the way: a directory entry replaces it.
            Err(Errno::NOTDIR | Errno::LOOP) => {
                self.dirs.clear();
                unlinkat(parent, name, AtFlags::empty())
                    .map_err(cx.errno("replacing with a directory"))?;
                mkdirat(parent, name, private).map_err(cx.errno("creating directory"))?;
                open().map_err(cx.errno("opening directory"))?
            }
            Err(e) => return Err(cx.errno("opening directory")(e)),
        };
        self.dir_meta(cx, fd.as_fd(), meta)?;
        self.mark(cx.path);
        let gid = if self.owner {
            meta.gid
        } else {
            fstat(&fd)
                .map_err(cx.errno("reading directory group"))?
                .st_gid
        };
        Ok((fd, gid))
    }

    /// A directory entry naming the root (`./`) sets the root's own attributes.
    pub(super) fn root_dir(&mut self, cx: &Cx<'_>, meta: &Meta) -> Result<(), UnpackError> {
        let fd = reopen_dir(cx.root).map_err(cx.errno("opening root directory"))?;
        self.dir_meta(cx, fd.as_fd(), meta)
    }

    fn dir_meta(
        &mut self,
        cx: &Cx<'_>,
        fd: BorrowedFd<'_>,
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        if self.owner {
            fchown(
                fd,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
            )
            .map_err(cx.errno("setting owner"))?;
        }
        // Without privilege a read-only directory could not be filled: keep it writable
        // for us until the end, when its real mode is applied with its times.
        let (now, later) = if self.privileged {
            (meta.mode, None)
        } else {
            (meta.mode | 0o700, Some(meta.mode))
        };
        fchmod(fd, Mode::from_raw_mode(now)).map_err(cx.errno("setting mode"))?;
        apply_xattrs(fd, &self.xattrs, self.privileged).map_err(cx.errno("setting xattrs"))?;
        // Writing the entries inside would bump the mtime again: set it at the end.
        self.deferred.push(DeferredDir {
            path: cx.path.to_vec(),
            times: meta.times.clone(),
            mode: later,
        });
        Ok(())
    }

    pub(super) fn symlink(
        &mut self,
        cx: &Cx<'_>,
        at: At<'_>,
        name: &[u8],
        target: &[u8],
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        if target.is_empty() {
            return Err(UnpackError::InvalidPath {
                entry: cx.name(),
                reason: "symlink with an empty target",
            });
        }
        // The target text is stored verbatim: it is only ever resolved later, confined.
        let parent = at.fd;
        let made = create_replacing(&mut self.dirs, self.keep_kinds, parent, name, || {
            symlinkat(target, parent, name)
        });
        self.created(cx, "creating symlink", made)?;
        meta.apply_symlink(parent, name, self.needs_chown(meta, at.gid))
            .map_err(cx.errno("setting symlink owner and times"))?;
        self.mark(cx.path);
        Ok(())
    }

    pub(super) fn hardlink(
        &mut self,
        cx: &Cx<'_>,
        parent: BorrowedFd<'_>,
        name: &[u8],
        raw_target: &[u8],
    ) -> Result<(), UnpackError> {
        let refuse = |reason| UnpackError::HardLink {
            entry: cx.name(),
            target: String::from_utf8_lossy(raw_target).into_owned(),
            reason,
        };
        let mut target = std::mem::take(&mut self.scratch);
        if !normalize(raw_target, &mut target) {
            return Err(refuse("target is outside the root"));
        }
        if target.is_empty() {
            return Err(refuse("target is a directory"));
        }
        if target.as_slice() == cx.path {
            self.scratch = target;
            return Ok(());
        }
        let (tparent, tname) = split(&target);
        // The target's directory is resolved inside the root like any other path, so a
        // symlink on the way cannot lead the link to a file outside.
        let tdir = match open_in_root(cx.root, tparent, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::NOENT | Errno::NOTDIR) => return Err(refuse("target does not exist")),
            Err(e) => return Err(cx.errno("resolving hard link target")(e)),
        };
        match statat(&tdir, tname, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                return Err(refuse("target is a directory"))
            }
            Ok(_) => {}
            Err(Errno::NOENT) => return Err(refuse("target does not exist")),
            Err(e) => return Err(cx.errno("resolving hard link target")(e)),
        }
        let made = create_replacing(&mut self.dirs, self.keep_kinds, parent, name, || {
            linkat(&tdir, tname, parent, name, AtFlags::empty())
        });
        self.created(cx, "creating hard link", made)?;
        self.scratch = target;
        self.mark(cx.path);
        Ok(())
    }

    /// Character and block devices and FIFOs.
    pub(super) fn node(
        &mut self,
        cx: &Cx<'_>,
        parent: BorrowedFd<'_>,
        name: &[u8],
        kind: FileType,
        (major, minor): (u32, u32),
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        let perm = Mode::from_raw_mode(meta.mode & 0o777);
        let made = create_replacing(&mut self.dirs, self.keep_kinds, parent, name, || {
            mknodat(parent, name, kind, perm, makedev(major, minor))
        });
        self.created(cx, "creating device node", made)?;
        let node = openat(
            parent,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(cx.errno("opening device node"))?;
        // Only the node just made may get the header's mode, never something swapped in.
        let st = fstat(&node).map_err(cx.errno("checking device node"))?;
        if FileType::from_raw_mode(st.st_mode) != kind {
            return Err(cx.errno("checking device node")(Errno::EXIST));
        }
        meta.apply_node(node.as_fd(), self.owner, &self.xattrs, self.privileged)
            .map_err(cx.errno("setting device node attributes"))?;
        self.mark(cx.path);
        Ok(())
    }
}

/// Files at least this large have their writeback started as soon as they are written.
const WRITEBACK_FROM: u64 = 1 << 20;

/// Starts writing the file's dirty pages to disk without waiting, so that the sync that
/// makes the layer durable later finds most of the work done.
fn start_writeback(fd: BorrowedFd<'_>) {
    // SAFETY: sync_file_range on an open, owned descriptor; it only schedules writeback and
    // touches no memory of ours. Failure (e.g. on a filesystem without it) is harmless.
    unsafe {
        libc::sync_file_range(fd.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}
