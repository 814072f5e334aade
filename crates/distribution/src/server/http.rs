//! The HTTP face of the registry: each request is parsed into an action, authorized, checked
//! against read-only mode, handled, and the reply (or error) written with the headers the
//! spec and docker's clients expect. One access-log line per request, never with credentials.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::action;
use super::auth::Authenticator;
use super::body::{RequestBody, ResponseBody};
use super::errors::{ApiError, Code};
use super::handlers::{self, Ctx, Reply};

pub struct State {
    pub ctx: Arc<Ctx>,
    pub auth: Authenticator,
    pub read_only: bool,
}

pub async fn serve(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let (result, user) = respond(&state, &parts, body).await;
    let code = result.as_ref().err().map_or("-", |e| e.code());
    let mut resp = match result {
        Ok(reply) => render(reply),
        Err(e) => {
            if parts.method == Method::HEAD {
                // The status and headers say it all; a HEAD answer carries no body.
                let mut r = error_response(&e);
                *r.body_mut() = ResponseBody::Empty;
                r
            } else {
                error_response(&e)
            }
        }
    };
    set(
        &mut resp,
        HeaderName::from_static("docker-distribution-api-version"),
        "registry/2.0",
    );
    tracing::info!(
        method = %parts.method,
        path = parts.uri.path(),
        status = resp.status().as_u16(),
        code,
        user = user.as_deref().unwrap_or("-"),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(resp)
}

async fn respond(
    state: &State,
    parts: &http::request::Parts,
    body: Incoming,
) -> (Result<Reply, ApiError>, Option<String>) {
    let action = match action::parse(
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
    ) {
        Ok(a) => a,
        Err(e) => return (Err(e), None),
    };
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let who = match state.auth.check(authorization, &action.access()).await {
        Ok(who) => who,
        Err(e) => return (Err(e), None),
    };
    let user = who.user.clone();
    if state.read_only && action.writes() {
        let e = ApiError::new(405, Code::Unsupported, "this registry is read-only");
        return (Err(e), user);
    }
    let result = handlers::handle(&state.ctx, action, &who, RequestBody::new(body)).await;
    (result, user)
}

fn set(resp: &mut Response<ResponseBody>, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

fn add(resp: &mut Response<ResponseBody>, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        resp.headers_mut().append(n, v);
    }
}

fn response(status: u16, body: ResponseBody) -> Response<ResponseBody> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

fn error_response(e: &ApiError) -> Response<ResponseBody> {
    let body = e.body();
    let len = body.len().to_string();
    let mut r = response(e.status, ResponseBody::full(body));
    set(&mut r, header::CONTENT_TYPE, "application/json");
    set(&mut r, header::CONTENT_LENGTH, &len);
    for (name, value) in &e.headers {
        add(&mut r, name, value);
    }
    r
}

fn render(reply: Reply) -> Response<ResponseBody> {
    match reply {
        Reply::Base => {
            let mut r = response(200, ResponseBody::full(&b"{}"[..]));
            set(&mut r, header::CONTENT_TYPE, "application/json");
            set(&mut r, header::CONTENT_LENGTH, "2");
            r
        }
        Reply::Json {
            body,
            content_type,
            link,
            filters,
        } => {
            let len = body.len().to_string();
            let mut r = response(200, ResponseBody::full(body));
            set(&mut r, header::CONTENT_TYPE, content_type);
            set(&mut r, header::CONTENT_LENGTH, &len);
            if let Some(l) = link {
                set(&mut r, header::LINK, &l);
            }
            if let Some(f) = filters {
                add(&mut r, "OCI-Filters-Applied", f);
            }
            r
        }
        Reply::Manifest {
            digest,
            media_type,
            size,
            body,
        } => {
            let body = body.map_or(ResponseBody::Empty, ResponseBody::full);
            let mut r = response(200, body);
            set(&mut r, header::CONTENT_TYPE, &media_type);
            set(&mut r, header::CONTENT_LENGTH, &size.to_string());
            set(&mut r, header::ETAG, &format!("\"{digest}\""));
            add(&mut r, "Docker-Content-Digest", &digest.to_string());
            r
        }
        Reply::Blob {
            digest,
            size,
            range,
            body,
        } => {
            let body = body.map_or(ResponseBody::Empty, ResponseBody::Mapped);
            let (status, len) = match range {
                Some((a, b)) => (206, b - a + 1),
                None => (200, size),
            };
            let mut r = response(status, body);
            if let Some((a, b)) = range {
                set(
                    &mut r,
                    header::CONTENT_RANGE,
                    &format!("bytes {a}-{b}/{size}"),
                );
            }
            set(&mut r, header::CONTENT_TYPE, "application/octet-stream");
            set(&mut r, header::CONTENT_LENGTH, &len.to_string());
            set(&mut r, header::ACCEPT_RANGES, "bytes");
            set(&mut r, header::ETAG, &format!("\"{digest}\""));
            add(&mut r, "Docker-Content-Digest", &digest.to_string());
            r
        }
        Reply::Created {
            location,
            digest,
            headers,
        } => {
            let mut r = response(201, ResponseBody::Empty);
            set(&mut r, header::LOCATION, &location);
            set(&mut r, header::CONTENT_LENGTH, "0");
            add(&mut r, "Docker-Content-Digest", &digest.to_string());
            for (name, value) in headers {
                add(&mut r, name, &value);
            }
            r
        }
        Reply::Upload {
            status,
            location,
            id,
            offset,
        } => {
            let mut r = response(status, ResponseBody::Empty);
            set(&mut r, header::LOCATION, &location);
            set(
                &mut r,
                header::RANGE,
                &format!("0-{}", offset.saturating_sub(1)),
            );
            if status != 204 {
                set(&mut r, header::CONTENT_LENGTH, "0");
            }
            add(&mut r, "Docker-Upload-UUID", &id);
            r
        }
        Reply::Accepted => {
            let mut r = response(202, ResponseBody::Empty);
            set(&mut r, header::CONTENT_LENGTH, "0");
            r
        }
        Reply::NoContent => response(204, ResponseBody::Empty),
    }
}
