//! The registry client: sessions with a repository on a registry (auth, endpoint choice,
//! insecure registries, Docker Hub mirrors) and the distribution protocol's operations on
//! them. It moves bytes and checks digests; what the bytes become (images, layers) is the
//! caller's business.

mod auth;
mod download;
mod error;
mod session;
mod transport;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use auth::{Challenge, Credentials};
pub use error::ClientError;
pub use session::{Manifest, Mount, Session};
pub use transport::{empty, full, Body};

/// Docker Hub's registry name in references, and the host actually serving it.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

/// Which registries are reached how: the daemon's `insecure-registries` and
/// `registry-mirrors`, and where per-registry certificates live.
#[derive(Debug, Clone, Default)]
pub struct ClientConfig {
    /// Hosts (`host` or `host:port`) and CIDR ranges (`10.0.0.0/8`) reached without
    /// certificate checks, falling back to plain HTTP. Loopback is always insecure.
    pub insecure: Vec<String>,
    /// Base URLs tried before Docker Hub for Docker Hub images.
    pub mirrors: Vec<String>,
    /// Directories holding `<host:port>/*.crt` trusted for that registry.
    pub certs_dirs: Vec<PathBuf>,
}

/// The client: shared by every pull and push of one engine.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    transport: transport::Transport,
    tokens: Mutex<auth::TokenCache>,
}

/// One way of reaching a registry, tried in order until one answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://host:port` or `http://host:port`, without a trailing slash.
    pub base: String,
    /// Whether the TLS certificate is checked.
    pub verify: bool,
    /// A mirror serves pulls only; failures fall through to the next endpoint.
    pub mirror: bool,
}

impl Client {
    pub fn new(config: ClientConfig) -> Arc<Client> {
        Arc::new(Client {
            transport: transport::Transport::new(config.certs_dirs.clone()),
            config,
            tokens: Mutex::new(Default::default()),
        })
    }

    /// Whether `registry` (a reference's domain, `host[:port]`) is reached insecurely.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = host_of(registry);
        if host == "localhost" {
            return true;
        }
        let ip: Option<IpAddr> = host.parse().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.config.insecure.iter().any(|entry| {
            if entry == registry || entry == host {
                return true;
            }
            match (ip, parse_cidr(entry)) {
                (Some(ip), Some((net, bits))) => in_cidr(ip, net, bits),
                _ => false,
            }
        })
    }

    /// The endpoints to try for `registry`, for a pull (`push` false) or a push.
    pub fn endpoints(&self, registry: &str, push: bool) -> Vec<Endpoint> {
        let mut out = Vec::new();
        if registry == DOCKER_HUB {
            if !push {
                for m in &self.config.mirrors {
                    let base = m.trim_end_matches('/').to_string();
                    let verify = !base.starts_with("http://") && {
                        let host = base.split("://").nth(1).unwrap_or(&base);
                        !self.is_insecure(host)
                    };
                    out.push(Endpoint {
                        base,
                        verify,
                        mirror: true,
                    });
                }
            }
            out.push(Endpoint {
                base: format!("https://{DOCKER_HUB_HOST}"),
                verify: true,
                mirror: false,
            });
            return out;
        }
        if self.is_insecure(registry) {
            out.push(Endpoint {
                base: format!("https://{registry}"),
                verify: false,
                mirror: false,
            });
            out.push(Endpoint {
                base: format!("http://{registry}"),
                verify: false,
                mirror: false,
            });
        } else {
            out.push(Endpoint {
                base: format!("https://{registry}"),
                verify: true,
                mirror: false,
            });
        }
        out
    }
}

/// The host part of `host[:port]` (IPv6 in brackets kept bare).
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.split(':').next().unwrap_or(registry)
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (net, bits) = s.split_once('/')?;
    Some((net.parse().ok()?, bits.parse().ok()?))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        let c = Client::new(ClientConfig {
            insecure: vec!["reg.lan:5000".into(), "10.1.0.0/16".into()],
            ..Default::default()
        });
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("127.9.9.9"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(c.is_insecure("reg.lan:5000"));
        assert!(!c.is_insecure("reg.lan:6000"));
        assert!(c.is_insecure("10.1.2.3:443"));
        assert!(!c.is_insecure("10.2.0.1"));
        assert!(!c.is_insecure("quay.io"));
    }

    #[test]
    fn docker_hub_goes_through_mirrors_for_pulls_only() {
        let c = Client::new(ClientConfig {
            mirrors: vec!["https://mirror.example/".into()],
            ..Default::default()
        });
        let pull = c.endpoints(DOCKER_HUB, false);
        assert_eq!(pull.len(), 2);
        assert_eq!(pull[0].base, "https://mirror.example");
        assert!(pull[0].mirror);
        assert_eq!(pull[1].base, "https://registry-1.docker.io");
        assert_eq!(c.endpoints(DOCKER_HUB, true).len(), 1);
        let local = c.endpoints("localhost:5000", false);
        assert_eq!(local[0].base, "https://localhost:5000");
        assert!(!local[0].verify);
        assert_eq!(local[1].base, "http://localhost:5000");
    }
}
