//! Container events on the engine's bus, with the attributes docker gives them: the
//! container's labels, its image as the user named it, its name, and what the action adds
//! (`exitCode` for die, `signal` for kill, `oldName` for rename, …).

use std::collections::BTreeMap;

use super::record::ContainerRecord;
use super::ContainerService;
use crate::events::CONTAINER;

impl ContainerService {
    pub(super) fn announce(&self, rec: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
        // docker's order: the action's attributes, then labels over them, then the image
        // and the name over both.
        let mut attributes: BTreeMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        attributes.extend(super::create::labels(&rec.config));
        if !rec.image.is_empty() {
            attributes.insert("image".into(), rec.image.clone());
        }
        attributes.insert("name".into(), rec.name.clone());
        self.events.publish(CONTAINER, action, &rec.id, attributes);
    }
}
