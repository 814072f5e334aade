//! Handlers for the image endpoints.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use berth_api::types::JsonMessage;
use http::StatusCode;
use hyper::body::Incoming;

use super::query::Query;
use super::response::{self, HttpResponse};
use super::stream::{blocking, body_reader, drain_on_error, respond, OnError, Output};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::images::{ImportRequest, ListOptions, PullRequest, PushRequest, RemoveOptions};

pub async fn list(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let opts = ListOptions {
        all: q.bool("all"),
        filters: q.filters()?,
        shared_size: q.bool("shared-size"),
    };
    let images = blocking(engine, move |e| e.images.list(&opts)).await?;
    Ok(response::ok_json(&images))
}

pub async fn inspect(engine: &Arc<Engine>, name: String) -> EngineResult<HttpResponse> {
    let doc = blocking(engine, move |e| e.images.inspect(&name)).await?;
    Ok(response::ok_json(&doc))
}

pub async fn history(engine: &Arc<Engine>, name: String) -> EngineResult<HttpResponse> {
    let items = blocking(engine, move |e| e.images.history(&name)).await?;
    Ok(response::ok_json(&items))
}

pub async fn tag(engine: &Arc<Engine>, name: String, q: &Query) -> EngineResult<HttpResponse> {
    let (repo, tag) = (q.string("repo"), q.string("tag"));
    if repo.is_empty() {
        return Err(EngineError::invalid(
            "repository name is required (the repo parameter)",
        ));
    }
    blocking(engine, move |e| e.images.tag(&name, &repo, &tag)).await?;
    Ok(response::no_content(StatusCode::CREATED))
}

pub async fn remove(engine: &Arc<Engine>, name: String, q: &Query) -> EngineResult<HttpResponse> {
    let opts = RemoveOptions {
        force: q.bool("force"),
        no_prune: q.bool("noprune"),
    };
    let items = blocking(engine, move |e| e.remove_image(&name, opts)).await?;
    Ok(response::ok_json(&items))
}

pub async fn prune(engine: &Arc<Engine>, q: &Query) -> EngineResult<HttpResponse> {
    let filters = q.filters()?;
    let report = blocking(engine, move |e| e.images.prune(&filters)).await?;
    Ok(response::ok_json(&report))
}

/// Progress messages from worker threads, into the response stream.
fn progress_sink<'a, 'o>(
    out: &'a Mutex<&'o mut Output>,
) -> impl Fn(JsonMessage) + Sync + use<'a, 'o> {
    progress_sink_noting_gone(out, None)
}

