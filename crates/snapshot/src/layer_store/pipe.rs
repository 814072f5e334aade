//! Runs the filesystem side of an unpack on its own thread, fed in large chunks, so that
//! decompressing and hashing a layer overlap with writing it out instead of taking turns.

use std::io::{self, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};

/// Bytes handed over at a time.
const CHUNK: usize = 1 << 20;
/// Chunks in flight: enough to ride out a burst of small files, little memory.
const DEPTH: usize = 4;

/// Reads `source` to EOF on the calling thread while `consume` reads the same bytes on
/// another. Returns the outcome of reading `source` and what `consume` returned.
///
/// If `consume` stops early (an error), reading stops too: its result explains why.
pub(super) fn pipe<T: Send>(
    source: &mut dyn Read,
    consume: impl FnOnce(&mut dyn Read) -> T + Send,
) -> (io::Result<()>, T) {
    let (tx, rx) = sync_channel::<Vec<u8>>(DEPTH);
    // Spent buffers come back for reuse instead of being freed and faulted in again.
    let (back_tx, back_rx) = channel::<Vec<u8>>();
    std::thread::scope(|s| {
        let consumer = s.spawn(move || {
            let mut reader = ChunkReader {
                rx,
                back: back_tx,
                cur: Vec::new(),
                pos: 0,
            };
            consume(&mut reader)
        });
        let produced = (|| loop {
            let mut buf = back_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
            buf.resize(CHUNK, 0);
            let n = read_full(source, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            buf.truncate(n);
            if tx.send(buf).is_err() {
                return Ok(());
            }
        })();
        // End of stream for the consumer.
        drop(tx);
        match consumer.join() {
            Ok(out) => (produced, out),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Fills `buf` unless the stream ends first; returns how much was read.
fn read_full(source: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

struct ChunkReader {
    rx: Receiver<Vec<u8>>,
    back: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(next) => {
                    let spent = std::mem::replace(&mut self.cur, next);
                    // The producer may be gone already; the buffer is then simply freed.
                    let _ = self.back.send(spent);
                    self.pos = 0;
                }
                // Sender dropped: the stream is over (or the producer failed, which the
                // caller reports).
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_sees_every_byte_in_order() {
        let data: Vec<u8> = (0..(5 * CHUNK + 123)).map(|i| (i % 253) as u8).collect();
        let (produced, got) = pipe(&mut &data[..], |r| {
            let mut out = Vec::new();
            r.read_to_end(&mut out).map(|_| out)
        });
        produced.expect("producer");
        assert_eq!(got.expect("consumer"), data);
    }

    #[test]
    fn early_stop_of_the_consumer_stops_the_producer() {
        let data = vec![0u8; 20 * CHUNK];
        let mut source = &data[..];
        let (produced, ()) = pipe(&mut source, |r| {
            let mut first = [0u8; 10];
            r.read_exact(&mut first).expect("first bytes");
        });
        produced.expect("producer");
        assert!(
            !source.is_empty(),
            "the producer read everything for nobody"
        );
    }

    #[test]
    fn producer_errors_are_reported() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let (produced, n) = pipe(&mut Failing, |r| r.read(&mut [0u8; 4]).expect("eof"));
        assert_eq!(n, 0);
        assert!(produced.is_err());
    }
}
