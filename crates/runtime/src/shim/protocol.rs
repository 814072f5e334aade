//! The conversation between the engine and a container's shim, over the shim's unix socket:
//! one JSON request line per connection, one JSON reply line, and for `attach` and `exec` the
//! connection then carries the process's streams.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::linux::StartError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// The process's pid and whether it is created, running or stopped.
    State,
    /// Exec the created process. Replies once the exec happened or failed.
    Start,
    /// Send a signal to the process (`all`: to every process in the container), or to the
    /// exec process `exec`.
    Kill {
        signal: i32,
        all: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exec: Option<String>,
    },
    /// Reply when the process has exited (at once if it has).
    Wait,
    /// Attach to the streams. After the reply the connection carries, from the shim, the
    /// output (raw with a terminal, otherwise docker's multiplexed frames) and, to the shim,
    /// raw stdin; closing the write side ends stdin when the container's stdin is once-only.
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Resize the container's terminal, or the terminal of the exec process `exec`.
    Resize {
        height: u16,
        width: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exec: Option<String>,
    },
    /// Start a further process in the running container, known as `id` from then on. The
    /// reply carries its pid (or why it could not start); after it the connection carries the
    /// process's streams, as for `attach`. Its output never goes to the container's log.
    Exec { id: String, process: ExecProcess },
    /// Reply when the exec process `id` has exited (at once if it has).
    ExecWait { id: String },
}

/// A process to start in a running container. What is not here comes from the container's
/// own process: namespaces, cgroup, capabilities, seccomp filter, no_new_privs, limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecProcess {
    pub args: Vec<String>,
    /// The whole environment, but for `HOME`, which comes from the user's passwd entry
    /// when missing.
    pub env: Vec<String>,
    /// Empty: the container's working directory.
    #[serde(default)]
    pub cwd: String,
    /// As `--user` takes it, resolved inside the container; empty is root.
    #[serde(default)]
    pub user: String,
    /// Supplementary groups beyond those of the user's /etc/group entries.
    #[serde(default)]
    pub groups: Vec<String>,
    pub tty: bool,
    /// Which streams the starting connection attaches.
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Every capability, rather than the container's.
    #[serde(default)]
    pub privileged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    Running,
    Stopped,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    pub pid: i32,
    /// The exit status, or 128 + the signal that killed it.
    pub exit_code: i32,
    pub oom_killed: bool,
    pub finished_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StartError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitRecord>,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::default()
    }

    pub fn error(e: StartError) -> Reply {
        Reply {
            error: Some(e),
            ..Default::default()
        }
    }
}

/// What the shim prints on its stdout once, when the container is created (or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Created {
    Pid(i32),
    Error(StartError),
}

/// Docker's stream multiplexing header: stream (1 stdout, 2 stderr), three zero bytes, and
/// the payload length, big endian.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let n = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_object() {
        let r = Request::Kill {
            signal: 15,
            all: false,
            exec: None,
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(s, r#"{"op":"kill","signal":15,"all":false}"#);
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), r);
        assert_eq!(
            serde_json::to_string(&Request::Wait).unwrap(),
            r#"{"op":"wait"}"#
        );
        // Requests of an older engine still parse.
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"op":"resize","height":2,"width":3}"#).unwrap(),
            Request::Resize {
                height: 2,
                width: 3,
                exec: None
            }
        );
        let exec = Request::Exec {
            id: "e1".into(),
            process: ExecProcess {
                args: vec!["true".into()],
                ..Default::default()
            },
        };
        let s = serde_json::to_string(&exec).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), exec);
    }

    #[test]
    fn frame_headers() {
        assert_eq!(frame_header(1, 5), [1, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(frame_header(2, 0x0102_0304), [2, 0, 0, 0, 1, 2, 3, 4]);
    }
}