/// A progress sink that also sets `gone` once the client no longer takes messages.
fn progress_sink_noting_gone<'a, 'o>(
    out: &'a Mutex<&'o mut Output>,
    gone: Option<&'a AtomicBool>,
) -> impl Fn(JsonMessage) + Sync + use<'a, 'o> {
    move |m: JsonMessage| {
        if let Ok(mut o) = out.lock() {
            if o.message(&m).is_err() {
                if let Some(gone) = gone {
                    gone.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}

pub async fn load(engine: &Arc<Engine>, q: &Query, body: Incoming) -> HttpResponse {
    let quiet = q.bool("quiet");
    let engine = engine.clone();
    let mut reader = body_reader(body);
    respond("application/json", 0, OnError::JsonMessage, move |out| {
        let lines = {
            let out = Mutex::new(&mut *out);
            let sink = progress_sink(&out);
            let progress: crate::images::Progress<'_> = if quiet {
                &crate::images::no_progress
            } else {
                &sink
            };
            drain_on_error(&mut reader, |r| engine.images.load(r, progress))?
        };
        for line in lines {
            out.message(&crate::images::loaded_message(&line))
                .map_err(|e| EngineError::unavailable(format!("client went away: {e}")))?;
        }
        Ok(())
    })
    .await
}

pub async fn save(engine: &Arc<Engine>, names: Vec<String>) -> EngineResult<HttpResponse> {
    let plan = {
        let names = names.clone();
        blocking(engine, move |e| e.images.plan_save(&names)).await?
    };
    let engine = engine.clone();
    Ok(
        respond("application/x-tar", 256 << 10, OnError::Abort, move |out| {
            engine.images.write_save(&plan, out)
        })
        .await,
    )
}

/// `POST /images/create`: import with `fromSrc`; with `fromImage`, only the built-in image
/// can be provided until registry pulls exist.
pub async fn create(
    engine: &Arc<Engine>,
    q: &Query,
    req: http::Request<Incoming>,
) -> EngineResult<HttpResponse> {
    let (head, body) = req.into_parts();
    if let Some(src) = q.get("fromSrc") {
        let req = ImportRequest {
            source: src.to_string(),
            repo: q.string("repo"),
            tag: q.string("tag"),
            message: q.string("message"),
            changes: q.all("changes"),
            platform: q.string("platform"),
        };
        if let Err(e) = req.validate() {
            if src == "-" {
                super::stream::discard(body).await;
            }
            return Err(e);
        }
        let mut reader: Box<dyn std::io::Read + Send> = if src == "-" {
            Box::new(body_reader(body))
        } else {
            Box::new(crate::fetch::fetch(engine, src).await?)
        };
        let engine = engine.clone();
        return Ok(
            respond("application/json", 0, OnError::JsonMessage, move |out| {
                let id = drain_on_error(&mut reader, |r| engine.images.import(r, &req))?;
                out.message(&JsonMessage::status(id.to_string()))
                    .map_err(|e| EngineError::unavailable(format!("client went away: {e}")))
            })
            .await,
        );
    }
    let Some(image) = q.get("fromImage") else {
        return Err(EngineError::invalid(
            "either fromSrc or fromImage is required",
        ));
    };
    let tag = q.get("tag").filter(|t| !t.is_empty());
    let name = match tag {
        Some(tag) if tag.starts_with("sha256:") => format!("{image}@{tag}"),
        Some(tag) => format!("{image}:{tag}"),
        None => image.to_string(),
    };
    let credentials = super::registry::credentials(&head.headers)?;
    let reference = berth_store::Reference::parse_normalized(&name)
        .map_err(|e| EngineError::invalid(format!("invalid reference format: {name:?}: {e}")))?;
    let request = PullRequest {
        all_tags: reference.tag().is_none() && reference.digest().is_none(),
        reference,
        platform: q
            .get("platform")
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        credentials,
        cancelled: Arc::new(AtomicBool::new(false)),
    };
    let client = engine.registry();
    let rt = tokio::runtime::Handle::current();
    let engine = engine.clone();
    Ok(
        respond("application/json", 0, OnError::JsonMessage, move |out| {
            let builtin = !request.all_tags
                && crate::images::is_builtin(&request.reference.familiar_string());
            let lines = if builtin {
                let id = engine.images.provide_builtin(&name)?;
                vec![
                    format!("{name}: provided by the image built into Berth"),
                    format!("Digest: {id}"),
                ]
            } else {
                let shared = Mutex::new(&mut *out);
                let sink = progress_sink_noting_gone(&shared, Some(&request.cancelled));
                let lines = engine.images.pull(&rt, &client, &request, &sink);
                drop(sink);
                lines?
            };
            for line in lines {
                out.message(&JsonMessage::status(line))
                    .map_err(|e| EngineError::unavailable(format!("client went away: {e}")))?;
            }
            Ok(())
        })
        .await,
    )
}

/// `POST /images/{name}/push`: the image's tag (or every tag of the name) to its registry.
pub async fn push(
    engine: &Arc<Engine>,
    name: String,
    q: &Query,
    headers: &http::HeaderMap,
) -> EngineResult<HttpResponse> {
    let credentials = super::registry::credentials(headers)?;
    let full = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) => format!("{name}:{tag}"),
        None => name.clone(),
    };
    let reference = berth_store::Reference::parse_normalized(&full)
        .map_err(|e| EngineError::invalid(format!("invalid reference format: {full:?}: {e}")))?;
    if reference.digest().is_some() {
        return Err(EngineError::invalid(format!(
            "cannot push a digest reference ({full}): push a tag"
        )));
    }
    let request = PushRequest {
        reference,
        credentials,
    };
    let client = engine.registry();
    let rt = tokio::runtime::Handle::current();
    let engine = engine.clone();
    Ok(
        respond("application/json", 0, OnError::JsonMessage, move |out| {
            let shared = Mutex::new(&mut *out);
            let sink = progress_sink(&shared);
            engine.images.push(&rt, &client, &request, &sink)
        })
        .await,
    )
}

/// `POST /auth`: checks credentials with a registry, as `docker login` asks.
pub async fn login(engine: &Arc<Engine>, body: Incoming) -> EngineResult<HttpResponse> {
    use http_body_util::BodyExt;
    let bytes = http_body_util::Limited::new(body, 64 << 10)
        .collect()
        .await
        .map_err(|e| EngineError::invalid(format!("reading the credentials: {e}")))?
        .to_bytes();
    let config: berth_api::types::AuthConfig = serde_json::from_slice(&bytes)
        .map_err(|e| EngineError::invalid(format!("invalid credentials: {e}")))?;
    let registry = super::registry::registry_of_address(&config.server_address);
    let credentials = super::registry::from_auth_config(config)?;
    if credentials.username.is_empty() {
        return Err(EngineError::invalid("a username is required to log in"));
    }
    let client = engine.registry();
    berth_distribution::client::Session::login(&client, &registry, credentials)
        .await
        .map_err(|e| match e {
            berth_distribution::client::ClientError::Unauthorized(m) => {
                EngineError::new(crate::error::ErrorKind::Unauthorized, m)
            }
            e => EngineError::unavailable(format!("logging in to {registry}: {e}")),
        })?;
    Ok(response::ok_json(&berth_api::types::AuthResponse {
        status: "Login Succeeded".into(),
        identity_token: String::new(),
    }))
}
