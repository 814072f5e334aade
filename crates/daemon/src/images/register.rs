//! Making images visible: one durable transaction that records new images and points
//! their names at them, after their content has been made durable.

use std::collections::BTreeMap;

use berth_store::model::ImageConfig;
use berth_store::reference::Reference;
use berth_store::{BlobRef, Change, ContentStore, Digest, ImageRecord, LayerRecord};
use chrono::Utc;

use super::ImageService;
use crate::error::EngineResult;

/// An image whose blobs and layers are present and leased, ready to be recorded.
pub struct NewImage {
    pub id: Digest,
    pub config: ImageConfig,
    pub manifest: Option<BlobRef>,
    pub layers: Vec<LayerRecord>,
    pub names: Vec<Reference>,
    pub parent: Option<Digest>,
}

impl ImageService {
    /// Records `images` and their names in one transaction. Returns docker's notes for names
    /// that moved away from another image.
    pub fn register(&self, images: Vec<NewImage>) -> EngineResult<Vec<String>> {
        // Everything the records will reference must survive a power cut before they do.
        let sync_started = std::time::Instant::now();
        self.content.sync()?;
        self.layers
            .sync()
            .map_err(|e| crate::error::EngineError::internal(e.to_string()))?;
        tracing::debug!(elapsed = ?sync_started.elapsed(), "content synced");
        let now = Utc::now();
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        {
            let view = self.store.view();
            for image in images {
                let existing = view.get(&image.id);
                let tagged = !image.names.is_empty();
                let record = ImageRecord {
                    id: image.id.clone(),
                    manifest: image
                        .manifest
                        .or_else(|| existing.and_then(|e| e.manifest.clone())),
                    size: image.layers.iter().map(|l| l.unpacked_size).sum(),
                    layers: image.layers,
                    parent: image
                        .parent
                        .or_else(|| existing.and_then(|e| e.parent.clone())),
                    registered: existing.map_or(now, |e| e.registered),
                    last_tag_time: if tagged {
                        Some(now)
                    } else {
                        existing.and_then(|e| e.last_tag_time)
                    },
                    created: image.config.created,
                    labels: image.config.labels().cloned().unwrap_or_else(BTreeMap::new),
                };
                for name in &image.names {
                    if let Some(old) = view.lookup(name) {
                        if *old != image.id {
                            notes.push(format!(
                                "The image {} already exists, renaming the old one with ID {old} to empty string",
                                name.familiar_string()
                            ));
                        }
                    }
                    changes.push(Change::SetReference(name.clone(), image.id.clone()));
                }
                changes.insert(0, Change::PutImage(record));
            }
        }
        self.store.apply(changes)?;
        Ok(notes)
    }
}
