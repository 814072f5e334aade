//! Handlers for the exec endpoints: creating an instance in a container, starting it (the
//! connection hijacked for its streams unless detached), resizing its terminal, inspecting it.

use std::sync::Arc;

use berth_api::types::{ExecConfig, ExecStartConfig, IdResponse};
use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::containers::{read_json, switching_protocols};
use super::query::Query;
use super::response::{self, HttpResponse};
use super::route::ExecAction;
use crate::engine::Engine;
use crate::error::EngineResult;

/// `POST /containers/{id}/exec`.
pub async fn create(
    engine: &Arc<Engine>,
    container: String,
    body: Incoming,
) -> EngineResult<HttpResponse> {
    let config: ExecConfig = read_json(body).await?;
    let id = engine.containers.create_exec(&container, config)?;
    Ok(response::json(StatusCode::CREATED, &IdResponse { id }))
}

pub async fn action(
    engine: &Arc<Engine>,
    id: String,
    action: ExecAction,
    q: &Query,
    req: Request<Incoming>,
) -> EngineResult<HttpResponse> {
    let svc = &engine.containers;
    match action {
        ExecAction::Inspect => Ok(response::ok_json(&svc.inspect_exec(&id)?)),
        ExecAction::Resize => {
            let (h, w) = q.terminal_size()?;
            svc.resize_exec(&id, h, w).await?;
            Ok(response::no_content(StatusCode::OK))
        }
        ExecAction::Start => start(engine, id, req).await,
    }
}

/// `POST /exec/{id}/start`.
async fn start(
    engine: &Arc<Engine>,
    id: String,
    mut req: Request<Incoming>,
) -> EngineResult<HttpResponse> {
    let upgrade = hyper::upgrade::on(&mut req);
    let settle = docker_py_settle(&req);
    let start: ExecStartConfig = read_json(req.into_body()).await?;
    if start.detach {
        engine.containers.start_exec_detached(&id).await?;
        return Ok(response::no_content(StatusCode::OK));
    }
    engine.containers.check_exec_start(&id)?;
    let engine = engine.clone();
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                tokio::time::sleep(settle).await;
                engine
                    .containers
                    .start_exec_attached(&id, Box::new(TokioIo::new(upgraded)))
                    .await
            }
            Err(e) => {
                tracing::debug!(error = %e, "exec: the client did not take the upgraded connection")
            }
        }
    });
    Ok(switching_protocols())
}

/// docker-py reads the upgrade response through a buffered reader, then reads the stream
/// from the socket beneath it: output that arrives together with the response is lost.
/// Docker's own exec start is slow enough to hide this; Berth's is not, so docker-py's
/// execs start a moment after the response has gone.
fn docker_py_settle(req: &Request<Incoming>) -> std::time::Duration {
    let ua = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ua.starts_with("docker-sdk-python") {
        std::time::Duration::from_millis(20)
    } else {
        std::time::Duration::ZERO
    }
}
