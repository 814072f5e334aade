//! Decoding records front to back from a log file (plain or gzip), for both formats.
//!
//! Reads go through `pread` at a position the decoder owns, so several decoders (and the
//! tail search) can share one open file. A record that cannot be decoded is skipped with a
//! warning; for the binary format, the decoder then searches byte by byte for the next
//! well-formed frame. Bytes after the last complete record stay buffered: in a followed
//! file they are a record still being written, and the next call picks them up.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use flate2::read::GzDecoder;

use super::config::Format;
use super::local::{self, Frame};
use super::{jsonfile, LogEntry};

/// Read size, and the initial buffer.
const CHUNK: usize = 64 * 1024;
/// A json-file line longer than this is not a record Berth wrote (the longest, a 16 KiB
/// line of control bytes, escapes to under 100 KiB).
pub(crate) const MAX_JSON_LINE: usize = 1 << 20;

/// Reads a file from a position of its own with `pread`.
pub(crate) struct PosReader {
    pub file: File,
    pub pos: u64,
}

impl Read for PosReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Where records come from.
pub(crate) enum Source {
    Plain(PosReader),
    Gz(Box<GzDecoder<PosReader>>),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gz(r) => r.read(buf),
        }
    }
}

/// The outcome of asking for the next record.
pub(crate) enum Next {
    /// A record, and the offset in the (uncompressed) file where it starts.
    Entry(LogEntry, u64),
    /// No complete record until the file grows.
    End,
}

pub(crate) struct Records {
    src: Source,
    format: Format,
    path: PathBuf,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Offset in the file of `buf[start]`.
    offset: u64,
    /// Bytes of garbage skipped since the last good record, reported when it ends.
    skipped: u64,
    /// Inside an overlong json line, dropping bytes up to its newline.
    discarding: bool,
    /// A compressed file turned out corrupt or truncated: nothing more comes from it.
    broken: bool,
}

impl Records {
    pub fn new(src: Source, format: Format, path: PathBuf, offset: u64) -> Records {
        Records {
            src,
            format,
            path,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset,
            skipped: 0,
            discarding: false,
            broken: false,
        }
    }

    /// Decodes `file` from `offset`, which must be the start of a record.
    pub fn plain(file: File, format: Format, path: PathBuf, offset: u64) -> Records {
        let src = Source::Plain(PosReader { file, pos: offset });
        Records::new(src, format, path, offset)
    }

    /// Decodes the gzip file `file` from its beginning.
    pub fn gz(file: File, format: Format, path: PathBuf) -> Records {
        let src = Source::Gz(Box::new(GzDecoder::new(PosReader { file, pos: 0 })));
        Records::new(src, format, path, 0)
    }

    /// The offset just past the bytes read from the file so far.
    pub fn read_end(&self) -> u64 {
        self.offset + (self.end - self.start) as u64
    }

    /// The plain file being read, if it is one.
    pub fn plain_file(&self) -> Option<&File> {
        match &self.src {
            Source::Plain(r) => Some(&r.file),
            Source::Gz(_) => None,
        }
    }

    /// Starts over at offset 0 (the file was truncated under the reader).
    pub fn rewind(&mut self) {
        if let Source::Plain(r) = &mut self.src {
            r.pos = 0;
        }
        self.start = 0;
        self.end = 0;
        self.offset = 0;
        self.discarding = false;
    }

