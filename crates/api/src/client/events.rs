//! `GET /events` on the client: the engine's events as they happen.

use http::Method;

use super::stream::JsonLines;
use super::{empty_body, with_query, Client, Result};
use crate::filters::Filters;
use crate::types::EventMessage;

/// The events of `GET /events`, one per line.
pub type EventStream = JsonLines<EventMessage>;

impl Client {
    /// Events since `since` and until `until` (Unix timestamps, `seconds[.nanoseconds]`;
    /// empty for none), narrowed by `filters`. Without `until` the stream stays open.
    pub async fn events(&self, since: &str, until: &str, filters: &Filters) -> Result<EventStream> {
        let f = if filters.is_empty() {
            String::new()
        } else {
            filters.to_json()
        };
        let path = with_query(
            "/events",
            &[("since", since), ("until", until), ("filters", &f)],
        );
        let resp = self.send(Method::GET, &path, empty_body(), None).await?;
        Ok(EventStream::new(resp.into_body()))
    }
}
