//! `--tail N`: finding where the last N wanted records start without reading the whole log.
//!
//! Plain files are walked backwards in blocks from their end (json-file by newlines, the
//! binary format by each frame's trailing length), newest file first, and older files are
//! opened only while more records are needed. A compressed file cannot be read backwards,
//! so it is counted front to back and the reader later skips the surplus. If a binary
//! file's frames do not chain backwards (a torn or corrupt frame), that file is counted
//! front to back instead, with resynchronisation.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::config::Format;
use super::files::LogFile;
use super::local::{self, Frame};
use super::reader::Filter;
use super::records::{Next, Records, MAX_JSON_LINE};
use super::{jsonfile, LogError};

const BLOCK: u64 = 64 * 1024;

/// Where reading starts in the first file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// At this byte offset of a plain file.
    Offset(u64),
    /// At the beginning, skipping this many wanted records (compressed files).
    Skip(usize),
}

/// Outcome of searching one file.
enum Found {
    /// The record starting the tail is in this file.
    At(Start),
    /// The whole file holds only this many wanted records.
    Counted(usize),
}

/// Finds the file (index into `files`, oldest first) and position where the last `n`
/// records accepted by `filter` begin; the beginning of the log if there are fewer.
pub(crate) fn find_start(
    files: &[LogFile],
    format: Format,
    n: usize,
    filter: &Filter,
) -> Result<(usize, Start), LogError> {
    if n == 0 {
        // Nothing from the past: start at the end of the newest file.
        return Ok(match files.last() {
            None => (0, Start::Offset(0)),
            Some(f) if f.gz => (files.len(), Start::Offset(0)),
            Some(f) => (files.len() - 1, Start::Offset(size_of(f)?)),
        });
    }
    let mut remaining = n;
    for (i, f) in files.iter().enumerate().rev() {
        let found = if f.gz {
            count_forward(f, format, remaining, filter)
        } else {
            let size = size_of(f)?;
            match format {
                Format::JsonFile => json_backward(f, size, remaining, filter),
                Format::Local => local_backward(f, size, remaining, filter),
            }
        }
        .map_err(LogError::at("reading log file", &f.path))?;
        match found {
            Found::At(start) => return Ok((i, start)),
            Found::Counted(c) => remaining -= c.min(remaining),
        }
    }
    Ok((0, Start::Offset(0)))
}

fn size_of(f: &LogFile) -> Result<u64, LogError> {
    Ok(f.file
        .metadata()
        .map_err(LogError::at("reading log file metadata", &f.path))?
        .len())
}

/// Counts the wanted records of a compressed file, which can only be read front to back.
fn count_forward(f: &LogFile, format: Format, want: usize, filter: &Filter) -> io::Result<Found> {
    let mut records = Records::gz(f.file.try_clone()?, format, f.path.clone());
    let mut total = 0usize;
    while let Next::Entry(e, _) = records.next()? {
        if filter.accepts(&e) {
            total += 1;
        }
    }
    Ok(if total >= want {
        Found::At(Start::Skip(total - want))
    } else {
        Found::Counted(total)
    })
}

/// A window over a file for reading it backwards.
struct Back<'a> {
    file: &'a File,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    at: u64,
}

impl<'a> Back<'a> {
    fn new(file: &'a File) -> Self {
        Back {
            file,
            buf: Vec::new(),
            at: 0,
        }
    }

    /// Bytes `[from, to)`, reading the block that ends at `to` if they are not loaded.
    fn range(&mut self, from: u64, to: u64) -> io::Result<&[u8]> {
        let loaded = from >= self.at && to <= self.at + self.buf.len() as u64;
        if !loaded {
            let start = from.min(to.saturating_sub(BLOCK));
            // The caller bounds ranges by MAX_JSON_LINE or local::MAX_PAYLOAD (≤ a few MiB).
            let len = usize::try_from(to - start).unwrap_or(usize::MAX);
            self.buf.resize(len, 0);
            self.file.read_exact_at(&mut self.buf, start)?;
            self.at = start;
        }
        let (lo, hi) = ((from - self.at) as usize, (to - self.at) as usize);
        Ok(&self.buf[lo..hi])
    }

    /// The offset just past the last `\n` before `end`, or 0 if there is none.
    fn line_start(&mut self, end: u64) -> io::Result<u64> {
        let mut hi = end;
        while hi > 0 {
            let lo = hi.saturating_sub(BLOCK);
            if let Some(i) = self.range(lo, hi)?.iter().rposition(|&b| b == b'\n') {
                return Ok(lo + i as u64 + 1);
            }
            hi = lo;
        }
        Ok(0)
    }
}

