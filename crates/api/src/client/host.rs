//! Where the engine is: `unix:///path`, `tcp://host:port`, or `ssh://[user@]host[:port]`.

use std::fmt;
use std::path::PathBuf;

/// The default local socket.
pub const DEFAULT_SOCKET: &str = "/run/berth/berth.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp(String),
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid host {input:?}: {reason}")]
pub struct HostError {
    pub input: String,
    pub reason: &'static str,
}

impl Host {
    pub fn default_unix() -> Host {
        Host::Unix(PathBuf::from(DEFAULT_SOCKET))
    }

    /// Parses docker's `-H` syntax. A bare path is a unix socket; `tcp://` without a port
    /// gets docker's 2375; `fd://` is not supported.
    pub fn parse(input: &str) -> Result<Host, HostError> {
        let err = |reason| HostError {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Ok(Host::default_unix());
            }
            return Ok(Host::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(Host::Unix(PathBuf::from(s)));
        }
        if let Some(addr) = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
        {
            let addr = addr.trim_end_matches('/');
            if addr.is_empty() {
                return Err(err("missing address"));
            }
            if addr.contains('/') {
                return Err(err("a tcp address takes no path"));
            }
            let has_port = match addr.rfind(':') {
                Some(i) => !addr[i..].contains(']'),
                None => false,
            };
            return Ok(Host::Tcp(if has_port {
                addr.to_string()
            } else {
                format!("{addr}:2375")
            }));
        }
        if let Some(rest) = s.strip_prefix("ssh://") {
            let rest = rest.trim_end_matches('/');
            if rest.contains('/') {
                return Err(err("an ssh address takes no path"));
            }
            let (user, hostport) = match rest.rsplit_once('@') {
                Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
                Some(_) => return Err(err("empty user name")),
                None => (None, rest),
            };
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                    let port = p.parse().map_err(|_| err("invalid port"))?;
                    (h.to_string(), Some(port))
                }
                _ => (hostport.to_string(), None),
            };
            if host.is_empty() {
                return Err(err("missing host name"));
            }
            return Ok(Host::Ssh { user, host, port });
        }
        Err(err("expected unix://, tcp:// or ssh://"))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Unix(p) => write!(f, "unix://{}", p.display()),
            Host::Tcp(a) => write!(f, "tcp://{a}"),
            Host::Ssh { user, host, port } => {
                write!(f, "ssh://")?;
                if let Some(u) = user {
                    write!(f, "{u}@")?;
                }
                write!(f, "{host}")?;
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_host_forms() {
        assert_eq!(
            Host::parse("unix:///tmp/b.sock").unwrap(),
            Host::Unix("/tmp/b.sock".into())
        );
        assert_eq!(Host::parse("unix://").unwrap(), Host::default_unix());
        assert_eq!(
            Host::parse("tcp://127.0.0.1:2376").unwrap(),
            Host::Tcp("127.0.0.1:2376".into())
        );
        assert_eq!(
            Host::parse("tcp://example.com").unwrap(),
            Host::Tcp("example.com:2375".into())
        );
        assert_eq!(
            Host::parse("tcp://[::1]").unwrap(),
            Host::Tcp("[::1]:2375".into())
        );
        assert_eq!(
            Host::parse("ssh://me@box:2222").unwrap(),
            Host::Ssh {
                user: Some("me".into()),
                host: "box".into(),
                port: Some(2222)
            }
        );
        assert_eq!(
            Host::parse("ssh://box").unwrap(),
            Host::Ssh {
                user: None,
                host: "box".into(),
                port: None
            }
        );
    }

    #[test]
    fn rejects_malformed_hosts() {
        for bad in [
            "",
            "fd://",
            "tcp://",
            "ssh://@box",
            "ssh://box:port",
            "tcp://a/b",
            "x",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn displays_round_trip() {
        for s in [
            "unix:///run/x.sock",
            "tcp://1.2.3.4:5",
            "ssh://u@h:22",
            "ssh://h",
        ] {
            assert_eq!(Host::parse(s).unwrap().to_string(), s);
        }
    }
}
