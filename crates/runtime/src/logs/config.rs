//! A container's logging configuration: the driver (`json-file`, `local`, `none`) and its
//! `--log-opt` map, validated with the messages docker gives, and where the log file lives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::LogError;

/// The logging drivers Berth implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogDriver {
    /// One JSON object per line, byte-compatible with docker's `json-file`.
    JsonFile,
    /// Berth's compact binary framing (see `local.rs`), rotated and compressed by default.
    Local,
    /// Output is discarded; reading fails.
    None,
}

impl LogDriver {
    /// The name as given to `--log-driver`.
    pub fn name(self) -> &'static str {
        match self {
            LogDriver::JsonFile => "json-file",
            LogDriver::Local => "local",
            LogDriver::None => "none",
        }
    }
}

/// The on-disk record format of a driver that keeps a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    JsonFile,
    Local,
}

/// Options that only decorate records (`--details` attributes); accepted by both file drivers.
const ATTRIBUTE_OPTS: [&str; 5] = ["labels", "labels-regex", "env", "env-regex", "tag"];

/// `json-file` defaults: docker's are unlimited, Berth bounds the disk a chatty container takes.
const JSON_MAX_SIZE: u64 = 10_000_000;
const JSON_MAX_FILE: u32 = 3;
/// `local` defaults, as docker's `local` driver has them.
const LOCAL_MAX_SIZE: u64 = 20 * 1024 * 1024;
const LOCAL_MAX_FILE: u32 = 5;

/// A validated logging configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub driver: LogDriver,
    /// Rotate before the current file would grow past this many bytes.
    pub max_size: u64,
    /// Files kept, counting the current one (1 = no rotated files).
    pub max_file: u32,
    /// Gzip rotated files.
    pub compress: bool,
    /// `labels`, `labels-regex`, `env`, `env-regex`, `tag` as given: they do not change how
    /// the log is written, the engine turns them into record attributes for `--details`.
    pub attribute_opts: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: LogDriver::JsonFile,
            max_size: JSON_MAX_SIZE,
            max_file: JSON_MAX_FILE,
            compress: false,
            attribute_opts: BTreeMap::new(),
        }
    }
}

fn invalid(msg: impl Into<String>) -> LogError {
    LogError::InvalidOption(msg.into())
}

impl LogConfig {
    /// Validates a driver name (empty means the default, `json-file`) and its `--log-opt`s.
    pub fn parse(driver: &str, opts: &BTreeMap<String, String>) -> Result<LogConfig, LogError> {
        match driver {
            "" | "json-file" => parse_json_file(opts),
            "local" => parse_local(opts),
            // Docker accepts (and ignores) any option for `none`.
            "none" => Ok(LogConfig {
                driver: LogDriver::None,
                max_size: 0,
                max_file: 1,
                compress: false,
                attribute_opts: BTreeMap::new(),
            }),
            other => Err(LogError::UnknownDriver(other.to_string())),
        }
    }

    /// The current log file for a container kept in `dir`, where docker keeps it:
    /// `<dir>/<id>-json.log` for `json-file`, `<dir>/local-logs/container.log` for `local`.
    pub fn log_path(&self, dir: &Path, container_id: &str) -> Option<PathBuf> {
        match self.driver {
            LogDriver::JsonFile => Some(dir.join(format!("{container_id}-json.log"))),
            LogDriver::Local => Some(dir.join("local-logs").join("container.log")),
            LogDriver::None => None,
        }
    }

    pub(crate) fn format(&self) -> Option<Format> {
        match self.driver {
            LogDriver::JsonFile => Some(Format::JsonFile),
            LogDriver::Local => Some(Format::Local),
            LogDriver::None => None,
        }
    }
}

fn parse_json_file(opts: &BTreeMap<String, String>) -> Result<LogConfig, LogError> {
    let mut cfg = LogConfig::default();
    for (key, value) in opts {
        match key.as_str() {
            "max-size" => {
                cfg.max_size = parse_size(value)?;
                if cfg.max_size == 0 {
                    return Err(invalid("max-size must be a positive number"));
                }
            }
            "max-file" => {
                let n = parse_int(value)?;
                if n < 1 {
                    return Err(invalid("max-file cannot be less than 1"));
                }
                cfg.max_file = u32::try_from(n).map_err(|_| out_of_range(value))?;
            }
            "compress" => cfg.compress = parse_bool(value)?,
            k if ATTRIBUTE_OPTS.contains(&k) => {
                cfg.attribute_opts.insert(key.clone(), value.clone());
            }
            _ => {
                return Err(invalid(format!(
                    "unknown log opt '{key}' for json-file log driver"
                )))
            }
        }
    }
    if cfg.compress && cfg.max_file < 2 {
        return Err(invalid(
            "compress cannot be true when max-file is less than 2 or max-size is not set",
        ));
    }
    Ok(cfg)
}

