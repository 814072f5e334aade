//! Handlers for the volume endpoints.

use std::sync::Arc;

use berth_api::types::{VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};
use http::StatusCode;
use hyper::body::Incoming;

use super::containers::read_json;
use super::query::Query;
use super::response::{self, HttpResponse};
use super::stream::blocking;
use crate::engine::Engine;
use crate::error::EngineResult;
use crate::volumes::CreateVolume;

pub async fn list(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let filters = q.filters()?;
    let volumes = blocking(engine, move |e| e.volume_list(&filters)).await?;
    Ok(response::ok_json(&VolumeListResponse {
        volumes,
        warnings: Vec::new(),
    }))
}

pub async fn inspect(engine: &Arc<Engine>, name: String) -> EngineResult<HttpResponse> {
    let v = engine.volumes.get(&name)?;
    Ok(response::ok_json(&engine.volumes.to_api(&v)))
}

pub async fn create(engine: &Arc<Engine>, body: Incoming) -> EngineResult<HttpResponse> {
    let req: VolumeCreateRequest = read_json(body).await?;
    let create = CreateVolume {
        name: Some(req.name).filter(|n| !n.is_empty()),
        driver: req.driver,
        options: req.driver_opts,
        labels: req.labels,
        anonymous: false,
    };
    let rec = blocking(engine, move |e| e.volumes.create(create)).await?;
    Ok(response::json(
        StatusCode::CREATED,
        &engine.volumes.to_api(&rec),
    ))
}

pub async fn remove(engine: &Arc<Engine>, name: String, q: &Query) -> EngineResult<HttpResponse> {
    let force = q.bool("force");
    blocking(engine, move |e| e.volume_remove(&name, force)).await?;
    Ok(response::no_content(StatusCode::NO_CONTENT))
}

pub async fn prune(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let filters = q.filters()?;
    let (deleted, reclaimed) = blocking(engine, move |e| e.volume_prune(&filters)).await?;
    Ok(response::ok_json(&VolumePruneResponse {
        volumes_deleted: deleted,
        space_reclaimed: reclaimed,
    }))
}
