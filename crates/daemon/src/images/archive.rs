//! Reading an image archive (a `docker save` tarball or an OCI image layout in a tar) into
//! the content store: every entry is staged by its path, small ones in memory and large
//! ones as leased blobs, so that the archive's index, which may come last, can then say
//! what each entry is. Nothing here makes an image visible.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use berth_store::content::Expected;
use berth_store::{BlobInfo, ContentStore, Digest};

use berth_api::types::JsonMessage;

use super::unpack::{ChannelReader, Progress, Unpacked};
use super::{ImageService, Lease};
use crate::error::{EngineError, EngineResult};

/// Entries up to this size stay in memory (indexes, manifests, configs, legacy metadata).
const SMALL_ENTRY: u64 = 1 << 20;
/// At most this much is kept in memory in all; later small entries go to the store.
const SMALL_TOTAL: u64 = 64 << 20;

/// An archive entry, staged.
pub enum Staged {
    Small(Vec<u8>),
    Blob(BlobInfo),
}

#[derive(Default)]
pub struct StagedArchive {
    files: HashMap<String, Staged>,
    links: HashMap<String, String>,
    /// Large entries unpacked as layers while they streamed in, by blob digest.
    pub unpacked: HashMap<Digest, Unpacked>,
}

/// Normalizes an entry path (`./a//b/` → `a/b`), refusing one that climbs out with `..`.
pub fn clean_path(raw: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("archive entry {raw:?} points outside the archive"));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

impl StagedArchive {
    /// Reads every entry of `reader`. Blobs named by digest (`blobs/sha256/<hex>`) are
    /// verified against their name. Large entries are most likely layers: each is unpacked
    /// as it streams in, on another thread, so that storing and unpacking overlap; what turns
    /// out not to be a layer is dropped when the lease ends.
    pub fn read(
        svc: &ImageService,
        reader: impl Read,
        lease: &mut Lease<'_>,
        progress: Progress<'_>,
    ) -> EngineResult<Self> {
        let mut staged = StagedArchive::default();
        let mut in_memory = 0u64;
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|e| EngineError::invalid(format!("reading the archive: {e}")))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut seen_any = false;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| EngineError::invalid(format!("reading the archive: {e}")))?;
            seen_any = true;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let path = clean_path(&raw).map_err(EngineError::invalid)?;
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                // Symlinks are relative to the entry's directory, hard links to the root.
                let joined = if kind.is_symlink() && !target.starts_with('/') {
                    match path.rsplit_once('/') {
                        Some((dir, _)) => format!("{dir}/{target}"),
                        None => target,
                    }
                } else {
                    target
                };
                let target = clean_path(&joined).map_err(EngineError::invalid)?;
                staged.links.insert(path, target);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.size();
            let named = blob_name(&path);
            if named.is_none() && size <= SMALL_ENTRY && in_memory + size <= SMALL_TOTAL {
                let mut bytes = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut bytes).map_err(|e| {
                    EngineError::invalid(format!("reading archive entry {path}: {e}"))
                })?;
                in_memory += size;
                staged.files.insert(path, Staged::Small(bytes));
                continue;
            }
            let expected = match &named {
                Some(d) => Expected::exact(d, size),
                None => Expected::default(),
            };
            if size <= SMALL_ENTRY {
                // Too small to be worth a second thread: configs, manifests, tiny layers.
                let info = svc
                    .ingest_leased(&mut entry, &expected, lease, &mut buf)
                    .map_err(|e| e.context(format!("archive entry {path}")))?;
                staged.files.insert(path, Staged::Blob(info));
                continue;
            }
            let id = progress_id(&path);
            let report = |n: u64| {
                progress(JsonMessage::progress(
                    &id,
                    "Loading layer",
                    n as i64,
                    size as i64,
                ))
            };
            let (info, unpacked) = svc
                .ingest_unpacking(&mut entry, &expected, lease, &mut buf, &report)
                .map_err(|e| e.context(format!("archive entry {path}")))?;
            if let Some(u) = unpacked {
                staged.unpacked.insert(info.digest.clone(), u);
            }
            staged.files.insert(path, Staged::Blob(info));
        }
        if !seen_any {
            return Err(EngineError::invalid(
                "the archive is empty or not a tar archive",
            ));
        }
        Ok(staged)
    }

    fn resolve<'a>(&'a self, path: &str) -> Option<&'a Staged> {
        let mut path = clean_path(path).ok()?;
        for _ in 0..16 {
            if let Some(s) = self.files.get(&path) {
                return Some(s);
            }
            path = self.links.get(&path)?.clone();
        }
        None
    }

    pub fn contains(&self, path: &str) -> bool {
        self.resolve(path).is_some()
    }

    /// The bytes of a small entry (reading it from the store if it was staged there).
    pub fn read_small(&self, svc: &ImageService, path: &str) -> EngineResult<Vec<u8>> {
        match self.resolve(path) {
            Some(Staged::Small(b)) => Ok(b.clone()),
            Some(Staged::Blob(info)) => Ok(svc
                .content()
                .read_all(&info.digest, super::MAX_METADATA_BLOB)?),
            None => Err(EngineError::invalid(format!("the archive has no {path}"))),
        }
    }

    /// The entry at `path` as a blob in the store, ingesting it if it was kept in memory.
    pub fn blob(
        &self,
        svc: &ImageService,
        path: &str,
        lease: &mut Lease<'_>,
    ) -> EngineResult<BlobInfo> {
        match self.resolve(path) {
            Some(Staged::Blob(info)) => Ok(info.clone()),
            Some(Staged::Small(bytes)) => {
                let mut buf = vec![0u8; 64 * 1024];
                svc.ingest_leased(&mut bytes.as_slice(), &Expected::default(), lease, &mut buf)
            }
            None => Err(EngineError::invalid(format!("the archive has no {path}"))),
        }
    }
}

