//! Handlers for the container endpoints.

use std::sync::Arc;

use berth_api::types::{ContainerCreateRequest, ContainerCreateResponse};
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::container_ops;
use super::query::Query;
use super::response::{self, HttpResponse};
use super::route::ContainerAction;
use super::stream::{blocking, respond, OnError};
use crate::containers::{AttachOptions, CreateOptions, ListOptions, LogsOptions, WaitCondition};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::timefmt::parse_time_filter;

/// Request bodies of JSON endpoints are small; anything bigger is refused.
const MAX_JSON_BODY: usize = 16 << 20;

pub async fn read_json<T: serde::de::DeserializeOwned>(body: Incoming) -> EngineResult<T> {
    let limited = http_body_util::Limited::new(body, MAX_JSON_BODY);
    let bytes = limited
        .collect()
        .await
        .map_err(|e| EngineError::invalid(format!("reading the request body: {e}")))?
        .to_bytes();
    if bytes.is_empty() {
        return Err(EngineError::invalid(
            "the request body is empty; a JSON object was expected",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| EngineError::invalid(format!("invalid JSON in the request body: {e}")))
}

pub async fn list(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let opts = ListOptions {
        all: q.bool("all"),
        limit,
        size: q.bool("size"),
        filters: q.filters()?,
    };
    let list = blocking(engine, move |e| e.containers.list(&opts)).await?;
    Ok(response::ok_json(&list))
}

pub async fn create(engine: &Arc<Engine>, q: &Query, body: Incoming) -> EngineResult<HttpResponse> {
    let request: ContainerCreateRequest = read_json(body).await?;
    let opts = CreateOptions {
        name: q.get("name").filter(|n| !n.is_empty()).map(str::to_string),
        request,
    };
    let id = blocking(engine, move |e| e.containers.create(opts)).await?;
    Ok(response::json(
        StatusCode::CREATED,
        &ContainerCreateResponse {
            id,
            warnings: Vec::new(),
        },
    ))
}

pub async fn prune(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let report = engine.containers.prune(&q.filters()?).await?;
    Ok(response::ok_json(&report))
}

fn timeout(q: &Query) -> EngineResult<Option<i64>> {
    match q.get("t").filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| EngineError::invalid(format!("invalid stop timeout {t:?}"))),
    }
}

pub async fn action(
    engine: &Arc<Engine>,
    id: String,
    action: ContainerAction,
    q: &Query,
    req: Request<Incoming>,
) -> EngineResult<HttpResponse> {
    let svc = &engine.containers;
    match action {
        ContainerAction::Inspect => {
            let size = q.bool("size");
            let doc = blocking(engine, move |e| e.containers.inspect_sized(&id, size)).await?;
            Ok(response::ok_json(&doc))
        }
        ContainerAction::Start => match svc.start(&id).await? {
            crate::containers::Started::Now => Ok(response::no_content(StatusCode::NO_CONTENT)),
            crate::containers::Started::Already => {
                Ok(response::no_content(StatusCode::NOT_MODIFIED))
            }
        },
        ContainerAction::Stop => {
            let stopped = svc.stop(&id, timeout(q)?).await?;
            Ok(response::no_content(if stopped {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::NOT_MODIFIED
            }))
        }
        ContainerAction::Restart => {
            svc.restart(&id, timeout(q)?).await?;
            Ok(response::no_content(StatusCode::NO_CONTENT))
        }
        ContainerAction::Kill => {
            svc.kill(&id, q.get("signal").unwrap_or_default()).await?;
            Ok(response::no_content(StatusCode::NO_CONTENT))
        }
        ContainerAction::Delete => {
            let opts = crate::containers::RemoveOptions {
                force: q.bool("force"),
                volumes: q.bool("v"),
            };
            svc.remove(&id, opts).await?;
            Ok(response::no_content(StatusCode::NO_CONTENT))
        }
        ContainerAction::Exec => super::exec::create(engine, id, req.into_body()).await,
        ContainerAction::Wait => wait(engine, id, q).await,
        ContainerAction::Attach => attach(engine, id, q, req),
        ContainerAction::Logs => logs(engine, id, q).await,
        ContainerAction::ArchiveStat => super::container_fs::stat(engine, id, q).await,
        ContainerAction::ArchiveGet => super::container_fs::get(engine, id, q).await,
        ContainerAction::ArchivePut => {
            super::container_fs::put(engine, id, q, req.into_body()).await
        }
        ContainerAction::Changes => super::container_fs::changes(engine, id).await,
        ContainerAction::Export => super::container_fs::export(engine, id).await,
        ContainerAction::Resize => {
            let (h, w) = q.terminal_size()?;
            svc.resize(&id, h, w).await?;
            Ok(response::no_content(StatusCode::OK))
        }
        ContainerAction::Pause => container_ops::pause(engine, &id).await,
        ContainerAction::Unpause => container_ops::unpause(engine, &id).await,
        ContainerAction::Rename => container_ops::rename(engine, &id, q).await,
        ContainerAction::Update => container_ops::update(engine, &id, req).await,
        ContainerAction::Top => container_ops::top(engine, &id, q).await,
        ContainerAction::Stats => container_ops::stats(engine, &id, q).await,
    }
}