fn parse_local(opts: &BTreeMap<String, String>) -> Result<LogConfig, LogError> {
    let mut cfg = LogConfig {
        driver: LogDriver::Local,
        max_size: LOCAL_MAX_SIZE,
        max_file: LOCAL_MAX_FILE,
        compress: true,
        attribute_opts: BTreeMap::new(),
    };
    for (key, value) in opts {
        match key.as_str() {
            "max-size" => {
                cfg.max_size = parse_size(value)
                    .map_err(|e| invalid(format!("invalid value for max-size: {value}: {e}")))?;
                if cfg.max_size == 0 {
                    return Err(invalid("max-size must be a positive number"));
                }
            }
            "max-file" => {
                let n = parse_int(value)
                    .map_err(|e| invalid(format!("invalid value for max-file: {value}: {e}")))?;
                if n < 0 {
                    return Err(invalid("max-file must not be negative"));
                }
                // Docker's `local` treats 0 like 1: only the current file.
                cfg.max_file = u32::try_from(n.max(1)).map_err(|_| out_of_range(value))?;
            }
            "compress" => {
                cfg.compress = parse_bool(value)
                    .map_err(|e| invalid(format!("invalid boolean value for compress: {e}")))?;
            }
            k if ATTRIBUTE_OPTS.contains(&k) => {
                cfg.attribute_opts.insert(key.clone(), value.clone());
            }
            _ => {
                return Err(invalid(format!(
                    "unknown log opt '{key}' for log driver local"
                )))
            }
        }
    }
    if cfg.compress && cfg.max_file <= 1 {
        return Err(invalid(
            "compression cannot be enabled when max file count is 1",
        ));
    }
    Ok(cfg)
}

fn out_of_range(value: &str) -> LogError {
    invalid(format!(
        "strconv.Atoi: parsing {value:?}: value out of range"
    ))
}

/// Parses a size the way docker's `units.FromHumanSize` does: decimal units (`k` = 1000),
/// case-insensitive, an optional space, optional `i` and `b` ("10m", "1.5GB", "20 MiB").
pub(crate) fn parse_size(s: &str) -> Result<u64, LogError> {
    let bad = || invalid(format!("invalid size: '{s}'"));
    let digits_end = s
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'.'))
        .unwrap_or(s.len());
    let (number, mut rest) = s.split_at(digits_end);
    // The number is digits, optionally one fraction; "1." and ".5" are not sizes.
    let valid_number = match number.split_once('.') {
        None => !number.is_empty(),
        Some((int, frac)) => !int.is_empty() && !frac.is_empty() && !frac.contains('.'),
    };
    if !valid_number {
        return Err(bad());
    }
    rest = rest.strip_prefix(' ').unwrap_or(rest);
    let lower = rest.to_ascii_lowercase();
    let mut unit = lower.as_str();
    let multiplier: f64 = match unit.chars().next() {
        Some('k') => 1e3,
        Some('m') => 1e6,
        Some('g') => 1e9,
        Some('t') => 1e12,
        Some('p') => 1e15,
        _ => 1.0,
    };
    if multiplier != 1.0 {
        unit = &unit[1..];
    }
    unit = unit.strip_prefix('i').unwrap_or(unit);
    unit = unit.strip_prefix('b').unwrap_or(unit);
    if !unit.is_empty() {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = (value * multiplier).trunc();
    if !(0.0..=(i64::MAX as f64)).contains(&bytes) {
        return Err(bad());
    }
    // In range, checked above; the truncation towards zero is docker's.
    Ok(bytes as u64)
}

/// Go's `strconv.Atoi`, with its error text.
fn parse_int(s: &str) -> Result<i64, LogError> {
    s.parse::<i64>()
        .map_err(|_| invalid(format!("strconv.Atoi: parsing {s:?}: invalid syntax")))
}

