//! Health checks: while a container with a HEALTHCHECK runs, a prober runs its test as an
//! exec at each interval and keeps docker's `State.Health` in the record — `starting`, then
//! `healthy` or (after enough failures in a row) `unhealthy`, the failing streak, and the
//! last five results. The prober ends when the container stops.

use std::sync::Arc;
use std::time::Duration;

use berth_api::types::{ExecConfig, Health, HealthConfig, HealthLogEntry};
use berth_runtime::shim::protocol::Request;
use berth_runtime::shim::SOCKET;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::record::Status;
use super::{exec, exec_process, names, shim_client, Container, ContainerService};
use crate::error::{EngineError, EngineResult};
use crate::timefmt::go_rfc3339_nano;

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: i64 = 3;
/// docker keeps this many results, and this much of each one's output.
const MAX_LOG_ENTRIES: usize = 5;
const MAX_OUTPUT: usize = 4096;

/// The command a health check runs, or None when there is none (`NONE`, or no test).
pub fn probe_command(hc: &HealthConfig, shell: Option<&[String]>) -> Option<Vec<String>> {
    let test = hc.test.as_deref()?;
    match test.first().map(String::as_str) {
        Some("CMD") if test.len() > 1 => Some(test[1..].to_vec()),
        Some("CMD-SHELL") if test.len() > 1 => {
            let mut cmd = match shell {
                Some(s) if !s.is_empty() => s.to_vec(),
                _ => vec!["/bin/sh".to_string(), "-c".to_string()],
            };
            cmd.push(test[1..].join(" "));
            Some(cmd)
        }
        _ => None,
    }
}

/// docker's checks of a health check at create: durations of at least 1ms when set, and
/// retries not negative.
pub fn validate(hc: &HealthConfig) -> EngineResult<()> {
    const MIN: i64 = 1_000_000;
    for (name, value) in [
        ("Interval", hc.interval),
        ("Timeout", hc.timeout),
        ("StartPeriod", hc.start_period),
    ] {
        if value != 0 && value < MIN {
            return Err(EngineError::invalid(format!(
                "{name} in Healthcheck cannot be less than 1ms"
            )));
        }
    }
    if hc.retries < 0 {
        return Err(EngineError::invalid(
            "Retries in Healthcheck cannot be negative",
        ));
    }
    Ok(())
}

fn nanos_or(ns: i64, default: Duration) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        default
    }
}

/// A duration as Go prints one (`30s`, `200ms`, `1m30s`), for docker's timeout message.
fn go_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let secs = d.as_secs();
    let (h, m) = (secs / 3600, secs / 60 % 60);
    let s = d.as_secs_f64() - (h * 3600 + m * 60) as f64;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    let s = format!("{s:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    out.push_str(&format!("{s}s"));
    out
}

/// docker's rule for one result: success makes the container healthy; a failure counts
/// (outside the start period of a container never yet healthy) and `retries` of them in a
/// row make it unhealthy.
pub fn record_probe(
    health: &mut Health,
    entry: HealthLogEntry,
    since_start: Duration,
    start_period: Duration,
    retries: i64,
) {
    if entry.exit_code == 0 {
        health.failing_streak = 0;
        health.status = HEALTHY.to_string();
    } else {
        let grace = health.status == STARTING && since_start < start_period;
        if !grace {
            health.failing_streak += 1;
            if health.failing_streak >= retries {
                health.status = UNHEALTHY.to_string();
            }
        }
    }
    health.log.push(entry);
    if health.log.len() > MAX_LOG_ENTRIES {
        let extra = health.log.len() - MAX_LOG_ENTRIES;
        health.log.drain(..extra);
    }
}

/// Reads a probe's multiplexed output to its end, keeping the first [`MAX_OUTPUT`] bytes.
async fn read_output(mut from: impl AsyncRead + Unpin) -> String {
    let mut out = Vec::new();
    let mut truncated = false;
    let mut header = [0u8; 8];
    'frames: while from.read_exact(&mut header).await.is_ok() {
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let mut payload = vec![0u8; len.min(1 << 20)];
        let mut left = len;
        while left > 0 {
            let take = left.min(payload.len());
            if from.read_exact(&mut payload[..take]).await.is_err() {
                break 'frames;
            }
            let keep = take.min(MAX_OUTPUT - out.len().min(MAX_OUTPUT));
            out.extend_from_slice(&payload[..keep]);
            truncated |= keep < take;
            left -= take;
        }
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if truncated {
        text.push_str("...");
    }
    text
}

