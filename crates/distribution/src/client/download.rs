//! Plain downloads over the client's transport: a URL's body (`import` from a URL, a remote
//! build context, `ADD <url>`), with redirects followed and the system's trusted roots.

use http::{header, Request, StatusCode, Uri};
use hyper::body::Incoming;

use super::transport::{self, empty};
use super::{Client, ClientError};

const MAX_REDIRECTS: usize = 5;

impl Client {
    /// The body at `url` (`http://` or `https://`), following redirects.
    pub async fn download(&self, url: &str) -> Result<Incoming, ClientError> {
        let mut uri: Uri = url
            .parse()
            .map_err(|e| ClientError::invalid(format!("invalid URL {url:?}: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(uri.scheme_str(), Some("http" | "https")) {
                return Err(ClientError::invalid(format!(
                    "unsupported URL {uri}: expected http:// or https://"
                )));
            }
            let req = Request::get(uri.clone())
                .body(empty())
                .map_err(|e| ClientError::invalid(format!("fetching {uri}: {e}")))?;
            let resp = self
                .transport
                .send(req, true)
                .await
                .map_err(|e| ClientError::unavailable(format!("fetching {uri}: {e}")))?;
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| {
                        ClientError::unavailable(format!(
                            "fetching {uri}: redirect without a location"
                        ))
                    })?;
                uri = transport::resolve(&uri, location)?;
                continue;
            }
            if status != StatusCode::OK {
                return Err(ClientError::unavailable(format!(
                    "fetching {uri}: the server answered {status}"
                )));
            }
            return Ok(resp.into_body());
        }
        Err(ClientError::unavailable(format!(
            "fetching {url}: too many redirects"
        )))
    }
}