fn json_backward(f: &LogFile, size: u64, want: usize, filter: &Filter) -> io::Result<Found> {
    let mut back = Back::new(&f.file);
    // Anything after the last newline is a record still being written.
    let mut end = back.line_start(size)?;
    let mut count = 0;
    while end > 0 {
        let start = back.line_start(end - 1)?;
        if end - 1 - start <= MAX_JSON_LINE as u64 {
            match jsonfile::decode(back.range(start, end - 1)?) {
                Ok(e) if filter.accepts(&e) => {
                    count += 1;
                    if count == want {
                        return Ok(Found::At(Start::Offset(start)));
                    }
                }
                Ok(_) => {}
                Err(why) => {
                    tracing::warn!(path = %f.path.display(), offset = start, error = %why, "skipped corrupt log record");
                }
            }
        }
        end = start;
    }
    Ok(Found::Counted(count))
}

fn local_backward(f: &LogFile, size: u64, want: usize, filter: &Filter) -> io::Result<Found> {
    let mut back = Back::new(&f.file);
    let mut end = size;
    let mut count = 0;
    while end > 0 {
        let total = match end.checked_sub(4) {
            Some(t) => local::trailer_len(back.range(t, end)?).map(|n| n as u64),
            None => None,
        };
        let Some(start) = total.and_then(|t| end.checked_sub(t)) else {
            return fallback(f, end, want - count, count, filter);
        };
        let frame = back.range(start, end)?;
        if local::check(frame) != Frame::Complete(frame.len()) {
            return fallback(f, end, want - count, count, filter);
        }
        if let Some(e) = local::decode(frame) {
            if filter.accepts(&e) {
                count += 1;
                if count == want {
                    return Ok(Found::At(Start::Offset(start)));
                }
            }
        }
        end = start;
    }
    Ok(Found::Counted(count))
}

/// The frames before `end` do not chain backwards: count them front to back instead.
fn fallback(
    f: &LogFile,
    end: u64,
    want: usize,
    counted: usize,
    filter: &Filter,
) -> io::Result<Found> {
    tracing::debug!(path = %f.path.display(), "log file does not read backwards; scanning it");
    let file = f.file.try_clone()?;
    let mut records = Records::plain(file, Format::Local, f.path.clone(), 0);
    let mut last: VecDeque<u64> = VecDeque::new();
    let mut total = 0;
    while let Next::Entry(e, at) = records.next()? {
        if at >= end {
            break;
        }
        if filter.accepts(&e) {
            total += 1;
            if last.len() == want {
                last.pop_front();
            }
            last.push_back(at);
        }
    }
    Ok(match last.front() {
        Some(&at) if total >= want => Found::At(Start::Offset(at)),
        _ => Found::Counted(counted + total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::files::open_plain;
    use crate::logs::{local, Stream};
    use chrono::{DateTime, Utc};

    fn all() -> Filter {
        Filter {
            since: None,
            until: None,
            stdout: true,
            stderr: true,
        }
    }

    #[test]
    fn json_tail_ignores_a_record_still_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let rec = |n: u32| {
            format!("{{\"log\":\"{n}\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:0{n}Z\"}}\n")
        };
        std::fs::write(
            &path,
            format!("{}{}{}{{\"log\":\"3", rec(0), rec(1), rec(2)),
        )
        .unwrap();
        let files = vec![open_plain(&path).unwrap().unwrap()];
        let start = find_start(&files, Format::JsonFile, 2, &all()).unwrap();
        assert_eq!(start, (0, Start::Offset(rec(0).len() as u64)));
        let start = find_start(&files, Format::JsonFile, 9, &all()).unwrap();
        assert_eq!(start, (0, Start::Offset(0)));
        let size = std::fs::metadata(&path).unwrap().len();
        let start = find_start(&files, Format::JsonFile, 0, &all()).unwrap();
        assert_eq!(start, (0, Start::Offset(size)));
    }

    #[test]
    fn local_tail_walks_trailers_and_counts_only_wanted_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let t = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        let mut bytes = Vec::new();
        for i in 0..6u8 {
            let stream = if i % 2 == 0 {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            local::encode(&mut bytes, stream, &[b'a' + i], false, &t);
        }
        std::fs::write(&path, &bytes).unwrap();
        let files = vec![open_plain(&path).unwrap().unwrap()];
        let stderr_only = Filter {
            stdout: false,
            ..all()
        };
        let frame = (local::OVERHEAD + 1) as u64;
        let start = find_start(&files, Format::Local, 2, &stderr_only).unwrap();
        assert_eq!(start, (0, Start::Offset(3 * frame)));
        // A broken trailer in the middle: the file is counted forwards instead.
        bytes[(2 * frame - 1) as usize] = 0xee;
        std::fs::write(&path, &bytes).unwrap();
        let files = vec![open_plain(&path).unwrap().unwrap()];
        let start = find_start(&files, Format::Local, 5, &all()).unwrap();
        assert_eq!(start, (0, Start::Offset(0)));
        let start = find_start(&files, Format::Local, 4, &all()).unwrap();
        assert_eq!(start, (0, Start::Offset(2 * frame)));
    }
}
