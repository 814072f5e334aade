//! The gzip encoder for layers on their way to a registry.
//!
//! zlib-ng's fastest level, except over stretches that do not compress (files that are
//! already compressed, random data): those go out as deflate's stored blocks instead of
//! through the match finder, which on such input costs most of a push's CPU time and saves
//! nothing. The choice is made per 1 MiB window from what the previous window came to, and a
//! stored stretch is probed with real compression again every few windows, so a layer whose
//! content changes midway still gets compressed where it can be. Every decision depends only
//! on the input, so the same layer always gives the same bytes and the same digest. The
//! output is a single ordinary gzip member any decoder reads.

use std::io::{self, Write};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Input bytes between two decisions.
const WINDOW: u64 = 1 << 20;
/// A window whose output is at least this share of its input is not worth compressing.
const INCOMPRESSIBLE: f64 = 0.97;
/// Stored windows in a row before one is compressed again to see if that pays now.
const PROBE_EVERY: u32 = 8;
/// The gzip header: deflate, no name or time, "fastest" (XFL 4), OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];
/// The most a stored block holds (its length field is 16 bits).
const STORED_MAX: usize = 0xffff;

/// A gzip writer over `W`; [`LayerGzip::finish`] writes the trailer and returns `W`.
///
/// One deflate stream, made of runs: compressed blocks from zlib-ng, ended with a sync flush
/// (so the next block starts on a byte boundary), then stored blocks written here, then a
/// fresh compressor's blocks, and so on. A decoder sees one stream of blocks; a compressor
/// restarted after a stored run just never refers back into it.
pub struct LayerGzip<W: Write> {
    out: W,
    deflate: Compress,
    crc: Crc,
    buf: Vec<u8>,
    /// Input of the current stored block, not yet written.
    pending: Vec<u8>,
    written: u64,
    /// Input taken in the current window, and `written` when it began.
    window_in: u64,
    window_out_start: u64,
    stored: bool,
    stored_run: u32,
}

