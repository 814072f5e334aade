//! `GET /containers/{id}/logs`: a container's log as docker streams it — multiplexed frames
//! (raw with a terminal), optionally timestamped, following until the container stops.

use std::io::Write;
use std::sync::Arc;

use berth_runtime::logs::{LogConfig, LogReader, ReadOptions, Stream};
use chrono::{DateTime, Utc};

use super::record::Status;
use super::ContainerService;
use crate::error::{EngineError, EngineResult};

#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub timestamps: bool,
    pub tail: Option<usize>,
    pub details: bool,
}

/// An open log and how to write it out.
pub struct LogStream {
    pub reader: LogReader,
    pub tty: bool,
    pub timestamps: bool,
    pub details: bool,
}

impl ContainerService {
    /// Opens a container's log. Following stops when the container does (right away if it
    /// is not running). Blocking.
    pub fn open_logs(self: &Arc<Self>, name: &str, opts: &LogsOptions) -> EngineResult<LogStream> {
        if !opts.stdout && !opts.stderr {
            return Err(EngineError::invalid(
                "Bad parameters: you must choose at least one stream",
            ));
        }
        let c = self.find(name)?;
        let rec = c.record();
        let config = LogConfig::parse(
            &super::create::log_driver(&rec.host_config),
            &rec.host_config.log_config.config,
        )
        .map_err(|e| EngineError::invalid(e.to_string()))?;
        let running = matches!(
            rec.state.status,
            Status::Running | Status::Paused | Status::Restarting
        );
        let read_opts = ReadOptions {
            since: opts.since,
            until: opts.until,
            tail: opts.tail,
            follow: opts.follow && running,
            stdout: opts.stdout,
            stderr: opts.stderr,
        };
        let reader = berth_runtime::logs::read(&self.data_dir(&c.id), &c.id, &config, read_opts)
            .map_err(|e| {
                if matches!(e, berth_runtime::logs::LogError::ReadingUnsupported) {
                    EngineError::invalid(format!(
                        "configured logging driver does not support reading: {}",
                        config.driver.name()
                    ))
                } else {
                    EngineError::internal(e.to_string())
                }
            })?;
        if opts.follow && running {
            let stop = reader.stop_handle();
            let mut rx = c.lifecycle.subscribe();
            let seen = rx.borrow().exits;
            tokio::spawn(async move {
                let _ = rx.wait_for(|l| l.exits > seen || l.removed).await;
                stop.stop();
            });
        }
        Ok(LogStream {
            reader,
            tty: rec.config.tty,
            timestamps: opts.timestamps,
            details: opts.details,
        })
    }
}

impl LogStream {
    /// Writes every entry to `out` in docker's format. Blocking.
    pub fn copy_to(self, out: &mut dyn Write) -> EngineResult<()> {
        for entry in self.reader {
            let entry = entry.map_err(|e| EngineError::internal(e.to_string()))?;
            let mut payload = Vec::with_capacity(entry.line.len() + 40);
            if self.timestamps {
                payload.extend_from_slice(berth_runtime::logs::format_time(&entry.time).as_bytes());
                payload.push(b' ');
            }
            if self.details && !entry.attrs.is_empty() {
                let attrs: Vec<String> = entry
                    .attrs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                payload.extend_from_slice(attrs.join(",").as_bytes());
                payload.push(b' ');
            }
            payload.extend_from_slice(&entry.line);
            let io = |e: std::io::Error| EngineError::unavailable(format!("client went away: {e}"));
            if !self.tty {
                let stream = if entry.stream == Stream::Stdout { 1 } else { 2 };
                out.write_all(&berth_runtime::shim::protocol::frame_header(
                    stream,
                    payload.len(),
                ))
                .map_err(io)?;
            }
            out.write_all(&payload).map_err(io)?;
            out.flush().map_err(io)?;
        }
        Ok(())
    }
}
