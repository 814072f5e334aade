//! Streaming bodies: uploading from a reader, downloading into one, and decoding the
//! newline-delimited JSON progress messages of load, import, pull and build.

use std::io::{self, Read};

use bytes::{Bytes, BytesMut};
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, BodyStream, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::io::AsyncRead;
use tokio_util::io::{ReaderStream, StreamReader};

use super::{Body, ClientError};
use crate::types::JsonMessage;

/// A request body streamed from `reader` in 256 KiB chunks.
pub fn body_from_reader(reader: impl AsyncRead + Send + Sync + 'static) -> Body {
    let stream = ReaderStream::with_capacity(reader, 256 * 1024).map_ok(Frame::data);
    StreamBody::new(stream).boxed()
}

/// Size of the chunks a blocking reader is sent in.
const UPLOAD_CHUNK: usize = 1 << 20;

/// A request body read from a file or stdin on a thread of its own, in 1 MiB chunks: far
/// fewer wake-ups than an async file, which reads through the blocking pool a little at a
/// time.
pub fn body_from_blocking_reader<R: Read + Send + 'static>(mut reader: R) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    std::thread::spawn(move || loop {
        let mut buf = BytesMut::zeroed(UPLOAD_CHUNK);
        let mut filled = 0;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        buf.truncate(filled);
        if tx.blocking_send(Ok(buf.freeze())).is_err() {
            return;
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item.map(Frame::data), rx))
    });
    StreamBody::new(chunks).boxed()
}

/// A response body as a reader.
pub fn body_into_reader(body: Incoming) -> impl AsyncRead + Send + Unpin {
    let stream = BodyStream::new(body)
        .map_ok(|frame| frame.into_data().unwrap_or_default())
        .map_err(io::Error::other);
    StreamReader::new(stream)
}

/// The JSON objects of a streaming response, one per line (progress messages, events,
/// stats samples).
pub struct JsonLines<T> {
    body: Incoming,
    buf: BytesMut,
    done: bool,
    _item: std::marker::PhantomData<fn() -> T>,
}

/// The progress messages of load, import, pull and build.
pub type JsonMessageStream = JsonLines<JsonMessage>;

impl<T: serde::de::DeserializeOwned> JsonLines<T> {
    pub fn new(body: Incoming) -> Self {
        JsonLines {
            body,
            buf: BytesMut::new(),
            done: false,
            _item: std::marker::PhantomData,
        }
    }

    /// The next message, or `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Result<T, ClientError>> {
        loop {
            if let Some(line) = self.take_line() {
                let line = String::from_utf8_lossy(&line);
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                return Some(
                    serde_json::from_str(line)
                        .map_err(|e| ClientError::Decode(format!("{e}: {line}"))),
                );
            }
            if self.done {
                return None;
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Some(Err(e.into())),
                None => {
                    self.done = true;
                    // A final message without a newline is still a message.
                    if !self.buf.is_empty() && !self.buf.ends_with(b"\n") {
                        self.buf.extend_from_slice(b"\n");
                    }
                }
            }
        }
    }

    fn take_line(&mut self) -> Option<Bytes> {
        let pos = self.buf.iter().position(|&b| b == b'\n')?;
        Some(self.buf.split_to(pos + 1).freeze())
    }
}
