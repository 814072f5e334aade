//! What can go wrong talking to a registry, with what the user needs to act on it.

use berth_store::Digest;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request itself is wrong (a bad name, URL or argument).
    #[error("{0}")]
    Invalid(String),
    /// The registry could not be reached or answered unusably.
    #[error("{0}")]
    Unavailable(String),
    #[error("TLS: {0}")]
    Tls(String),
    /// The registry refused the credentials, or demanded some.
    #[error("{0}")]
    Unauthorized(String),
    /// The registry answered that the repository, tag or blob does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The registry sent bytes that do not match the digest they were asked for by.
    #[error(
        "{what} {expected} failed verification: the registry sent content with digest {actual}"
    )]
    DigestMismatch {
        what: &'static str,
        expected: Digest,
        actual: Digest,
    },
    /// An error the registry reported in the distribution spec's error body.
    #[error("{status}: {message}")]
    Registry {
        status: u16,
        code: String,
        message: String,
    },
}

impl ClientError {
    pub fn invalid(m: impl Into<String>) -> Self {
        ClientError::Invalid(m.into())
    }

    pub fn unavailable(m: impl Into<String>) -> Self {
        ClientError::Unavailable(m.into())
    }

    /// The error the registry's answer describes: its `errors` body when it has one.
    pub(crate) fn from_response(status: http::StatusCode, body: &[u8], what: &str) -> Self {
        #[derive(serde::Deserialize)]
        struct Errors {
            errors: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        let parsed = serde_json::from_slice::<Errors>(body)
            .ok()
            .and_then(|e| e.errors.into_iter().next());
        let (code, message) = match parsed {
            Some(e) => (e.code, e.message),
            None => (
                String::new(),
                String::from_utf8_lossy(body).trim().to_string(),
            ),
        };
        let message = match (message.is_empty(), code.is_empty()) {
            (true, true) => format!("{what}: {status}"),
            (true, false) => format!("{what}: {code}"),
            _ => format!("{what}: {message}"),
        };
        match status.as_u16() {
            401 => ClientError::Unauthorized(message),
            404 => ClientError::NotFound(message),
            s => ClientError::Registry {
                status: s,
                code,
                message,
            },
        }
    }

    /// Whether retrying the same request elsewhere (a mirror, plain HTTP) could help.
    pub fn is_connection(&self) -> bool {
        matches!(self, ClientError::Unavailable(_) | ClientError::Tls(_))
    }
}
