//! The writing half, run by a container's shim: it turns the chunks read off the
//! container's stdout and stderr pipes into records and appends them to the log file,
//! rotating it when it is full.
//!
//! The shim has a tiny memory budget, so this keeps no thread and no large buffer: at most
//! one unfinished line (≤ 16 KiB) per stream, and the records of one chunk being encoded
//! (see `sink.rs`).
//!
//! Lines are cut as docker cuts them: at `\n`, and every 16 KiB when a line runs longer
//! (those pieces are "partial" records, and share the time of the first piece).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::sink::Sink;
use super::{jsonfile, LogConfig, LogError, Stream};

/// The longest line kept whole; longer lines are cut into partial records of this size.
pub const MAX_LINE: usize = 16 * 1024;

/// Bytes of one stream's unfinished line.
#[derive(Default)]
struct LineBuf {
    pending: Vec<u8>,
    /// Time of the first partial record of the line being cut, shared by its pieces.
    partial_time: Option<DateTime<Utc>>,
    /// When the bytes in `pending` started to arrive.
    pending_since: Option<DateTime<Utc>>,
}

/// Appends a container's output to its log. Dropping it flushes unfinished lines.
pub struct LogWriter {
    sink: Option<Sink>,
    lines: [LineBuf; 2],
}

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

impl LogWriter {
    /// Opens (creating it if needed) the log of container `container_id` kept in `dir`, at
    /// [`LogConfig::log_path`]. For the `none` driver the writer discards everything.
    pub fn open(dir: &Path, container_id: &str, config: &LogConfig) -> Result<LogWriter, LogError> {
        let lines = [LineBuf::default(), LineBuf::default()];
        let (Some(format), Some(path)) = (config.format(), config.log_path(dir, container_id))
        else {
            return Ok(LogWriter { sink: None, lines });
        };
        let sink = Sink::open(format, path, config)?;
        Ok(LogWriter {
            sink: Some(sink),
            lines,
        })
    }

    /// The current log file, `None` for the `none` driver.
    pub fn path(&self) -> Option<&Path> {
        self.sink.as_ref().map(|s| s.path.as_path())
    }

    /// Attributes added to every json-file record (docker's `labels`/`env`/`tag` options),
    /// shown by `logs --details`. The `local` format does not store them.
    pub fn set_attrs(&mut self, attrs: &BTreeMap<String, String>) {
        if let Some(sink) = &mut self.sink {
            sink.attrs = jsonfile::encode_attrs(attrs);
        }
    }

    /// Takes the next chunk read from `stream` (any size, split anywhere) and writes the
    /// records it completes; `time` stamps them.
    pub fn write(
        &mut self,
        stream: Stream,
        data: &[u8],
        time: DateTime<Utc>,
    ) -> Result<(), LogError> {
        let Some(sink) = &mut self.sink else {
            return Ok(());
        };
        let split = split_lines(sink, &mut self.lines[index(stream)], stream, data, time);
        let flushed = sink.flush();
        split.and(flushed)
    }

    /// Writes what is left of an unfinished line on `stream` as a partial record, as when
    /// the stream reaches its end.
    pub fn flush_partial_stream(&mut self, stream: Stream) -> Result<(), LogError> {
        let Some(sink) = &mut self.sink else {
            return Ok(());
        };
        let lb = &mut self.lines[index(stream)];
        if lb.pending.is_empty() {
            return Ok(());
        }
        let t = lb
            .partial_time
            .take()
            .or(lb.pending_since)
            .unwrap_or_else(Utc::now);
        let emitted = emit(sink, lb, stream, &[], false, t);
        let flushed = sink.flush();
        emitted.and(flushed)
    }

    /// [`flush_partial_stream`](Self::flush_partial_stream) for both streams; call it when
    /// the container's output has ended.
    pub fn flush_partial(&mut self) -> Result<(), LogError> {
        let out = self.flush_partial_stream(Stream::Stdout);
        let err = self.flush_partial_stream(Stream::Stderr);
        out.and(err)
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if let Err(e) = self.flush_partial() {
            tracing::warn!(error = %e, "writing the last partial log line");
        }
    }
}

/// Cuts `data` into records as described in the module documentation.
fn split_lines(
    sink: &mut Sink,
    lb: &mut LineBuf,
    stream: Stream,
    data: &[u8],
    time: DateTime<Utc>,
) -> Result<(), LogError> {
    let mut rest = data;
    // `pending` always holds less than MAX_LINE bytes here, so `room` is never zero.
    while !rest.is_empty() {
        let room = MAX_LINE - lb.pending.len();
        let window = &rest[..rest.len().min(room)];
        if let Some(nl) = window.iter().position(|&b| b == b'\n') {
            let t = lb.partial_time.take().unwrap_or(time);
            emit(sink, lb, stream, &window[..nl], true, t)?;
            rest = &rest[nl + 1..];
        } else if window.len() == room {
            // As much as a line may hold and no end in sight: cut a partial record.
            let t = *lb.partial_time.get_or_insert(time);
            emit(sink, lb, stream, window, false, t)?;
            rest = &rest[room..];
        } else {
            if lb.pending.is_empty() {
                lb.pending_since = Some(time);
            }
            push_pending(&mut lb.pending, window);
            break;
        }
    }
    Ok(())
}

