//! Fetching a URL (`import` from a URL, a remote build context, `ADD <url>`): HTTP or HTTPS
//! through the registry client's transport (rustls, with the system's trusted roots or those
//! in `SSL_CERT_FILE`), following redirects.

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult, ErrorKind};

/// The body at `url`, as a blocking reader.
pub async fn fetch(
    engine: &Engine,
    url: &str,
) -> EngineResult<impl std::io::Read + Send + 'static> {
    let body = engine.registry().download(url).await.map_err(|e| {
        let kind = match e {
            berth_distribution::client::ClientError::Invalid(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Unavailable,
        };
        EngineError::new(kind, e.to_string())
    })?;
    Ok(crate::http::body_reader(body))
}
