//! The typed Engine API client: one HTTP/1.1 connection to the engine, reused across
//! requests, over whichever transport the host names.

mod archive;
mod container_ops;
mod containers;
mod endpoints;
mod events;
mod exec;
mod host;
mod networks;
mod registry;
#[cfg(test)]
mod stand_in;
mod stream;
mod transport;
mod volumes;

use std::io;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

pub use archive::CommitParams;
pub use container_ops::StatsStream;
pub use containers::{AttachParams, Hijacked, LogsParams};
pub use endpoints::{ImportOptions, RemoveOptions};
pub use events::EventStream;
pub use host::{Host, HostError, DEFAULT_SOCKET};
pub use networks::NetworkCreateOptions;
pub use registry::PullOptions;
pub use stream::{
    body_from_blocking_reader, body_from_reader, body_into_reader, JsonLines, JsonMessageStream,
};

use crate::types::ErrorResponse;

/// A request body: empty, a buffer, or a stream.
pub type Body = BoxBody<Bytes, io::Error>;

pub fn empty_body() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub fn bytes_body(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("Cannot connect to the Berth daemon at {host}. Is the berth daemon running?")]
    Connect {
        host: String,
        #[source]
        source: io::Error,
    },
    /// The engine answered with an error status; `message` is its explanation.
    #[error("{message}")]
    Api { status: u16, message: String },
    #[error("error during connect: {0}")]
    Http(#[from] hyper::Error),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("unexpected response from the daemon: {0}")]
    Decode(String),
    #[error(transparent)]
    Host(#[from] HostError),
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the engine could not be reached at all (as opposed to refusing a request).
    pub fn is_connect(&self) -> bool {
        matches!(self, ClientError::Connect { .. })
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A client for one engine.
pub struct Client {
    host: Host,
    conn: Mutex<Option<SendRequest<Body>>>,
}

impl Client {
    pub fn new(host: Host) -> Client {
        Client {
            host,
            conn: Mutex::new(None),
        }
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub(crate) async fn connect(&self) -> Result<SendRequest<Body>> {
        let stream =
            transport::connect(&self.host)
                .await
                .map_err(|source| ClientError::Connect {
                    host: self.host.to_string(),
                    source,
                })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // The connection ends when the engine closes it or the client is dropped;
            // errors surface on the request that was using it.
            let _ = conn.with_upgrades().await;
        });
        Ok(sender)
    }

    /// Sends a request to `path` (without the version prefix, with the query) and returns the
    /// response when its status is a success; an error status becomes [`ClientError::Api`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        content_type: Option<&str>,
    ) -> Result<Response<Incoming>> {
        self.send_with_headers(method, path, body, content_type, &[])
            .await
    }

    /// [`Client::send`] with extra request headers (`X-Registry-Auth`).
    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        body: Body,
        content_type: Option<&str>,
        headers: &[(&'static str, String)],
    ) -> Result<Response<Incoming>> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/v{}{path}", crate::API_VERSION))
            .header(http::header::HOST, "berth")
            .header(
                http::header::USER_AGENT,
                concat!("Berth-Client/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(ct) = content_type {
            req = req.header(http::header::CONTENT_TYPE, ct);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let req = req
            .body(body)
            .map_err(|e| ClientError::Decode(format!("building request: {e}")))?;
        let resp = {
            // One connection serves requests in turn; one still busy (a response body not
            // yet read) or closed by the engine is replaced by a fresh one.
            let mut slot = self.conn.lock().await;
            let reusable = slot.as_ref().is_some_and(|s| s.is_ready());
            if !reusable {
                *slot = Some(self.connect().await?);
            }
            let Some(sender) = slot.as_mut() else {
                return Err(ClientError::Decode("no connection".into()));
            };
            sender.ready().await?;
            sender.send_request(req).await?
        };
        if resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let message = match serde_json::from_slice::<ErrorResponse>(&bytes) {
            Ok(e) => e.message,
            Err(_) => String::from_utf8_lossy(&bytes).trim().to_string(),
        };
        Err(ClientError::Api { status, message })
    }

    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Body,
        content_type: Option<&str>,
    ) -> Result<T> {
        let resp = self.send(method, path, body, content_type).await?;
        let bytes = resp.into_body().collect().await?.to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.json(Method::GET, path, empty_body(), None).await
    }

    /// Sends a request whose response body is not needed.
    pub(crate) async fn call(&self, method: Method, path: &str) -> Result<()> {
        let resp = self.send(method, path, empty_body(), None).await?;
        resp.into_body().collect().await?;
        Ok(())
    }
}

/// The `filters` query value: docker's JSON, or nothing (left out of the query) when empty.
pub(crate) fn filters_param(f: &crate::filters::Filters) -> String {
    if f.is_empty() {
        String::new()
    } else {
        f.to_json()
    }
}

/// A JSON request body.
pub(crate) fn json_body<T: serde::Serialize>(value: &T) -> Result<Body> {
    let bytes = serde_json::to_vec(value).map_err(|e| ClientError::Decode(e.to_string()))?;
    Ok(bytes_body(bytes))
}

/// Builds `path?k=v&…`, percent-encoding values; pairs with empty values are left out.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    let q = q.finish();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

/// Escapes an image or container name for use as a path segment, keeping the `/`, `:` and
/// `@` that image references are made of, as docker's client does.
pub fn escape_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b':'
            | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
