//! Attaching a client's connection (hijacked from HTTP) to a container's streams through its
//! shim. The shim already speaks docker's stream format (multiplexed frames without a
//! terminal, raw with one), so the engine only copies bytes — and watches stdin for the
//! detach keys.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use berth_runtime::shim::protocol::Request;
use berth_runtime::shim::SOCKET;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::record::Status;
use super::{shim_client, ContainerService};
use crate::error::{EngineError, EngineResult};

/// docker's default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [0x10, 0x11];

pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub detach_keys: Option<Vec<u8>>,
}

/// An attach waiting for its container to start.
pub struct PendingAttach {
    pub opts: AttachOptions,
    pub io: Box<dyn Io>,
}

/// docker's `--detach-keys` syntax: `ctrl-<a-z@[\]^_>` and single characters, comma-separated.
pub fn parse_detach_keys(s: &str) -> EngineResult<Vec<u8>> {
    let mut out = Vec::new();
    for key in s.split(',') {
        if let Some(c) = key.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b] if b.is_ascii_lowercase() => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => {
                    return Err(EngineError::invalid(format!(
                        "Invalid escape keys ({s}) provided"
                    )))
                }
            };
            out.push(b);
        } else if key.len() == 1 {
            out.push(key.as_bytes()[0]);
        } else {
            return Err(EngineError::invalid(format!(
                "Invalid escape keys ({s}) provided"
            )));
        }
    }
    Ok(out)
}

impl ContainerService {
    /// Checks before the connection is hijacked, so refusals are ordinary HTTP errors.
    pub fn can_attach(self: &Arc<Self>, name: &str) -> EngineResult<String> {
        let c = self.find(name)?;
        let rec = c.record();
        match rec.state.status {
            Status::Exited | Status::Dead
                if rec.host_config.auto_remove || rec.has_been_started =>
            {
                Err(EngineError::conflict(
                    "You cannot attach to a stopped container, start it first",
                ))
            }
            Status::Removing => Err(EngineError::conflict(
                "You cannot attach to a container that is being removed",
            )),
            _ => Ok(c.id.clone()),
        }
    }

    /// Attaches `io` now (running) or at start (created).
    pub async fn attach(self: &Arc<Self>, id: &str, opts: AttachOptions, io: Box<dyn Io>) {
        let Ok(c) = self.find(id) else { return };
        let pending = PendingAttach { opts, io };
        let running = matches!(c.record().state.status, Status::Running | Status::Paused);
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
        match reply.error {
            Some(e) => Err(EngineError::invalid(e.message)),
            None => Ok(()),
        }
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
        .unwrap_or_else(|| DEFAULT_DETACH_KEYS.to_vec());
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
    let mut matched = 0usize;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let mut out = Vec::with_capacity(n);
        for &b in &buf[..n] {
            if !keys.is_empty() && b == keys[matched] {
                matched += 1;
                if matched == keys.len() {
                    let _ = to.write_all(&out).await;
                    return true;
                }
                continue;
            }
            if matched > 0 {
                out.extend_from_slice(&keys[..matched]);
                matched = 0;
            }
            out.push(b);
        }
        if to.write_all(&out).await.is_err() {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_syntax() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            DEFAULT_DETACH_KEYS
        );
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), [1, b'x']);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }

    #[tokio::test]
    async fn stdin_stops_at_the_detach_keys() {
        let input: &[u8] = b"ab\x10c\x10\x11zz";
        let mut from = input;
        let mut to = Vec::new();
        assert!(copy_stdin(&mut from, &mut to, &DEFAULT_DETACH_KEYS).await);
        assert_eq!(to, b"ab\x10c");
    }
}
