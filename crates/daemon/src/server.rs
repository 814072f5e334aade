//! Listening: unix sockets (mode 0660, owned by root and the configured group) and TCP,
//! serving HTTP/1.1 with upgrades, and draining connections on shutdown.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::config::{DaemonConfig, DEFAULT_GROUP};
use crate::engine::Engine;

/// How long open connections get to finish once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener, String),
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("listening on {host}: {source}")]
    Io { host: String, source: io::Error },
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket { path: String },
    #[error("group {0:?} for the API socket does not exist")]
    NoGroup(String),
}

/// Binds every configured host. Stale socket files are replaced: the caller holds the
/// engine lock, so no other engine can be using them.
pub async fn bind(config: &DaemonConfig) -> Result<Vec<Listener>, ListenError> {
    let gid = socket_group(&config.group)?;
    let mut out = Vec::new();
    for host in &config.hosts {
        let io_err = |source| ListenError::Io {
            host: host.clone(),
            source,
        };
        match berth_api::Host::parse(host) {
            Ok(berth_api::Host::Unix(path)) => {
                remove_stale_socket(&path)?;
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(io_err)?;
                }
                let listener = UnixListener::bind(&path).map_err(io_err)?;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o660)).map_err(io_err)?;
                if let Some(gid) = gid {
                    rustix::fs::chown(&path, None, Some(rustix::fs::Gid::from_raw(gid)))
                        .map_err(|e| io_err(e.into()))?;
                }
                tracing::info!(socket = %path.display(), "API listening");
                out.push(Listener::Unix(listener, path));
            }
            Ok(berth_api::Host::Tcp(addr)) => {
                let listener = TcpListener::bind(addr.as_str()).await.map_err(io_err)?;
                tracing::warn!(address = %addr, "API listening on TCP without TLS: anyone who can reach it controls this machine");
                out.push(Listener::Tcp(listener, addr));
            }
            _ => {
                return Err(io_err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "unsupported host",
                )))
            }
        }
    }
    Ok(out)
}

fn remove_stale_socket(path: &Path) -> Result<(), ListenError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            fs::remove_file(path).map_err(|source| ListenError::Io {
                host: path.display().to_string(),
                source,
            })
        }
        Ok(_) => Err(ListenError::NotASocket {
            path: path.display().to_string(),
        }),
        Err(_) => Ok(()),
    }
}

/// The gid of `group` from /etc/group. The default group may be absent (the socket is then
/// root's alone); a group named explicitly must exist.
fn socket_group(group: &str) -> Result<Option<u32>, ListenError> {
    let text = fs::read_to_string("/etc/group").unwrap_or_default();
    let gid = text.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next() == Some(group)).then(|| f.nth(1).and_then(|g| g.parse().ok()))?
    });
    match gid {
        Some(g) => Ok(Some(g)),
        None if group == DEFAULT_GROUP => {
            tracing::info!(
                group,
                "socket group not found; the API socket is root's alone"
            );
            Ok(None)
        }
        None => Err(ListenError::NoGroup(group.to_string())),
    }
}

/// Serves until `shutdown` resolves, then drains open connections: each is told to finish
/// its current request and close, and gets [`DRAIN_TIMEOUT`] to do so.
pub async fn serve(
    listeners: Vec<Listener>,
    engine: Arc<Engine>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let connections = TaskTracker::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sockets = Vec::new();
    let mut tasks = Vec::new();
    for listener in listeners {
        let engine = engine.clone();
        let connections = connections.clone();
        let mut stop = stop_rx.clone();
        if let Listener::Unix(_, path) = &listener {
            sockets.push(path.clone());
        }
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    accepted = accept(&listener) => match accepted {
                        Ok(io) => {
                            connections.spawn(serve_connection(io, engine.clone(), stop.clone()));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                }
            }
        }));
    }
    shutdown.await;
    tracing::info!("shutting down: no new connections; draining open ones");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    for path in sockets {
        let _ = fs::remove_file(path);
    }
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

async fn accept(listener: &Listener) -> io::Result<Box<dyn Io>> {
    Ok(match listener {
        Listener::Unix(l, _) => Box::new(l.accept().await?.0),
        Listener::Tcp(l, _) => {
            let (s, _) = l.accept().await?;
            s.set_nodelay(true)?;
            Box::new(s)
        }
    })
}

async fn serve_connection(io: Box<dyn Io>, engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let service = service_fn(move |req| crate::http::serve(engine.clone(), req));
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