/// Appends to an unfinished line, growing its buffer no further than a line can be (plain
/// doubling could leave up to twice that allocated).
fn push_pending(pending: &mut Vec<u8>, data: &[u8]) {
    let need = pending.len() + data.len();
    if need > pending.capacity() {
        let cap = (pending.capacity() * 2).max(need).min(MAX_LINE.max(need));
        pending.reserve_exact(cap - pending.len());
    }
    pending.extend_from_slice(data);
}

/// Writes `lb.pending` followed by `tail` as one record and empties `lb.pending`.
fn emit(
    sink: &mut Sink,
    lb: &mut LineBuf,
    stream: Stream,
    tail: &[u8],
    newline: bool,
    time: DateTime<Utc>,
) -> Result<(), LogError> {
    if newline {
        lb.partial_time = None;
    }
    let result = if lb.pending.is_empty() {
        sink.record(stream, tail, newline, time)
    } else {
        // Copying is the rare case: only a line that arrived in several chunks.
        push_pending(&mut lb.pending, tail);
        sink.record(stream, &lb.pending, newline, time)
    };
    lb.pending.clear();
    lb.pending_since = None;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(n: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(1_672_531_200, n).unwrap()
    }

    fn writer(dir: &Path, driver: &str) -> LogWriter {
        let cfg = LogConfig::parse(driver, &BTreeMap::new()).unwrap();
        LogWriter::open(dir, "c", &cfg).unwrap()
    }

    fn logs(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("c-json.log")).unwrap()
    }

    #[test]
    fn lines_split_across_chunks_take_the_time_of_their_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "json-file");
        w.write(Stream::Stdout, b"hel", t(1)).unwrap();
        w.write(Stream::Stderr, b"err\nx", t(2)).unwrap();
        w.write(Stream::Stdout, b"lo\nbye\n", t(3)).unwrap();
        drop(w);
        assert_eq!(
            logs(dir.path()),
            "{\"log\":\"err\\n\",\"stream\":\"stderr\",\"time\":\"2023-01-01T00:00:00.000000002Z\"}\n\
             {\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:00.000000003Z\"}\n\
             {\"log\":\"bye\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:00.000000003Z\"}\n\
             {\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2023-01-01T00:00:00.000000002Z\"}\n"
        );
    }

    #[test]
    fn long_lines_are_cut_every_16k_and_share_the_first_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "json-file");
        let line = vec![b'a'; 2 * MAX_LINE + 10];
        for (i, chunk) in line.chunks(3000).enumerate() {
            w.write(Stream::Stdout, chunk, t(10 + i as u32)).unwrap();
        }
        w.write(Stream::Stdout, b"\n", t(99)).unwrap();
        let text = logs(dir.path());
        let recs: Vec<&str> = text.lines().collect();
        assert_eq!(recs.len(), 3);
        let a16k = "a".repeat(MAX_LINE);
        // The first piece is cut in the 6th chunk (index 5), whose time all pieces share.
        let time = "2023-01-01T00:00:00.000000015Z";
        assert_eq!(
            recs[0],
            format!("{{\"log\":\"{a16k}\",\"stream\":\"stdout\",\"time\":\"{time}\"}}")
        );
        assert_eq!(recs[1], recs[0]);
        assert_eq!(
            recs[2],
            format!("{{\"log\":\"aaaaaaaaaa\\n\",\"stream\":\"stdout\",\"time\":\"{time}\"}}")
        );
    }

    #[test]
    fn a_line_of_exactly_16k_is_cut_before_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "json-file");
        let mut data = vec![b'b'; MAX_LINE];
        data.push(b'\n');
        w.write(Stream::Stdout, &data, t(1)).unwrap();
        let text = logs(dir.path());
        let recs: Vec<&str> = text.lines().collect();
        assert_eq!(recs.len(), 2);
        assert!(recs[0].starts_with("{\"log\":\"bbbb") && recs[0].contains("bbbb\",\"stream\""));
        assert!(recs[1].starts_with("{\"log\":\"\\n\""));
    }

    #[test]
    fn flush_writes_the_unterminated_end_as_partial() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "json-file");
        w.write(Stream::Stdout, b"no newline", t(5)).unwrap();
        w.flush_partial().unwrap();
        w.flush_partial().unwrap();
        assert_eq!(
            logs(dir.path()),
            "{\"log\":\"no newline\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:00.000000005Z\"}\n"
        );
    }

    #[test]
    fn a_torn_last_record_is_closed_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c-json.log"), "{\"log\":\"tor").unwrap();
        let mut w = writer(dir.path(), "json-file");
        w.write(Stream::Stdout, b"ok\n", t(0)).unwrap();
        assert_eq!(
            logs(dir.path()),
            "{\"log\":\"tor\n{\"log\":\"ok\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:00Z\"}\n"
        );
    }

    #[test]
    fn none_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "none");
        w.write(Stream::Stdout, b"x\n", t(0)).unwrap();
        assert!(w.path().is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
