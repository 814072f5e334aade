//! Starting a container's process on Linux: the child side of the fork (namespaces, mounts,
//! pivot_root, devices, identity, capabilities, seccomp, exec) and the pieces it is made of.
//!
//! The parent (the shim) is single-threaded when it forks, so the child may allocate and
//! run ordinary Rust code until it execs. The child is not dumpable until the exec, so a
//! process in the container cannot reach the host's binary through `/proc/<pid>/exe`; the
//! only Berth code that runs in a container is the init of `--init`, exec'd from a read-only
//! bind mount and itself not dumpable (see `crate::init`).

pub mod caps;
pub mod child;
pub mod devices;
pub mod exec;
pub mod fork;
pub mod launch;
pub mod loopback;
pub mod mounts;
pub mod paths;
pub mod terminal;
pub mod user;

use std::fmt;

/// Why a container process could not be started, and the exit code docker uses for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StartError {
    pub message: String,
    /// 126 (cannot execute), 127 (not found), or 125 (anything else, an engine error).
    pub code: i32,
}

impl StartError {
    pub fn engine(message: impl Into<String>) -> Self {
        StartError {
            message: message.into(),
            code: 125,
        }
    }

    /// A step of the setup failed with an OS error.
    pub fn os(step: impl fmt::Display, e: impl Into<std::io::Error>) -> Self {
        StartError::engine(format!("{step}: {}", e.into()))
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StartError {}
