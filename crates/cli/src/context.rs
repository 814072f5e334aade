//! Which engine to talk to, and reaching it: `-H`, then `BERTH_HOST`, then `DOCKER_HOST`,
//! then the default socket. When nothing answers on the default socket and we are root, an
//! engine is started in the background, as a convenience on a fresh machine.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_api::{Client, Host};

use crate::error::CliError;

const DAEMON_LOG: &str = "/var/log/berth/daemon.log";
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The host to use, and whether it is the default local socket.
pub fn resolve_host(flag: Option<&str>) -> Result<(Host, bool), CliError> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let chosen = flag
        .map(str::to_string)
        .or_else(|| from_env("BERTH_HOST"))
        .or_else(|| from_env("DOCKER_HOST"));
    match chosen {
        Some(h) => {
            let host = Host::parse(&h).map_err(|e| CliError::usage(e.to_string()))?;
            let is_default = host == Host::default_unix();
            Ok((host, is_default))
        }
        None => Ok((Host::default_unix(), true)),
    }
}

/// A client for the chosen engine, starting one first when that is our job.
pub async fn connect(flag: Option<&str>) -> Result<Client, CliError> {
    let (host, is_default) = resolve_host(flag)?;
    if is_default && rustix::process::geteuid().is_root() {
        if let Host::Unix(path) = &host {
            if tokio::net::UnixStream::connect(path).await.is_err() {
                start_daemon(path).await?;
            }
        }
    }
    Ok(Client::new(host))
}

/// Starts `berth daemon` detached from this process and waits for its socket to answer.
async fn start_daemon(socket: &Path) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(|e| {
        CliError::general(format!(
            "cannot find the berth binary to start the daemon: {e}"
        ))
    })?;
    let log_path = Path::new(DAEMON_LOG);
    if let Some(dir) = log_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| CliError::general(format!("opening {DAEMON_LOG}: {e}")))?;
    let log_err = log
        .try_clone()
        .map_err(|e| CliError::general(format!("opening {DAEMON_LOG}: {e}")))?;
    let child = std::process::Command::new(exe)
        .arg("daemon")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group, so a Ctrl-C meant for this command does not stop it.
        .process_group(0)
        .spawn()
        .map_err(|e| CliError::general(format!("starting the berth daemon: {e}")))?;
    eprintln!(
        "Started the Berth daemon in the background (pid {}, log {DAEMON_LOG}).",
        child.id()
    );
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(CliError::general(format!(
        "the berth daemon did not come up within {START_TIMEOUT:?}; see {DAEMON_LOG}"
    )))
}

use std::os::unix::process::CommandExt as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_host_wins() {
        let (h, default) = resolve_host(Some("tcp://1.2.3.4:5")).unwrap();
        assert_eq!(h, Host::Tcp("1.2.3.4:5".into()));
        assert!(!default);
        assert!(resolve_host(Some("bogus://x")).is_err());
    }
}
