//! The content store: blobs addressed by their digest.
//!
//! Lifecycle of a blob: `ingest` opens a writer on a private temporary file → bytes are
//! written and hashed as they pass → `commit` checks size and digest against what the caller
//! expected and publishes the file under its digest with one `rename`. A crash at any instant
//! leaves either no blob or the whole blob under its name; half-written ingests live only under
//! `ingest/` and are cleared when the store is opened again.
//!
//! Commit does not fsync each blob: callers make content durable with one `sync` before they
//! record anything that references it (an image record), and the daemon deletes blobs nothing
//! references when it starts. So a power cut can only damage blobs that nothing points to.

mod fs;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::Digest;

pub use fs::{FsContentStore, FsIngest};

/// A blob's identity and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
}

/// What a writer is expected to produce; a mismatch fails the commit.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub digest: Option<Digest>,
    pub size: Option<u64>,
}

impl Expected {
    pub fn digest(digest: &Digest) -> Expected {
        Expected {
            digest: Some(digest.clone()),
            size: None,
        }
    }

    pub fn exact(digest: &Digest, size: u64) -> Expected {
        Expected {
            digest: Some(digest.clone()),
            size: Some(size),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("blob {0} not found in the content store")]
    NotFound(Digest),
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("blob {digest} is {size} bytes, more than the {limit} bytes allowed here")]
    TooLarge {
        digest: Digest,
        size: u64,
        limit: u64,
    },
    #[error("content store: {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ContentError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        ContentError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// A writer into the store; nothing is visible until `commit`, and dropping it without
/// committing discards what was written.
pub trait Ingest: Write + Send {
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Verify against `expected` and publish under the digest of what was written. A blob
    /// that already exists is kept and this copy discarded.
    fn commit(self: Box<Self>, expected: &Expected) -> Result<BlobInfo, ContentError>;
}

/// The content store contract, shared by every implementation and checked by the conformance
/// suite in [`conformance`].
pub trait ContentStore: Send + Sync {
    fn ingest(&self) -> Result<Box<dyn Ingest>, ContentError>;
    fn info(&self, digest: &Digest) -> Result<BlobInfo, ContentError>;
    fn exists(&self, digest: &Digest) -> bool {
        self.info(digest).is_ok()
    }
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, ContentError>;
    /// Reads a whole blob, refusing one larger than `limit` (manifests and configs are small;
    /// an oversized one is an attack or a mistake, not something to buffer).
    fn read_all(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, ContentError>;
    /// Removes a blob; `Ok(false)` when it was not there.
    fn delete(&self, digest: &Digest) -> Result<bool, ContentError>;
    fn list(&self) -> Result<Vec<BlobInfo>, ContentError>;
    /// Makes every committed blob durable.
    fn sync(&self) -> Result<(), ContentError>;
    /// Stores `bytes` in one call.
    fn put(&self, bytes: &[u8], expected: &Expected) -> Result<BlobInfo, ContentError> {
        let mut w = self.ingest()?;
        w.write_all(bytes)
            .map_err(|e| ContentError::io("write", PathBuf::from("<ingest>"), e))?;
        w.commit(expected)
    }
}
