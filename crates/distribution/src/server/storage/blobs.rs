//! Published blobs as files: sizes, reads, memory maps for serving, and the touch, list and
//! remove the collector needs. It reads the content store's layout (`blobs/sha256/<hex>`)
//! directly because `FsContentStore::open` clears in-progress ingests, which a collector in
//! another process must never do to a running server; a test pins the two layouts together.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use berth_store::Digest;
use bytes::Bytes;
use memmap2::{Advice, MmapOptions};

use super::fsutil;
use super::StorageError;
use crate::server::sendfile::MappedFile;

#[derive(Debug, Clone)]
pub struct BlobFiles {
    dir: PathBuf,
}

/// A blob as the collector sees it.
#[derive(Debug, Clone)]
pub struct BlobEntry {
    pub digest: Digest,
    pub size: u64,
    pub modified: SystemTime,
}

fn missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

impl BlobFiles {
    /// The blobs of the content store rooted at `content_root`.
    pub fn new(content_root: &Path) -> BlobFiles {
        BlobFiles {
            dir: content_root.join("blobs").join("sha256"),
        }
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    pub fn size(&self, digest: &Digest) -> Result<Option<u64>, StorageError> {
        let path = self.path(digest);
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(StorageError::io("stat", path, e)),
        }
    }

    pub fn modified(&self, digest: &Digest) -> Result<Option<SystemTime>, StorageError> {
        let path = self.path(digest);
        match fs::metadata(&path).and_then(|m| m.modified()) {
            Ok(t) => Ok(Some(t)),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(StorageError::io("stat", path, e)),
        }
    }

    /// A whole small blob (a manifest), refusing one over `limit` bytes.
    pub fn read(&self, digest: &Digest, limit: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.path(digest);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(StorageError::io("open", path, e)),
        };
        let mut buf = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| StorageError::io("read", &path, e))?;
        if buf.len() as u64 > limit {
            return Err(StorageError::Corrupt {
                path,
                reason: format!("a manifest of more than {limit} bytes"),
            });
        }
        Ok(Some(buf))
    }

    /// `len` bytes from `offset`, mapped rather than read: the pages come from the page
    /// cache that every concurrent pull of the blob shares, and a plain-TCP connection sends
    /// them from the file with sendfile (see [`crate::server::sendfile`]). `None` when the
    /// blob is gone.
    pub fn map(
        &self,
        digest: &Digest,
        offset: u64,
        len: u64,
    ) -> Result<Option<Bytes>, StorageError> {
        if len == 0 {
            return Ok(Some(Bytes::new()));
        }
        let path = self.path(digest);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(StorageError::io("open", path, e)),
        };
        let len = usize::try_from(len)
            .map_err(|_| StorageError::io("map", &path, io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: a file under a digest name is never written again: the content store
        // publishes a blob whole by rename and neither truncates nor rewrites it, and the
        // collector only unlinks, which leaves a live mapping's pages in place. So the bytes
        // behind this mapping cannot change or disappear while it exists (the caller checked
        // `offset + len` against the file's size).
        let map = unsafe { MmapOptions::new().offset(offset).len(len).map(&file) }
            .map_err(|e| StorageError::io("map", &path, e))?;
        // Only a hint: the socket reads the mapping front to back.
        let _ = map.advise(Advice::Sequential);
        Ok(Some(Bytes::from_owner(MappedFile::new(map, file, offset))))
    }

    /// Marks a blob as just used, so a collector's grace period counts from now; `false`
    /// when it does not exist.
    pub fn touch(&self, digest: &Digest) -> Result<bool, StorageError> {
        let path = self.path(digest);
        match File::open(&path) {
            Ok(f) => f
                .set_modified(SystemTime::now())
                .map(|()| true)
                .map_err(|e| StorageError::io("touch", &path, e)),
            Err(e) if missing(&e) => Ok(false),
            Err(e) => Err(StorageError::io("open", path, e)),
        }
    }

    /// Makes a freshly published blob durable before anything records that it exists.
    pub fn sync(&self, digest: &Digest) -> Result<(), StorageError> {
        let path = self.path(digest);
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| StorageError::io("sync", &path, e))?;
        fsutil::sync_dir(&self.dir)
    }

    pub fn list(&self) -> Result<Vec<BlobEntry>, StorageError> {
        let mut out = Vec::new();
        for entry in fsutil::list_dir(&self.dir)? {
            let name = entry.file_name();
            // Anything not named by a digest is not a blob, and not ours to delete.
            let Some(digest) = name.to_str().and_then(|n| Digest::from_sha256_hex(n).ok()) else {
                continue;
            };
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) if missing(&e) => continue,
                Err(e) => return Err(StorageError::io("stat", entry.path(), e)),
            };
            out.push(BlobEntry {
                digest,
                size: meta.len(),
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    pub fn remove(&self, digest: &Digest) -> Result<bool, StorageError> {
        fsutil::remove(&self.path(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_store::{ContentStore, Expected, FsContentStore};

    #[test]
    fn the_layout_is_the_content_stores() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsContentStore::open(dir.path()).unwrap();
        let info = store
            .put(b"hello", &Expected::digest(&Digest::sha256(b"hello")))
            .unwrap();
        let blobs = BlobFiles::new(dir.path());
        assert_eq!(blobs.path(&info.digest), store.blob_path(&info.digest));
        assert_eq!(blobs.size(&info.digest).unwrap(), Some(5));
        assert_eq!(blobs.list().unwrap().len(), 1);
        assert_eq!(&blobs.map(&info.digest, 1, 3).unwrap().unwrap()[..], b"ell");
        assert_eq!(blobs.read(&info.digest, 5).unwrap().unwrap(), b"hello");
        assert!(blobs.read(&info.digest, 4).is_err());
        assert!(blobs.touch(&info.digest).unwrap());
        assert!(blobs.remove(&info.digest).unwrap());
        assert!(!blobs.touch(&info.digest).unwrap());
        assert_eq!(blobs.map(&info.digest, 0, 1).unwrap(), None);
    }
}
