//! Container endpoints of the client, including the hijacked attach connection.

use http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::{bytes_body, empty_body, escape_path, with_query, Client, ClientError, Result};
use crate::filters::Filters;
use crate::types::*;

/// A connection hijacked for a container's streams.
pub type Hijacked = TokioIo<hyper::upgrade::Upgraded>;

#[derive(Debug, Clone, Default)]
pub struct AttachParams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub logs: bool,
    pub detach_keys: String,
}

#[derive(Debug, Clone, Default)]
pub struct LogsParams {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub since: String,
    pub until: String,
    pub timestamps: bool,
    pub tail: String,
    pub details: bool,
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        ""
    }
}

impl Client {
    pub async fn container_create(
        &self,
        name: &str,
        req: &ContainerCreateRequest,
    ) -> Result<ContainerCreateResponse> {
        let body = serde_json::to_vec(req).map_err(|e| ClientError::Decode(e.to_string()))?;
        let path = with_query("/containers/create", &[("name", name)]);
        self.json(
            Method::POST,
            &path,
            bytes_body(body),
            Some("application/json"),
        )
        .await
    }

    /// Starts a container; false when it was already running.
    pub async fn container_start(&self, id: &str) -> Result<bool> {
        let resp = self
            .send(
                Method::POST,
                &format!("/containers/{}/start", escape_path(id)),
                empty_body(),
                None,
            )
            .await?;
        let started = resp.status() != StatusCode::NOT_MODIFIED;
        resp.into_body().collect().await?;
        Ok(started)
    }

    pub async fn container_stop(&self, id: &str, timeout: Option<i64>) -> Result<()> {
        let t = timeout.map(|t| t.to_string()).unwrap_or_default();
        self.call(
            Method::POST,
            &with_query(
                &format!("/containers/{}/stop", escape_path(id)),
                &[("t", &t)],
            ),
        )
        .await
    }

    pub async fn container_restart(&self, id: &str, timeout: Option<i64>) -> Result<()> {
        let t = timeout.map(|t| t.to_string()).unwrap_or_default();
        self.call(
            Method::POST,
            &with_query(
                &format!("/containers/{}/restart", escape_path(id)),
                &[("t", &t)],
            ),
        )
        .await
    }

    pub async fn container_kill(&self, id: &str, signal: &str) -> Result<()> {
        self.call(
            Method::POST,
            &with_query(
                &format!("/containers/{}/kill", escape_path(id)),
                &[("signal", signal)],
            ),
        )
        .await
    }

    pub async fn container_remove(&self, id: &str, force: bool, volumes: bool) -> Result<()> {
        let path = with_query(
            &format!("/containers/{}", escape_path(id)),
            &[("force", flag(force)), ("v", flag(volumes))],
        );
        self.call(Method::DELETE, &path).await
    }

    /// Sends the wait request; the returned body yields the result when the condition is
    /// met (the engine answers the headers at once).
    pub async fn container_wait_begin(&self, id: &str, condition: &str) -> Result<Incoming> {
        let path = with_query(
            &format!("/containers/{}/wait", escape_path(id)),
            &[("condition", condition)],
        );
        Ok(self
            .send(Method::POST, &path, empty_body(), None)
            .await?
            .into_body())
    }

    pub async fn container_wait_end(body: Incoming) -> Result<ContainerWaitResponse> {
        let bytes = body.collect().await?.to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub async fn containers(
        &self,
        all: bool,
        limit: Option<i64>,
        size: bool,
        filters: &Filters,
    ) -> Result<Vec<ContainerSummary>> {
        let limit = limit.map(|l| l.to_string()).unwrap_or_default();
        let f = if filters.is_empty() {
            String::new()
        } else {
            filters.to_json()
        };
        let path = with_query(
            "/containers/json",
            &[
                ("all", flag(all)),
                ("limit", &limit),
                ("size", flag(size)),
                ("filters", &f),
            ],
        );
        self.get_json(&path).await
    }

    pub async fn container_inspect(&self, id: &str) -> Result<Value> {
        self.get_json(&format!("/containers/{}/json", escape_path(id)))
            .await
    }

    pub async fn container_logs(&self, id: &str, p: &LogsParams) -> Result<Incoming> {
        let path = with_query(
            &format!("/containers/{}/logs", escape_path(id)),
            &[
                ("follow", flag(p.follow)),
                ("stdout", flag(p.stdout)),
                ("stderr", flag(p.stderr)),
                ("since", &p.since),
                ("until", &p.until),
                ("timestamps", flag(p.timestamps)),
                ("tail", &p.tail),
                ("details", flag(p.details)),
            ],
        );
        Ok(self
            .send(Method::GET, &path, empty_body(), None)
            .await?
            .into_body())
    }

    pub async fn container_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let (h, w) = (height.to_string(), width.to_string());
        self.call(
            Method::POST,
            &with_query(
                &format!("/containers/{}/resize", escape_path(id)),
                &[("h", &h), ("w", &w)],
            ),
        )
        .await
    }

    pub async fn containers_prune(&self, filters: &Filters) -> Result<ContainersPruneReport> {
        let f = if filters.is_empty() {
            String::new()
        } else {
            filters.to_json()
        };
        self.json(
            Method::POST,
            &with_query("/containers/prune", &[("filters", &f)]),
            empty_body(),
            None,
        )
        .await
    }

    /// Hijacks a connection for the container's streams.
    pub async fn container_attach(&self, id: &str, p: &AttachParams) -> Result<Hijacked> {
        let path = with_query(
            &format!("/containers/{}/attach", escape_path(id)),
            &[
                ("stream", "1"),
                ("stdin", flag(p.stdin)),
                ("stdout", flag(p.stdout)),
                ("stderr", flag(p.stderr)),
                ("logs", flag(p.logs)),
                ("detachKeys", &p.detach_keys),
            ],
        );
        self.hijack(&path, None).await
    }

    /// POSTs to `path` (with a JSON `body`, if any) on a connection of its own and takes the
    /// connection over once the engine switches protocols.
    pub(crate) async fn hijack(&self, path: &str, body: Option<Vec<u8>>) -> Result<Hijacked> {
        let mut sender = self.connect().await?;
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("/v{}{path}", crate::API_VERSION))
            .header(header::HOST, "berth")
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, "tcp");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map(bytes_body).unwrap_or_else(empty_body);
        let req = req
            .body(body)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let resp = sender.send_request(req).await?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await?.to_bytes();
            let message = serde_json::from_slice::<ErrorResponse>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_string());
            return Err(ClientError::Api { status, message });
        }
        let upgraded = hyper::upgrade::on(resp).await?;
        Ok(TokioIo::new(upgraded))
    }
}