impl<W: Write> LayerGzip<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&HEADER)?;
        Ok(Self {
            out,
            // Raw deflate: the gzip framing is written here.
            deflate: Compress::new(Compression::fast(), false),
            crc: Crc::new(),
            buf: Vec::with_capacity(256 << 10),
            pending: Vec::with_capacity(STORED_MAX),
            written: HEADER.len() as u64,
            window_in: 0,
            window_out_start: HEADER.len() as u64,
            stored: false,
            stored_run: 0,
        })
    }

    /// Ends the deflate stream, writes the CRC and size, and gives back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.stored {
            self.write_stored_block(true)?;
        } else {
            self.compress(&[], FlushCompress::Finish)?;
        }
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        // ISIZE is the input length modulo 2^32, as RFC 1952 has it.
        self.out.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(self.out)
    }

    /// Whether the window being written now is stored rather than compressed.
    pub fn storing(&self) -> bool {
        self.stored
    }

    /// Feeds `input` to zlib-ng until it is all taken (and, for a flush, until it has nothing
    /// more to give), writing what comes out.
    fn compress(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            self.buf.clear();
            let before = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut self.buf, flush)
                .map_err(io::Error::other)?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            self.out.write_all(&self.buf)?;
            self.written += self.buf.len() as u64;
            let out_full = self.buf.len() == self.buf.capacity();
            let done = match flush {
                FlushCompress::Finish => status == Status::StreamEnd,
                FlushCompress::None => input.is_empty(),
                _ => input.is_empty() && !out_full,
            };
            if done {
                return Ok(());
            }
        }
    }

    /// Adds `input` to stored blocks, writing each once it is full.
    fn store(&mut self, mut input: &[u8]) -> io::Result<()> {
        while !input.is_empty() {
            let take = input.len().min(STORED_MAX - self.pending.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() == STORED_MAX {
                self.write_stored_block(false)?;
            }
        }
        Ok(())
    }

    /// Writes `pending` as one stored block: a byte holding BFINAL and BTYPE 00 (the stream
    /// is on a byte boundary here), LEN and its complement, then the bytes.
    fn write_stored_block(&mut self, last: bool) -> io::Result<()> {
        let len = self.pending.len() as u16;
        let [lo, hi] = len.to_le_bytes();
        self.out.write_all(&[u8::from(last), lo, hi, !lo, !hi])?;
        self.out.write_all(&self.pending)?;
        self.written += 5 + self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// At a window's end: chooses how the next one is written.
    fn end_window(&mut self) -> io::Result<()> {
        let gave = self.written - self.window_out_start;
        let store_next = if self.stored {
            self.stored_run += 1;
            self.stored_run < PROBE_EVERY
        } else {
            gave as f64 >= self.window_in as f64 * INCOMPRESSIBLE
        };
        if store_next && !self.stored {
            // Everything compressed so far goes out, ending on a byte boundary.
            self.compress(&[], FlushCompress::Sync)?;
        } else if !store_next && self.stored {
            if !self.pending.is_empty() {
                self.write_stored_block(false)?;
            }
            self.deflate.reset();
        }
        if store_next != self.stored {
            self.stored = store_next;
            self.stored_run = 0;
        }
        self.window_in = 0;
        self.window_out_start = self.written;
        Ok(())
    }
}

impl<W: Write> Write for LayerGzip<W> {
    fn write(&mut self, mut input: &[u8]) -> io::Result<usize> {
        let len = input.len();
        while !input.is_empty() {
            let take = input.len().min((WINDOW - self.window_in) as usize);
            if self.stored {
                self.store(&input[..take])?;
            } else {
                self.compress(&input[..take], FlushCompress::None)?;
            }
            self.crc.update(&input[..take]);
            self.window_in += take as u64;
            input = &input[take..];
            if self.window_in == WINDOW {
                self.end_window()?;
            }
        }
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn random(len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        getrandom::fill(&mut v).unwrap();
        v
    }

    fn text(len: usize) -> Vec<u8> {
        let line = b"usr/share/doc/berth/changelog: the quick brown fox jumps over the lazy dog\n";
        line.iter().copied().cycle().take(len).collect()
    }

    fn gzip(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut gz = LayerGzip::new(Vec::new()).unwrap();
        for c in data.chunks(chunk) {
            gz.write_all(c).unwrap();
        }
        gz.finish().unwrap()
    }

    fn gunzip(data: &[u8]) -> Vec<u8> {
        // The single-member decoder: the output must be one gzip member, as docker's is.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn random_data_is_stored_and_reads_back() {
        let data = random(5 << 20);
        let gz = gzip(&data, 64 << 10);
        assert_eq!(gunzip(&gz), data);
        // zlib-ng's fastest level makes random data about 6% bigger (static Huffman codes
        // of up to 9 bits a byte); only the first window pays that here, the rest are stored
        // at 5 bytes per 64 KiB.
        let mut fast = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        fast.write_all(&data).unwrap();
        let fast = fast.finish().unwrap();
        assert!(gz.len() < fast.len(), "{} vs {}", gz.len(), fast.len());
        assert!(gz.len() < data.len() + WINDOW as usize / 10, "{}", gz.len());
    }

    #[test]
    fn switches_to_storing_after_an_incompressible_window_and_back_after_a_probe() {
        let mut gz = LayerGzip::new(Vec::new()).unwrap();
        gz.write_all(&random(WINDOW as usize)).unwrap();
        assert!(gz.storing(), "a random window is followed by stored ones");
        let compressible = text((PROBE_EVERY as usize + 1) * WINDOW as usize);
        gz.write_all(&compressible).unwrap();
        assert!(!gz.storing(), "the probe found compressible data again");
        let out = gz.finish().unwrap();
        let back = gunzip(&out);
        assert_eq!(back.len(), WINDOW as usize + compressible.len());
        assert_eq!(&back[WINDOW as usize..], &compressible[..]);
    }

    #[test]
    fn compressible_data_is_compressed() {
        let data = text(3 << 20);
        let gz = gzip(&data, 100_000);
        assert_eq!(gunzip(&gz), data);
        assert!(gz.len() < data.len() / 20, "{}", gz.len());
    }

    #[test]
    fn mixed_data_round_trips_whatever_the_write_sizes() {
        let mut data = text(1 << 20);
        data.extend(random(3 << 20));
        data.extend(text(10 << 20));
        data.extend(random(12345));
        for chunk in [1 << 20, 7777, (3 << 20) + 1] {
            assert_eq!(gunzip(&gzip(&data, chunk)), data);
        }
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        let mut data = random(2 << 20);
        data.extend(text(2 << 20));
        assert_eq!(gzip(&data, 1 << 20), gzip(&data, 4096));
    }

    #[test]
    fn empty_input_is_a_valid_empty_member() {
        let gz = gzip(&[], 1);
        assert!(gunzip(&gz).is_empty());
    }
}
