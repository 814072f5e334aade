//! Image events on the engine's bus, as docker logs them: the image ID as the actor, its
//! labels (while it still exists), and a `name` — the new tag for `tag`, the image ID for
//! the others.

use std::collections::BTreeMap;

use berth_api::types::ImageDeleteItem;
use berth_store::Digest;

use super::ImageService;
use crate::events::IMAGE;

impl ImageService {
    pub(super) fn announce(&self, action: &str, id: &Digest, name: &str) {
        let mut attributes: BTreeMap<String, String> = self
            .config(id)
            .ok()
            .and_then(|c| super::to_api_config(c.config.as_ref()).labels)
            .unwrap_or_default();
        attributes.insert("name".into(), name.to_string());
        let id = id.to_string();
        self.events.publish(IMAGE, action, &id, attributes);
    }

    /// The events of a removal: `untag` for each name the image lost, `delete` for each
    /// image deleted.
    pub(super) fn announce_removal(&self, id: &Digest, items: &[ImageDeleteItem]) {
        for item in items {
            if item.untagged.is_some() {
                self.announce("untag", id, &id.to_string());
            }
            if let Some(deleted) = item.deleted.as_deref().and_then(|d| Digest::parse(d).ok()) {
                self.announce("delete", &deleted, &deleted.to_string());
            }
        }
    }
}
