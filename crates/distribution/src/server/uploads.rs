//! Upload sessions: each is a content-store ingest (a private temporary file, hashed as it
//! is written) kept open between the requests of one push, so closing the session is a
//! verify-and-rename, never a second pass over the data. Sessions live in memory; one left
//! untouched past the purge age is dropped with its file, and a restart drops them all (the
//! content store clears its ingests when `serve` opens it).

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use berth_store::content::Ingest;
use berth_store::{ContentStore, FsContentStore};
use bytes::Bytes;

use super::body::RequestBody;
use super::errors::{ApiError, Code};
use super::names::RepoName;

pub struct Uploads {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    max: usize,
}

pub struct Session {
    pub id: String,
    pub repo: RepoName,
    offset: AtomicU64,
    touched: Mutex<Instant>,
    busy: AtomicBool,
    ingest: Mutex<Option<Box<dyn Ingest>>>,
}

/// The right to write to a session: one request at a time, released when dropped.
pub struct Claim {
    pub session: Arc<Session>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.session.busy.store(false, Ordering::Release);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PumpError {
    #[error("the upload would exceed {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("reading the request body: {0}")]
    Body(String),
    #[error("writing the upload: {0}")]
    Write(String),
    #[error("the upload session was closed")]
    Gone,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps half-updated (each change is one call).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A random (version 4) UUID, the form clients expect in `Docker-Upload-UUID`.
fn new_id() -> Result<String, ApiError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(ApiError::internal)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

impl Uploads {
    pub fn new(max: usize) -> Uploads {
        Uploads {
            sessions: Mutex::new(HashMap::new()),
            max,
        }
    }

    pub fn open(&self, repo: &RepoName, store: &FsContentStore) -> Result<Arc<Session>, ApiError> {
        if lock(&self.sessions).len() >= self.max {
            return Err(ApiError::new(
                429,
                Code::TooManyRequests,
                format!("{} uploads are already open; try again later", self.max),
            )
            .with_header("Retry-After", "60"));
        }
        let ingest = store.ingest().map_err(ApiError::internal)?;
        let session = Arc::new(Session {
            id: new_id()?,
            repo: repo.clone(),
            offset: AtomicU64::new(0),
            touched: Mutex::new(Instant::now()),
            busy: AtomicBool::new(false),
            ingest: Mutex::new(Some(ingest)),
        });
        lock(&self.sessions).insert(session.id.clone(), session.clone());
        Ok(session)
    }

    pub fn get(&self, repo: &RepoName, id: &str) -> Result<Arc<Session>, ApiError> {
        lock(&self.sessions)
            .get(id)
            .filter(|s| s.repo == *repo)
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(
                    Code::BlobUploadUnknown,
                    format!("no upload {id:?} in {repo}"),
                )
            })
    }

    /// Ends a session, discarding whatever it holds.
    pub fn close(&self, id: &str) -> bool {
        let session = lock(&self.sessions).remove(id);
        if let Some(s) = &session {
            lock(&s.ingest).take();
        }
        session.is_some()
    }

    /// Drops sessions idle for longer than `age`; returns how many.
    pub fn purge(&self, age: Duration) -> usize {
        let stale: Vec<String> = lock(&self.sessions)
            .values()
            .filter(|s| !s.busy.load(Ordering::Acquire) && lock(&s.touched).elapsed() > age)
            .map(|s| s.id.clone())
            .collect();
        stale.iter().filter(|id| self.close(id)).count()
    }
}

impl Session {
    /// Bytes received so far.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Acquire)
    }

    fn touch(&self) {
        *lock(&self.touched) = Instant::now();
    }

    /// The session for one request, or `None` while another request is writing to it.
    pub fn claim(self: &Arc<Self>) -> Option<Claim> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return None;
        }
        self.touch();
        Some(Claim {
            session: self.clone(),
        })
    }

    /// Takes the ingest out to commit it; the session is spent after this.
    pub fn take_ingest(&self) -> Option<Box<dyn Ingest>> {
        lock(&self.ingest).take()
    }
}

/// Streams `body` into the session, at most `budget` bytes. Writing happens on a blocking
/// thread (hashing is CPU work, the file is a plain file) fed through a short queue; the
/// claim travels with it, so a request abandoned midway still leaves the session consistent
/// (its offset is what was written) and free once the writer has stopped.
pub async fn append(
    claim: Claim,
    body: &mut RequestBody,
    budget: u64,
) -> (Option<Claim>, Result<u64, PumpError>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let writer = tokio::task::spawn_blocking(move || {
        let session = claim.session.clone();
        let mut ingest = lock(&session.ingest).take();
        let result = match ingest.as_mut() {
            None => Err(PumpError::Gone),
            Some(w) => loop {
                let Some(chunk) = rx.blocking_recv() else {
                    break Ok(());
                };
                if let Err(e) = w.write_all(&chunk) {
                    break Err(PumpError::Write(e.to_string()));
                }
                session
                    .offset
                    .fetch_add(chunk.len() as u64, Ordering::AcqRel);
                session.touch();
            },
        };
        *lock(&session.ingest) = ingest;
        (claim, result)
    });
    let mut total: u64 = 0;
    let mut outcome = Ok(());
    loop {
        match body.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                if total > budget {
                    outcome = Err(PumpError::TooLarge { limit: budget });
                    break;
                }
                if tx.send(chunk).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                outcome = Err(PumpError::Body(e));
                break;
            }
        }
    }
    drop(tx);
    match writer.await {
        Ok((claim, written)) => (Some(claim), outcome.and(written).map(|()| total)),
        Err(e) => (None, Err(PumpError::Write(e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
    }

    #[test]
    fn sessions_are_bounded_claimed_once_and_purged() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsContentStore::open(dir.path()).unwrap();
        let uploads = Uploads::new(2);
        let repo = RepoName::parse("a").unwrap();
        let s = uploads.open(&repo, &store).unwrap();
        uploads.open(&repo, &store).unwrap();
        assert_eq!(uploads.open(&repo, &store).err().unwrap().status, 429);
        assert!(uploads.get(&RepoName::parse("b").unwrap(), &s.id).is_err());
        let claim = s.claim().unwrap();
        assert!(s.claim().is_none());
        assert_eq!(uploads.purge(Duration::ZERO), 1, "the busy one is spared");
        drop(claim);
        assert_eq!(uploads.purge(Duration::ZERO), 1);
        assert_eq!(
            std::fs::read_dir(dir.path().join("ingest"))
                .unwrap()
                .count(),
            0
        );
    }
}
