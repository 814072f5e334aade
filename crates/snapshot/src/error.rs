//! Error types of the snapshot crate, one enum per concern, each carrying what a user needs
//! to act (the entry, the path, the digest) and a coarse [`ErrorKind`] the daemon maps to
//! an HTTP status in one place.

use std::io;
use std::path::PathBuf;

/// What kind of failure an error is, independent of its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The named layer, snapshot or path does not exist.
    NotFound,
    /// The operation clashes with existing state (already exists, still in use).
    Conflict,
    /// The input is malformed or unsafe (bad digest, hostile archive).
    InvalidArgument,
    /// A resource the kernel or disk must provide is missing or exhausted.
    Unavailable,
    /// Anything else.
    Internal,
}

fn kind_of_io(e: &io::Error) -> ErrorKind {
    match e.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT | libc::ENOSYS | libc::EMFILE | libc::ENFILE) => {
            ErrorKind::Unavailable
        }
        Some(libc::ENOENT) => ErrorKind::NotFound,
        _ => ErrorKind::Internal,
    }
}

/// Failure while extracting an archive with [`crate::unpack_into`].
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The destination root itself could not be opened.
    #[error("opening unpack root {root}: {source}")]
    OpenRoot { root: PathBuf, source: io::Error },
    /// The stream is not a valid (or complete) tar archive, or decompression failed.
    #[error("reading archive{}: {source}", after_entry(entry))]
    Read {
        /// The last entry read successfully, if any.
        entry: Option<String>,
        source: io::Error,
    },
    /// A header field (mode, owner, time, PAX record) cannot be parsed or used.
    #[error("invalid tar header for archive entry {entry:?}: {source}")]
    Header { entry: String, source: io::Error },
    /// The stream ended inside an entry's content.
    #[error("archive entry {entry:?} is truncated: expected {expected} bytes, got {got}")]
    Truncated {
        entry: String,
        expected: u64,
        got: u64,
    },
    /// A `..` component would climb above the destination root.
    #[error("archive entry {entry:?} escapes the destination root")]
    EscapingPath { entry: String },
    /// The path cannot name what the entry wants to create.
    #[error("archive entry {entry:?} has an invalid path: {reason}")]
    InvalidPath { entry: String, reason: &'static str },
    /// A `.wh.` entry that names nothing removable (`.wh.`, `.wh..`, `.wh...`).
    #[error("archive entry {entry:?} is an invalid whiteout")]
    InvalidWhiteout { entry: String },
    /// A hard link whose target is outside the root, missing, or a directory.
    #[error("hard link {entry:?} -> {target:?} refused: {reason}")]
    HardLink {
        entry: String,
        target: String,
        reason: &'static str,
    },
    /// The entry would replace a directory with a non-directory or the other way round,
    /// which the caller asked to refuse.
    #[error("cannot overwrite {existing} {entry:?} with {new}")]
    Overwrite {
        entry: String,
        existing: &'static str,
        new: &'static str,
    },
    /// A filesystem operation failed while writing an entry.
    #[error("{op} for archive entry {entry:?}: {source}")]
    Io {
        entry: String,
        op: &'static str,
        source: io::Error,
    },
}

fn after_entry(entry: &Option<String>) -> String {
    match entry {
        Some(e) => format!(" after entry {e:?}"),
        None => String::new(),
    }
}

impl UnpackError {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::OpenRoot { source, .. } => kind_of_io(source),
            // What an archive asks for clashes with what is there (or with its own earlier
            // entries, such as a file where a later entry wants a directory).
            Self::Io { source, .. }
                if matches!(
                    source.raw_os_error(),
                    Some(libc::ENOTDIR | libc::ELOOP | libc::EEXIST | libc::EISDIR)
                ) =>
            {
                ErrorKind::InvalidArgument
            }
            Self::Io { source, .. } => kind_of_io(source),
            // Corrupt data (tar or decompressor) is the input's fault; a failing source
            // (disk, network) is not.
            Self::Read { source, .. } => match source.kind() {
                io::ErrorKind::InvalidData
                | io::ErrorKind::InvalidInput
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::Other => ErrorKind::InvalidArgument,
                _ => kind_of_io(source),
            },
            Self::Header { .. }
            | Self::Truncated { .. }
            | Self::EscapingPath { .. }
            | Self::InvalidPath { .. }
            | Self::InvalidWhiteout { .. }
            | Self::HardLink { .. }
            | Self::Overwrite { .. } => ErrorKind::InvalidArgument,
        }
    }
}

