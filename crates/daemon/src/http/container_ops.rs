//! Handlers for the container endpoints beyond the lifecycle: pause, unpause, rename,
//! update, top and stats (a stream of samples, one a second).

use std::sync::Arc;
use std::time::Duration;

use berth_api::types::{ContainerUpdateRequest, ContainerUpdateResponse};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};

use super::containers::read_json;
use super::query::Query;
use super::response::{self, HttpResponse};
use crate::containers::{StatsOptions, StatsSampler};
use crate::engine::Engine;
use crate::error::EngineResult;

/// How often a stats stream sends a sample, as docker's collector.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

pub async fn pause(engine: &Arc<Engine>, id: &str) -> EngineResult<HttpResponse> {
    engine.containers.pause(id).await?;
    Ok(response::no_content(StatusCode::NO_CONTENT))
}

pub async fn unpause(engine: &Arc<Engine>, id: &str) -> EngineResult<HttpResponse> {
    engine.containers.unpause(id).await?;
    Ok(response::no_content(StatusCode::NO_CONTENT))
}

pub async fn rename(engine: &Arc<Engine>, id: &str, q: &Query) -> EngineResult<HttpResponse> {
    engine
        .containers
        .rename(id, q.get("name").unwrap_or_default())
        .await?;
    Ok(response::no_content(StatusCode::NO_CONTENT))
}

pub async fn update(
    engine: &Arc<Engine>,
    id: &str,
    req: Request<Incoming>,
) -> EngineResult<HttpResponse> {
    let update: ContainerUpdateRequest = read_json(req.into_body()).await?;
    let warnings = engine.containers.update(id, update).await?;
    Ok(response::ok_json(&ContainerUpdateResponse { warnings }))
}

pub async fn top(engine: &Arc<Engine>, id: &str, q: &Query) -> EngineResult<HttpResponse> {
    let top = engine
        .containers
        .top(id, q.get("ps_args").unwrap_or_default())
        .await?;
    Ok(response::ok_json(&top))
}

fn json_line<T: serde::Serialize>(value: &T) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

pub async fn stats(engine: &Arc<Engine>, id: &str, q: &Query) -> EngineResult<HttpResponse> {
    let opts = StatsOptions {
        // docker's default is to stream.
        stream: q.get("stream").is_none() || q.bool("stream"),
        one_shot: q.bool("one-shot"),
    };
    opts.validate()?;
    let mut sampler = engine.containers.stats(id)?;
    if !opts.stream {
        let mut sample = sampler.sample().await;
        if sampler.is_running() && !opts.one_shot {
            // A second sample, so that precpu_stats (and the CPU percentage) mean something.
            tokio::time::sleep(STATS_INTERVAL).await;
            sample = sampler.sample().await;
        }
        return Ok(response::ok_json(&sample));
    }
    let samples = futures_util::stream::unfold(
        (sampler, true),
        |(mut s, first): (StatsSampler, bool)| async move {
            if !first {
                tokio::time::sleep(STATS_INTERVAL).await;
            }
            if s.is_removed() {
                return None;
            }
            let line = json_line(&s.sample().await);
            Some((Ok::<_, std::io::Error>(Frame::data(line)), (s, false)))
        },
    );
    Ok(response::with_status(
        StatusCode::OK,
        StreamBody::new(samples).boxed(),
        "application/json",
    ))
}
