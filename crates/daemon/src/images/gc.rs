//! Garbage collection of blobs and layers no image references, and the leases that keep
//! the content of an operation in progress (a load, an import) safe from it.
//!
//! The roots are the image records. An operation leases what it writes before it writes
//! it and releases the lease only after the records that reference it are committed, so a
//! collection running at any moment in between skips it. At start the daemon collects
//! everything unreferenced: whatever a crash left behind.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use berth_store::{ContentStore, Digest};

use super::ImageService;
use crate::error::EngineResult;

#[derive(Default)]
pub struct GcState {
    leases: Mutex<Leased>,
}

#[derive(Default)]
struct Leased {
    blobs: HashMap<Digest, usize>,
    layers: HashMap<Digest, usize>,
}

/// What an operation in progress holds. Dropping the lease releases it and collects what
/// it held that nothing references (the debris of a failed operation).
pub struct Lease<'a> {
    svc: &'a ImageService,
    blobs: Vec<Digest>,
    layers: Vec<Digest>,
}

/// What a collection removed.
#[derive(Debug, Default)]
pub struct Collected {
    pub blobs: u64,
    pub blob_bytes: u64,
    pub layers: Vec<Digest>,
    pub layer_bytes: u64,
}

impl Lease<'_> {
    pub fn blob(&mut self, d: &Digest) {
        let mut leased = self.svc.gc.lock();
        *leased.blobs.entry(d.clone()).or_default() += 1;
        self.blobs.push(d.clone());
    }

    pub fn layer(&mut self, d: &Digest) {
        let mut leased = self.svc.gc.lock();
        *leased.layers.entry(d.clone()).or_default() += 1;
        self.layers.push(d.clone());
    }
}

impl<'a> Lease<'a> {
    /// Runs `f` with collection held off, for publishing and leasing in one step.
    pub fn with_gc_locked<T>(&mut self, f: impl FnOnce(&mut LockedLease<'_, 'a>) -> T) -> T {
        let svc = self.svc;
        let mut leased = svc.gc.lock();
        let mut locked = LockedLease {
            lease: self,
            leased: &mut leased,
        };
        f(&mut locked)
    }
}

/// A lease while collection is held off.
pub struct LockedLease<'l, 'a> {
    lease: &'l mut Lease<'a>,
    leased: &'l mut Leased,
}

impl LockedLease<'_, '_> {
    pub fn blob_locked(&mut self, d: &Digest) {
        *self.leased.blobs.entry(d.clone()).or_default() += 1;
        self.lease.blobs.push(d.clone());
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        {
            let mut leased = self.svc.gc.lock();
            for d in &self.blobs {
                release(&mut leased.blobs, d);
            }
            for d in &self.layers {
                release(&mut leased.layers, d);
            }
        }
        let blobs = std::mem::take(&mut self.blobs);
        let layers = std::mem::take(&mut self.layers);
        if let Err(e) = self.svc.collect(Some((&blobs, &layers))) {
            tracing::warn!(error = %e, "collecting after an operation");
        }
    }
}

fn release(map: &mut HashMap<Digest, usize>, d: &Digest) {
    if let Some(n) = map.get_mut(d) {
        *n -= 1;
        if *n == 0 {
            map.remove(d);
        }
    }
}

impl GcState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Leased> {
        // The map holds counts only; a panic elsewhere cannot leave it half-updated.
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ImageService {
    pub fn lease(&self) -> Lease<'_> {
        Lease {
            svc: self,
            blobs: Vec::new(),
            layers: Vec::new(),
        }
    }

    /// Removes unreferenced, unleased blobs and layers: among `candidates` when given,
    /// otherwise among everything stored.
    pub fn collect(&self, candidates: Option<(&[Digest], &[Digest])>) -> EngineResult<Collected> {
        // Holding the lease lock for the whole pass orders it against lease releases: an
        // operation's records are committed before its lease goes, so anything it wrote is
        // either still leased here or referenced by the view taken here.
        let leased = self.gc.lock();
        let view = self.store.view();
        let mut used_blobs = HashSet::new();
        let mut used_layers = HashSet::new();
        for image in view.images() {
            used_blobs.insert(image.id.clone());
            if let Some(m) = &image.manifest {
                used_blobs.insert(m.digest.clone());
            }
            for layer in &image.layers {
                used_blobs.insert(layer.blob.digest.clone());
                used_layers.insert(layer.diff_id.clone());
            }
        }
        drop(view);

        let (blob_candidates, layer_candidates): (Vec<Digest>, Vec<Digest>) = match candidates {
            Some((b, l)) => (b.to_vec(), l.to_vec()),
            None => (
                self.content.list()?.into_iter().map(|b| b.digest).collect(),
                self.layers
                    .list()
                    .map_err(|e| crate::error::EngineError::internal(e.to_string()))?
                    .into_iter()
                    .filter_map(|l| Digest::parse(&l.diff_id).ok())
                    .collect(),
            ),
        };
        let mut out = Collected::default();
        for d in blob_candidates {
            if used_blobs.contains(&d) || leased.blobs.contains_key(&d) {
                continue;
            }
            let size = self.content.info(&d).map(|i| i.size).unwrap_or(0);
            if self.content.delete(&d)? {
                out.blobs += 1;
                out.blob_bytes += size;
            }
        }
        for d in layer_candidates {
            if used_layers.contains(&d) || leased.layers.contains_key(&d) {
                continue;
            }
            let key = d.to_string();
            if !self.layers.exists(&key).unwrap_or(false) {
                continue;
            }
            let size = self.layers.info(&key).map(|i| i.size).unwrap_or(0);
            match self.layers.remove(&key) {
                Ok(()) => {
                    out.layer_bytes += size;
                    out.layers.push(d);
                }
                Err(e) => tracing::warn!(layer = %d, error = %e, "removing unreferenced layer"),
            }
        }
        if out.blobs > 0 || !out.layers.is_empty() {
            tracing::debug!(blobs = out.blobs, layers = out.layers.len(), "collected");
        }
        Ok(out)
    }
}
