//! Blobs go to plain-TCP clients with sendfile(2): the kernel hands the page cache's pages to
//! the socket, so a blob pulled by many clients at once is neither copied into our memory nor
//! even faulted into our address space.
//!
//! hyper only writes byte slices, so the file reaches the socket like this: a blob body is a
//! memory map of the file ([`MappedFile`], which is also what TLS connections, encrypting in
//! user space, read from), and each live map is registered here by address with the file and
//! offset it maps. The plain-TCP connection's writer ([`SendfileStream`]) looks up each slice
//! hyper hands it; one that lies inside a registered map is sent from the file at the matching
//! offset, the rest (status line, headers, small bodies) is written as usual.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use memmap2::Mmap;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The file behind each live map, by the map's start address.
static REGIONS: Mutex<BTreeMap<usize, Region>> = Mutex::new(BTreeMap::new());
/// How many maps are live: the writer skips the lookup when none is.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Bytes sent with sendfile since start (tests read it to see the path was taken).
static SENT: AtomicU64 = AtomicU64::new(0);

struct Region {
    len: usize,
    file: Arc<File>,
    offset: u64,
}

/// A read-only map of `file` from `offset`, registered for [`SendfileStream`] while it lives.
pub struct MappedFile {
    map: Mmap,
}

impl MappedFile {
    pub fn new(map: Mmap, file: File, offset: u64) -> MappedFile {
        let region = Region {
            len: map.len(),
            file: Arc::new(file),
            offset,
        };
        lock().insert(map.as_ptr() as usize, region);
        LIVE.fetch_add(1, Ordering::Relaxed);
        MappedFile { map }
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        lock().remove(&(self.map.as_ptr() as usize));
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<usize, Region>> {
    REGIONS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The file and offset `slice` maps, when it lies inside a registered map. The slice is
/// borrowed from a live `Bytes` holding its map, so the region cannot go while we look.
fn file_of(slice: &[u8]) -> Option<(Arc<File>, u64)> {
    if slice.is_empty() || LIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let ptr = slice.as_ptr() as usize;
    let regions = lock();
    let (&start, region) = regions.range(..=ptr).next_back()?;
    let within = ptr - start;
    (within + slice.len() <= region.len)
        .then(|| (region.file.clone(), region.offset + within as u64))
}

/// Bytes sent with sendfile so far, in this process.
#[cfg(test)]
pub fn sent_bytes() -> u64 {
    SENT.load(Ordering::Relaxed)
}

/// A plain TCP connection whose writes of mapped blobs go out with sendfile.
pub struct SendfileStream {
    tcp: TcpStream,
}

impl SendfileStream {
    pub fn new(tcp: TcpStream) -> SendfileStream {
        SendfileStream { tcp }
    }

    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: &File,
        mut offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            let sent = self.tcp.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(&self.tcp, file, Some(&mut offset), len).map_err(Into::into)
            });
            match sent {
                Ok(n) => {
                    SENT.fetch_add(n as u64, Ordering::Relaxed);
                    return Poll::Ready(Ok(n));
                }
                // Readiness was cleared: wait for the socket again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Either one mapped slice by sendfile, or the ordinary slices before the next mapped one
    /// in one writev; hyper calls again for the rest.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let bufs = match bufs.iter().position(|b| !b.is_empty()) {
            Some(first) => &bufs[first..],
            None => return Poll::Ready(Ok(0)),
        };
        if let Some((file, offset)) = file_of(&bufs[0]) {
            return this.poll_sendfile(cx, &file, offset, bufs[0].len());
        }
        let plain = bufs
            .iter()
            .position(|b| file_of(b).is_some())
            .unwrap_or(bufs.len());
        Pin::new(&mut this.tcp).poll_write_vectored(cx, &bufs[..plain])
    }

    fn is_write_vectored(&self) -> bool {
        // hyper then queues body chunks as they are instead of copying them into its buffer,
        // which is what lets the mapped slices reach us.
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::io::Write;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn mapped(data: &[u8], offset: u64, len: usize) -> Bytes {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        // SAFETY: the temporary file is private to this test and not written again.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(&f)
                .unwrap()
        };
        Bytes::from_owner(MappedFile::new(map, f, offset))
    }

    async fn pair() -> (SendfileStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, client) = tokio::join!(listener.accept(), client);
        (SendfileStream::new(accepted.unwrap().0), client.unwrap())
    }

    #[tokio::test]
    async fn mapped_slices_go_by_sendfile_and_the_rest_by_write() {
        let data: Vec<u8> = (0..(3 << 20)).map(|i: u32| (i % 251) as u8).collect();
        // A map from a page-aligned offset, and a slice of it that starts inside.
        let body = mapped(&data, 4096, data.len() - 4096).slice(100..);
        let expected_body = &data[4096 + 100..];
        let (mut server, mut client) = pair().await;
        let before = sent_bytes();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            got
        });
        let head = b"HTTP/1.1 200 OK\r\n\r\n";
        let mut pending: Vec<&[u8]> = vec![head, &body, b"tail"];
        while !pending.is_empty() {
            let slices: Vec<IoSlice> = pending.iter().map(|b| IoSlice::new(b)).collect();
            let mut n =
                std::future::poll_fn(|cx| Pin::new(&mut server).poll_write_vectored(cx, &slices))
                    .await
                    .unwrap();
            while n > 0 {
                let take = n.min(pending[0].len());
                pending[0] = &pending[0][take..];
                n -= take;
                if pending[0].is_empty() {
                    pending.remove(0);
                }
            }
        }
        server.shutdown().await.unwrap();
        drop(server);
        let got = reader.await.unwrap();
        let mut expected = head.to_vec();
        expected.extend_from_slice(expected_body);
        expected.extend_from_slice(b"tail");
        assert_eq!(got.len(), expected.len());
        assert!(got == expected);
        // Other tests may send at the same time, so at least this body's bytes.
        assert!(sent_bytes() - before >= expected_body.len() as u64);
    }

    #[test]
    fn unmapped_and_dropped_slices_are_not_files() {
        assert!(file_of(b"plain bytes").is_none());
        let data = vec![7u8; 8192];
        let body = mapped(&data, 0, data.len());
        let (_, offset) = file_of(&body[10..20]).expect("inside the map");
        assert_eq!(offset, 10);
        let ptr = body.as_ptr() as usize;
        drop(body);
        assert!(!lock().contains_key(&ptr));
    }

    #[tokio::test]
    async fn hyper_hands_a_mapped_body_to_sendfile() {
        use crate::server::body::ResponseBody;
        let data: Vec<u8> = (0..(5 << 20)).map(|i: u32| (i % 253) as u8).collect();
        let body = mapped(&data, 0, data.len());
        let (server, mut client) = pair().await;
        let before = sent_bytes();
        let serve = tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_req| {
                let body = body.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(ResponseBody::Mapped(
                        body,
                    )))
                }
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(server), service)
                .await
        });
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        serve.await.unwrap().unwrap();
        let start = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(got[start..] == data[..], "the body arrived intact");
        assert!(
            sent_bytes() - before >= data.len() as u64,
            "it went by sendfile"
        );
    }
}