/// Failure while archiving a tree with [`crate::pack::pack`].
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// Reading the tree failed.
    #[error("{op} {path:?}: {source}")]
    Io {
        /// The entry's name in the archive.
        path: String,
        op: &'static str,
        source: io::Error,
    },
    /// The archive could not be written (the reader went away).
    #[error("writing the archive: {0}")]
    Write(io::Error),
    /// A directory renamed by overlayfs's `redirect_dir`, which a tar layer cannot express.
    #[error("{path:?} was renamed with overlayfs redirects, which a layer cannot express")]
    Redirect { path: String },
}

impl PackError {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { source, .. } => match source.raw_os_error() {
                Some(libc::ENOTDIR) => ErrorKind::InvalidArgument,
                _ => kind_of_io(source),
            },
            Self::Write(_) => ErrorKind::Unavailable,
            Self::Redirect { .. } => ErrorKind::Internal,
        }
    }
}

/// Failure to mount or unmount an overlay.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// Overlayfs needs at least one lower directory.
    #[error("an overlay mount needs at least one lower directory")]
    NoLowers,
    /// Classic mount(2) options are limited to one page and the kernel lacks `lowerdir+`.
    #[error(
        "overlay options for {target} are {len} bytes, over mount(2)'s {limit}-byte limit \
         (too many layers for a kernel without `lowerdir+`, Linux >= 6.8)"
    )]
    OptionsTooLong {
        target: PathBuf,
        len: usize,
        limit: usize,
    },
    /// A mount system call failed; `detail` holds the kernel's own message when it gave one.
    #[error("{op} for overlay on {target}: {source}{detail}")]
    Mount {
        target: PathBuf,
        op: &'static str,
        detail: String,
        source: io::Error,
    },
    /// umount2 failed.
    #[error("unmounting {target}: {source}")]
    Unmount { target: PathBuf, source: io::Error },
    /// /proc/self/mountinfo could not be read.
    #[error("reading the mount table: {source}")]
    MountTable { source: io::Error },
}

impl OverlayError {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoLowers => ErrorKind::InvalidArgument,
            Self::OptionsTooLong { .. } => ErrorKind::Unavailable,
            Self::Mount { source, .. }
            | Self::Unmount { source, .. }
            | Self::MountTable { source } => kind_of_io(source),
        }
    }
}

/// Failure of a [`crate::LayerStore`] / [`crate::Snapshotter`] operation.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// Not of the form `sha256:<64 lowercase hex>`.
    #[error("invalid diff ID {0:?}: want sha256:<64 lowercase hex digits>")]
    InvalidDiffId(String),
    /// Not 1 to 128 characters of `[a-zA-Z0-9_.-]`.
    #[error("invalid snapshot key {0:?}: want 1 to 128 characters of [a-zA-Z0-9_.-]")]
    InvalidKey(String),
    /// No layer with that diff ID.
    #[error("layer {0} not found")]
    LayerNotFound(String),
    /// No active snapshot with that key.
    #[error("active snapshot {0:?} not found")]
    SnapshotNotFound(String),
    /// An active snapshot with that key exists already.
    #[error("active snapshot {0:?} already exists")]
    SnapshotExists(String),
    /// The layer is a lower of an active snapshot.
    #[error("layer {diff_id} is in use by active snapshot {key:?}")]
    InUse { diff_id: String, key: String },
    /// The uncompressed stream does not hash to the diff ID the caller expected.
    #[error("layer diff ID mismatch: expected {expected}, got {actual}")]
    DiffIdMismatch { expected: String, actual: String },
    /// The archive could not be unpacked.
    #[error("unpacking layer: {source}")]
    Unpack {
        #[from]
        source: UnpackError,
    },
    /// A published layer is missing its metadata or has unreadable metadata.
    #[error("layer {diff_id} is corrupt: {reason}")]
    Corrupt { diff_id: String, reason: String },
    /// Mounting or unmounting failed.
    #[error(transparent)]
    Overlay(#[from] OverlayError),
    /// Archiving a snapshot's changes failed.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// A filesystem operation on the store failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl LayerError {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidDiffId(_) | Self::InvalidKey(_) | Self::DiffIdMismatch { .. } => {
                ErrorKind::InvalidArgument
            }
            Self::LayerNotFound(_) | Self::SnapshotNotFound(_) => ErrorKind::NotFound,
            Self::SnapshotExists(_) | Self::InUse { .. } => ErrorKind::Conflict,
            Self::Unpack { source } => source.kind(),
            Self::Corrupt { .. } => ErrorKind::Internal,
            Self::Overlay(e) => e.kind(),
            Self::Pack(e) => e.kind(),
            Self::Io { source, .. } => kind_of_io(source),
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}
