//! The per-archive state of an unpack and the dispatch of each entry to what writes it:
//! whiteouts, skipped kinds, or a file, directory, link or node in its resolved parent.

use std::collections::HashSet;
use std::io::{self, Read};
use std::os::fd::BorrowedFd;

use rustix::fs::{fchmod, futimens, FileType, Mode, OFlags};
use rustix::io::Errno;
use tar::EntryType;

use super::meta::{self, Meta};
use super::path::{classify, normalize, split, Whiteout};
use super::resolve::DirCache;
use super::{At, Cx, DeferredDir, UnpackOptions, UnpackStats, WhiteoutMode, COPY_BUFFER};
use crate::error::UnpackError;
use crate::fsutil::open_in_root;

/// Everything carried from one entry to the next; buffers are reused, not reallocated.
pub(super) struct State {
    pub(super) whiteouts: WhiteoutMode,
    pub(super) owner: bool,
    pub(super) allow_devices: bool,
    /// Refuse to replace a directory with a non-directory and the other way round.
    pub(super) keep_kinds: bool,
    /// Running as root: modes can be applied at once, and failures to set privileged
    /// xattrs are real errors.
    pub(super) privileged: bool,
    pub(super) euid: u32,
    pub(super) egid: u32,
    /// Group of the root directory, the parent of top-level entries.
    pub(super) root_gid: u32,
    pub(super) dirs: DirCache,
    pub(super) buf: Vec<u8>,
    pub(super) xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub(super) deferred: Vec<DeferredDir>,
    /// Paths this archive wrote (and their ancestors), so that in [`WhiteoutMode::Apply`]
    /// its own whiteouts never remove its own entries, whatever their order.
    pub(super) written: Option<HashSet<Vec<u8>>>,
    pub(super) stats: UnpackStats,
    pub(super) raw: Vec<u8>,
    pub(super) path: Vec<u8>,
    pub(super) scratch: Vec<u8>,
}

/// The kind of thing an entry creates, once whiteouts and skipped kinds are set aside.
enum Create {
    File,
    Dir,
    Symlink,
    Link,
    Node(FileType),
}

