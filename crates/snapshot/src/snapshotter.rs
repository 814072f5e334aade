//! The interface the daemon programs against to hold layers and give containers a root
//! filesystem, so another implementation (e.g. lazily pulled layers) can sit beside
//! [`crate::LayerStore`] and pass the same [`crate::conformance`] suite.

use std::io::Read;
use std::path::PathBuf;

use crate::error::LayerError;
use crate::layer_store::{LayerInfo, LayerStore};

/// Layers and the writable snapshots stacked on them.
///
/// Lifecycle:
/// 1. [`unpack`](Self::unpack) a layer stream; it is published under its diff ID only once
///    complete and verified.
/// 2. [`prepare`](Self::prepare) an active snapshot over some layers (topmost first); it
///    comes back mounted, ready to be a container's root filesystem.
/// 3. The container writes through the mount; its changes stay in the snapshot.
/// 4. [`release`](Self::release) the snapshot: unmounted, changes discarded.
/// 5. [`remove`](Self::remove) layers no image needs; refused while a snapshot stacks them.
pub trait Snapshotter: Send + Sync {
    /// Unpacks a (gzip, zstd or plain) layer stream; checks its diff ID when one is given.
    fn unpack(
        &self,
        reader: &mut dyn Read,
        expected_diff_id: Option<&str>,
    ) -> Result<LayerInfo, LayerError>;
    /// Whether the layer is held.
    fn exists(&self, diff_id: &str) -> Result<bool, LayerError>;
    /// Size and identity of a held layer.
    fn info(&self, diff_id: &str) -> Result<LayerInfo, LayerError>;
    /// Every held layer.
    fn list(&self) -> Result<Vec<LayerInfo>, LayerError>;
    /// Deletes a layer.
    fn remove(&self, diff_id: &str) -> Result<(), LayerError>;
    /// Creates and mounts the active snapshot `key`; returns its mount point.
    fn prepare(&self, key: &str, lowers: &[String]) -> Result<PathBuf, LayerError>;
    /// Unmounts and deletes the active snapshot `key`.
    fn release(&self, key: &str) -> Result<(), LayerError>;
}

impl Snapshotter for LayerStore {
    fn unpack(
        &self,
        reader: &mut dyn Read,
        expected_diff_id: Option<&str>,
    ) -> Result<LayerInfo, LayerError> {
        LayerStore::unpack(self, reader, expected_diff_id)
    }
    fn exists(&self, diff_id: &str) -> Result<bool, LayerError> {
        LayerStore::exists(self, diff_id)
    }
    fn info(&self, diff_id: &str) -> Result<LayerInfo, LayerError> {
        LayerStore::info(self, diff_id)
    }
    fn list(&self) -> Result<Vec<LayerInfo>, LayerError> {
        LayerStore::list(self)
    }
    fn remove(&self, diff_id: &str) -> Result<(), LayerError> {
        LayerStore::remove(self, diff_id)
    }
    fn prepare(&self, key: &str, lowers: &[String]) -> Result<PathBuf, LayerError> {
        LayerStore::prepare(self, key, lowers)
    }
    fn release(&self, key: &str) -> Result<(), LayerError> {
        LayerStore::release(self, key)
    }
}
