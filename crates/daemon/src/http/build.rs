//! `POST /build`: docker's classic build endpoint. The body is the context tar; the query
//! names the Dockerfile in it, the tags, build args, labels, target, network and cache
//! options. The answer streams the build's output as `stream` messages, then an `aux`
//! message with the image ID, as the docker CLI's legacy builder reads them.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api::types::JsonMessage;
use berth_build::BuildOptions;
use hyper::body::Incoming;

use super::query::Query;
use super::response::HttpResponse;
use super::stream::{body_reader, respond, OnError};
use crate::build::{Context, EngineBackend};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

/// A JSON object given in a query parameter (`buildargs`, `labels`).
fn json_map<T: serde::de::DeserializeOwned + Default>(q: &Query, key: &str) -> EngineResult<T> {
    match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(T::default()),
        // docker's CLI sends `null` for what it has none of.
        Some(text) => serde_json::from_str::<Option<T>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| EngineError::invalid(format!("invalid {key} parameter: {e}"))),
    }
}

struct Request {
    dockerfile: String,
    /// `remote=`: the URL of a context tar, fetched by the engine.
    remote: Option<String>,
    /// A context read in place: the client's directory and its `dev:ino`.
    in_place: Option<(std::path::PathBuf, String)>,
    shm_size: i64,
    ulimits: Vec<berth_api::types::Ulimit>,
    quiet: bool,
    /// `pull=`: fetch every base image again, even one present.
    pull: bool,
    network: String,
    extra_hosts: Vec<String>,
    /// `cachefrom=`: images whose layers the build may take for its steps.
    cache_from: Vec<String>,
    opts: BuildOptions,
}

