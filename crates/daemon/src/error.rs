//! The engine's error: a kind that decides the HTTP status (mapped in one place, in
//! `http::response`) and a message for the user.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    InvalidArgument,
    /// Refused by policy (a read-only root file system).
    Forbidden,
    /// A registry refused the credentials (login).
    Unauthorized,
    Unavailable,
    Internal,
}

#[derive(Debug)]
pub struct EngineError {
    pub kind: ErrorKind,
    pub message: String,
}

pub type EngineResult<T> = Result<T, EngineError>;

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        EngineError {
            kind,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Prefixes the message with what was being done.
    pub fn context(self, what: impl fmt::Display) -> Self {
        EngineError {
            kind: self.kind,
            message: format!("{what}: {}", self.message),
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EngineError {}

impl From<berth_store::MetadataError> for EngineError {
    fn from(e: berth_store::MetadataError) -> Self {
        EngineError::internal(e.to_string())
    }
}

impl From<berth_store::ContentError> for EngineError {
    fn from(e: berth_store::ContentError) -> Self {
        use berth_store::ContentError as C;
        let kind = match &e {
            C::NotFound(_) => ErrorKind::NotFound,
            C::DigestMismatch { .. } | C::SizeMismatch { .. } | C::TooLarge { .. } => {
                ErrorKind::InvalidArgument
            }
            C::Io { .. } => ErrorKind::Internal,
        };
        EngineError::new(kind, e.to_string())
    }
}

impl From<berth_store::reference::ReferenceError> for EngineError {
    fn from(e: berth_store::reference::ReferenceError) -> Self {
        EngineError::invalid(e.to_string())
    }
}

impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        EngineError::internal(e.to_string())
    }
}

/// The engine's kind for an error of the snapshot crate, which classifies the same way.
pub fn snapshot_kind(kind: berth_snapshot::ErrorKind) -> ErrorKind {
    use berth_snapshot::ErrorKind as K;
    match kind {
        K::NotFound => ErrorKind::NotFound,
        K::Conflict => ErrorKind::Conflict,
        K::InvalidArgument => ErrorKind::InvalidArgument,
        K::Unavailable => ErrorKind::Unavailable,
        K::Internal => ErrorKind::Internal,
    }
}

impl From<berth_runtime::cgroups::CgroupError> for EngineError {
    fn from(e: berth_runtime::cgroups::CgroupError) -> Self {
        use berth_runtime::cgroups::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::Conflict => ErrorKind::Conflict,
            K::InvalidArgument => ErrorKind::InvalidArgument,
            K::Unavailable => ErrorKind::Unavailable,
            K::Internal => ErrorKind::Internal,
        };
        EngineError::new(kind, e.to_string())
    }
}