/// A short name for an entry in progress messages: the layer directory of a `docker save`
/// archive (`<id>/layer.tar`), or a blob's short digest.
fn progress_id(path: &str) -> String {
    let name = path
        .strip_suffix("/layer.tar")
        .or_else(|| path.rsplit('/').next())
        .unwrap_or(path);
    name.chars().take(12).collect()
}

/// The digest an OCI layout names a blob by (`blobs/sha256/<hex>`).
fn blob_name(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (algo, hex) = rest.split_once('/')?;
    Digest::parse(&format!("{algo}:{hex}")).ok()
}

impl ImageService {
    /// Copies `reader` into a new blob and leases it, atomically with respect to
    /// collection: the blob is never visible unleased.
    pub fn ingest_leased(
        &self,
        reader: &mut dyn Read,
        expected: &Expected,
        lease: &mut Lease<'_>,
        buf: &mut [u8],
    ) -> EngineResult<BlobInfo> {
        let mut w = self.content.ingest()?;
        loop {
            let n = match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(EngineError::invalid(format!("reading: {e}"))),
            };
            w.write_all(&buf[..n])
                .map_err(|e| EngineError::internal(format!("writing blob: {e}")))?;
        }
        self.commit_leased(w, expected, lease)
    }

    /// Like [`ingest_leased`](Self::ingest_leased), also unpacking the stream as a layer
    /// on a second thread as it passes. The unpack result is `None` when the entry is not a
    /// layer (or its unpack failed: the layer step repeats it from the blob and reports why).
    pub fn ingest_unpacking(
        &self,
        reader: &mut dyn Read,
        expected: &Expected,
        lease: &mut Lease<'_>,
        buf: &mut [u8],
        report: &(dyn Fn(u64) + Sync),
    ) -> EngineResult<(BlobInfo, Option<Unpacked>)> {
        const EVERY: u64 = 4 << 20;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
            let (spent_tx, spent) = std::sync::mpsc::channel::<Vec<u8>>();
            let worker =
                scope.spawn(move || self.unpack_stream(ChannelReader::new(rx, Some(spent_tx))));
            let mut tee = Some(tx);
            let mut w = self.content.ingest()?;
            let (mut total, mut reported) = (0u64, 0u64);
            loop {
                let n = match reader.read(buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // Fail the unpack too, so it does not publish a truncated layer.
                        if let Some(t) = tee.take() {
                            let _ = t.send(Err(io::Error::new(e.kind(), e.to_string())));
                        }
                        return Err(EngineError::invalid(format!("reading: {e}")));
                    }
                };
                w.write_all(&buf[..n])
                    .map_err(|e| EngineError::internal(format!("writing blob: {e}")))?;
                if let Some(t) = &tee {
                    let mut chunk = spent.try_recv().unwrap_or_default();
                    chunk.clear();
                    chunk.extend_from_slice(&buf[..n]);
                    if t.send(Ok(chunk)).is_err() {
                        // The unpack gave up: not a layer. Keep storing the blob.
                        tee = None;
                    }
                }
                total += n as u64;
                if total - reported >= EVERY {
                    reported = total;
                    report(total);
                }
            }
            drop(tee);
            let unpacked = worker.join().ok().and_then(Result::ok);
            // Leased before the blob is checked, so that a blob that fails its digest
            // has its layer collected with the lease rather than left behind.
            if let Some(u) = &unpacked {
                lease.layer(&u.diff_id);
            }
            report(total);
            let info = self.commit_leased(w, expected, lease)?;
            Ok((info, unpacked))
        })
    }

    pub fn commit_leased(
        &self,
        w: Box<dyn berth_store::content::Ingest>,
        expected: &Expected,
        lease: &mut Lease<'_>,
    ) -> EngineResult<BlobInfo> {
        lease.with_gc_locked(|lease| {
            let info = w.commit(expected)?;
            lease.blob_locked(&info.digest);
            Ok(info)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_are_normalized_and_confined() {
        assert_eq!(clean_path("./a//b/").unwrap(), "a/b");
        assert_eq!(clean_path("a/../b").unwrap(), "b");
        assert_eq!(clean_path("/abs").unwrap(), "abs");
        assert!(clean_path("../x").is_err());
        assert!(clean_path("a/../../x").is_err());
    }

    #[test]
    fn blob_names() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(blob_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(blob_name("blobs/sha256/short").is_none());
        assert!(blob_name(&format!("{hex}/layer.tar")).is_none());
    }
}
