//! The reading half, run by the engine for `logs`: a blocking iterator over a container's
//! log entries across its rotated files, oldest first, with `--tail`, `--since`,
//! `--until`, stream selection and, in `follow.rs`, `--follow`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::config::Format;
use super::files::{self, LogFile};
use super::follow::{Follow, StopHandle};
use super::records::{Next, Records};
use super::tail::{self, Start};
use super::{LogConfig, LogEntry, LogError, ReadOptions, Stream};

/// Which entries a read wants.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub stdout: bool,
    pub stderr: bool,
}

impl Filter {
    /// Whether the entry is shown (and counts towards `--tail`).
    pub fn accepts(&self, e: &LogEntry) -> bool {
        let stream = match e.stream {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
        };
        stream && self.since.is_none_or(|s| e.time >= s) && !self.past_until(e)
    }

    /// Whether the entry is after `--until`: reading stops there, as docker's does.
    pub fn past_until(&self, e: &LogEntry) -> bool {
        self.until.is_some_and(|u| e.time > u)
    }
}

/// A file waiting to be read.
pub(crate) struct Queued {
    pub file: LogFile,
    pub start: Start,
    /// The current file of a followed log: reaching its end means waiting, not moving on.
    pub live: bool,
}

/// The file being read.
pub(crate) struct Active {
    pub records: Records,
    pub live: bool,
    /// Identity of the file, to notice when the current name stops referring to it.
    pub ino: u64,
    pub path: PathBuf,
}

/// A container's log entries, oldest first. With `follow`, [`Iterator::next`] blocks until
/// an entry is written or the [`StopHandle`] ends the read; call it from a thread that may
/// block. An I/O error is returned once and ends the iteration; corrupt records are
/// skipped (with a warning), never returned.
pub struct LogReader {
    pub(crate) format: Format,
    pub(crate) base: PathBuf,
    pub(crate) max_file: u32,
    pub(crate) filter: Filter,
    pub(crate) queue: VecDeque<Queued>,
    pub(crate) active: Option<Active>,
    /// Wanted entries still to skip at the start (a `--tail` that starts in a gzip file).
    pub(crate) skip: usize,
    pub(crate) follow: Option<Follow>,
    pub(crate) stop: StopHandle,
    pub(crate) done: bool,
}

/// Opens the log of container `container_id` kept in `dir` for reading.
///
/// Fails with [`LogError::ReadingUnsupported`] for the `none` driver. A log that does not
/// exist yet reads as empty (and, followed, is waited for).
pub fn read(
    dir: &Path,
    container_id: &str,
    config: &LogConfig,
    opts: ReadOptions,
) -> Result<LogReader, LogError> {
    let (Some(format), Some(base)) = (config.format(), config.log_path(dir, container_id)) else {
        return Err(LogError::ReadingUnsupported);
    };
    let filter = Filter {
        since: opts.since,
        until: opts.until,
        stdout: opts.stdout,
        stderr: opts.stderr,
    };
    let set = files::open_set(&base, config.max_file)?;
    let mut files = set.rotated;
    if let Some(since) = opts.since {
        // A compressed file records its last entry's time: skip it without inflating it.
        files.retain(|f| !(f.gz && f.last_time.is_some_and(|t| t < since)));
    }
    let live_index = set.current.as_ref().map(|_| files.len());
    files.extend(set.current);
    let (first, start) = match opts.tail {
        Some(n) => tail::find_start(&files, format, n, &filter)?,
        None => (0, Start::Offset(0)),
    };
    let queue = files
        .into_iter()
        .enumerate()
        .skip(first)
        .map(|(i, file)| Queued {
            file,
            start: if i == first { start } else { Start::Offset(0) },
            live: opts.follow && Some(i) == live_index,
        })
        .collect();
    let stop = StopHandle::new();
    let follow = opts.follow.then(|| Follow::new(&base));
    Ok(LogReader {
        format,
        base,
        max_file: config.max_file,
        filter,
        queue,
        active: None,
        skip: 0,
        follow,
        stop,
        done: false,
    })
}

impl LogReader {
    /// A handle to end a followed read: [`StopHandle::stop`] when the container has
    /// stopped (what is left is still read), [`StopHandle::cancel`] when nobody listens.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    pub(crate) fn activate(&mut self, q: Queued) {
        let Queued { file, start, live } = q;
        let LogFile {
            path,
            file,
            gz,
            ino,
            ..
        } = file;
        let records = match (gz, start) {
            (true, start) => {
                if let Start::Skip(n) = start {
                    self.skip = n;
                }
                Records::gz(file, self.format, path.clone())
            }
            (false, Start::Offset(at)) => Records::plain(file, self.format, path.clone(), at),
            (false, Start::Skip(n)) => {
                self.skip = n;
                Records::plain(file, self.format, path.clone(), 0)
            }
        };
        self.active = Some(Active {
            records,
            live,
            ino,
            path,
        });
    }

    /// One step of reading: an entry, or `None` when the state moved on (a file ended,
    /// a record was filtered out, a wait happened).
    fn step(&mut self) -> Result<Option<LogEntry>, LogError> {
        let Some(active) = &mut self.active else {
            if let Some(q) = self.queue.pop_front() {
                self.activate(q);
            } else if self.follow.is_some() {
                self.follow_without_file()?;
            } else {
                self.done = true;
            }
            return Ok(None);
        };
        let next = active
            .records
            .next()
            .map_err(LogError::at("reading log file", &active.path))?;
        match next {
            Next::Entry(entry, _) => {
                if self.filter.past_until(&entry) {
                    self.done = true;
                    return Ok(None);
                }
                if !self.filter.accepts(&entry) {
                    return Ok(None);
                }
                if self.skip > 0 {
                    self.skip -= 1;
                    return Ok(None);
                }
                Ok(Some(entry))
            }
            Next::End if active.live => {
                self.follow_at_end()?;
                Ok(None)
            }
            Next::End => {
                active.records.finish();
                self.active = None;
                Ok(None)
            }
        }
    }
}

impl Iterator for LogReader {
    type Item = Result<LogEntry, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.step() {
                Ok(Some(entry)) => return Some(Ok(entry)),
                Ok(None) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(stream: Stream, secs: i64) -> LogEntry {
        LogEntry {
            stream,
            time: DateTime::from_timestamp(secs, 0).unwrap(),
            line: b"x\n".to_vec(),
            partial: false,
            attrs: Vec::new(),
        }
    }

    #[test]
    fn filter_bounds_are_inclusive_and_streams_select() {
        let f = Filter {
            since: DateTime::from_timestamp(10, 0),
            until: DateTime::from_timestamp(20, 0),
            stdout: true,
            stderr: false,
        };
        assert!(!f.accepts(&entry(Stream::Stdout, 9)));
        assert!(f.accepts(&entry(Stream::Stdout, 10)));
        assert!(f.accepts(&entry(Stream::Stdout, 20)));
        assert!(!f.accepts(&entry(Stream::Stderr, 15)));
        assert!(!f.past_until(&entry(Stream::Stdout, 20)));
        assert!(f.past_until(&entry(Stream::Stderr, 21)));
    }

    #[test]
    fn a_reader_can_move_to_a_blocking_thread() {
        fn send<T: Send + 'static>() {}
        send::<LogReader>();
        send::<StopHandle>();
    }

    #[test]
    fn reading_the_none_driver_fails() {
        let cfg = LogConfig::parse("none", &Default::default()).unwrap();
        let r = read(Path::new("/nonexistent"), "c", &cfg, ReadOptions::default());
        assert!(matches!(r, Err(LogError::ReadingUnsupported)));
    }
}
