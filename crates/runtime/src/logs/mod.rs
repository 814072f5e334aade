//! Container logs: what `logs` shows, written by the shim and read by the engine.
//!
//! Each running container's shim owns its stdout and stderr and appends them, a record per
//! line, through a [`LogWriter`] to a file in the container's directory, rotating it by
//! size. The engine reads them back with [`read`], a blocking iterator of [`LogEntry`]s
//! with docker's `--tail`, `--since`, `--until`, `--follow` and stream selection.
//!
//! Drivers ([`LogConfig`]): `json-file`, byte-compatible with docker's files (tools that
//! parse those keep working); `local`, a compact binary framing of Berth's own, compressed
//! when rotated; and `none`.
//!
//! The writer and the readers are different processes and share no lock: the file layout
//! and the order of renames (see `rotate.rs`) are the protocol between them.

mod config;
mod error;
mod files;
mod follow;
mod gojson;
mod jsonfile;
mod local;
mod reader;
mod records;
mod rotate;
mod sink;
mod tail;
mod writer;

use chrono::{DateTime, Utc};

pub use config::{LogConfig, LogDriver};
pub use error::{ErrorKind, LogError};
pub use follow::{StopHandle, POLL_INTERVAL};
pub use gojson::format_time;
pub use reader::{read, LogReader};
pub use writer::{LogWriter, MAX_LINE};

/// Which output of the container a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The name docker uses in json-file records and the Engine API.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One record of a container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    /// When the shim read the line (for a line cut in pieces, when the first piece came).
    pub time: DateTime<Utc>,
    /// The bytes, ending in `\n` unless `partial`.
    pub line: Vec<u8>,
    /// A piece of a line longer than [`MAX_LINE`], or the unterminated end of the output.
    pub partial: bool,
    /// Attributes recorded with the line (json-file `attrs`, for `--details`), key-sorted.
    pub attrs: Vec<(String, String)>,
}

/// What to read, as `logs` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries at or before this time; reading ends at the first later one.
    pub until: Option<DateTime<Utc>>,
    /// Only the last N entries that pass the other filters (`Some(0)`: none of the past).
    pub tail: Option<usize>,
    /// Keep yielding entries as they are written, until stopped (see [`StopHandle`]).
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for ReadOptions {
    /// Everything, both streams, no follow.
    fn default() -> Self {
        ReadOptions {
            since: None,
            until: None,
            tail: None,
            follow: false,
            stdout: true,
            stderr: true,
        }
    }
}
