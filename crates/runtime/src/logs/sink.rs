//! The log file as the writer appends to it: records of one chunk batched into one
//! `write(2)`, the size tracked to rotate before the file would pass `max-size`, and a
//! record torn by a crash or a failed write fenced off so that only it is lost.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::config::Format;
use super::rotate::{self, Rotated};
use super::{gojson, jsonfile, local, LogConfig, LogError, Stream};

/// Records of one `write` call are batched into one `write(2)` up to about this size.
const BATCH: usize = 16 * 1024;

/// Record buffers that grew past this (a long line of escaped binary) are given back.
const BUF_KEEP: usize = 32 * 1024;

/// The open log file and how to append to it.
pub(crate) struct Sink {
    format: Format,
    pub path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_file: u32,
    compress: bool,
    /// Encoded `attrs` object added to every json-file record (empty for none).
    pub attrs: Vec<u8>,
    buf: Vec<u8>,
    last_time: Option<DateTime<Utc>>,
    /// A failed write may have left part of a record; the next json-file record starts on
    /// a fresh line so that only the torn one is lost.
    torn: bool,
}

/// Whether a json-file log of `size` bytes ends inside a record (the next record must
/// start on a new line). Binary frames need no such care: readers resynchronise.
fn ends_torn(format: Format, path: &Path, size: u64) -> Result<bool, LogError> {
    if format != Format::JsonFile || size == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    File::open(path)
        .and_then(|f| f.read_exact_at(&mut last, size - 1))
        .map_err(LogError::at("reading log file", path))?;
    Ok(last[0] != b'\n')
}

fn write_out(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)
}

impl Sink {
    /// Opens (creating it and its directory if needed) the log file at `path`.
    pub fn open(format: Format, path: PathBuf, config: &LogConfig) -> Result<Sink, LogError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(LogError::at("creating log directory", parent))?;
        }
        let file = rotate::open_append(&path)?;
        let size = file
            .metadata()
            .map_err(LogError::at("reading log file size", &path))?
            .len();
        let mut sink = Sink {
            format,
            path,
            file,
            size,
            max_size: config.max_size,
            max_file: config.max_file,
            compress: config.compress,
            attrs: Vec::new(),
            buf: Vec::new(),
            last_time: None,
            torn: false,
        };
        // A crash (of the shim or the host) may have cut the last record short.
        sink.torn = ends_torn(format, &sink.path, size)?;
        Ok(sink)
    }

    /// Encodes a record into the batch, first writing out the batch and rotating if the
    /// record would take the file past `max_size`.
    pub fn record(
        &mut self,
        stream: Stream,
        line: &[u8],
        newline: bool,
        time: DateTime<Utc>,
    ) -> Result<(), LogError> {
        if self.buf.len() >= BATCH {
            self.flush()?;
        }
        let start = self.buf.len();
        // Reserve the record's size up front: growing by doubling would copy, and could
        // leave twice the room needed. Short lines get the worst case (every byte escaped
        // to six), long ones their exact escaped length.
        let need = match self.format {
            Format::JsonFile if line.len() > 1024 => gojson::escaped_len(line),
            Format::JsonFile => line.len() * 6,
            Format::Local => line.len(),
        } + self.attrs.len()
            + 128;
        self.buf.reserve_exact(need);
        if self.torn && self.format == Format::JsonFile {
            self.buf.push(b'\n');
            self.torn = false;
        }
        match self.format {
            Format::JsonFile => {
                jsonfile::encode(&mut self.buf, stream, line, newline, &time, &self.attrs)
            }
            Format::Local => local::encode(&mut self.buf, stream, line, !newline, &time),
        }
        let len = (self.buf.len() - start) as u64;
        // `size` counts the batch too: it is what the file holds once the batch is out.
        if self.size > 0 && self.size.saturating_add(len) > self.max_size {
            if start > 0 {
                let result = write_out(&mut self.file, &self.buf[..start]);
                self.buf.drain(..start);
                self.written(result)?;
            }
            self.rotate()?;
        }
        self.size += len;
        self.last_time = Some(time);
        Ok(())
    }

    /// Writes the batch to the file.
    pub fn flush(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = write_out(&mut self.file, &self.buf);
        self.buf.clear();
        if self.buf.capacity() > BUF_KEEP {
            self.buf = Vec::new();
        }
        self.written(result)
    }

    fn written(&mut self, result: std::io::Result<()>) -> Result<(), LogError> {
        result.map_err(|e| {
            // Learn what the file really holds (the batch is dropped, perhaps half
            // written), so that size and `torn` stay true.
            if let Ok(m) = self.file.metadata() {
                self.size = m.len();
                self.torn = ends_torn(self.format, &self.path, self.size).unwrap_or(true);
            }
            self.buf.clear();
            LogError::io("writing log file", &self.path, e)
        })
    }

    fn rotate(&mut self) -> Result<(), LogError> {
        let old = Rotated {
            ino: rotate::inode(&self.file).unwrap_or(0),
            size: self.size,
            last_time: self.last_time,
        };
        self.file = rotate::rotate(&self.path, self.max_file, self.compress, &old)?;
        self.size = 0;
        self.torn = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cfg(opts: &[(&str, &str)]) -> LogConfig {
        let opts: BTreeMap<String, String> = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LogConfig::parse("json-file", &opts).unwrap()
    }

    #[test]
    fn a_batch_is_split_at_the_rotation_and_no_file_passes_max_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let config = cfg(&[("max-size", "300"), ("max-file", "9")]);
        let mut sink = Sink::open(Format::JsonFile, path.clone(), &config).unwrap();
        let t = DateTime::from_timestamp(0, 0).unwrap();
        for i in 0..20 {
            sink.record(Stream::Stdout, format!("{i:02}").as_bytes(), true, t)
                .unwrap();
        }
        sink.flush().unwrap();
        // Each record is 63 bytes: four fit in 300.
        let mut records = 0;
        for name in ["c.log", "c.log.1", "c.log.2", "c.log.3", "c.log.4"] {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert_eq!(text.len(), 4 * 63, "{name}");
            records += text.lines().count();
        }
        assert_eq!(records, 20);
        assert!(!dir.path().join("c.log.5").exists());
    }

    #[test]
    fn torn_json_is_detected_by_the_last_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        std::fs::write(&path, b"{}\n{\"lo").unwrap();
        assert!(ends_torn(Format::JsonFile, &path, 7).unwrap());
        assert!(!ends_torn(Format::JsonFile, &path, 3).unwrap());
        assert!(!ends_torn(Format::Local, &path, 7).unwrap());
    }
}
