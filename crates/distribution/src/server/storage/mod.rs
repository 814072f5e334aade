//! The registry on disk, under `--root`:
//!
//! ```text
//! content/                                  the content store (blobs/sha256/<hex>, ingest/)
//! repositories/<name>/_layers/sha256/<hex>  the repository holds this blob
//! repositories/<name>/_manifests/revisions/sha256/<hex>   … and this manifest (its type)
//! repositories/<name>/_manifests/tags/<tag>               a tag: the digest it points at
//! repositories/<name>/_referrers/sha256/<subject>/sha256-<hex>  a referrer's descriptor
//! gc.lock                                   taken shared by writers, exclusive by a sweep
//! ```
//!
//! One small file per fact, each written temp → fsync → rename → fsync of the directory, so
//! a crash leaves the old fact or the new one, and any number of processes (`serve`, `gc`)
//! read and write the same root without a lock held for longer than one operation.

mod blobs;
mod fsutil;
mod lock;
mod referrers;
mod repos;

use std::io;
use std::path::{Path, PathBuf};

pub use blobs::BlobFiles;
pub use lock::GcLock;
pub use repos::{Repos, Revision};

/// Why storage could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

impl StorageError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl From<StorageError> for super::errors::ApiError {
    fn from(e: StorageError) -> Self {
        super::errors::ApiError::internal(e)
    }
}

/// The registry's storage: blob files and repository metadata under one root. Opening it
/// never disturbs another process using the same root (unlike opening the content store,
/// which clears its ingest directory: only `serve` does that).
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    pub blobs: BlobFiles,
    pub repos: Repos,
}

impl Storage {
    pub fn new(root: &Path) -> Storage {
        Storage {
            root: root.to_path_buf(),
            blobs: BlobFiles::new(&Storage::content_root(root)),
            repos: Repos::new(&root.join("repositories")),
        }
    }

    /// Where the content store lives under a registry root.
    pub fn content_root(root: &Path) -> PathBuf {
        root.join("content")
    }

    /// Held around every write that makes a blob or manifest reachable, so a concurrent
    /// sweep sees either the blob untouched (and may take it) or touched (and spares it).
    pub fn writer_lock(&self) -> Result<GcLock, StorageError> {
        GcLock::shared(&self.root)
    }

    pub fn sweep_lock(&self) -> Result<GcLock, StorageError> {
        GcLock::exclusive(&self.root)
    }
}
