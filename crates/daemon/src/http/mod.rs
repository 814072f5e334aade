//! The Engine API over HTTP: each request is parsed into a [`route::Route`], handled by
//! calling the services, and answered with docker's headers, bodies and status codes.

mod build;
mod container_fs;
mod container_ops;
mod containers;
mod events;
mod exec;
mod images;
mod networks;
pub mod query;
mod registry;
pub mod response;
pub mod route;
mod stream;
mod system;
mod volumes;

pub use stream::body_reader;

use std::convert::Infallible;
use std::sync::Arc;

use http::{header, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;

use self::query::Query;
use self::response::HttpResponse;
use self::route::{Route, RouteError};
use crate::engine::Engine;
use crate::error::EngineError;

/// Serves one request.
pub async fn serve(
    engine: Arc<Engine>,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let mut resp = match route::parse(&method, &path) {
        Ok((route, _version)) => dispatch(&engine, route, req).await,
        Err(RouteError::NotFound) => response::error(&EngineError::not_found("page not found")),
        Err(RouteError::MethodNotAllowed) => {
            let mut r = response::error(&EngineError::invalid("method not allowed"));
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            r
        }
        Err(RouteError::Version(message)) => response::error(&EngineError::invalid(message)),
    };
    let headers = resp.headers_mut();
    headers.insert(
        "api-version",
        HeaderValue::from_static(berth_api::API_VERSION),
    );
    headers.insert("docker-experimental", HeaderValue::from_static("false"));
    headers.insert("ostype", HeaderValue::from_static("linux"));
    headers.insert(
        header::SERVER,
        HeaderValue::from_static(concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed = ?started.elapsed(), "request");
    Ok(resp)
}

async fn dispatch(engine: &Arc<Engine>, route: Route, req: Request<Incoming>) -> HttpResponse {
    let query = Query::parse(req.uri().query());
    let result = match route {
        Route::Ping => return system::ping(req.method() == Method::HEAD),
        Route::Version => Ok(response::ok_json(&crate::system::version())),
        Route::Info => system::info(engine).await,
        Route::SystemDf => system::df(engine).await,
        Route::ImageList => images::list(engine, &query).await,
        Route::ImageInspect(name) => images::inspect(engine, name).await,
        Route::ImageHistory(name) => images::history(engine, name).await,
        Route::ImageTag(name) => images::tag(engine, name, &query).await,
        Route::ImageDelete(name) => images::remove(engine, name, &query).await,
        Route::ImagePrune => images::prune(engine, &query).await,
        Route::ImageLoad => Ok(images::load(engine, &query, req.into_body()).await),
        Route::ImageSaveMany => images::save(engine, query.all("names")).await,
        Route::ImageSave(name) => images::save(engine, vec![name]).await,
        Route::ImageCreate => images::create(engine, &query, req).await,
        Route::ImagePush(name) => images::push(engine, name, &query, req.headers()).await,
        Route::Auth => images::login(engine, req.into_body()).await,
        Route::ContainerList => containers::list(engine, &query).await,
        Route::ContainerCreate => containers::create(engine, &query, req.into_body()).await,
        Route::ContainerPrune => containers::prune(engine, &query).await,
        Route::Events => events::stream(engine, &query),
        Route::Commit => container_fs::commit(engine, &query, req.into_body()).await,
        Route::Build => build::build(engine, &query, req).await,
        Route::BuildPrune => build::prune(engine, &query).await,
        Route::Container(id, action) => containers::action(engine, id, action, &query, req).await,
        Route::Exec(id, action) => exec::action(engine, id, action, &query, req).await,
        Route::VolumeList => volumes::list(engine, &query).await,
        Route::VolumeCreate => volumes::create(engine, req.into_body()).await,
        Route::VolumePrune => volumes::prune(engine, &query).await,
        Route::VolumeInspect(name) => volumes::inspect(engine, name).await,
        Route::VolumeDelete(name) => volumes::remove(engine, name, &query).await,
        Route::NetworkList => networks::list(engine, &query).await,
        Route::NetworkCreate => networks::create(engine, req.into_body()).await,
        Route::NetworkPrune => networks::prune(engine, &query).await,
        Route::NetworkInspect(id) => networks::inspect(engine, &id),
        Route::NetworkDelete(id) => networks::remove(engine, &id).await,
        Route::NetworkConnect(id) => networks::connect(engine, &id, req.into_body()).await,
        Route::NetworkDisconnect(id) => networks::disconnect(engine, &id, req.into_body()).await,
    };
    result.unwrap_or_else(|e| response::error(&e))
}
