//! A stand-in engine for the client's tests: an HTTP server on a private unix socket that
//! answers every request with a canned reply and records what it was sent.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::{Client, Host};

/// What the stand-in engine saw: method, path with query, body.
pub type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// The running stand-in; its socket goes when it is dropped.
pub struct Engine {
    seen: Seen,
    socket: PathBuf,
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Engine {
    /// The requests so far, in order.
    pub fn seen(&self) -> Vec<(String, String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves every request with `reply(method, path)`: a status and a JSON body (none for
/// `Value::Null`).
pub async fn engine(reply: fn(&str, &str) -> (u16, Value)) -> (Engine, Client) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let socket = std::env::temp_dir().join(format!(
        "berth-api-test-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let log = log.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req
                            .uri()
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let body = String::from_utf8(body.to_vec()).unwrap();
                        let (status, answer) = reply(&method, &path);
                        log.lock().unwrap().push((method, path, body));
                        let bytes = if answer.is_null() {
                            Bytes::new()
                        } else {
                            Bytes::from(answer.to_string())
                        };
                        let resp = Response::builder()
                            .status(StatusCode::from_u16(status).unwrap())
                            .header("content-type", "application/json")
                            .body(Full::new(bytes))
                            .unwrap();
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let client = Client::new(Host::Unix(socket.clone()));
    (Engine { seen, socket }, client)
}

/// `path` under the API version prefix the client sends.
pub fn v(path: &str) -> String {
    format!("/v{}{path}", crate::API_VERSION)
}

/// The decoded query of a path.
pub fn decode_query(path: &str) -> BTreeMap<String, String> {
    let q = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}
