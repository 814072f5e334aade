//! One HTTP/1.1 exchange over TCP or TLS: the client's only way onto the network.
//!
//! TLS uses rustls with the system's trusted roots, plus any `*.crt` in a per-registry
//! certificates directory (`<certs.d>/<host:port>/`, as docker reads `/etc/docker/certs.d`).
//! For an insecure registry the certificate is not verified, and the caller may fall back
//! to plain HTTP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::{header, Request, Response, Uri};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::error::ClientError;

/// A request body: empty, a few bytes, or a stream of chunks.
pub type Body = BoxBody<Bytes, std::io::Error>;

pub const USER_AGENT: &str = concat!("Berth/", env!("CARGO_PKG_VERSION"));

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// How to reach hosts: whose certificates to trust, and which hosts need no verification.
#[derive(Debug)]
pub struct Transport {
    certs_dirs: Vec<PathBuf>,
    verified: Mutex<std::collections::HashMap<String, Arc<rustls::ClientConfig>>>,
}

impl Transport {
    pub fn new(certs_dirs: Vec<PathBuf>) -> Transport {
        Transport {
            certs_dirs,
            verified: Mutex::new(Default::default()),
        }
    }

    /// Sends `req` (whose URI is absolute) and returns the response head with its body
    /// still streaming. `verify` off accepts any certificate (insecure registries).
    pub async fn send(
        &self,
        mut req: Request<Body>,
        verify: bool,
    ) -> Result<Response<Incoming>, ClientError> {
        let uri = req.uri().clone();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(ClientError::invalid(format!("unsupported URL {uri}"))),
        };
        let host = uri
            .host()
            .ok_or_else(|| ClientError::invalid(format!("URL {uri} has no host")))?
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare = host.trim_matches(|c| c == '[' || c == ']').to_string();
        let tcp = TcpStream::connect((bare.as_str(), port))
            .await
            .map_err(|e| ClientError::unavailable(format!("connecting to {host}:{port}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = if https {
            let config = if verify {
                self.verified_config(&format!("{host}:{port}"), &host)?
            } else {
                unverified_config()?
            };
            let name = rustls::pki_types::ServerName::try_from(bare.clone())
                .map_err(|e| ClientError::invalid(format!("{uri}: {e}")))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| ClientError::Tls(format!("{host}:{port}: {e}")))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::unavailable(format!("{host}:{port}: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let authority = uri
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_else(|| host.clone());
        let path = uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "/".into());
        *req.uri_mut() = path
            .parse()
            .map_err(|e| ClientError::invalid(format!("{uri}: {e}")))?;
        let headers = req.headers_mut();
        headers.insert(
            header::HOST,
            authority
                .parse()
                .map_err(|_| ClientError::invalid(format!("bad host in {uri}")))?,
        );
        headers.insert(
            header::USER_AGENT,
            header::HeaderValue::from_static(USER_AGENT),
        );
        sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::unavailable(format!("{} {uri}: {e}", "request to")))
    }

    /// The verifying TLS configuration for one registry: system roots plus its own CAs.
    fn verified_config(
        &self,
        host_port: &str,
        host: &str,
    ) -> Result<Arc<rustls::ClientConfig>, ClientError> {
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(host_port) {
            return Ok(c.clone());
        }
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        for dir in &self.certs_dirs {
            for name in [host_port, host] {
                add_dir_certs(&mut roots, &dir.join(name));
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let config = Arc::new(config);
        cache.insert(host_port.to_string(), config.clone());
        Ok(config)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Adds every `*.crt` certificate in `dir` (a registry's directory under certs.d).
fn add_dir_certs(roots: &mut rustls::RootCertStore, dir: &Path) {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "crt") {
            match CertificateDer::pem_file_iter(&path) {
                Ok(certs) => {
                    roots.add_parsable_certificates(certs.flatten());
                }
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "reading a CA"),
            }
        }
    }
}

/// Accepts any certificate: only for registries the administrator declared insecure.
fn unverified_config() -> Result<Arc<rustls::ClientConfig>, ClientError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = provider();
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(ClientError::Tls)
}

/// A verifier that trusts every certificate but still checks the handshake signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Resolves a `Location` header (absolute, or a path on `base`'s host).
pub fn resolve(base: &Uri, location: &str) -> Result<Uri, ClientError> {
    let s = if location.contains("://") {
        location.to_string()
    } else {
        let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
        let scheme = base.scheme_str().unwrap_or("http");
        if location.starts_with('/') {
            format!("{scheme}://{authority}{location}")
        } else {
            let path = base.path();
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!("{scheme}://{authority}{dir}{location}")
        }
    };
    s.parse()
        .map_err(|e| ClientError::invalid(format!("bad location {location:?}: {e}")))
}

/// An empty request body.
pub fn empty() -> Body {
    use http_body_util::BodyExt;
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// A request body holding `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    use http_body_util::BodyExt;
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_request() {
        let base: Uri = "https://r.example:5000/v2/a/blobs/uploads/"
            .parse()
            .unwrap();
        assert_eq!(
            resolve(&base, "/v2/a/blobs/uploads/123?x=1")
                .unwrap()
                .to_string(),
            "https://r.example:5000/v2/a/blobs/uploads/123?x=1"
        );
        assert_eq!(
            resolve(&base, "http://cdn.example/blob")
                .unwrap()
                .to_string(),
            "http://cdn.example/blob"
        );
        assert_eq!(
            resolve(&base, "456").unwrap().to_string(),
            "https://r.example:5000/v2/a/blobs/uploads/456"
        );
    }
}