impl ContainerService {
    /// Starts probing `c`, just started (`fresh`: its health starts over as `starting`) or
    /// found running after an engine restart, when its config has a health check.
    pub(super) fn watch_health(self: &Arc<Self>, c: &Arc<Container>, fresh: bool) {
        let rec = c.record();
        let Some(hc) = rec.config.healthcheck.clone() else {
            return;
        };
        let Some(cmd) = probe_command(&hc, rec.config.shell.as_deref()) else {
            return;
        };
        let dir = self.data_dir(&c.id);
        let _ = c.update(&dir, |r| {
            let h = r.state.health.get_or_insert_with(Health::default);
            if fresh || h.status.is_empty() {
                h.status = STARTING.to_string();
                h.failing_streak = 0;
            }
        });
        let interval = nanos_or(hc.interval, DEFAULT_INTERVAL);
        let timeout = nanos_or(hc.timeout, DEFAULT_TIMEOUT);
        let start_period = nanos_or(hc.start_period, Duration::ZERO);
        let retries = if hc.retries > 0 {
            hc.retries
        } else {
            DEFAULT_RETRIES
        };
        let seen = c.lifecycle.borrow().exits;
        let svc = self.clone();
        let c = c.clone();
        tokio::spawn(async move {
            let mut rx = c.lifecycle.subscribe();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = rx.wait_for(|l| l.exits > seen || l.removed) => return,
                }
                if c.record().state.status != Status::Running {
                    continue;
                }
                let start = Utc::now();
                let (exit_code, output) = tokio::select! {
                    r = svc.probe(&c, &cmd, timeout) => r,
                    _ = rx.wait_for(|l| l.exits > seen || l.removed) => return,
                };
                let entry = HealthLogEntry {
                    start: go_rfc3339_nano(start),
                    end: go_rfc3339_nano(Utc::now()),
                    exit_code,
                    output,
                };
                let _ = c.update(&dir, |r| {
                    if r.state.status != Status::Running {
                        return;
                    }
                    let since_start = r
                        .state
                        .started_at
                        .map(|s| since(s, start))
                        .unwrap_or_default();
                    let h = r.state.health.get_or_insert_with(Health::default);
                    record_probe(h, entry, since_start, start_period, retries);
                });
            }
        });
    }

    /// Runs one probe as an exec; its exit code (-1 when it could not run or took too long)
    /// and output.
    async fn probe(&self, c: &Container, cmd: &[String], timeout: Duration) -> (i64, String) {
        let rec = c.record();
        let id = names::new_id();
        let config = ExecConfig {
            cmd: cmd.to_vec(),
            attach_stdout: true,
            attach_stderr: true,
            ..Default::default()
        };
        let socket = self.bundle_dir(&rec.id).join(SOCKET);
        let req = Request::Exec {
            id: id.clone(),
            process: exec_process::exec_process(&rec, &config),
        };
        let run = async {
            let (reply, conn) = shim_client::request(&socket, &req)
                .await
                .map_err(|e| e.message)?;
            if let Some(err) = reply.error {
                return Err(exec_process::start_failed(&err.message).message);
            }
            let output = read_output(conn).await;
            let code = exec::wait_exec(&socket, &id).await.unwrap_or(-1);
            Ok((code, output))
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(message)) => (-1, message),
            Err(_) => {
                let kill = Request::Kill {
                    signal: libc::SIGKILL,
                    all: false,
                    exec: Some(id),
                };
                let _ = shim_client::call(&socket, &kill).await;
                (
                    -1,
                    format!("Health check exceeded timeout ({})", go_duration(timeout)),
                )
            }
        }
    }
}

fn since(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: i64) -> HealthLogEntry {
        HealthLogEntry {
            exit_code: code,
            ..Default::default()
        }
    }

    #[test]
    fn commands_of_each_test_form() {
        let hc = |t: &[&str]| HealthConfig {
            test: Some(t.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert_eq!(
            probe_command(&hc(&["CMD", "true", "x"]), None),
            Some(vec!["true".to_string(), "x".to_string()])
        );
        assert_eq!(
            probe_command(&hc(&["CMD-SHELL", "exit 1"]), None).unwrap(),
            ["/bin/sh", "-c", "exit 1"]
        );
        assert_eq!(probe_command(&hc(&["NONE"]), None), None);
        assert_eq!(probe_command(&HealthConfig::default(), None), None);
    }

    #[test]
    fn results_follow_dockers_rules() {
        let mut h = Health {
            status: STARTING.into(),
            ..Default::default()
        };
        let period = Duration::from_secs(10);
        // Failures within the start period do not count.
        record_probe(&mut h, entry(1), Duration::from_secs(1), period, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        record_probe(&mut h, entry(1), Duration::from_secs(11), period, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 1));
        record_probe(&mut h, entry(1), Duration::from_secs(12), period, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 2));
        record_probe(&mut h, entry(0), Duration::from_secs(13), period, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 0));
        for _ in 0..4 {
            record_probe(&mut h, entry(0), Duration::from_secs(14), period, 2);
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
    }

    #[test]
    fn settings_are_checked_like_dockers() {
        let ok = HealthConfig {
            interval: 1_000_000,
            ..Default::default()
        };
        assert!(validate(&ok).is_ok());
        let short = HealthConfig {
            timeout: 10,
            ..Default::default()
        };
        assert_eq!(
            validate(&short).unwrap_err().message,
            "Timeout in Healthcheck cannot be less than 1ms"
        );
        let negative = HealthConfig {
            retries: -1,
            ..Default::default()
        };
        assert!(validate(&negative).is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_millis(200)), "200ms");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    }
}
