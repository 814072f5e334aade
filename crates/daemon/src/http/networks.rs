//! Handlers for the network endpoints.

use std::sync::Arc;

use berth_api::types::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest,
    NetworkPruneResponse,
};
use http::StatusCode;
use hyper::body::Incoming;

use super::containers::read_json;
use super::query::Query;
use super::response::{self, HttpResponse};
use crate::engine::Engine;
use crate::error::EngineResult;

pub async fn list(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let filters = q.filters()?;
    Ok(response::ok_json(&engine.networks.list(&filters)?))
}

pub fn inspect(engine: &Arc<Engine>, id: &str) -> EngineResult<HttpResponse> {
    Ok(response::ok_json(&engine.networks.inspect(id)?))
}

pub async fn create(engine: &Arc<Engine>, body: Incoming) -> EngineResult<HttpResponse> {
    let req: NetworkCreateRequest = read_json(body).await?;
    let id = engine.networks.create(req).await?;
    Ok(response::json(
        StatusCode::CREATED,
        &NetworkCreateResponse {
            id,
            warning: String::new(),
        },
    ))
}

pub async fn remove(engine: &Arc<Engine>, id: &str) -> EngineResult<HttpResponse> {
    engine.networks.remove(id).await?;
    Ok(response::no_content(StatusCode::NO_CONTENT))
}

pub async fn prune(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let filters = q.filters()?;
    let deleted = engine.networks.prune(&filters).await?;
    Ok(response::ok_json(&NetworkPruneResponse {
        networks_deleted: deleted,
    }))
}

pub async fn connect(engine: &Arc<Engine>, id: &str, body: Incoming) -> EngineResult<HttpResponse> {
    let req: NetworkConnectRequest = read_json(body).await?;
    engine
        .containers
        .connect_network(&req.container, id, req.endpoint_config.unwrap_or_default())
        .await?;
    Ok(response::no_content(StatusCode::OK))
}

pub async fn disconnect(
    engine: &Arc<Engine>,
    id: &str,
    body: Incoming,
) -> EngineResult<HttpResponse> {
    let req: NetworkDisconnectRequest = read_json(body).await?;
    engine
        .containers
        .disconnect_network(&req.container, id, req.force)
        .await?;
    Ok(response::no_content(StatusCode::OK))
}
