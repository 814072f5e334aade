//! `GET /events`: the events kept since `since`, then live ones until `until` (or until the
//! client goes), one JSON object per line, narrowed by docker's event filters.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::Utc;
use http::StatusCode;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::broadcast::error::RecvError;

use super::query::Query;
use super::response::{self, HttpResponse};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::{parse_event_time, Event, EventFilter};

struct Subscription {
    past: VecDeque<Event>,
    live: Option<tokio::sync::broadcast::Receiver<Event>>,
    filter: EventFilter,
    deadline: Option<tokio::time::Instant>,
}

impl Subscription {
    async fn next(&mut self) -> Option<Event> {
        if let Some(e) = self.past.pop_front() {
            return Some(e);
        }
        let rx = self.live.as_mut()?;
        loop {
            let received = match self.deadline {
                Some(d) => tokio::select! {
                    r = rx.recv() => r,
                    _ = tokio::time::sleep_until(d) => return None,
                },
                None => rx.recv().await,
            };
            match received {
                Ok(e) if self.filter.matches(&e) => return Some(e),
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "an events subscriber fell behind; events dropped");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

pub fn stream(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let now = Utc::now();
    let time = |key: &str| match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_event_time(v, now)
            .map(Some)
            .ok_or_else(|| EngineError::invalid(format!("invalid value for \"{key}\": {v}"))),
    };
    let (since, until) = (time("since")?, time("until")?);
    if let (Some(s), Some(u)) = (since, until) {
        if u < s {
            return Err(EngineError::invalid(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                q.string("since"),
                q.string("until")
            )));
        }
    }
    let filter = EventFilter::new(q.filters()?);
    let (past, rx) = engine.events.subscribe(since, until);
    let past = past.into_iter().filter(|e| filter.matches(e)).collect();
    // An `until` already past ends the stream after the kept events.
    let only_past = until.is_some_and(|u| u < now);
    let deadline =
        until.map(|u| tokio::time::Instant::now() + (u - now).to_std().unwrap_or_default());
    let sub = Subscription {
        past,
        live: (!only_past).then_some(rx),
        filter,
        deadline,
    };
    let lines = futures_util::stream::unfold(sub, |mut sub| async move {
        let e = sub.next().await?;
        let mut line = serde_json::to_vec(&*e).unwrap_or_default();
        line.push(b'\n');
        Some((
            Ok::<_, std::io::Error>(Frame::data(bytes::Bytes::from(line))),
            sub,
        ))
    });
    Ok(response::with_status(
        StatusCode::OK,
        StreamBody::new(lines).boxed(),
        "application/json",
    ))
}
