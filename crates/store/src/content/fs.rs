//! The content store on a local filesystem: `blobs/<algorithm>/<hex>`, with in-progress
//! writes under `ingest/`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::{BlobInfo, ContentError, ContentStore, Expected, Ingest};
use crate::digest::HashingWriter;
use crate::Digest;

#[derive(Debug, Clone)]
pub struct FsContentStore {
    root: PathBuf,
}

impl FsContentStore {
    /// Opens (creating if needed) a store at `root`, discarding interrupted ingests.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, ContentError> {
        let root = root.into();
        let store = FsContentStore { root };
        for dir in [store.blob_dir(), store.ingest_dir()] {
            fs::create_dir_all(&dir).map_err(|e| ContentError::io("create", &dir, e))?;
        }
        let ingest = store.ingest_dir();
        let entries = fs::read_dir(&ingest).map_err(|e| ContentError::io("list", &ingest, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            tracing::debug!(path = %path.display(), "removing interrupted ingest");
            fs::remove_file(&path).map_err(|e| ContentError::io("remove", &path, e))?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn ingest_dir(&self) -> PathBuf {
        self.root.join("ingest")
    }

    /// Where a blob lives on disk (whether or not it exists), for callers that stream a
    /// file directly.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    fn random_name() -> String {
        let mut bytes = [0u8; 12];
        // A collision only fails the create below (O_EXCL); the fallback keeps going on
        // machines without a working entropy source.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            bytes[..8].copy_from_slice(&(nanos as u64).to_le_bytes());
        }
        hex::encode(bytes)
    }
}

/// An ingest in progress: a temporary file, hashed as it is written.
#[derive(Debug)]
pub struct FsIngest {
    writer: Option<HashingWriter<BufWriter<File>>>,
    temp: PathBuf,
    store: FsContentStore,
}

impl Write for FsIngest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("ingest already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Ingest for FsIngest {
    fn written(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.written())
    }

    fn commit(mut self: Box<Self>, expected: &Expected) -> Result<BlobInfo, ContentError> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| ContentError::io("commit", &self.temp, io::Error::other("twice")))?;
        let size = writer.written();
        let (digest, buffered) = writer.finish();
        let file = buffered
            .into_inner()
            .map_err(|e| ContentError::io("write", &self.temp, e.into_error()))?;
        start_writeback(&file);
        if let Some(want) = &expected.digest {
            if *want != digest {
                return Err(ContentError::DigestMismatch {
                    expected: want.clone(),
                    actual: digest,
                });
            }
        }
        if let Some(want) = expected.size {
            if want != size {
                return Err(ContentError::SizeMismatch {
                    digest,
                    expected: want,
                    actual: size,
                });
            }
        }
        let target = self.store.blob_path(&digest);
        if target.exists() {
            return Ok(BlobInfo { digest, size });
        }
        fs::rename(&self.temp, &target).map_err(|e| ContentError::io("publish", &target, e))?;
        Ok(BlobInfo { digest, size })
    }
}

/// Starts writing the blob to disk without waiting, so that the later sync that makes it
/// durable finds most of the work done.
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range on an open file we own; it only schedules writeback and
    // touches no memory of ours. Failure (a filesystem without it) is harmless.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

impl Drop for FsIngest {
    fn drop(&mut self) {
        // After a successful commit the file has been renamed away and this fails quietly.
        let _ = fs::remove_file(&self.temp);
    }
}

impl ContentStore for FsContentStore {
    fn ingest(&self) -> Result<Box<dyn Ingest>, ContentError> {
        let temp = self.ingest_dir().join(Self::random_name());
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| ContentError::io("create", &temp, e))?;
        Ok(Box::new(FsIngest {
            writer: Some(HashingWriter::new(BufWriter::with_capacity(1 << 20, file))),
            temp,
            store: self.clone(),
        }))
    }

    fn info(&self, digest: &Digest) -> Result<BlobInfo, ContentError> {
        let path = self.blob_path(digest);
        match fs::metadata(&path) {
            Ok(m) => Ok(BlobInfo {
                digest: digest.clone(),
                size: m.len(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(ContentError::NotFound(digest.clone()))
            }
            Err(e) => Err(ContentError::io("stat", path, e)),
        }
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, ContentError> {
        Ok(Box::new(self.open_file(digest)?))
    }

    fn read_all(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, ContentError> {
        let mut file = self.open_file(digest)?;
        let size = file
            .metadata()
            .map_err(|e| ContentError::io("stat", self.blob_path(digest), e))?
            .len();
        if size > limit {
            return Err(ContentError::TooLarge {
                digest: digest.clone(),
                size,
                limit,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        file.read_to_end(&mut buf)
            .map_err(|e| ContentError::io("read", self.blob_path(digest), e))?;
        Ok(buf)
    }

    fn delete(&self, digest: &Digest) -> Result<bool, ContentError> {
        let path = self.blob_path(digest);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ContentError::io("remove", path, e)),
        }
    }

    fn list(&self) -> Result<Vec<BlobInfo>, ContentError> {
        let dir = self.blob_dir();
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| ContentError::io("list", &dir, e))? {
            let entry = entry.map_err(|e| ContentError::io("list", &dir, e))?;
            let name = entry.file_name();
            // Anything not named by a digest is not ours to report (or to delete).
            let Some(digest) = name.to_str().and_then(|n| Digest::from_sha256_hex(n).ok()) else {
                continue;
            };
            let meta = entry
                .metadata()
                .map_err(|e| ContentError::io("stat", entry.path(), e))?;
            out.push(BlobInfo {
                digest,
                size: meta.len(),
            });
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    fn sync(&self) -> Result<(), ContentError> {
        let dir = self.blob_dir();
        let file = File::open(&dir).map_err(|e| ContentError::io("open", &dir, e))?;
        rustix::fs::syncfs(file.as_fd()).map_err(|e| ContentError::io("sync", &dir, e.into()))
    }
}

impl FsContentStore {
    fn open_file(&self, digest: &Digest) -> Result<File, ContentError> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                ContentError::NotFound(digest.clone())
            } else {
                ContentError::io("open", path, e)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        super::super::conformance::run_all(&|dir: &Path| {
            Box::new(FsContentStore::open(dir).unwrap()) as Box<dyn ContentStore>
        });
    }

    #[test]
    fn open_clears_interrupted_ingests() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsContentStore::open(dir.path()).unwrap();
        let mut w = store.ingest().unwrap();
        w.write_all(b"half").unwrap();
        w.flush().unwrap();
        std::mem::forget(w); // as if the process died here
        assert_eq!(fs::read_dir(store.ingest_dir()).unwrap().count(), 1);
        let store = FsContentStore::open(dir.path()).unwrap();
        assert_eq!(fs::read_dir(store.ingest_dir()).unwrap().count(), 0);
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn foreign_files_in_the_blob_dir_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsContentStore::open(dir.path()).unwrap();
        fs::write(store.blob_dir().join("not-a-digest"), b"x").unwrap();
        assert!(store.list().unwrap().is_empty());
    }
}
