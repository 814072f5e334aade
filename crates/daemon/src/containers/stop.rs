//! Stopping, killing, restarting and waiting for containers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use berth_api::types::{ContainerWaitResponse, WaitError};
use berth_runtime::shim::protocol::Request;
use berth_runtime::shim::SOCKET;

use super::record::Status;
use super::{shim_client, Container, ContainerService, Lifecycle};
use crate::error::{EngineError, EngineResult};

/// docker's default grace period before SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// A signal by name (`TERM`, `SIGTERM`, `sigkill`) or number.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    Some(match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return None,
    })
}

/// docker's wait conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> EngineResult<WaitCondition> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(EngineError::invalid(format!(
                "invalid condition: {other:?}"
            ))),
        }
    }
}

impl ContainerService {
    async fn signal(&self, c: &Container, signal: i32) -> EngineResult<()> {
        let socket = self.bundle_dir(&c.id).join(SOCKET);
        let req = Request::Kill {
            signal,
            all: false,
            exec: None,
        };
        let reply = shim_client::call(&socket, &req).await?;
        match reply.error {
            Some(e) => Err(EngineError::internal(e.message)),
            None => Ok(()),
        }
    }

    /// docker's `killWithSignal`: the signal, announced; a paused container is resumed after
    /// a signal meant to end it (`ending`), so that the signal takes effect.
    async fn deliver(&self, c: &Container, signal: i32, ending: bool) -> EngineResult<()> {
        self.signal(c, signal).await?;
        if ending && c.record().state.status == Status::Paused {
            if let Err(e) = self.resume(c).await {
                tracing::warn!(id = %c.id, error = %e, "resuming the paused container");
            }
        }
        self.announce(&c.record(), "kill", &[("signal", signal.to_string())]);
        Ok(())
    }

    /// Waits until `c` has exited more times than `seen`, for at most `timeout`.
    async fn exited_since(c: &Container, seen: u64, timeout: Option<Duration>) -> bool {
        let mut rx = c.lifecycle.subscribe();
        let wait = rx.wait_for(|l| l.exits > seen || l.removed);
        match timeout {
            Some(t) => matches!(tokio::time::timeout(t, wait).await, Ok(Ok(_))),
            None => wait.await.is_ok(),
        }
    }

    /// Marks the next exit of `c` as final and as the user's doing.
    fn mark_stopped(&self, c: &Container, final_exit: bool) -> EngineResult<()> {
        if final_exit {
            c.exit_on_next.store(true, Ordering::SeqCst);
        }
        c.update(&self.data_dir(&c.id), |r| {
            r.manually_stopped = true;
            // A restart that is only waiting for its delay is called off at once.
            if final_exit && r.state.status == Status::Restarting {
                r.state.status = Status::Exited;
            }
        })?;
        Ok(())
    }

    /// `docker stop`: the stop signal, then SIGKILL after `timeout` seconds (the
    /// container's StopTimeout or 10 by default; -1 waits forever). Returns false when the
    /// container was not running (docker answers 304).
    pub async fn stop(self: &Arc<Self>, name: &str, timeout: Option<i64>) -> EngineResult<bool> {
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        self.stop_locked(&c, timeout).await
    }

