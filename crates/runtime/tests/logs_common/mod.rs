//! Helpers shared by the `logs_*` integration tests: configs, fixed times, and collecting
//! what a reader yields.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use berth_runtime::logs::{read, LogConfig, LogEntry, LogReader, ReadOptions};
use chrono::{DateTime, TimeZone, Utc};

pub const ID: &str = "c0ffee";

pub fn config(driver: &str, opts: &[(&str, &str)]) -> LogConfig {
    let opts: BTreeMap<String, String> = opts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LogConfig::parse(driver, &opts).expect("valid log config")
}

/// 2023-01-01T00:00:00Z plus `secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_672_531_200 + secs, 0)
        .single()
        .expect("valid time")
}

pub fn reader(dir: &Path, cfg: &LogConfig, opts: ReadOptions) -> LogReader {
    read(dir, ID, cfg, opts).expect("log opens for reading")
}

pub fn entries(r: LogReader) -> Vec<LogEntry> {
    r.map(|e| e.expect("log entry")).collect()
}

pub fn text(e: &LogEntry) -> String {
    String::from_utf8_lossy(&e.line).into_owned()
}

pub fn lines(dir: &Path, cfg: &LogConfig, opts: ReadOptions) -> Vec<String> {
    entries(reader(dir, cfg, opts)).iter().map(text).collect()
}

/// "line 0007\n"-style lines for `range`.
pub fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i:04}\n")).collect()
}

/// The names of the files in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}
