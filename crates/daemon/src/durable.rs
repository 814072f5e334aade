//! Group commit for small records (container records and the like): a record is written
//! atomically (temporary file, rename) on the request's path, and made durable in the
//! background, many at a time, within a few tens of milliseconds. See
//! docs/decisions/008-records-made-durable-in-the-background.md.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;

/// How long the flusher gathers further records after the first before it syncs them all.
const GATHER: Duration = Duration::from_millis(20);

/// Hands written files to a background thread that fsyncs them and their directories.
#[derive(Clone)]
pub struct Flusher {
    tx: Sender<PathBuf>,
}

impl Flusher {
    pub fn start() -> Flusher {
        let (tx, rx) = channel::<PathBuf>();
        let spawned = std::thread::Builder::new()
            .name("flusher".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut files = BTreeSet::from([first]);
                    loop {
                        match rx.recv_timeout(GATHER) {
                            Ok(p) => {
                                files.insert(p);
                            }
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                    sync_all(&files);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "starting the flusher; records are synced at once");
            let (tx, rx) = channel::<PathBuf>();
            drop(rx);
            return Flusher { tx };
        }
        Flusher { tx }
    }

    /// `path` was just written (or renamed into place): make it and its directory entry
    /// durable soon. Without a flusher thread, it is done now.
    pub fn written(&self, path: PathBuf) {
        if let Err(e) = self.tx.send(path) {
            sync_all(&BTreeSet::from([e.0]));
        }
    }
}

fn sync_all(files: &BTreeSet<PathBuf>) {
    let mut dirs = BTreeSet::new();
    for f in files {
        // A file removed meanwhile (a container gone already) needs nothing.
        if let Ok(file) = std::fs::File::open(f) {
            if let Err(e) = file.sync_all() {
                tracing::warn!(path = %f.display(), error = %e, "syncing a record");
            }
            if let Some(d) = f.parent() {
                dirs.insert(d.to_path_buf());
            }
        }
    }
    for d in dirs {
        if let Ok(dir) = std::fs::File::open(&d) {
            let _ = dir.sync_all();
        }
    }
}
