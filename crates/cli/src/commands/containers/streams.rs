//! The CLI's side of an attached container: output to our stdout and stderr (split from
//! docker's multiplexed frames, or raw with a terminal), our stdin to the container, the
//! local terminal in raw mode while attached to a container's terminal, resizes, and
//! signals proxied to the container.

use std::io::{IsTerminal, Read};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use berth_api::client::Hijacked;
use berth_api::detach::DetachMatcher;
use berth_api::Client;
use tokio::io::{AsyncWriteExt, WriteHalf};

use crate::error::{CliError, CliResult};

/// Puts the terminal on stdin in raw mode until dropped.
pub struct RawTerminal {
    saved: Option<rustix::termios::Termios>,
}

impl RawTerminal {
    pub fn enter() -> RawTerminal {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return RawTerminal { saved: None };
        }
        let Ok(saved) = rustix::termios::tcgetattr(stdin.as_fd()) else {
            return RawTerminal { saved: None };
        };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ =
            rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, &raw);
        RawTerminal { saved: Some(saved) }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin().as_fd(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// The size of our terminal, if stdout is one.
pub fn terminal_size() -> Option<(u16, u16)> {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    rustix::termios::tcgetwinsize(out.as_fd())
        .ok()
        .map(|w| (w.ws_row, w.ws_col))
}

/// How an attached stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The container's output ended (it exited, or the engine let go).
    Output,
    /// The user typed the detach keys; the container goes on.
    Detached,
}

/// The detach keys of `--detach-keys`, or docker's default.
pub fn detach_keys(flag: Option<&str>) -> CliResult<Vec<u8>> {
    match flag {
        None | Some("") => Ok(berth_api::detach::DEFAULT_KEYS.to_vec()),
        Some(k) => berth_api::detach::parse(k).map_err(|e| CliError::usage(e.to_string())),
    }
}

/// Copies our stdin to the container on a thread of its own (a blocking read of a terminal
/// cannot be cancelled; the thread simply ends with the process). The detach keys are
/// passed on too, so the engine detaches just as we do and leaves the container's stdin
/// open; the returned receiver fires when they were typed. The flag is raised the moment
/// they are read, before they go to the engine: the engine, seeing them too, closes the
/// stream, and that end of the output must not be mistaken for the container's.
fn pump_stdin(
    mut to: WriteHalf<Hijacked>,
    keys: Vec<u8>,
) -> (tokio::sync::oneshot::Receiver<()>, Arc<AtomicBool>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<u8>, bool)>(8);
    let (detached_tx, detached_rx) = tokio::sync::oneshot::channel();
    let typed = Arc::new(AtomicBool::new(false));
    let typed_by_reader = typed.clone();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 16 * 1024];
        let mut matcher = DetachMatcher::new(keys);
        let mut scratch = Vec::new();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    scratch.clear();
                    let detached = matcher.feed(&buf[..n], &mut scratch);
                    if detached {
                        typed_by_reader.store(true, Ordering::SeqCst);
                    }
                    if tx.blocking_send((buf[..n].to_vec(), detached)).is_err() || detached {
                        return;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some((chunk, detached)) = rx.recv().await {
            if to.write_all(&chunk).await.is_err() {
                return;
            }
            if detached {
                let _ = to.flush().await;
                let _ = detached_tx.send(());
                return;
            }
        }
        // Our stdin ended: so does the container's (when it reads it once).
        let _ = to.shutdown().await;
    });
    (detached_rx, typed)
}

/// Streams an attached connection until the container's output ends or, with stdin
/// attached, the user detaches.
pub async fn stream(conn: Hijacked, tty: bool, stdin: Option<&[u8]>) -> CliResult<Ended> {
    let (mut from, to) = tokio::io::split(conn);
    let mut stdout = tokio::io::stdout();
    let copy = async {
        if tty {
            tokio::io::copy(&mut from, &mut stdout).await.map(|_| ())
        } else {
            let mut stderr = tokio::io::stderr();
            berth_api::stdcopy::demux(&mut from, &mut stdout, &mut stderr).await
        }
    };
    let result = match stdin {
        Some(keys) => {
            let (ended, typed) = pump_stdin(to, keys.to_vec());
            let result = tokio::select! {
                r = copy => r.map(|()| Ended::Output),
                Ok(()) = ended => Ok(Ended::Detached),
            };
            if typed.load(Ordering::SeqCst) {
                Ok(Ended::Detached)
            } else {
                result
            }
        }
        None => {
            // Without stdin, the write half is held (not closed) for as long as output flows.
            let _held = to;
            copy.await.map(|()| Ended::Output)
        }
    };
    let _ = tokio::io::stdout().flush().await;
    result.map_err(|e| CliError::general(format!("error while attached: {e}")))
}

/// Keeps the container's terminal the size of ours.
pub fn follow_resizes(client: Arc<Client>, id: String) {
    follow_terminal_size(move |h, w| {
        let client = client.clone();
        let id = id.clone();
        async move { client.container_resize(&id, h, w).await.is_ok() }
    });
}

/// Keeps an exec's terminal the size of ours.
pub fn follow_exec_resizes(client: Arc<Client>, id: String) {
    follow_terminal_size(move |h, w| {
        let client = client.clone();
        let id = id.clone();
        async move { client.exec_resize(&id, h, w).await.is_ok() }
    });
}

/// Calls `resize` with our terminal's size now and whenever it changes. The first call is
/// tried a few times: the process may not be quite started yet, as docker's CLI allows.
fn follow_terminal_size<F, Fut>(resize: F)
where
    F: Fn(u16, u16) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    tokio::spawn(async move {
        if let Some((h, w)) = terminal_size() {
            for attempt in 1..=5u64 {
                if resize(h, w).await {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
            }
        }
        let Ok(mut winch) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while winch.recv().await.is_some() {
            if let Some((h, w)) = terminal_size() {
                resize(h, w).await;
            }
        }
    });
}

/// Forwards the signals a user sends us to the container (`--sig-proxy`).
pub fn proxy_signals(client: Arc<Client>, id: String) {
    use tokio::signal::unix::{signal, SignalKind};
    let kinds = [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
        (SignalKind::user_defined1(), "SIGUSR1"),
        (SignalKind::user_defined2(), "SIGUSR2"),
    ];
    for (kind, name) in kinds {
        let Ok(mut sig) = signal(kind) else { continue };
        let client = client.clone();
        let id = id.clone();
        tokio::spawn(async move {
            while sig.recv().await.is_some() {
                let _ = client.container_kill(&id, name).await;
            }
        });
    }
}