    pub(super) async fn stop_locked(
        &self,
        c: &Arc<Container>,
        timeout: Option<i64>,
    ) -> EngineResult<bool> {
        let rec = c.record();
        if rec.state.status == Status::Restarting {
            self.mark_stopped(c, true)?;
            self.announce(&c.record(), "stop", &[]);
            return Ok(true);
        }
        if !rec.state.status.is_active() {
            return Ok(false);
        }
        self.mark_stopped(c, true)?;
        let seen = c.lifecycle.borrow().exits;
        let signal = if rec.config.stop_signal.is_empty() {
            libc::SIGTERM
        } else {
            parse_signal(&rec.config.stop_signal).unwrap_or(libc::SIGTERM)
        };
        let grace = timeout
            .or(rec.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        if self.deliver(c, signal, true).await.is_err() {
            // The shim is gone: its monitor settles the container.
            Self::exited_since(c, seen, Some(Duration::from_secs(5))).await;
        } else {
            let limit = (grace >= 0).then(|| Duration::from_secs(grace as u64));
            if !Self::exited_since(c, seen, limit).await {
                tracing::info!(id = %c.id, "container did not stop within {grace}s; killing it");
                let _ = self.deliver(c, libc::SIGKILL, true).await;
                Self::exited_since(c, seen, Some(Duration::from_secs(30))).await;
            }
        }
        self.announce(&c.record(), "stop", &[]);
        Ok(true)
    }

    /// What `rm -f` does to a running container, as docker: SIGKILL, then the wait for its
    /// exit. The caller holds the operation lock.
    pub(super) async fn kill_locked(&self, c: &Arc<Container>) -> EngineResult<()> {
        self.mark_stopped(c, true)?;
        let seen = c.lifecycle.borrow().exits;
        let wait = match self.deliver(c, libc::SIGKILL, true).await {
            Ok(()) => Duration::from_secs(30),
            Err(_) => Duration::from_secs(5),
        };
        Self::exited_since(c, seen, Some(wait)).await;
        Ok(())
    }

    /// `docker kill`, with docker's effect on restart policies: any signal counts as a
    /// manual stop (which `unless-stopped` honours), and the stop signal or SIGKILL also
    /// makes the next exit final. SIGKILL waits for the exit, as docker's does.
    pub async fn kill(self: &Arc<Self>, name: &str, signal: &str) -> EngineResult<()> {
        let c = self.find(name)?;
        let sig = if signal.is_empty() {
            libc::SIGKILL
        } else {
            parse_signal(signal)
                .ok_or_else(|| EngineError::invalid(format!("Invalid signal: {signal}")))?
        };
        let rec = c.record();
        if !rec.state.status.is_active() {
            return Err(EngineError::conflict(format!(
                "Cannot kill container: {name}: Container {} is not running",
                c.id
            )));
        }
        let stop_signal = parse_signal(&rec.config.stop_signal);
        let ending = sig == libc::SIGKILL || stop_signal.is_none() || stop_signal == Some(sig);
        self.mark_stopped(&c, ending)?;
        if rec.state.status == Status::Restarting {
            // No process to signal: calling off the restart is the whole effect.
            return Ok(());
        }
        let seen = c.lifecycle.borrow().exits;
        self.deliver(&c, sig, ending).await?;
        if sig == libc::SIGKILL {
            Self::exited_since(&c, seen, Some(Duration::from_secs(10))).await;
        }
        Ok(())
    }

    /// `docker restart`: stop (if running) then start.
    pub async fn restart(self: &Arc<Self>, name: &str, timeout: Option<i64>) -> EngineResult<()> {
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        self.stop_locked(&c, timeout).await?;
        self.start_locked(&c).await?;
        self.announce(&c.record(), "restart", &[]);
        Ok(())
    }

    /// `docker wait`: what to wait for, fixed now (so an exit that comes before the caller
    /// awaits it is not missed).
    pub fn waiter(&self, name: &str, condition: WaitCondition) -> EngineResult<Waiter> {
        let c = self.find(name)?;
        let rx = c.lifecycle.subscribe();
        let start: Lifecycle = *rx.borrow();
        let already = match condition {
            WaitCondition::NotRunning => !c.record().state.status.is_active(),
            _ => false,
        };
        Ok(Waiter {
            c,
            rx,
            start,
            condition,
            already,
        })
    }
}

/// A `docker wait` in progress.
pub struct Waiter {
    c: Arc<Container>,
    rx: tokio::sync::watch::Receiver<Lifecycle>,
    start: Lifecycle,
    condition: WaitCondition,
    already: bool,
}

impl Waiter {
    /// The exit code once the condition is met.
    pub async fn wait(mut self) -> EngineResult<ContainerWaitResponse> {
        if !self.already {
            let (start, condition) = (self.start, self.condition);
            let result = self
                .rx
                .wait_for(|l| match condition {
                    WaitCondition::Removed => l.removed,
                    _ => l.exits > start.exits || l.removed,
                })
                .await;
            if result.is_err() {
                return Err(EngineError::unavailable("the engine is shutting down"));
            }
        }
        let rec = self.c.record();
        let error = (!rec.state.error.is_empty()).then(|| WaitError {
            message: rec.state.error.clone(),
        });
        Ok(ContainerWaitResponse {
            status_code: rec.state.exit_code as i64,
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("TERM"), Some(libc::SIGTERM));
        assert_eq!(parse_signal("SIGKILL"), Some(libc::SIGKILL));
        assert_eq!(parse_signal("sighup"), Some(libc::SIGHUP));
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("SIGNOPE"), None);
    }
}
