//! The pieces of a request an action is made of: query parameters, the `Content-Length`,
//! `Content-Range` and `Range` headers, and `n`/`last` pagination.

use http::{header, HeaderMap};

use crate::server::errors::{ApiError, Code};

/// A `Range: bytes=…` request, before it is checked against the blob's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    From { start: u64, end: Option<u64> },
    Suffix(u64),
}

/// The `n`/`last` pagination of the list endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub n: Option<usize>,
    pub last: Option<String>,
}

pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

pub fn content_length(h: &HeaderMap) -> Option<u64> {
    header_str(h, header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

pub fn page(q: &[(String, String)]) -> Result<Page, ApiError> {
    let n = match param(q, "n") {
        None | Some("") => None,
        Some(v) => Some(v.parse().map_err(|_| {
            ApiError::bad_request(Code::Unsupported, format!("invalid page size n={v:?}"))
        })?),
    };
    Ok(Page {
        n,
        last: param(q, "last")
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    })
}

/// A chunk's `Content-Range`: `<start>-<end>`, inclusive (the `bytes ` prefix and a `/total`
/// suffix some clients add are tolerated).
pub fn content_range(h: &HeaderMap) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(v) = header_str(h, header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            416,
            Code::BlobUploadInvalid,
            format!("invalid Content-Range {v:?}"),
        )
    };
    let v = v.trim().trim_start_matches("bytes").trim();
    let v = v.split('/').next().unwrap_or("");
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if b < a {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

/// A single `bytes=` range; anything else (several ranges, other units, nonsense) is
/// ignored and the whole blob served, as RFC 9110 allows.
pub fn byte_range(h: &HeaderMap) -> Option<ByteRange> {
    let v = header_str(h, header::RANGE)?
        .trim()
        .strip_prefix("bytes=")?;
    if v.contains(',') {
        return None;
    }
    let (a, b) = v.trim().split_once('-')?;
    if a.is_empty() {
        return b.parse().ok().map(ByteRange::Suffix);
    }
    let start = a.parse().ok()?;
    let end = if b.is_empty() {
        None
    } else {
        Some(b.parse().ok()?)
    };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some(ByteRange::From { start, end })
}
