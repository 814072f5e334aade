//! Which events a subscriber wants: docker's event filters (`type`, `event`, `container`,
//! `image`, `label`, `scope`, and the name-or-ID filters of the other object types), each
//! with docker's matching rule — exact, prefix, or label selector.

use berth_api::filters::Filters;
use berth_api::types::EventMessage;
use berth_store::reference::Reference;

use super::IMAGE;

/// Filters matched against an event's actor ID or its `name` attribute, by prefix.
const BY_NAME: [&str; 9] = [
    "container",
    "daemon",
    "network",
    "volume",
    "plugin",
    "node",
    "service",
    "secret",
    "config",
];

/// Event actions docker matches by prefix (`health_status: healthy` and the like).
const FUZZY_ACTIONS: [&str; 3] = ["health_status", "exec_create", "exec_start"];

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    filters: Filters,
}

/// The repository without tag or digest (`busybox:1` → `busybox`), for the image filter.
fn strip_tag(image: &str) -> String {
    Reference::parse_normalized(image)
        .map(|r| r.familiar_name())
        .unwrap_or_else(|_| image.to_string())
}

impl EventFilter {
    pub fn new(filters: Filters) -> EventFilter {
        EventFilter { filters }
    }

    /// True when no value is given for `key`, or one equals `value`.
    fn exact(&self, key: &str, value: &str) -> bool {
        let wanted = self.filters.get(key);
        wanted.is_empty() || wanted.iter().any(|w| w == value)
    }

    /// True when no value is given for `key`, or one is a prefix of `value`.
    fn prefix(&self, key: &str, value: &str) -> bool {
        let wanted = self.filters.get(key);
        wanted.is_empty() || wanted.iter().any(|w| value.starts_with(w.as_str()))
    }

    fn action(&self, e: &EventMessage) -> bool {
        let wanted = self.filters.get("event");
        if wanted.iter().any(|w| FUZZY_ACTIONS.contains(&w.as_str())) {
            self.prefix("event", &e.action)
        } else {
            self.exact("event", &e.action)
        }
    }

    /// An image filter selects image events by the image and container events by the
    /// container's image, each with or without its tag.
    fn image(&self, e: &EventMessage) -> bool {
        if self.filters.get("image").is_empty() {
            return true;
        }
        let attr = if e.kind == IMAGE { "name" } else { "image" };
        let name = e.actor.attributes.get(attr).cloned().unwrap_or_default();
        let id = &e.actor.id;
        [id.clone(), name.clone(), strip_tag(id), strip_tag(&name)]
            .iter()
            .any(|v| self.exact("image", v))
    }

    pub fn matches(&self, e: &EventMessage) -> bool {
        let name = e
            .actor
            .attributes
            .get("name")
            .map(String::as_str)
            .unwrap_or("");
        self.action(e)
            && self.exact("type", &e.kind)
            && self.exact("scope", &e.scope)
            && BY_NAME
                .iter()
                .all(|key| self.prefix(key, &e.actor.id) || self.prefix(key, name))
            && self.image(e)
            && crate::images::labels_match(&e.actor.attributes, self.filters.get("label"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use berth_api::types::EventActor;

    use super::*;

    fn event(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            kind: kind.into(),
            action: action.into(),
            scope: "local".into(),
            actor: EventActor {
                id: id.into(),
                attributes: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            },
            ..Default::default()
        }
    }

    fn filter(args: &[&str]) -> EventFilter {
        let mut f = Filters::new();
        for a in args {
            f.add_arg(a).unwrap_or_default();
        }
        EventFilter::new(f)
    }

    #[test]
    fn docker_matching_rules() {
        let start = event(
            "container",
            "start",
            "abc123",
            &[
                ("name", "web"),
                ("image", "busybox:latest"),
                ("tier", "front"),
            ],
        );
        let tag = event("image", "tag", "sha256:feed", &[("name", "busybox:v2")]);
        assert!(filter(&[]).matches(&start));
        assert!(filter(&["type=container"]).matches(&start));
        assert!(!filter(&["type=image"]).matches(&start));
        assert!(filter(&["event=start", "event=die"]).matches(&start));
        assert!(
            !filter(&["event=sta"]).matches(&start),
            "actions match exactly"
        );
        assert!(
            filter(&["container=we"]).matches(&start),
            "names match by prefix"
        );
        assert!(filter(&["container=abc"]).matches(&start));
        assert!(
            !filter(&["container=web"]).matches(&tag),
            "a container filter drops image events"
        );
        assert!(
            filter(&["image=busybox"]).matches(&start),
            "the image without its tag"
        );
        assert!(filter(&["image=busybox"]).matches(&tag));
        assert!(!filter(&["image=alpine"]).matches(&start));
        assert!(filter(&["label=tier=front"]).matches(&start));
        assert!(filter(&["label=tier"]).matches(&start));
        assert!(!filter(&["label=tier=back"]).matches(&start));
        assert!(!filter(&["network=db"]).matches(&start));
    }
}
