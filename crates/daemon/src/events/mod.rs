//! The engine's event bus: services publish what happened (a container started, an image
//! was tagged), subscribers (`GET /events`, and anything in the engine that wants to react)
//! receive it live, and the most recent events are kept so a subscriber can ask for what
//! happened since a moment in the past.

mod filter;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use berth_api::types::{EventActor, EventMessage};
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

pub use filter::EventFilter;

/// How many past events are kept for `since` (docker keeps 256).
const RECENT: usize = 256;
/// How far a slow subscriber may fall behind before it misses events.
const BACKLOG: usize = 1024;

pub const CONTAINER: &str = "container";
pub const IMAGE: &str = "image";

pub type Event = Arc<EventMessage>;

pub struct EventBus {
    tx: broadcast::Sender<Event>,
    recent: Mutex<VecDeque<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

impl EventBus {
    pub fn new() -> EventBus {
        let (tx, _) = broadcast::channel(BACKLOG);
        EventBus {
            tx,
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
        }
    }

    /// Publishes `action` on the object `id` of type `kind`, stamped now.
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let now = Utc::now();
        let legacy = kind == CONTAINER || kind == IMAGE;
        let message = EventMessage {
            status: if legacy {
                action.to_string()
            } else {
                String::new()
            },
            id: if legacy {
                id.to_string()
            } else {
                String::new()
            },
            from: if kind == CONTAINER {
                attributes.get("image").cloned().unwrap_or_default()
            } else {
                String::new()
            },
            kind: kind.to_string(),
            action: action.to_string(),
            actor: EventActor {
                id: id.to_string(),
                attributes,
            },
            scope: "local".into(),
            time: now.timestamp(),
            time_nano: now.timestamp_nanos_opt().unwrap_or(i64::MAX),
        };
        let event = Arc::new(message);
        // Sending under the lock keeps the history and the live stream in one order, so a
        // subscriber neither misses nor repeats an event between the two.
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(event.clone());
        let _ = self.tx.send(event);
    }

    /// The kept events within [`since`, `until`] (none when both are open, as docker), and a
    /// receiver of every event published after them.
    pub fn subscribe(
        &self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let rx = self.tx.subscribe();
        if since.is_none() && until.is_none() {
            return (Vec::new(), rx);
        }
        let nanos = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let from = since.map_or(i64::MIN, nanos);
        let to = until.map_or(i64::MAX, nanos);
        let past = recent
            .iter()
            .filter(|e| e.time_nano >= from && e.time_nano <= to)
            .cloned()
            .collect();
        (past, rx)
    }
}

/// Parses the `since` and `until` of `GET /events`: Unix time as `seconds[.nanoseconds]`
/// (what docker's client sends), or anything docker's time filters accept.
pub fn parse_event_time(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(secs.trim_start_matches('-')) && (frac.is_empty() || digits(frac)) {
        let secs: i64 = secs.parse().ok()?;
        let mut nanos = frac.to_string();
        nanos.truncate(9);
        while !nanos.is_empty() && nanos.len() < 9 {
            nanos.push('0');
        }
        let nanos: u32 = if nanos.is_empty() {
            0
        } else {
            nanos.parse().ok()?
        };
        return DateTime::from_timestamp(secs, nanos);
    }
    crate::timefmt::parse_time_filter(value, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(name: &str) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        a.insert("name".to_string(), name.to_string());
        a.insert("image".to_string(), "busybox".to_string());
        a
    }

    #[test]
    fn history_and_live_events_meet_without_gap() {
        let bus = EventBus::new();
        bus.publish(CONTAINER, "create", "a", attrs("one"));
        let (past, mut rx) = bus.subscribe(
            Some(DateTime::from_timestamp(0, 0).unwrap_or_default()),
            None,
        );
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].from, "busybox");
        assert_eq!(past[0].status, "create");
        bus.publish(IMAGE, "tag", "sha256:x", BTreeMap::new());
        let live = rx.try_recv().ok();
        assert_eq!(live.map(|e| e.action.clone()).as_deref(), Some("tag"));
        let (none, _) = bus.subscribe(None, None);
        assert!(none.is_empty(), "no history without since or until");
    }

    #[test]
    fn history_is_bounded() {
        let bus = EventBus::new();
        for i in 0..RECENT + 10 {
            bus.publish(CONTAINER, "start", &i.to_string(), BTreeMap::new());
        }
        let (past, _) = bus.subscribe(
            Some(DateTime::from_timestamp(0, 0).unwrap_or_default()),
            None,
        );
        assert_eq!(past.len(), RECENT);
        assert_eq!(past[0].actor.id, "10");
    }

    #[test]
    fn event_times() {
        let now = DateTime::from_timestamp(10_000, 0).unwrap_or_default();
        let t = parse_event_time("1700000000.123456789", now).unwrap_or_default();
        assert_eq!(
            (t.timestamp(), t.timestamp_subsec_nanos()),
            (1_700_000_000, 123_456_789)
        );
        let t = parse_event_time("1700000000.5", now).unwrap_or_default();
        assert_eq!(t.timestamp_subsec_nanos(), 500_000_000);
        assert_eq!(
            parse_event_time("10m", now).map(|t| t.timestamp()),
            Some(9_400)
        );
        assert!(parse_event_time("soon", now).is_none());
    }
}
