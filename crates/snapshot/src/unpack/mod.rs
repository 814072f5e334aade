//! The safe extraction primitive: writes an uncompressed tar stream under a root directory
//! so that nothing can land outside it, whatever the archive says.
//!
//! Every path is resolved by the kernel with `openat2(RESOLVE_IN_ROOT)` against a
//! descriptor of the root, so `..`, absolute paths and symlinks (absolute or relative) stay
//! inside; `..` that lexically climbs above the root is refused outright. Layer unpacks, ADD
//! in builds and `cp` into containers all go through [`unpack_into`].

mod entry;
mod meta;
pub(crate) mod path;
mod resolve;
mod whiteout;

use std::collections::HashSet;
use std::io::{self, BufReader, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{fchmod, futimens, FileType, Mode, OFlags, Timestamps};
use rustix::io::Errno;
use tar::EntryType;

use self::meta::Meta;
use self::path::{classify, normalize, split, Whiteout};
use self::resolve::DirCache;
use crate::error::UnpackError;
use crate::fsutil::open_in_root;
pub use whiteout::OPAQUE_XATTR;

/// Reads from the (possibly decompressing) source in large gulps: tar headers are read
/// 512 bytes at a time and must not each cost a decoder call.
const READ_BUFFER: usize = 1 << 20;
/// Chunk size for copying file contents.
const COPY_BUFFER: usize = 256 << 10;

/// What to do with OCI whiteout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// Convert to overlayfs's format (0:0 character devices, `trusted.overlay.opaque`), for a
    /// layer that becomes a lower directory.
    #[default]
    Overlay,
    /// Carry them out: remove the named paths, empty opaque directories. For extracting onto
    /// a complete tree (ADD, `cp`).
    Apply,
}

/// How [`unpack_into`] writes an archive.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// How to treat whiteouts.
    pub whiteouts: WhiteoutMode,
    /// Give entries the numeric uid/gid of the archive (else they belong to the caller).
    pub preserve_owner: bool,
    /// Create character and block devices (else they are skipped).
    pub allow_devices: bool,
}

impl Default for UnpackOptions {
    /// Overlay whiteouts; owners and devices only when running as root, the only case in
    /// which the kernel would allow them.
    fn default() -> Self {
        let root = rustix::process::geteuid().is_root();
        Self {
            whiteouts: WhiteoutMode::Overlay,
            preserve_owner: root,
            allow_devices: root,
        }
    }
}

/// What an unpack wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Sum of the sizes of the regular files.
    pub bytes: u64,
    /// Number of archive entries processed.
    pub entries: u64,
}

/// Extracts the uncompressed tar stream `reader` under `root` (an existing directory).
///
/// After the last entry the rest of the stream (end-of-archive blocks, padding) is read to
/// EOF, so a caller hashing the stream sees every byte.
pub fn unpack_into(
    reader: impl Read,
    root: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, UnpackError> {
    let root_fd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| UnpackError::OpenRoot {
        root: root.to_path_buf(),
        source: e.into(),
    })?;
    let root_fd = root_fd.as_fd();
    let root_gid = rustix::fs::fstat(root_fd)
        .map_err(|e| UnpackError::OpenRoot {
            root: root.to_path_buf(),
            source: e.into(),
        })?
        .st_gid;
    let mut state = State::new(opts, root_gid);
    let mut archive = tar::Archive::new(BufReader::with_capacity(READ_BUFFER, reader));
    let entries = archive.entries().map_err(|source| UnpackError::Read {
        entry: None,
        source,
    })?;
    for entry in entries {
        let mut entry = entry.map_err(|e| state.read_error_after(e))?;
        state.entry(root_fd, &mut entry)?;
    }
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|e| state.read_error_after(e))?;
    state.finish(root_fd)?;
    Ok(state.stats)
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

/// A directory whose times (and, unprivileged, mode) are set once everything is written.
struct DeferredDir {
    path: Vec<u8>,
    times: Timestamps,
    mode: Option<u32>,
}

/// A parent directory and its group.
#[derive(Clone, Copy)]
struct At<'a> {
    fd: BorrowedFd<'a>,
    gid: u32,
}

/// The entry being written: its raw and normalised paths, for operations and errors.
struct Cx<'a> {
    root: BorrowedFd<'a>,
    raw: &'a [u8],
    path: &'a [u8],
}

impl Cx<'_> {
    fn name(&self) -> String {
        String::from_utf8_lossy(self.raw).into_owned()
    }

    fn errno(&self, op: &'static str) -> impl FnOnce(Errno) -> UnpackError + '_ {
        move |e| UnpackError::Io {
            entry: self.name(),
            op,
            source: e.into(),
        }
    }

    fn io(&self, op: &'static str) -> impl FnOnce(io::Error) -> UnpackError + '_ {
        move |source| UnpackError::Io {
            entry: self.name(),
            op,
            source,
        }
    }

    fn read_error(&self, source: io::Error) -> UnpackError {
        UnpackError::Read {
            entry: Some(self.name()),
            source,
        }
    }
}

/// Everything carried from one entry to the next; buffers are reused, not reallocated.
struct State {
    whiteouts: WhiteoutMode,
    owner: bool,
    allow_devices: bool,
    /// Running as root: modes can be applied at once, and failures to set privileged
    /// xattrs are real errors.
    privileged: bool,
    euid: u32,
    egid: u32,
    /// Group of the root directory, the parent of top-level entries.
    root_gid: u32,
    dirs: DirCache,
    buf: Vec<u8>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    deferred: Vec<DeferredDir>,
    /// Paths this archive wrote (and their ancestors), so that in [`WhiteoutMode::Apply`]
    /// its own whiteouts never remove its own entries, whatever their order.
    written: Option<HashSet<Vec<u8>>>,
    stats: UnpackStats,
    raw: Vec<u8>,
    path: Vec<u8>,
    scratch: Vec<u8>,
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
    fn new(opts: &UnpackOptions, root_gid: u32) -> Self {
        let euid = rustix::process::geteuid();
        Self {
            whiteouts: opts.whiteouts,
            owner: opts.preserve_owner,
            allow_devices: opts.allow_devices,
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

    fn read_error_after(&self, source: io::Error) -> UnpackError {
        UnpackError::Read {
            entry: (self.stats.entries > 0)
                .then(|| String::from_utf8_lossy(&self.raw).into_owned()),
            source,
        }
    }

    fn entry<R: Read>(
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
    fn mark(&mut self, path: &[u8]) {
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
    fn finish(&mut self, root: BorrowedFd<'_>) -> Result<(), UnpackError> {
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
