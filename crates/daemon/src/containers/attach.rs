//! Attaching a client's connection (hijacked from HTTP) to a container's streams through its
//! shim. The shim already speaks docker's stream format (multiplexed frames without a
//! terminal, raw with one), so the engine only copies bytes — and watches stdin for the
//! detach keys.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use berth_api::detach::{self, DetachMatcher};
use berth_runtime::shim::protocol::Request;
use berth_runtime::shim::SOCKET;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::record::Status;
use super::{shim_client, ContainerService};
use crate::error::{EngineError, EngineResult};

pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub detach_keys: Option<Vec<u8>>,
    /// Replay the log so far first (`logs=1`).
    pub logs: bool,
    /// Then follow the live streams (`stream=1`); without it, only the log is sent.
    pub stream: bool,
}

/// An attach waiting for its container to start.
pub struct PendingAttach {
    pub opts: AttachOptions,
    pub io: Box<dyn Io>,
}

/// docker's `--detach-keys` syntax: `ctrl-<a-z@[\]^_>` and single characters, comma-separated.
pub fn parse_detach_keys(s: &str) -> EngineResult<Vec<u8>> {
    detach::parse(s).map_err(|e| EngineError::invalid(e.to_string()))
}

impl ContainerService {
    /// Checks before the connection is hijacked, so refusals are ordinary HTTP errors. As
    /// in docker, a stopped container may be attached to (its log replayed, or its streams
    /// joined when it starts again, as `start -a` does); a paused or restarting one not.
    pub fn can_attach(self: &Arc<Self>, name: &str) -> EngineResult<String> {
        let c = self.find(name)?;
        let rec = c.record();
        match rec.state.status {
            Status::Paused => Err(EngineError::conflict(format!(
                "container {name} is paused, unpause the container before attach"
            ))),
            Status::Restarting => Err(EngineError::conflict(format!(
                "container {name} is restarting, wait until the container is running"
            ))),
            Status::Removing | Status::Dead => Err(EngineError::conflict(
                "You cannot attach to a container that is being removed",
            )),
            _ => Ok(c.id.clone()),
        }
    }

    /// Attaches `io` now (running) or at start (created), after replaying the log when
    /// asked to.
    pub async fn attach(self: &Arc<Self>, id: &str, opts: AttachOptions, mut io: Box<dyn Io>) {
        let Ok(c) = self.find(id) else { return };
        if opts.logs {
            let svc = self.clone();
            let (id, stdout, stderr) = (id.to_string(), opts.stdout, opts.stderr);
            let replay = tokio::task::spawn_blocking(move || {
                let log_opts = super::LogsOptions {
                    stdout,
                    stderr,
                    ..Default::default()
                };
                let mut buf = Vec::new();
                svc.open_logs(&id, &log_opts)?.copy_to(&mut buf)?;
                Ok::<_, EngineError>(buf)
            })
            .await;
            if let Ok(Ok(buf)) = replay {
                if io.write_all(&buf).await.is_err() {
                    return;
                }
            }
        }
        if !opts.stream {
            let _ = io.shutdown().await;
            return;
        }
        self.announce(&c.record(), "attach", &[]);
        let pending = PendingAttach { opts, io };
        let running = c.record().state.status == Status::Running;
        if running {
            connect(&self.bundle_dir(id).join(SOCKET), pending).await;
        } else {
            c.pending_attach
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(pending);
        }
    }
}

impl ContainerService {
    /// Resizes the container's terminal.
    pub async fn resize(self: &Arc<Self>, name: &str, height: u16, width: u16) -> EngineResult<()> {
        let c = self.find(name)?;
        if !matches!(c.record().state.status, Status::Running | Status::Paused) {
            return Err(EngineError::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let reply = shim_client::call(
            &self.bundle_dir(&c.id).join(SOCKET),
            &Request::Resize {
                height,
                width,
                exec: None,
            },
        )
        .await?;
        if let Some(e) = reply.error {
            return Err(EngineError::invalid(e.message));
        }
        self.announce(
            &c.record(),
            "resize",
            &[("height", height.to_string()), ("width", width.to_string())],
        );
        Ok(())
    }
}

/// Connects a client to the shim and copies both ways until the container's output ends,
/// the client goes, or the client types the detach keys.
pub async fn connect(socket: &Path, p: PendingAttach) {
    let req = Request::Attach {
        stdin: p.opts.stdin,
        stdout: p.opts.stdout,
        stderr: p.opts.stderr,
    };
    let shim = match shim_client::request(socket, &req).await {
        Ok((reply, conn)) if reply.error.is_none() => conn,
        _ => return,
    };
    let detach = p
        .opts
        .detach_keys
        .clone()
        .unwrap_or_else(|| detach::DEFAULT_KEYS.to_vec());
    splice(shim, p.io, p.opts.stdin, detach, async {});
}

/// Copies between a client and a shim connection carrying a process's streams, in the
/// background, until the output ends, the client goes, or the client types the detach keys.
/// `ended` runs once the output has ended, before the client's side is shut.
pub(super) fn splice(
    shim: BufReader<UnixStream>,
    io: Box<dyn Io>,
    want_stdin: bool,
    detach: Vec<u8>,
    ended: impl Future<Output = ()> + Send + 'static,
) {
    let early = shim.buffer().to_vec();
    let shim = shim.into_inner();
    tokio::spawn(async move {
        let (mut from_shim, mut to_shim) = shim.into_split();
        let (mut from_client, mut to_client) = tokio::io::split(io);
        let output = async move {
            if !early.is_empty() && to_client.write_all(&early).await.is_err() {
                return;
            }
            let _ = tokio::io::copy(&mut from_shim, &mut to_client).await;
            ended.await;
            let _ = to_client.shutdown().await;
        };
        let input = async move {
            if !want_stdin {
                // Hold the client side open; its closing ends nothing but this.
                let mut sink = [0u8; 1024];
                while matches!(from_client.read(&mut sink).await, Ok(n) if n > 0) {}
                return false;
            }
            let detached = copy_stdin(&mut from_client, &mut to_shim, &detach).await;
            let _ = to_shim.shutdown().await;
            detached
        };
        tokio::pin!(output);
        tokio::pin!(input);
        tokio::select! {
            _ = &mut output => {}
            detached = &mut input => {
                if !detached {
                    // stdin ended: keep delivering output until the process is done.
                    output.await;
                }
            }
        }
    });
}

/// Copies stdin to the shim, holding back a partial detach sequence; returns true when the
/// client detached.
async fn copy_stdin(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    keys: &[u8],
) -> bool {
    let mut buf = [0u8; 8192];
    let mut matcher = DetachMatcher::new(keys.to_vec());
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let mut rest = Vec::new();
                matcher.finish(&mut rest);
                let _ = to.write_all(&rest).await;
                return false;
            }
            Ok(n) => n,
        };
        let mut out = Vec::with_capacity(n);
        let detached = matcher.feed(&buf[..n], &mut out);
        if to.write_all(&out).await.is_err() {
            return false;
        }
        if detached {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stdin_stops_at_the_detach_keys() {
        let input: &[u8] = b"ab\x10c\x10\x11zz";
        let mut from = input;
        let mut to = Vec::new();
        assert!(copy_stdin(&mut from, &mut to, &detach::DEFAULT_KEYS).await);
        assert_eq!(to, b"ab\x10c");
    }
}
