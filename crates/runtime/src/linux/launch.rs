//! The parent side of starting a container process: fork the child into a fresh pid
//! namespace and its cgroups (without a migration: see `cgroups::entry`), let it go, learn
//! when it is ready, and tell it to exec (OCI's create and start).

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use rustix::process::Pid;

use super::child::{self, ChildSetup, ERROR, READY};
use super::fork::{fork_into, Forked};
use super::StartError;
use crate::cgroups::Entry;

/// A created container process, stopped just before exec.
#[derive(Debug)]
pub struct Launched {
    pub pid: Pid,
    sync: std::fs::File,
    report: std::fs::File,
}

/// Forks the container process into its cgroup (`entry`). `setup` carries the child's ends
/// of the two pipes; the parent keeps the other ends. The caller must be single-threaded.
pub fn launch<'a>(
    new_pid_namespace: bool,
    entry: &Entry,
    make: impl FnOnce(OwnedFd, OwnedFd) -> ChildSetup<'a>,
) -> Result<Launched, StartError> {
    let (sync_read, sync_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| StartError::os("creating a pipe", e))?;
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| StartError::os("creating a pipe", e))?;
    if new_pid_namespace {
        // Children forked from now on are created in a new pid namespace, as its init.
        // SAFETY: unshare(CLONE_NEWPID) only affects this process's future children.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWPID) }
            .map_err(|e| StartError::os("creating the pid namespace", e))?;
    }
    // SAFETY: the caller guarantees this process is single-threaded, so the child may run
    // ordinary code (allocate, lock) after the fork: no other thread can hold a lock.
    let forked = unsafe { fork_into(entry.v2_dir()) }.map_err(|e| StartError::os("fork", e))?;
    let (pid, in_cgroup) = match forked {
        Forked::Child => {
            drop(sync_write);
            drop(report_read);
            if let Err(e) = entry.join_v1() {
                child::fail(&report_write, StartError::os("entering the cgroup", e));
            }
            child::run(make(sync_read, report_write));
        }
        Forked::Parent { pid, in_cgroup } => (pid, in_cgroup),
    };
    drop(sync_read);
    drop(report_write);
    let launched = Launched {
        pid,
        sync: std::fs::File::from(sync_write),
        report: std::fs::File::from(report_read),
    };
    if !in_cgroup {
        if let Err(e) = entry.add_to_v2(pid.as_raw_nonzero().get() as u32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            return Err(StartError::engine(format!(
                "placing the process in its cgroup: {e}"
            )));
        }
    }
    Ok(launched)
}

impl Launched {
    /// Lets the child go on once its cgroups are set, and waits until it is ready to exec.
    pub fn setup_done(&mut self) -> Result<(), StartError> {
        self.sync
            .write_all(&[1])
            .map_err(|e| StartError::os("signalling the container process", e))?;
        let mut tag = [0u8; 1];
        match self.report.read(&mut tag) {
            Ok(1) if tag[0] == READY => Ok(()),
            Ok(1) if tag[0] == ERROR => Err(self.read_error()),
            Ok(_) => Err(StartError::engine(
                "the container process died during setup",
            )),
            Err(e) => Err(StartError::os("reading the container process's report", e)),
        }
    }

    /// Tells the child to exec, and waits for the outcome: end of file on the report pipe
    /// means the exec happened (the pipe closed on exec).
    pub fn start(mut self) -> Result<(), StartError> {
        self.sync
            .write_all(&[1])
            .map_err(|e| StartError::os("starting the container process", e))?;
        let mut tag = [0u8; 1];
        match self.report.read(&mut tag) {
            Ok(0) => Ok(()),
            Ok(_) if tag[0] == ERROR => Err(self.read_error()),
            Ok(_) => Err(StartError::engine(
                "unexpected report from the container process",
            )),
            Err(e) => Err(StartError::os("reading the container process's report", e)),
        }
    }

    fn read_error(&mut self) -> StartError {
        let mut body = Vec::new();
        let _ = self.report.read_to_end(&mut body);
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| StartError::engine("the container process failed during setup"))
    }
}
