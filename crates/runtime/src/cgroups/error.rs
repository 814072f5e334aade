//! The cgroups module's error type and the small file helpers every backend uses, so each
//! failure names the file, the operation and (for writes) the value the kernel refused.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What kind of failure a [`CgroupError`] is; the daemon maps kinds to HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The cgroup or a file in it does not exist.
    NotFound,
    /// The cgroup is in a state that forbids the operation (still has processes, busy).
    Conflict,
    /// A setting's value is out of range or malformed.
    InvalidArgument,
    /// The kernel or the host lacks what the operation needs (controller, BPF, swap accounting).
    Unavailable,
    /// Anything else.
    Internal,
}

/// A failure while creating, configuring, inspecting or removing a container's cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A file or directory operation failed.
    #[error("cgroup: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The kernel refused a value written to a control file.
    #[error("cgroup: writing {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    /// A resource setting is invalid before it ever reaches the kernel.
    #[error("invalid {setting} {value:?}: {reason}")]
    Invalid {
        setting: &'static str,
        value: String,
        reason: String,
    },
    /// A setting needs a controller that this host does not provide to the cgroup.
    #[error(
        "cgroup: {setting} needs the {controller} controller, which is not available in {path}"
    )]
    Unsupported {
        setting: &'static str,
        controller: &'static str,
        path: PathBuf,
    },
    /// No cgroup filesystem is mounted, or /proc/self/mountinfo could not be understood.
    #[error("cgroup: no usable cgroup filesystem: {0}")]
    NotMounted(String),
    /// The cgroup does not exist in any hierarchy.
    #[error("cgroup {0} does not exist")]
    NotFound(PathBuf),
    /// The cgroup exists and still has processes, so it cannot be (re)created.
    #[error("cgroup {path} is in use: {reason}")]
    Busy { path: PathBuf, reason: String },
    /// A state change (freeze, thaw, emptying before removal) did not settle in time.
    #[error("cgroup: {op} {path} did not settle within {millis} ms")]
    Timeout {
        op: &'static str,
        path: PathBuf,
        millis: u64,
    },
    /// Loading or attaching the cgroup v2 device filter program failed.
    #[error("cgroup device filter: {op} {path}: {source}{}", verifier_note(.log))]
    Bpf {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
        log: String,
    },
}

fn verifier_note(log: &str) -> String {
    if log.trim().is_empty() {
        String::new()
    } else {
        format!(" (verifier: {})", log.trim())
    }
}

fn kind_of_io(e: &io::Error) -> ErrorKind {
    match e.raw_os_error() {
        Some(libc::ENOENT) => ErrorKind::NotFound,
        Some(libc::EBUSY) => ErrorKind::Conflict,
        Some(libc::EINVAL | libc::ERANGE) => ErrorKind::InvalidArgument,
        Some(libc::ENOSPC | libc::ENOSYS | libc::EOPNOTSUPP | libc::EROFS | libc::EPERM) => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::Internal,
    }
}

impl CgroupError {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CgroupError::Io { source, .. } | CgroupError::Write { source, .. } => {
                kind_of_io(source)
            }
            CgroupError::Invalid { .. } => ErrorKind::InvalidArgument,
            CgroupError::Unsupported { .. } | CgroupError::NotMounted(_) => ErrorKind::Unavailable,
            CgroupError::NotFound(_) => ErrorKind::NotFound,
            CgroupError::Busy { .. } => ErrorKind::Conflict,
            CgroupError::Timeout { .. } => ErrorKind::Internal,
            CgroupError::Bpf { source, .. } => match kind_of_io(source) {
                ErrorKind::NotFound => ErrorKind::Internal,
                k => k,
            },
        }
    }

    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        CgroupError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(
        setting: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        CgroupError::Invalid {
            setting,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// True when the error means the file or directory is not there.
    pub(crate) fn is_not_found(&self) -> bool {
        match self {
            CgroupError::Io { source, .. } | CgroupError::Write { source, .. } => {
                source.raw_os_error() == Some(libc::ENOENT)
            }
            CgroupError::NotFound(_) => true,
            _ => false,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, CgroupError>;

/// Reads a whole control file.
pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| CgroupError::io("reading", path, e))
}

/// Reads a control file that may legitimately be absent (older kernel, controller not enabled).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(CgroupError::io("reading", path, e)),
    }
}

/// Reads a control file holding one unsigned number; `max` (v2's unlimited) reads as `None`.
pub(crate) fn read_u64(path: &Path) -> Result<Option<u64>> {
    let text = read(path)?;
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| {
        CgroupError::io(
            "parsing",
            path,
            io::Error::new(io::ErrorKind::InvalidData, format!("not a number: {t:?}")),
        )
    })
}

/// Writes `value` to a control file in one `write(2)`, as cgroupfs requires; the file is
/// never created or truncated (control files exist or the controller is missing).
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    ControlFile::new(path).write(value)
}

/// A control file kept open for several values, one `write(2)` each (cgroupfs takes every
/// write as one value): a list of device rules costs one open, not one per rule.
pub(crate) struct ControlFile<'a> {
    path: &'a Path,
    file: Option<std::fs::File>,
}

impl<'a> ControlFile<'a> {
    pub(crate) fn new(path: &'a Path) -> ControlFile<'a> {
        ControlFile { path, file: None }
    }

    /// Writes `value`, opening the file on first use; it is never created or truncated.
    pub(crate) fn write(&mut self, value: &str) -> Result<()> {
        let failed = |source| CgroupError::Write {
            path: self.path.to_path_buf(),
            value: value.to_string(),
            source,
        };
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(self.path)
                    .map_err(failed)?,
            ),
        };
        file.write_all(value.as_bytes()).map_err(failed)
    }
}

/// Parses `key value` lines (memory.stat, cpu.stat, memory.events) into pairs.
pub(crate) fn key_values(text: &str) -> impl Iterator<Item = (&str, u64)> {
    text.lines().filter_map(|l| {
        let mut it = l.split_whitespace();
        let k = it.next()?;
        let v = it.next()?.parse().ok()?;
        Some((k, v))
    })
}

/// Parses a cgroup.procs file.
pub(crate) fn parse_pids(text: &str) -> Vec<u32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}
