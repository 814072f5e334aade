//! Building responses: JSON bodies, docker's error body and status mapping (the one place
//! where error kinds become HTTP statuses), and streamed bodies fed from blocking code.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::{Body, Frame};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::{EngineError, ErrorKind};

pub type RespBody = BoxBody<Bytes, io::Error>;
pub type HttpResponse = Response<RespBody>;

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn full(bytes: impl Into<Bytes>) -> RespBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> RespBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub fn with_status(status: StatusCode, body: RespBody, content_type: &'static str) -> HttpResponse {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            with_status(status, full(bytes), "application/json")
        }
        Err(e) => error(&EngineError::internal(format!("encoding response: {e}"))),
    }
}

pub fn ok_json<T: Serialize>(value: &T) -> HttpResponse {
    json(StatusCode::OK, value)
}

pub fn no_content(status: StatusCode) -> HttpResponse {
    let mut resp = Response::new(empty());
    *resp.status_mut() = status;
    resp
}

/// docker's error body, `{"message": "..."}`, with the status for the error's kind.
pub fn error(e: &EngineError) -> HttpResponse {
    let status = status_of(e.kind);
    if status.is_server_error() {
        tracing::error!(error = %e.message, "request failed");
    } else {
        tracing::debug!(error = %e.message, status = status.as_u16(), "request refused");
    }
    let body = serde_json::json!({ "message": e.message });
    let mut bytes = body.to_string().into_bytes();
    bytes.push(b'\n');
    with_status(status, full(bytes), "application/json")
}

/// A response body fed through a channel, so blocking code can stream into it.
pub struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, io::Error>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}

/// The writing end of a [`ChannelBody`], for blocking threads. Writes are buffered into
/// chunks; a write fails once the client has gone, which is how producers learn to stop.
pub struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: BytesMut,
    chunk: usize,
}

/// A streamed body and the writer that feeds it. `chunk` is how much is buffered before a
/// send: large for bulk data, small (0) for progress messages that should arrive at once.
pub fn channel(chunk: usize) -> (ChannelWriter, RespBody) {
    // A short queue: a slow client should hold back the producer, not fill memory.
    let (tx, rx) = mpsc::channel(4);
    (
        ChannelWriter {
            tx,
            buf: BytesMut::with_capacity(chunk.max(1024)),
            chunk,
        },
        ChannelBody { rx }.boxed(),
    )
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let bytes = self.buf.split().freeze();
        self.tx
            .blocking_send(Ok(bytes))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }

    /// Ends the body with an error, so the client sees a broken transfer rather than a
    /// clean end.
    pub fn abort(mut self, message: &str) {
        self.buf.clear();
        let _ = self
            .tx
            .blocking_send(Err(io::Error::other(message.to_string())));
    }

    /// Sends one JSON message followed by CRLF, as one chunk: clients such as docker-py
    /// split the stream on chunk boundaries and trip over a lone line ending.
    pub fn message<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        self.send()?;
        let mut line = serde_json::to_vec(value)?;
        line.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(&line);
        self.send()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.chunk.max(1) {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}