/// Go's `strconv.ParseBool`, with its error text.
pub(crate) fn parse_bool(s: &str) -> Result<bool, LogError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(invalid(format!(
            "strconv.ParseBool: parsing {s:?}: invalid syntax"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(driver: &str, pairs: &[(&str, &str)]) -> String {
        match LogConfig::parse(driver, &opts(pairs)) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn sizes_use_docker_decimal_units() {
        assert_eq!(parse_size("10").ok(), Some(10));
        assert_eq!(parse_size("10k").ok(), Some(10_000));
        assert_eq!(parse_size("10m").ok(), Some(10_000_000));
        assert_eq!(parse_size("1g").ok(), Some(1_000_000_000));
        assert_eq!(parse_size("1.5M").ok(), Some(1_500_000));
        assert_eq!(parse_size("20 MiB").ok(), Some(20_000_000));
        assert_eq!(parse_size("3kb").ok(), Some(3000));
        assert_eq!(parse_size("7B").ok(), Some(7));
        for bad in [
            "", "m", "-1", "1.2.3", "1.", ".5", "10x", "10 m b", "1kk", " 1k",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn json_file_defaults_and_options() {
        let c = LogConfig::parse("json-file", &BTreeMap::new()).ok();
        assert_eq!(c, Some(LogConfig::default()));
        let c = LogConfig::parse(
            "",
            &opts(&[
                ("max-size", "1k"),
                ("max-file", "5"),
                ("compress", "true"),
                ("labels", "a,b"),
                ("tag", "{{.Name}}"),
            ]),
        );
        let c = c.ok();
        assert_eq!(c.as_ref().map(|c| c.max_size), Some(1000));
        assert_eq!(c.as_ref().map(|c| c.max_file), Some(5));
        assert_eq!(c.as_ref().map(|c| c.compress), Some(true));
        assert_eq!(c.as_ref().map(|c| c.attribute_opts.len()), Some(2));
    }

    #[test]
    fn local_defaults() {
        let c = LogConfig::parse("local", &BTreeMap::new()).ok();
        assert_eq!(c.as_ref().map(|c| c.max_size), Some(20 * 1024 * 1024));
        assert_eq!(c.as_ref().map(|c| c.max_file), Some(5));
        assert_eq!(c.as_ref().map(|c| c.compress), Some(true));
    }

    #[test]
    fn errors_read_like_dockers() {
        assert_eq!(
            err("json-file", &[("foo", "1")]),
            "unknown log opt 'foo' for json-file log driver"
        );
        assert_eq!(
            err("local", &[("foo", "1")]),
            "unknown log opt 'foo' for log driver local"
        );
        assert_eq!(
            err("syslog", &[]),
            "logger: no log driver named 'syslog' is registered"
        );
        assert_eq!(
            err("json-file", &[("max-size", "lots")]),
            "invalid size: 'lots'"
        );
        assert_eq!(
            err("json-file", &[("max-size", "0")]),
            "max-size must be a positive number"
        );
        assert_eq!(
            err("json-file", &[("max-file", "0")]),
            "max-file cannot be less than 1"
        );
        assert_eq!(
            err("json-file", &[("max-file", "x")]),
            "strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err("json-file", &[("compress", "yes")]),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(
            err("json-file", &[("compress", "1"), ("max-file", "1")]),
            "compress cannot be true when max-file is less than 2 or max-size is not set"
        );
        assert_eq!(
            err("local", &[("max-file", "1")]),
            "compression cannot be enabled when max file count is 1"
        );
        assert_eq!(
            err("local", &[("max-size", "big")]),
            "invalid value for max-size: big: invalid size: 'big'"
        );
        assert_eq!(
            err("local", &[("max-file", "-2")]),
            "max-file must not be negative"
        );
    }

    #[test]
    fn none_accepts_anything_and_has_no_file() {
        let c = LogConfig::parse("none", &opts(&[("whatever", "x")])).ok();
        assert_eq!(c.as_ref().map(|c| c.driver), Some(LogDriver::None));
        let path = c.and_then(|c| c.log_path(Path::new("/d"), "abc"));
        assert_eq!(path, None);
    }

    #[test]
    fn log_paths() {
        let json = LogConfig::default().log_path(Path::new("/d"), "abc");
        assert_eq!(json, Some(PathBuf::from("/d/abc-json.log")));
        let local = LogConfig::parse("local", &BTreeMap::new())
            .ok()
            .and_then(|c| c.log_path(Path::new("/d"), "abc"));
        assert_eq!(local, Some(PathBuf::from("/d/local-logs/container.log")));
    }
}
