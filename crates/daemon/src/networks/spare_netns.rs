//! A network namespace made ahead of the next start that needs one. Making a namespace
//! (unshare, the bind mount that pins it, `lo` up) takes a millisecond or more, and it sits
//! on the start's critical path: the veths can only be made once it exists. So the engine
//! keeps one made in advance, under a fresh sandbox id, and hands it to the next start on a
//! bridge or user network; a new one is made in the background after that start.
//!
//! A spare belongs to no container record, so one left by a crash is a stray the next engine
//! start removes, and an engine stopping removes its spare itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::task::TaskTracker;

pub(super) struct SpareNetns {
    dir: PathBuf,
    slot: Mutex<Option<PathBuf>>,
    /// One is being made: starts at once (`run` fifty times over) make one spare between
    /// them, not one each to throw all but one away.
    making: AtomicBool,
    /// Set when the engine stops: no spare is made after that.
    closed: AtomicBool,
}

impl SpareNetns {
    pub(super) fn new(dir: PathBuf) -> Arc<SpareNetns> {
        Arc::new(SpareNetns {
            dir,
            slot: Mutex::new(None),
            making: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    /// The namespace file for a start: the spare, which exists already, when there is one;
    /// otherwise a new name, for the start to make ([`exists`]).
    pub(super) fn take(&self) -> PathBuf {
        self.slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| self.dir.join(crate::containers::new_id()))
    }

    /// Makes a spare in the background (tracked by `tracker`, which an engine stopping
    /// waits for) unless there is one already, one is being made, or the engine is stopping.
    pub(super) fn refill(self: &Arc<Self>, tracker: &TaskTracker) {
        if self.closed.load(Ordering::SeqCst)
            || self.slot_is_full()
            || self.making.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let spare = self.clone();
        tracker.spawn_blocking(move || {
            spare.make();
            spare.making.store(false, Ordering::SeqCst);
        });
    }

    fn slot_is_full(&self) -> bool {
        self.slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Blocking: makes one and puts it in the slot, unless the slot was filled meanwhile or
    /// the engine began to stop, in which case it is removed again.
    fn make(&self) {
        let path = self.dir.join(crate::containers::new_id());
        if let Err(e) = berth_network::netns::create(&path) {
            tracing::warn!(error = %e, "making a spare network namespace");
            return;
        }
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() && !self.closed.load(Ordering::SeqCst) {
            *slot = Some(path);
            return;
        }
        drop(slot);
        remove(&path);
    }

    /// At engine stop, before its background work is waited for: no more spares, the one
    /// there is removed, and one being made removes itself when done.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let spare = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(path) = spare {
            remove(&path);
        }
    }
}

/// Whether a start's namespace file exists already: a spare it was given. Names are fresh
/// for every start, so a file of that name can be nothing else.
pub(super) fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn remove(path: &Path) {
    if let Err(e) = berth_network::netns::remove(path) {
        tracing::warn!(error = %e, "removing a spare network namespace");
    }
}
