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
mod state;
mod whiteout;

use std::io::{self, BufReader, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags, Timestamps};
use rustix::io::Errno;

use self::state::State;
use crate::error::UnpackError;
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
    /// Refuse an entry that would replace an existing directory with a non-directory, or a
    /// non-directory with a directory, instead of replacing it (`cp` into a container).
    pub no_overwrite_dir_non_dir: bool,
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
            no_overwrite_dir_non_dir: false,
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
    unpack_at(reader, root_fd.as_fd(), opts).map_err(|e| match e {
        UnpackError::OpenRoot { source, .. } => UnpackError::OpenRoot {
            root: root.to_path_buf(),
            source,
        },
        other => other,
    })
}

/// Like [`unpack_into`], with the root given as a descriptor of a directory the caller has
/// already resolved (e.g. inside a container's root filesystem, confined), so that no path
/// is looked up again between resolving and writing.
pub fn unpack_at(
    reader: impl Read,
    root_fd: BorrowedFd<'_>,
    opts: &UnpackOptions,
) -> Result<UnpackStats, UnpackError> {
    let root_gid = rustix::fs::fstat(root_fd)
        .map_err(|e| UnpackError::OpenRoot {
            root: crate::fsutil::fd_path(root_fd),
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
