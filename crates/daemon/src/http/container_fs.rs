//! Handlers for a container's file system: `/containers/{id}/archive` (`HEAD` stat, `GET`
//! a tar of a path, `PUT` a tar into a directory), `changes`, `export`, and `POST /commit`.

use std::sync::Arc;

use berth_api::types::{ContainerConfig, ContainerPathStat, IdResponse, PATH_STAT_HEADER};
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::oneshot;

use super::query::Query;
use super::response::{self, HttpResponse};
use super::stream::{blocking, body_reader, respond, OnError};
use crate::containers::CommitOptions;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

/// A commit's optional config body; anything bigger is refused.
const MAX_CONFIG_BODY: usize = 16 << 20;
/// How much of an archive is buffered before it is sent.
const ARCHIVE_CHUNK: usize = 256 << 10;

fn stat_header(stat: &ContainerPathStat) -> EngineResult<HeaderValue> {
    HeaderValue::from_str(&stat.encode())
        .map_err(|e| EngineError::internal(format!("encoding the path stat: {e}")))
}

pub async fn stat(engine: &Arc<Engine>, id: String, q: &Query) -> EngineResult<HttpResponse> {
    let path = q.string("path");
    let stat = blocking(engine, move |e| e.containers.stat_path(&id, &path)).await?;
    let mut resp = response::no_content(StatusCode::OK);
    resp.headers_mut()
        .insert(PATH_STAT_HEADER, stat_header(&stat)?);
    Ok(resp)
}

/// The stat goes in a header, so the status and headers wait until the path is resolved;
/// a failure after the archive started can only break the transfer.
pub async fn get(engine: &Arc<Engine>, id: String, q: &Query) -> EngineResult<HttpResponse> {
    let path = q.string("path");
    let (mut writer, body) = response::channel(ARCHIVE_CHUNK);
    let (tx, rx) = oneshot::channel::<EngineResult<ContainerPathStat>>();
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut tx = Some(tx);
        let started = |stat| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(Ok(stat));
            }
        };
        let result = engine
            .containers
            .archive_path(&id, &path, started, &mut writer);
        if let Err(e) = result {
            match tx.take() {
                Some(tx) => {
                    let _ = tx.send(Err(e));
                }
                None => {
                    tracing::warn!(error = %e.message, "archive of a container path failed");
                    writer.abort(&e.message);
                }
            }
        }
    });
    match rx.await {
        Ok(Ok(stat)) => {
            let mut resp = response::with_status(StatusCode::OK, body, "application/x-tar");
            resp.headers_mut()
                .insert(PATH_STAT_HEADER, stat_header(&stat)?);
            Ok(resp)
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(EngineError::internal("the archive ended unexpectedly")),
    }
}

pub async fn put(
    engine: &Arc<Engine>,
    id: String,
    q: &Query,
    body: Incoming,
) -> EngineResult<HttpResponse> {
    let path = q.string("path");
    let copy_uid_gid = q.bool("copyUIDGID");
    let no_overwrite = q.bool("noOverwriteDirNonDir");
    let mut reader = body_reader(body);
    blocking(engine, move |e| {
        let result =
            e.containers
                .extract_to_dir(&id, &path, copy_uid_gid, no_overwrite, &mut reader);
        if result.is_err() {
            // The client is still sending: read the rest so it gets to see the answer.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        }
        result
    })
    .await?;
    Ok(response::no_content(StatusCode::OK))
}

pub async fn changes(engine: &Arc<Engine>, id: String) -> EngineResult<HttpResponse> {
    let list = blocking(engine, move |e| e.containers.changes(&id)).await?;
    Ok(response::ok_json(&list))
}

pub async fn export(engine: &Arc<Engine>, id: String) -> EngineResult<HttpResponse> {
    engine.containers.find(&id)?;
    let engine = engine.clone();
    Ok(respond(
        "application/x-tar",
        ARCHIVE_CHUNK,
        OnError::Abort,
        move |out| engine.containers.export(&id, out),
    )
    .await)
}

/// A body that may be empty or JSON `null` (docker's client sends that for no config).
async fn optional_config(body: Incoming) -> EngineResult<Option<ContainerConfig>> {
    let bytes = http_body_util::Limited::new(body, MAX_CONFIG_BODY)
        .collect()
        .await
        .map_err(|e| EngineError::invalid(format!("reading the request body: {e}")))?
        .to_bytes();
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| EngineError::invalid("the request body is not UTF-8"))?
        .trim();
    if text.is_empty() || text == "null" {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| EngineError::invalid(format!("invalid JSON in the request body: {e}")))
}

pub async fn commit(engine: &Arc<Engine>, q: &Query, body: Incoming) -> EngineResult<HttpResponse> {
    let opts = CommitOptions {
        container: q.string("container"),
        repo: q.string("repo"),
        tag: q.string("tag"),
        comment: q.string("comment"),
        author: q.string("author"),
        // docker pauses unless told not to: an absent or empty value means yes.
        pause: q.get("pause").is_none_or(|v| v.is_empty()) || q.bool("pause"),
        changes: q.all("changes"),
        config: optional_config(body).await?,
    };
    let id = blocking(engine, move |e| e.containers.commit(opts)).await?;
    Ok(response::json(
        StatusCode::CREATED,
        &IdResponse { id: id.to_string() },
    ))
}
