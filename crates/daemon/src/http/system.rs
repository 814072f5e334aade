//! Handlers for `/_ping`, `/info` and `/system/df`.

use std::sync::Arc;

use http::{header, HeaderValue, StatusCode};

use super::response::{self, HttpResponse};
use super::stream::blocking;
use crate::engine::Engine;
use crate::error::EngineResult;

pub fn ping(head: bool) -> HttpResponse {
    let body = if head {
        response::empty()
    } else {
        response::full("OK")
    };
    let mut resp = response::with_status(StatusCode::OK, body, "text/plain; charset=utf-8");
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub async fn info(engine: &Arc<Engine>) -> EngineResult<HttpResponse> {
    let info = blocking(engine, |e| Ok(crate::system::info(e))).await?;
    Ok(response::ok_json(&info))
}

pub async fn df(engine: &Arc<Engine>) -> EngineResult<HttpResponse> {
    let df = blocking(engine, crate::system::df).await?;
    Ok(response::ok_json(&df))
}