fn request(q: &Query, data_root: &std::path::Path) -> EngineResult<Request> {
    let tags = q.all("t");
    for t in &tags {
        berth_store::Reference::parse_normalized(t)
            .map_err(|e| EngineError::invalid(format!("invalid reference format: {t}: {e}")))?;
    }
    let remote = q.get("remote").filter(|r| !r.is_empty()).map(String::from);
    if let Some(r) = &remote {
        if !(r.starts_with("http://") || r.starts_with("https://")) || r.ends_with(".git") {
            return Err(EngineError::invalid(format!(
                "remote context {r}: only the URL of a tar archive is supported by Berth (not git)"
            )));
        }
    }
    let dockerfile = q
        .get("dockerfile")
        .filter(|d| !d.is_empty())
        .unwrap_or("Dockerfile")
        .to_string();
    let build_args: BTreeMap<String, Option<String>> = json_map(q, "buildargs")?;
    let labels: BTreeMap<String, String> = json_map(q, "labels")?;
    let secrets: BTreeMap<String, std::path::PathBuf> = json_map(q, "berth-secrets")?;
    let shm_size = match q.get("shmsize").filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .map_err(|_| EngineError::invalid(format!("invalid shmsize {v:?}: bytes")))?,
        None => 0,
    };
    let ulimits: Vec<berth_api::types::Ulimit> = json_map(q, "ulimits")?;
    let in_place = match (q.get("berth-context-dir"), q.get("berth-context-id")) {
        (Some(d), Some(id)) if !d.is_empty() => Some((std::path::PathBuf::from(d), id.to_string())),
        _ => None,
    };
    Ok(Request {
        dockerfile,
        remote,
        in_place,
        shm_size,
        ulimits,
        quiet: q.bool("q"),
        pull: q.bool("pull"),
        network: q
            .get("networkmode")
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_string(),
        extra_hosts: q
            .get("extrahosts")
            .map(|h| {
                h.split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        cache_from: json_map(q, "cachefrom")?,
        opts: BuildOptions {
            context: std::path::PathBuf::new(),
            context_origin: None,
            scratch: std::path::PathBuf::new(),
            build_args,
            target: q.get("target").filter(|t| !t.is_empty()).map(String::from),
            no_cache: q.bool("nocache"),
            labels,
            tags,
            platform: q.string("platform"),
            cache_mounts: data_root.join("build").join("cache-mounts"),
            secrets,
            cancel: Default::default(),
        },
    })
}

pub async fn build(
    engine: &Arc<Engine>,
    q: &Query,
    req: http::Request<Incoming>,
) -> EngineResult<HttpResponse> {
    let (head, body) = req.into_parts();
    let credentials = super::registry::registry_config(&head.headers)?;
    let data_root = engine.config().data_root;
    let mut req = match request(q, &data_root) {
        Ok(r) => r,
        Err(e) => {
            super::stream::discard(body).await;
            return Err(e);
        }
    };
    let engine = engine.clone();
    let handle = tokio::runtime::Handle::current();
    Ok(
        respond("application/json", 0, OnError::JsonMessage, move |out| {
            let started = std::time::Instant::now();
            let root = data_root.join("build");
            let ctx = match &req.in_place {
                Some((dir, id)) => {
                    drop(body);
                    Context::in_place(&root, dir, id, &req.dockerfile)?
                }
                None => match &req.remote {
                    Some(url) => {
                        drop(body);
                        let tar = tokio::runtime::Handle::current()
                            .block_on(crate::fetch::fetch(&engine, url))?;
                        Context::unpack(&root, tar)?
                    }
                    None => {
                        let mut upload = body_reader(body);
                        super::stream::drain_on_error(&mut upload, |r| Context::unpack(&root, r))?
                    }
                },
            };
            tracing::debug!(
                us = started.elapsed().as_micros() as u64,
                "build context unpacked"
            );
            let path = berth_build::executor::context_file(ctx.dir(), &req.dockerfile)
                .map_err(|e| EngineError::invalid(e.0))?;
            let text = std::fs::read_to_string(&path).map_err(|e| {
                EngineError::invalid(format!(
                    "Cannot locate specified Dockerfile: {} ({e})",
                    req.dockerfile
                ))
            })?;
            req.opts.context = ctx.dir().to_path_buf();
            req.opts.context_origin = req.in_place.as_ref().map(|(d, _)| d.clone());
            req.opts.scratch = ctx.scratch().to_path_buf();
            let mut backend = EngineBackend::new(engine, handle, ctx.dir().to_path_buf());
            backend.network = req.network.clone();
            backend.extra_hosts = req.extra_hosts.clone();
            backend.shm_size = req.shm_size;
            backend.epoch = req
                .opts
                .build_args
                .get("SOURCE_DATE_EPOCH")
                .cloned()
                .flatten()
                .map(|v| {
                    v.parse::<i64>().map_err(|_| {
                        EngineError::invalid(format!(
                            "invalid SOURCE_DATE_EPOCH {v:?}: seconds since 1970"
                        ))
                    })
                })
                .transpose()?;
            backend.ulimits = req.ulimits.clone();
            backend.pull = req.pull;
            backend.credentials = credentials;
            backend.use_cache_from(&req.cache_from);
            let quiet = req.quiet;
            let cancel = req.opts.cancel.clone();
            let mut progress = |text: &str| {
                let gone = cancel.load(std::sync::atomic::Ordering::SeqCst);
                if !quiet && !gone && out.message(&JsonMessage::stream(text)).is_err() {
                    // The client went away: the build stops.
                    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            };
            let built =
                berth_build::build(&text, &req.dockerfile, &req.opts, &backend, &mut progress);
            tracing::debug!(us = started.elapsed().as_micros() as u64, "build done");
            let id = built.map_err(|e| EngineError::invalid(e.0))?;
            let closed =
                |e: std::io::Error| EngineError::unavailable(format!("client went away: {e}"));
            let aux = JsonMessage {
                aux: Some(serde_json::json!({ "ID": id })),
                ..Default::default()
            };
            out.message(&aux).map_err(closed)?;
            if quiet {
                out.message(&JsonMessage::stream(format!("{id}\n")))
                    .map_err(closed)?;
            }
            for t in &req.opts.tags {
                let shown = berth_store::Reference::parse_normalized(t)
                    .map(|r| r.familiar_string())
                    .unwrap_or_else(|_| t.clone());
                if !quiet {
                    out.message(&JsonMessage::stream(format!(
                        "Successfully tagged {shown}\n"
                    )))
                    .map_err(closed)?;
                }
            }
            Ok(())
        })
        .await,
    )
}

/// `POST /build/prune`: `all`, and the `until` filter.
pub async fn prune(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let filters = q.filters()?;
    filters
        .validate(&["until"])
        .map_err(|e| EngineError::invalid(e.to_string()))?;
    let until = match filters.get("until") {
        [] => None,
        [v] => Some(
            crate::timefmt::parse_time_filter(v, chrono::Utc::now()).ok_or_else(|| {
                EngineError::invalid(format!(
                    "invalid filter 'until={v}': not a time or duration"
                ))
            })?,
        ),
        _ => {
            return Err(EngineError::invalid(
                "invalid filter 'until': more than one value",
            ))
        }
    };
    let all = q.bool("all");
    let report = super::stream::blocking(engine, move |e| {
        e.images
            .prune_build_cache(all, until, &|id| !e.containers.using_image(id).is_empty())
    })
    .await?;
    Ok(super::response::ok_json(&report))
}
