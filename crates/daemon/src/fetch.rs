//! Fetching a URL for `import`: HTTP or HTTPS (rustls, with the system's trusted roots,
//! or those in `SSL_CERT_FILE`), following redirects.

use std::sync::{Arc, OnceLock};

use http::{header, Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::error::{EngineError, EngineResult};

const MAX_REDIRECTS: usize = 5;

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// The TLS client configuration, built once: the ring provider and the system's roots.
fn tls_config() -> EngineResult<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "loading trusted certificates");
            }
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err("no trusted root certificates found (install ca-certificates)".into());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(EngineError::unavailable)
}

async fn connect(uri: &Uri, host: &str, port: u16) -> EngineResult<Box<dyn Io>> {
    let bare = host.trim_matches(|c| c == '[' || c == ']');
    let tcp = TcpStream::connect((bare, port))
        .await
        .map_err(|e| EngineError::unavailable(format!("fetching {uri}: {e}")))?;
    if uri.scheme_str() != Some("https") {
        return Ok(Box::new(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from(bare.to_string())
        .map_err(|e| EngineError::invalid(format!("fetching {uri}: {e}")))?;
    let tls = tokio_rustls::TlsConnector::from(tls_config()?)
        .connect(name, tcp)
        .await
        .map_err(|e| EngineError::unavailable(format!("fetching {uri}: TLS: {e}")))?;
    Ok(Box::new(tls))
}

/// The body at `url`, as a blocking reader.
pub async fn fetch(url: &str) -> EngineResult<impl std::io::Read + Send + 'static> {
    let mut uri: Uri = url
        .parse()
        .map_err(|e| EngineError::invalid(format!("invalid URL {url:?}: {e}")))?;
    for _ in 0..=MAX_REDIRECTS {
        let default_port = match uri.scheme_str() {
            Some("http") => 80,
            Some("https") => 443,
            _ => {
                return Err(EngineError::invalid(format!(
                    "unsupported URL {uri}: expected http:// or https://"
                )))
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| EngineError::invalid(format!("URL {uri} has no host")))?
            .to_string();
        let port = uri.port_u16().unwrap_or(default_port);
        let stream = connect(&uri, &host, port).await?;
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
