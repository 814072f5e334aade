//! `--cache-from`: steps found in other images. Every layer a build makes has its step's key
//! (the step without its parent: instruction, arguments, the content of the files it reads)
//! in its history entry's comment. A step that misses the local cache is looked up in the
//! `--cache-from` images: one whose history and layers begin exactly as the step's parent's
//! and whose next entry carries the step's key has the step's result as its next layer, and
//! that layer is stacked on the parent again without running anything. Such an image may
//! come from another machine (pulled, or loaded), which has none of its intermediate images.

use berth_build::backend::{BackendError, Image};
use berth_store::model::{History, ImageConfig};
use berth_store::Digest;

use super::{backend_error, parse_id, EngineBackend};

/// What a step's history comment starts with; the step's key follows.
pub const STEP_COMMENT: &str = "berth.build.step ";

/// The history comment of a layer made by the step `step`.
pub fn step_comment(step: &str) -> String {
    if step.is_empty() {
        String::new()
    } else {
        format!("{STEP_COMMENT}{step}")
    }
}

impl EngineBackend {
    /// Resolves the `--cache-from` names to images here; a name this engine does not have
    /// is left out, as docker's builder does.
    pub fn use_cache_from(&mut self, names: &[String]) {
        self.cache_from = names
            .iter()
            .filter_map(|name| match self.images().resolve_for_use(name) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::info!(image = %name, error = %e.message, "--cache-from image not used");
                    None
                }
            })
            .collect();
    }

    pub(super) fn find_in_cache_from(
        &self,
        parent: &Image,
        step: &str,
    ) -> Result<Option<Image>, BackendError> {
        if self.cache_from.is_empty() || step.is_empty() {
            return Ok(None);
        }
        let parent_id = if parent.id.is_empty() {
            None
        } else {
            Some(parse_id(&parent.id)?)
        };
        let base = match &parent_id {
            Some(id) => self.images().config(id).map_err(backend_error)?,
            None => ImageConfig::default(),
        };
        let comment = step_comment(step);
        for source in &self.cache_from {
            let Some((layer, entry)) = self.next_layer(source, &base, &comment) else {
                continue;
            };
            let id = self
                .images()
                .stack_layer(parent_id.as_ref(), layer, entry)
                .map_err(backend_error)?;
            return self.view(&id).map(Some);
        }
        Ok(None)
    }

    /// The layer (and history entry) `source` has after `base`'s, when `source` begins as
    /// `base` does and that entry is the step whose comment is `comment`.
    fn next_layer(
        &self,
        source: &Digest,
        base: &ImageConfig,
        comment: &str,
    ) -> Option<(berth_store::LayerRecord, History)> {
        let config = self.images().config(source).ok()?;
        let record = self.images().record(source).ok()?;
        let (depth, layer_index) = (base.history.len(), base.rootfs.diff_ids.len());
        let same_start = config.history.len() > depth
            && config.history[..depth] == base.history[..]
            && config.rootfs.diff_ids.len() > layer_index
            && config.rootfs.diff_ids[..layer_index] == base.rootfs.diff_ids[..];
        if !same_start {
            return None;
        }
        let entry = config.history[depth].clone();
        if entry.comment != comment || entry.empty_layer {
            return None;
        }
        let layer = record.layers.get(layer_index)?.clone();
        (layer.diff_id == config.rootfs.diff_ids[layer_index]).then_some((layer, entry))
    }
}
