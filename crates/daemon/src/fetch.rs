//! Fetching a URL for `import`: plain HTTP, following redirects.

use http::{header, Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::{EngineError, EngineResult};

const MAX_REDIRECTS: usize = 5;

/// The body at `url`, as a blocking reader.
pub async fn fetch(url: &str) -> EngineResult<impl std::io::Read + Send + 'static> {
    let mut uri: Uri = url
        .parse()
        .map_err(|e| EngineError::invalid(format!("invalid URL {url:?}: {e}")))?;
    for _ in 0..=MAX_REDIRECTS {
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(EngineError::invalid(format!(
                    "cannot fetch {uri}: https URLs are not supported by this version of Berth; fetch the file and import it from stdin"
                )))
            }
            _ => return Err(EngineError::invalid(format!("unsupported URL {uri}: expected http://"))),
        }
        let host = uri
            .host()
            .ok_or_else(|| EngineError::invalid(format!("URL {uri} has no host")))?
            .to_string();
        let port = uri.port_u16().unwrap_or(80);
        let stream = TcpStream::connect((host.trim_matches(|c| c == '[' || c == ']'), port))
            .await
            .map_err(|e| EngineError::unavailable(format!("fetching {uri}: {e}")))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| EngineError::unavailable(format!("fetching {uri}: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let authority = uri.authority().map(|a| a.to_string()).unwrap_or(host);
        let path = uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "/".into());
        let req = Request::get(path)
            .header(header::HOST, authority)
            .header(
                header::USER_AGENT,
                concat!("Berth/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| EngineError::invalid(format!("fetching {uri}: {e}")))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| EngineError::unavailable(format!("fetching {uri}: {e}")))?;
        let status = resp.status();
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| {
                    EngineError::unavailable(format!("fetching {uri}: redirect without a location"))
                })?;
            uri = resolve_location(&uri, location)?;
            continue;
        }
        if status != StatusCode::OK {
            return Err(EngineError::unavailable(format!(
                "fetching {uri}: the server answered {status}"
            )));
        }
        return Ok(crate::http::body_reader(resp.into_body()));
    }
    Err(EngineError::unavailable(format!(
        "fetching {url}: too many redirects"
    )))
}

fn resolve_location(base: &Uri, location: &str) -> EngineResult<Uri> {
    if location.contains("://") {
        return location
            .parse()
            .map_err(|e| EngineError::unavailable(format!("bad redirect {location:?}: {e}")));
    }
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let scheme = base.scheme_str().unwrap_or("http");
    format!("{scheme}://{authority}{location}")
        .parse()
        .map_err(|e| EngineError::unavailable(format!("bad redirect {location:?}: {e}")))
}
