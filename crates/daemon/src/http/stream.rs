//! Streamed responses produced by blocking work, with docker's rule for errors: an error
//! before anything was written is an ordinary error response (with its status code); an
//! error after output started is sent in-band as a JSON error message.

use std::io::{self, Write};
use std::sync::Arc;

use http::StatusCode;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::oneshot;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::response::{self, ChannelWriter, HttpResponse};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

/// The output of a streaming operation. The first write sends the response headers.
pub struct Output {
    writer: ChannelWriter,
    started: Option<oneshot::Sender<Result<(), EngineError>>>,
}

impl Output {
    fn start(&mut self) {
        if let Some(tx) = self.started.take() {
            let _ = tx.send(Ok(()));
        }
    }

    /// Sends the response headers now, before any output (for streams that may stay
    /// silent for a long time, such as a followed log).
    pub fn begin(&mut self) {
        self.start();
    }

    /// Sends one JSON message.
    pub fn message<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        self.start();
        self.writer.message(value)
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.start();
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// How a failure after output started is reported.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// A JSON error message in the stream (progress streams).
    JsonMessage,
    /// A broken transfer (binary streams such as archives, which cannot carry a message).
    Abort,
}

/// Runs `work` on a blocking thread, streaming what it writes as the response body.
pub async fn respond<F>(
    content_type: &'static str,
    chunk: usize,
    on_error: OnError,
    work: F,
) -> HttpResponse
where
    F: FnOnce(&mut Output) -> EngineResult<()> + Send + 'static,
{
    let (writer, body) = response::channel(chunk);
    let (tx, rx) = oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let mut out = Output {
            writer,
            started: Some(tx),
        };
        let result = work(&mut out);
        crate::alloc::release();
        match result {
            Ok(()) => {
                out.start();
                let _ = out.flush();
            }
            Err(e) => match out.started.take() {
                Some(tx) => {
                    let _ = tx.send(Err(e));
                }
                None => {
                    tracing::warn!(error = %e.message, "streamed request failed");
                    if on_error == OnError::JsonMessage {
                        let _ = out
                            .writer
                            .message(&berth_api::types::JsonMessage::error(e.message));
                        let _ = out.flush();
                    } else {
                        out.writer.abort(&e.message);
                    }
                }
            },
        }
    });
    match rx.await {
        Ok(Ok(())) => response::with_status(StatusCode::OK, body, content_type),
        Ok(Err(e)) => response::error(&e),
        Err(_) => response::error(&EngineError::internal("the operation ended unexpectedly")),
    }
}

/// The request body as a blocking reader, for work done on a blocking thread.
pub fn body_reader(body: Incoming) -> impl io::Read + Send + 'static {
    let stream = futures_util::TryStreamExt::map_err(body.into_data_stream(), io::Error::other);
    io::BufReader::with_capacity(1 << 20, SyncIoBridge::new(StreamReader::new(stream)))
}

/// Runs `f` over an uploaded body; when it fails early, reads the rest of the upload so the
/// client, still sending, gets to read the error response instead of a broken pipe.
pub fn drain_on_error<R: std::io::Read, T>(
    reader: &mut R,
    f: impl FnOnce(&mut R) -> EngineResult<T>,
) -> EngineResult<T> {
    let result = f(reader);
    if result.is_err() {
        let _ = std::io::copy(reader, &mut std::io::sink());
    }
    result
}

/// Reads a request body to its end and drops it: a request refused before its upload was
/// read, so the client, still sending, gets to read the refusal instead of a broken pipe.
pub async fn discard(mut body: Incoming) {
    while let Some(Ok(_)) = body.frame().await {}
}

/// Runs `f` on a blocking thread with the engine.
pub async fn blocking<T, F>(engine: &Arc<Engine>, f: F) -> EngineResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> EngineResult<T> + Send + 'static,
{
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(|e| EngineError::internal(format!("worker failed: {e}")))?
}
