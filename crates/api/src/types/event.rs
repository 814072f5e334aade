//! `GET /events`: the messages of the engine's event stream, with docker's field names
//! (including the deprecated `status`, `id` and `from` that docker still fills in for
//! container and image events).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What an event is about: its ID and attributes (name, image, labels, exit code, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

/// One event, as docker's `events.Message`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(rename = "Action", default)]
    pub action: String,
    #[serde(rename = "Actor", default)]
    pub actor: EventActor,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time: i64,
    #[serde(rename = "timeNano", default, skip_serializing_if = "is_zero")]
    pub time_nano: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_like_docker() {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_string(), "web".to_string());
        attributes.insert("image".to_string(), "busybox".to_string());
        let m = EventMessage {
            status: "start".into(),
            id: "abc".into(),
            from: "busybox".into(),
            kind: "container".into(),
            action: "start".into(),
            actor: EventActor {
                id: "abc".into(),
                attributes,
            },
            scope: "local".into(),
            time: 1,
            time_nano: 1_000_000_001,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap_or_default(),
            r#"{"status":"start","id":"abc","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"image":"busybox","name":"web"}},"scope":"local","time":1,"timeNano":1000000001}"#
        );
        let image = EventMessage {
            kind: "image".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&image).unwrap_or_default(),
            r#"{"Type":"image","Action":"","Actor":{"ID":"","Attributes":{}}}"#
        );
    }
}