impl State {
    pub(super) fn new(opts: &UnpackOptions, root_gid: u32) -> Self {
        let euid = rustix::process::geteuid();
        Self {
            whiteouts: opts.whiteouts,
            owner: opts.preserve_owner,
            allow_devices: opts.allow_devices,
            keep_kinds: opts.no_overwrite_dir_non_dir,
            privileged: euid.is_root(),
            euid: euid.as_raw(),
            egid: rustix::process::getegid().as_raw(),
            root_gid,
            dirs: DirCache::default(),
            buf: vec![0; COPY_BUFFER],
            xattrs: Vec::new(),
            deferred: Vec::new(),
            written: (opts.whiteouts == WhiteoutMode::Apply).then(HashSet::new),
            stats: UnpackStats::default(),
            raw: Vec::new(),
            path: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub(super) fn read_error_after(&self, source: io::Error) -> UnpackError {
        UnpackError::Read {
            entry: (self.stats.entries > 0)
                .then(|| String::from_utf8_lossy(&self.raw).into_owned()),
            source,
        }
    }

    pub(super) fn entry<R: Read>(
        &mut self,
        root: BorrowedFd<'_>,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            tracing::debug!("ignoring PAX global header");
            return Ok(());
        }
        self.stats.entries += 1;
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        raw.extend_from_slice(&entry.path_bytes());
        let mut path = std::mem::take(&mut self.path);
        let result = if normalize(&raw, &mut path) {
            let cx = Cx {
                root,
                raw: &raw,
                path: &path,
            };
            self.dispatch(&cx, kind, entry)
        } else {
            Err(UnpackError::EscapingPath {
                entry: String::from_utf8_lossy(&raw).into_owned(),
            })
        };
        self.raw = raw;
        self.path = path;
        result
    }

    fn dispatch<R: Read>(
        &mut self,
        cx: &Cx<'_>,
        kind: EntryType,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        // Old archives mark directories only by a trailing slash on a regular entry.
        let is_dir = kind.is_dir() || (kind.is_file() && cx.raw.ends_with(b"/"));
        if cx.path.is_empty() {
            if !is_dir {
                return Err(UnpackError::InvalidPath {
                    entry: cx.name(),
                    reason: "only a directory can name the root",
                });
            }
            let meta = self.meta(cx, entry)?;
            return self.root_dir(cx, &meta);
        }
        let (dir, name) = split(cx.path);
        match classify(name) {
            Whiteout::No => {}
            Whiteout::Opaque => return self.opaque(cx, dir),
            Whiteout::Remove(target) => return self.whiteout(cx, dir, target),
            Whiteout::Ignored => {
                tracing::debug!(entry = %cx.name(), "ignoring whiteout metadata entry");
                return Ok(());
            }
            Whiteout::Invalid => return Err(UnpackError::InvalidWhiteout { entry: cx.name() }),
        }
        let create = match kind {
            _ if is_dir => Create::Dir,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => Create::File,
            EntryType::Symlink => Create::Symlink,
            EntryType::Link => Create::Link,
            EntryType::Fifo => Create::Node(FileType::Fifo),
            EntryType::Char if self.allow_devices => Create::Node(FileType::CharacterDevice),
            EntryType::Block if self.allow_devices => Create::Node(FileType::BlockDevice),
            EntryType::Char | EntryType::Block => {
                tracing::debug!(entry = %cx.name(), "skipping device node: devices not allowed");
                return Ok(());
            }
            other => {
                tracing::debug!(entry = %cx.name(), kind = ?other, "skipping unsupported entry type");
                return Ok(());
            }
        };
        let meta = self.meta(cx, entry)?;
        let parent = self
            .dirs
            .take(cx.root, dir, true)
            .map_err(cx.errno("creating parent directories"))?;
        let Some(pfd) = parent.fd(cx.root) else {
            return Err(cx.errno("creating parent directories")(Errno::NOENT));
        };
        let at = At {
            fd: pfd,
            gid: parent.gid(self.root_gid),
        };
        let new_dir = match create {
            Create::Dir => Some(self.dir(cx, pfd, name, &meta)?),
            Create::File => {
                let size = entry.size();
                self.file(cx, at, name, entry, size, &meta)?;
                None
            }
            Create::Symlink | Create::Link => {
                let Some(target) = entry.link_name_bytes() else {
                    return Err(UnpackError::InvalidPath {
                        entry: cx.name(),
                        reason: "link without a target",
                    });
                };
                if matches!(create, Create::Symlink) {
                    self.symlink(cx, at, name, &target, &meta)?;
                } else {
                    self.hardlink(cx, pfd, name, &target)?;
                }
                None
            }
            Create::Node(kind) => {
                let dev = device_numbers(entry.header()).map_err(|source| UnpackError::Header {
                    entry: cx.name(),
                    source,
                })?;
                self.node(cx, pfd, name, kind, dev, &meta)?;
                None
            }
        };
        match new_dir {
            // Its entries most likely come next: keep it open instead of its parent.
            Some((fd, gid)) => self.dirs.put(cx.path, fd, gid),
            None => self.dirs.put_parent(dir, parent),
        }
        Ok(())
    }

    fn meta<R: Read>(
        &mut self,
        cx: &Cx<'_>,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<Meta, UnpackError> {
        Meta::read(entry, &mut self.xattrs).map_err(|source| UnpackError::Header {
            entry: cx.name(),
            source,
        })
    }

    /// Records `path` (and its ancestors, which it needs) as written by this archive.
    pub(super) fn mark(&mut self, path: &[u8]) {
        let Some(written) = &mut self.written else {
            return;
        };
        let mut p = path;
        // Ancestors of a recorded path are recorded already: stop at the first one.
        while !p.is_empty() && written.insert(p.to_vec()) {
            p = split(p).0;
        }
    }

    /// Sets directory times (and deferred modes) now that nothing more will be written.
    pub(super) fn finish(&mut self, root: BorrowedFd<'_>) -> Result<(), UnpackError> {
        for d in self.deferred.drain(..) {
            let fail = |op| {
                let entry = String::from_utf8_lossy(&d.path).into_owned();
                move |e: Errno| UnpackError::Io {
                    entry,
                    op,
                    source: e.into(),
                }
            };
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW;
            let fd = match open_in_root(root, &d.path, flags) {
                Ok(fd) => fd,
                // Whited out or replaced by a later entry: nothing to restore.
                Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => continue,
                Err(e) => return Err(fail("reopening directory")(e)),
            };
            if let Some(mode) = d.mode {
                fchmod(&fd, Mode::from_raw_mode(mode)).map_err(fail("setting mode"))?;
            }
            futimens(&fd, &d.times).map_err(fail("setting times"))?;
        }
        Ok(())
    }
}

fn device_numbers(header: &tar::Header) -> io::Result<(u32, u32)> {
    // ustar and GNU headers both keep the device numbers at these offsets.
    let raw = header.as_bytes();
    let major = header.device_major().map(|d| d.map_or(0, u64::from));
    let minor = header.device_minor().map(|d| d.map_or(0, u64::from));
    let major = meta::lenient(&raw[329..337], major)?;
    let minor = meta::lenient(&raw[337..345], minor)?;
    let fit = |v: u64| {
        u32::try_from(v).map_err(|_| io::Error::other(format!("device number {v} out of range")))
    };
    Ok((fit(major)?, fit(minor)?))
}