/// docker sends the headers at once and the body when the condition is met, so that a
/// client can start the container on another connection meanwhile.
async fn wait(engine: &Arc<Engine>, id: String, q: &Query) -> EngineResult<HttpResponse> {
    let condition = WaitCondition::parse(q.get("condition").unwrap_or_default())?;
    let waiter = engine.containers.waiter(&id, condition)?;
    let (mut writer, body) = response::channel(0);
    tokio::spawn(async move {
        let result = waiter.wait().await;
        let value = match result {
            Ok(r) => serde_json::to_value(r).unwrap_or_default(),
            Err(e) => serde_json::json!({"StatusCode": -1, "Error": {"Message": e.message}}),
        };
        let _ = tokio::task::spawn_blocking(move || writer.message(&value)).await;
    });
    Ok(response::with_status(
        StatusCode::OK,
        body,
        "application/json",
    ))
}

/// Hijacks the connection and hands it to the container's streams.
fn attach(
    engine: &Arc<Engine>,
    id: String,
    q: &Query,
    mut req: Request<Incoming>,
) -> EngineResult<HttpResponse> {
    let id = engine.containers.can_attach(&id)?;
    let detach_keys = match q.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => Some(crate::containers::parse_detach_keys(k)?),
        None => None,
    };
    let opts = AttachOptions {
        stdin: q.bool("stdin"),
        stdout: q.bool("stdout"),
        stderr: q.bool("stderr"),
        detach_keys,
        logs: q.bool("logs"),
        stream: q.bool("stream"),
    };
    if !q.bool("stream") && !q.bool("logs") {
        return Err(EngineError::invalid(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let upgrade = hyper::upgrade::on(&mut req);
    let engine = engine.clone();
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                engine
                    .containers
                    .attach(&id, opts, Box::new(TokioIo::new(upgraded)))
                    .await
            }
            Err(e) => {
                tracing::debug!(error = %e, "attach: the client did not take the upgraded connection")
            }
        }
    });
    Ok(switching_protocols())
}

/// The answer to a request whose connection now carries a process's raw streams.
pub(super) fn switching_protocols() -> HttpResponse {
    let mut resp = Response::new(response::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.docker.raw-stream"),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    resp
}

async fn logs(engine: &Arc<Engine>, id: String, q: &Query) -> EngineResult<HttpResponse> {
    let now = chrono::Utc::now();
    let time = |key: &str| -> EngineResult<Option<chrono::DateTime<chrono::Utc>>> {
        match q.get(key).filter(|v| !v.is_empty() && *v != "0") {
            None => Ok(None),
            Some(v) => parse_time_filter(v, now)
                .map(Some)
                .ok_or_else(|| EngineError::invalid(format!("invalid value for \"{key}\": {v}"))),
        }
    };
    let tail = match q.get("tail").filter(|t| !t.is_empty() && *t != "all") {
        None => None,
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| EngineError::invalid(format!("invalid tail value {t:?}")))?
                .max(0) as usize,
        ),
    };
    let opts = LogsOptions {
        follow: q.bool("follow"),
        stdout: q.bool("stdout"),
        stderr: q.bool("stderr"),
        since: time("since")?,
        until: time("until")?,
        timestamps: q.bool("timestamps"),
        tail,
        details: q.bool("details"),
    };
    let svc = engine.containers.clone();
    let stream = tokio::task::spawn_blocking(move || svc.open_logs(&id, &opts))
        .await
        .map_err(|e| EngineError::internal(e.to_string()))??;
    Ok(respond(
        "application/vnd.docker.raw-stream",
        0,
        OnError::Abort,
        move |out| {
            out.begin();
            stream.copy_to(out)
        },
    )
    .await)
}
