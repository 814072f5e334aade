//! Spawning a container's shim. A shim takes about two milliseconds to be exec'd and
//! initialised, a tenth of a whole `run`; so the engine keeps one started in advance (a
//! spare, `berth shim --spare`), detached and waiting on its stdin for the bundle it is to
//! create, and gives it the next start. A spare holds nothing but its pipes; it exits when
//! the engine does (its stdin ends). Starts that find no spare spawn a shim as before.

use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use berth_runtime::shim::protocol::Created;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

use crate::error::{EngineError, EngineResult, ErrorKind};

/// How long a shim may take to create the container process.
const CREATE_TIMEOUT: Duration = Duration::from_secs(60);

/// A shim waiting for its bundle.
struct Spare {
    stdin: ChildStdin,
    stdout: ChildStdout,
}

#[derive(Default)]
pub struct Shims {
    spare: Mutex<Option<Spare>>,
}

impl Shims {
    /// Starts a spare if there is none. Needs the runtime (it reaps the first process).
    pub fn refill(&self) {
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if spare.is_some() {
            return;
        }
        match launch(None) {
            Ok(s) => *spare = Some(s),
            Err(e) => tracing::warn!(error = %e, "starting a spare shim"),
        }
    }

    /// Has a shim create the container of `bundle`; returns the pid of its process.
    pub async fn create(&self, bundle: &Path) -> EngineResult<i32> {
        let taken = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Spare { mut stdin, stdout } = match taken {
            Some(s) => s,
            None => launch(Some(bundle))
                .map_err(|e| EngineError::internal(format!("starting the shim: {e}")))?,
        };
        let mut line = bundle.as_os_str().as_encoded_bytes().to_vec();
        line.push(b'\n');
        // A shim started for this bundle ignores its stdin; a spare reads the line.
        let _ = stdin.write_all(&line).await;
        drop(stdin);
        report(bundle, stdout).await
    }
}

/// Spawns `berth shim` for `bundle`, or a spare (`--spare`) when there is none yet.
fn launch(bundle: Option<&Path>) -> std::io::Result<Spare> {
    // The engine's own binary, even when the file has since been replaced or removed (an
    // upgrade while the engine runs): the shim must speak the protocol of the engine that
    // starts it.
    let mut cmd = tokio::process::Command::new("/proc/self/exe");
    cmd.arg0("berth").arg("shim");
    match bundle {
        Some(b) => cmd.arg(b),
        None => cmd.arg("--spare"),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(std::io::Error::other("the shim has no stdin or stdout"));
    };
    // The shim forks itself away at once (so it is not our child once we are gone); reap
    // the short-lived first process.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(Spare { stdin, stdout })
}

/// Reads the shim's report: the container process's pid, or why it could not be created.
async fn report(bundle: &Path, stdout: ChildStdout) -> EngineResult<i32> {
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    let read = tokio::time::timeout(CREATE_TIMEOUT, reader.read_line(&mut line)).await;
    match read {
        Ok(Ok(n)) if n > 0 => {}
        Ok(_) => {
            let log = std::fs::read_to_string(bundle.join("shim.log")).unwrap_or_default();
            return Err(EngineError::internal(format!(
                "the shim exited without creating the container: {}",
                log.trim()
            )));
        }
        Err(_) => {
            return Err(EngineError::internal(
                "the shim did not create the container in time",
            ))
        }
    }
    match serde_json::from_str::<Created>(line.trim()) {
        Ok(Created::Pid(pid)) => Ok(pid),
        Ok(Created::Error(e)) => Err(EngineError::new(
            if e.code == 125 {
                ErrorKind::Internal
            } else {
                ErrorKind::InvalidArgument
            },
            format!(
                "failed to create task for container: OCI runtime create failed: {}: unknown",
                e.message
            ),
        )),
        Err(e) => Err(EngineError::internal(format!(
            "bad report from the shim: {e}: {line}"
        ))),
    }
}
