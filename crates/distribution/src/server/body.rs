//! Request and response bodies. Handlers read a [`RequestBody`] chunk by chunk without
//! seeing hyper; responses are a [`ResponseBody`]: nothing, a small buffer, or a mapped blob
//! handed to the socket in slices (each a reference into the mapping, never a copy; on plain
//! TCP the slices go out with sendfile).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// Slices of a mapped blob handed to hyper at a time: large enough that a 100 MiB blob is a
/// few dozen writes, small enough to keep the socket's backpressure meaningful.
const SLICE: usize = 4 << 20;

pub struct RequestBody {
    inner: Incoming,
}

impl RequestBody {
    pub fn new(inner: Incoming) -> RequestBody {
        RequestBody { inner }
    }

    /// The next chunk of data; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, String> {
        loop {
            match self.inner.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }

    /// The whole body, refusing more than `limit` bytes (`Err(None)`).
    pub async fn collect(&mut self, limit: usize) -> Result<Vec<u8>, Option<String>> {
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await.map_err(Some)? {
            if out.len() + chunk.len() > limit {
                return Err(None);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

pub enum ResponseBody {
    Empty,
    Full(Option<Bytes>),
    /// A blob (or a range of one), sent a slice at a time.
    Mapped(Bytes),
}

impl ResponseBody {
    pub fn full(b: impl Into<Bytes>) -> ResponseBody {
        ResponseBody::Full(Some(b.into()))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(match this {
            ResponseBody::Empty => None,
            ResponseBody::Full(b) => b.take().map(|b| Ok(Frame::data(b))),
            ResponseBody::Mapped(rest) if rest.is_empty() => None,
            ResponseBody::Mapped(rest) => {
                let n = rest.len().min(SLICE);
                Some(Ok(Frame::data(rest.split_to(n))))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Empty => true,
            ResponseBody::Full(b) => b.is_none(),
            ResponseBody::Mapped(rest) => rest.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        let n = match self {
            ResponseBody::Empty => 0,
            ResponseBody::Full(b) => b.as_ref().map_or(0, |b| b.len()),
            ResponseBody::Mapped(rest) => rest.len(),
        };
        SizeHint::with_exact(n as u64)
    }
}
