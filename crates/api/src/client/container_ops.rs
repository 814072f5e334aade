//! Container endpoints of the client beyond the lifecycle: pause, unpause, rename, update,
//! top and stats.

use http::Method;

use super::stream::JsonLines;
use super::{bytes_body, empty_body, escape_path, with_query, Client, ClientError, Result};
use crate::types::{
    ContainerStats, ContainerTopResponse, ContainerUpdateRequest, ContainerUpdateResponse,
};

/// The samples of `GET /containers/{id}/stats`, one per line.
pub type StatsStream = JsonLines<ContainerStats>;

fn path(id: &str, action: &str) -> String {
    format!("/containers/{}/{action}", escape_path(id))
}

impl Client {
    pub async fn container_pause(&self, id: &str) -> Result<()> {
        self.call(Method::POST, &path(id, "pause")).await
    }

    pub async fn container_unpause(&self, id: &str) -> Result<()> {
        self.call(Method::POST, &path(id, "unpause")).await
    }

    pub async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        self.call(
            Method::POST,
            &with_query(&path(id, "rename"), &[("name", new_name)]),
        )
        .await
    }

    pub async fn container_update(
        &self,
        id: &str,
        update: &ContainerUpdateRequest,
    ) -> Result<ContainerUpdateResponse> {
        let body = serde_json::to_vec(update).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.json(
            Method::POST,
            &path(id, "update"),
            bytes_body(body),
            Some("application/json"),
        )
        .await
    }

    /// `ps_args` empty means the engine's default (`-ef`).
    pub async fn container_top(&self, id: &str, ps_args: &str) -> Result<ContainerTopResponse> {
        self.get_json(&with_query(&path(id, "top"), &[("ps_args", ps_args)]))
            .await
    }

    /// A sample a second while `stream`; otherwise one sample (after a second, so that its
    /// CPU figures can be compared, unless `one_shot`).
    pub async fn container_stats(
        &self,
        id: &str,
        stream: bool,
        one_shot: bool,
    ) -> Result<StatsStream> {
        let flag = |b: bool| if b { "1" } else { "0" };
        let path = with_query(
            &path(id, "stats"),
            &[("stream", flag(stream)), ("one-shot", flag(one_shot))],
        );
        let resp = self.send(Method::GET, &path, empty_body(), None).await?;
        Ok(StatsStream::new(resp.into_body()))
    }
}