    /// Reads more bytes; false at the end of the file.
    fn fill(&mut self, want: usize) -> io::Result<bool> {
        if self.broken {
            return Ok(false);
        }
        if self.start > 0 && (self.start == self.end || self.buf.len() - self.end < CHUNK) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let need = (self.end + CHUNK).max(self.start + want);
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Bad compressed data is the file's fault, not the disk's: keep what came
                // before it and go on with the next file.
                Err(e) if matches!(self.src, Source::Gz(_)) && e.raw_os_error().is_none() => {
                    tracing::warn!(path = %self.path.display(), error = %e, "corrupt compressed log file");
                    self.broken = true;
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn report_skipped(&mut self) {
        if self.skipped > 0 {
            tracing::warn!(path = %self.path.display(), bytes = self.skipped, "skipped corrupt log data");
            self.skipped = 0;
        }
    }

    /// The next record, skipping corrupt ones.
    pub fn next(&mut self) -> io::Result<Next> {
        loop {
            let avail = &self.buf[self.start..self.end];
            match self.format {
                Format::JsonFile => {
                    if let Some(nl) = avail.iter().position(|&b| b == b'\n') {
                        let at = self.offset;
                        let decoded = if self.discarding {
                            self.discarding = false;
                            None
                        } else {
                            Some(jsonfile::decode(&avail[..nl]))
                        };
                        self.consume(nl + 1);
                        match decoded {
                            Some(Ok(entry)) => return Ok(Next::Entry(entry, at)),
                            Some(Err(why)) => {
                                tracing::warn!(path = %self.path.display(), offset = at, error = %why, "skipped corrupt log record");
                            }
                            None => self.report_skipped(),
                        }
                        continue;
                    }
                    if avail.len() > MAX_JSON_LINE {
                        self.skipped += avail.len() as u64;
                        self.discarding = true;
                        let n = avail.len();
                        self.consume(n);
                    }
                    if !self.fill(0)? {
                        return Ok(Next::End);
                    }
                }
                Format::Local => match local::check(avail) {
                    Frame::Complete(n) => {
                        let at = self.offset;
                        let entry = local::decode(&avail[..n]);
                        self.report_skipped();
                        self.consume(n);
                        if let Some(entry) = entry {
                            return Ok(Next::Entry(entry, at));
                        }
                    }
                    Frame::Invalid => {
                        self.skipped += 1;
                        self.consume(1);
                    }
                    Frame::NeedMore(total) => {
                        if !self.fill(total)? {
                            return Ok(Next::End);
                        }
                    }
                },
            }
        }
    }

    /// Gives up on what is left after the last complete record (the file will not grow):
    /// it is a torn record, or garbage.
    pub fn finish(&mut self) {
        let left = (self.end - self.start) as u64 + self.skipped;
        if left > 0 {
            tracing::warn!(path = %self.path.display(), bytes = left, "skipped incomplete log record at end of file");
        }
        self.skipped = 0;
        let n = self.end - self.start;
        self.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Stream;
    use chrono::{TimeZone, Utc};
    use std::io::Write;

    fn entries(r: &mut Records) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        while let Next::Entry(e, at) = r.next().unwrap() {
            out.push((String::from_utf8_lossy(&e.line).into_owned(), at));
        }
        out
    }

    fn local_file(frames: &[(&[u8], bool)], garbage_after: usize) -> tempfile::NamedTempFile {
        let t = Utc.timestamp_opt(1, 0).unwrap();
        let mut bytes = Vec::new();
        for (i, (line, _)) in frames.iter().enumerate() {
            local::encode(&mut bytes, Stream::Stdout, line, false, &t);
            if i + 1 == garbage_after {
                bytes.extend_from_slice(&[1, 0, 0, 0, 7, 0xff, 3]);
            }
        }
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&bytes).unwrap();
        f
    }

    #[test]
    fn local_resyncs_after_garbage() {
        let f = local_file(&[(b"one", true), (b"two", true), (b"three", true)], 1);
        let file = f.reopen().unwrap();
        let mut r = Records::plain(file, Format::Local, f.path().into(), 0);
        let got = entries(&mut r);
        let lines: Vec<_> = got.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(lines, ["one\n", "two\n", "three\n"]);
        assert_eq!(got[1].1, (local::OVERHEAD + 3 + 7) as u64);
    }

    #[test]
    fn json_skips_bad_lines_and_keeps_the_torn_tail() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(
            b"{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:00Z\"}\n\
              garbage\n\
              {\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"2023-01-01T00:00:01Z\"}\n\
              {\"log\":\"c",
        )
        .unwrap();
        let mut r = Records::plain(f.reopen().unwrap(), Format::JsonFile, f.path().into(), 0);
        let lines: Vec<_> = entries(&mut r).into_iter().map(|(l, _)| l).collect();
        assert_eq!(lines, ["a\n", "b\n"]);
        let before = r.read_end();
        f.write_all(b"\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:02Z\"}\n")
            .unwrap();
        let lines: Vec<_> = entries(&mut r).into_iter().map(|(l, _)| l).collect();
        assert_eq!(lines, ["c\n"]);
        assert!(r.read_end() > before);
    }
}
