//! The error of the container log module: what went wrong, on which file, during which
//! operation, and a coarse [`ErrorKind`] the engine maps to an HTTP status.

use std::io;
use std::path::{Path, PathBuf};

/// What kind of failure a [`LogError`] is, independent of its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A log file or directory that must exist does not.
    NotFound,
    /// The driver name or a `--log-opt` is invalid.
    InvalidArgument,
    /// The configured driver cannot do this (reading a `none` log); HTTP 501 in the Engine API.
    NotImplemented,
    /// The disk or the kernel refused a resource (ENOSPC, EMFILE, ...).
    Unavailable,
    /// Anything else.
    Internal,
}

/// Failure to configure, write or read a container's log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The driver is not one Berth implements.
    #[error("logger: no log driver named '{0}' is registered")]
    UnknownDriver(String),
    /// A `--log-opt` is unknown or its value is invalid; the message is the one the user sees.
    #[error("{0}")]
    InvalidOption(String),
    /// The `none` driver keeps no log to read.
    #[error("configured logging driver does not support reading")]
    ReadingUnsupported,
    /// A filesystem operation on a log file failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("opening log file", "rotating log file", ...).
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl LogError {
    /// Wraps an I/O error with the operation and the file it concerned.
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        LogError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// A closure for `map_err` that wraps an I/O error with its operation and file.
    pub(crate) fn at<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| LogError::io(op, path, source)
    }

    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LogError::UnknownDriver(_) | LogError::InvalidOption(_) => ErrorKind::InvalidArgument,
            LogError::ReadingUnsupported => ErrorKind::NotImplemented,
            LogError::Io { source, .. } => match source.raw_os_error() {
                Some(libc::ENOENT) => ErrorKind::NotFound,
                Some(libc::ENOSPC | libc::EDQUOT | libc::EMFILE | libc::ENFILE) => {
                    ErrorKind::Unavailable
                }
                _ => ErrorKind::Internal,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_operation_and_file() {
        let e = LogError::io(
            "opening log file",
            Path::new("/x/y.log"),
            io::Error::from_raw_os_error(libc::ENOENT),
        );
        let msg = e.to_string();
        assert!(msg.starts_with("opening log file /x/y.log: "), "{msg}");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn kinds() {
        assert_eq!(
            LogError::UnknownDriver("syslog".into()).kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            LogError::ReadingUnsupported.kind(),
            ErrorKind::NotImplemented
        );
        assert_eq!(
            LogError::ReadingUnsupported.to_string(),
            "configured logging driver does not support reading"
        );
    }
}
