//! The registry's error answers: the distribution spec's error codes, each with the HTTP
//! status it travels with, rendered as `{"errors":[{"code","message","detail"}]}`.

use serde::Serialize;
use serde_json::Value;

/// The spec's error codes (plus `UNKNOWN` for the server's own failures, as distribution
/// sends with a 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    Unknown,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BlobUnknown => "BLOB_UNKNOWN",
            Code::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Code::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Code::DigestInvalid => "DIGEST_INVALID",
            Code::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Code::ManifestInvalid => "MANIFEST_INVALID",
            Code::ManifestUnknown => "MANIFEST_UNKNOWN",
            Code::NameInvalid => "NAME_INVALID",
            Code::NameUnknown => "NAME_UNKNOWN",
            Code::SizeInvalid => "SIZE_INVALID",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Denied => "DENIED",
            Code::Unsupported => "UNSUPPORTED",
            Code::TooManyRequests => "TOOMANYREQUESTS",
            Code::Unknown => "UNKNOWN",
        }
    }
}

/// One entry of an error body.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorItem {
    pub code: &'static str,
    pub message: String,
    pub detail: Value,
}

/// An error answer: its status, one or more entries, and the headers the client needs to
/// act on it (a challenge to authenticate, the offset an upload really is at).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {}: {}", errors.first().map_or("", |e| e.code), errors.first().map_or("", |e| e.message.as_str()))]
pub struct ApiError {
    pub status: u16,
    pub errors: Vec<ErrorItem>,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            errors: vec![ErrorItem {
                code: code.as_str(),
                message: message.into(),
                detail: Value::Null,
            }],
            headers: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: Value) -> ApiError {
        if let Some(e) = self.errors.last_mut() {
            e.detail = detail;
        }
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds another entry (a manifest naming several unknown blobs gets one each).
    pub fn and(mut self, code: Code, message: impl Into<String>, detail: Value) -> ApiError {
        self.errors.push(ErrorItem {
            code: code.as_str(),
            message: message.into(),
            detail,
        });
        self
    }

    /// A failure of the server itself; the cause is logged, the client told only that it
    /// happened (paths on the server are none of its business).
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(500, Code::Unknown, "internal server error")
    }

    pub fn not_found(code: Code, message: impl Into<String>) -> ApiError {
        ApiError::new(404, code, message)
    }

    pub fn bad_request(code: Code, message: impl Into<String>) -> ApiError {
        ApiError::new(400, code, message)
    }

    pub fn code(&self) -> &'static str {
        self.errors.first().map_or("", |e| e.code)
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            errors: &'a [ErrorItem],
        }
        serde_json::to_vec(&Body {
            errors: &self.errors,
        })
        .unwrap_or_else(|_| br#"{"errors":[]}"#.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_spec_shape() {
        let e = ApiError::bad_request(Code::DigestInvalid, "no match")
            .with_detail(serde_json::json!({"digest": "sha256:x"}))
            .and(Code::SizeInvalid, "short", Value::Null);
        let v: Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["errors"][0]["code"], "DIGEST_INVALID");
        assert_eq!(v["errors"][0]["message"], "no match");
        assert_eq!(v["errors"][0]["detail"]["digest"], "sha256:x");
        assert_eq!(v["errors"][1]["code"], "SIZE_INVALID");
        assert_eq!(e.status, 400);
    }
}
