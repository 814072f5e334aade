//! Starting a further process in a running container (`exec`): the shim forks it into the
//! container's pid namespace; it waits until it is in the container's cgroup, joins the
//! container's other namespaces through the container process's /proc entries, takes its
//! identity (resolved in the container's own /etc/passwd), the container's limits,
//! capabilities, no_new_privs and seccomp filter, and execs.
//!
//! As for the container's process: the child is not dumpable until the exec, no descriptor of
//! the shim's survives the exec, and a failure is reported as an `E` byte and a JSON
//! [`StartError`] on a close-on-exec pipe whose end of file means the exec happened.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use rustix::fs::{Mode, OFlags};
use rustix::process::Pid;
use rustix::thread::{Gid, Uid};
use seccompiler::sock_filter;

use super::child::{self, Never, ERROR};
use super::fork::{fork_into, Forked};
use super::{caps, user, StartError};
use crate::cgroups::Entry;
use crate::shim::protocol::ExecProcess;

/// docker's exit code for an exec that could not start.
pub const EXEC_FAILED: i32 = 126;

pub struct ExecSetup<'a> {
    /// The container's process, whose namespaces the new one joins.
    pub init_pid: i32,
    /// The container's spec: its namespaces, limits, capabilities and defaults.
    pub spec: &'a Spec,
    pub process: &'a ExecProcess,
    /// The descriptors that become 0, 1 and 2.
    pub stdio: [OwnedFd; 3],
    /// A terminal to make the controlling terminal.
    pub console: Option<OwnedFd>,
    pub seccomp: Option<&'a [sock_filter]>,
}

fn failed(message: impl Into<String>) -> StartError {
    StartError {
        message: message.into(),
        code: EXEC_FAILED,
    }
}

/// The namespaces of the container's process the exec joins (those it has of its own), by
/// their /proc names, opened in the shim's view of /proc. The mount namespace comes last: it
/// changes the root.
fn open_namespaces(init_pid: i32, spec: &Spec) -> Result<Vec<OwnedFd>, StartError> {
    let kinds = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(|ns| ns.iter().map(|n| n.typ()).collect::<Vec<_>>())
        .unwrap_or_default();
    let order = [
        (LinuxNamespaceType::Cgroup, "cgroup"),
        (LinuxNamespaceType::Ipc, "ipc"),
        (LinuxNamespaceType::Uts, "uts"),
        (LinuxNamespaceType::Network, "net"),
        (LinuxNamespaceType::Mount, "mnt"),
    ];
    let mut fds = Vec::new();
    for (kind, name) in order {
        if !kinds.contains(&kind) {
            continue;
        }
        let path = format!("/proc/{init_pid}/ns/{name}");
        let fd = rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| StartError::os(format!("opening {path}"), e))?;
        fds.push(fd);
    }
    Ok(fds)
}

/// Forks the exec process into the container's cgroup (`entry`) and waits until it has
/// exec'd (or failed to). The caller must be single-threaded.
pub fn launch(setup: ExecSetup<'_>, entry: &Entry) -> Result<Pid, StartError> {
    let namespaces = open_namespaces(setup.init_pid, setup.spec)?;
    let has_pid_ns = setup
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Pid));
    if has_pid_ns {
        // Children forked from now on are born in the container's pid namespace (the shim
        // made it for the container's process, so this usually changes nothing).
        let path = format!("/proc/{}/ns/pid", setup.init_pid);
        let fd = rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| StartError::os(format!("opening {path}"), e))?;
        rustix::thread::move_into_link_name_space(
            fd.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::ProcessID),
        )
        .map_err(|e| StartError::os("joining the container's pid namespace", e))?;
    }
    let (sync_read, sync_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| StartError::os("creating a pipe", e))?;
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| StartError::os("creating a pipe", e))?;
    // SAFETY: the caller guarantees this process is single-threaded, so the child may run
    // ordinary code (allocate, lock) after the fork: no other thread can hold a lock.
    let forked = unsafe { fork_into(entry.v2_dir()) }.map_err(|e| StartError::os("fork", e))?;
    let (pid, in_cgroup) = match forked {
        Forked::Child => {
            drop(sync_write);
            drop(report_read);
            if let Err(e) = entry.join_v1() {
                let e = StartError {
                    code: EXEC_FAILED,
                    ..StartError::os("entering the cgroup", e)
                };
                child::fail(&report_write, e);
            }
            run(setup, namespaces, sync_read, report_write);
        }
        Forked::Parent { pid, in_cgroup } => (pid, in_cgroup),
    };
    drop(sync_read);
    drop(report_write);
    drop(namespaces);
    let abandon = |e: StartError| {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        e
    };
    if !in_cgroup {
        entry
            .add_to_v2(pid.as_raw_nonzero().get() as u32)
            .map_err(|e| {
                abandon(StartError::engine(format!(
                    "placing the process in its cgroup: {e}"
                )))
            })?;
    }
    let mut sync = std::fs::File::from(sync_write);
    sync.write_all(&[1])
        .map_err(|e| abandon(StartError::os("signalling the exec process", e)))?;
    let mut report = std::fs::File::from(report_read);
    let mut tag = [0u8; 1];
    match report.read(&mut tag) {
        Ok(0) => Ok(pid),
        Ok(_) if tag[0] == ERROR => {
            let mut body = Vec::new();
            let _ = report.read_to_end(&mut body);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            Err(serde_json::from_slice(&body)
                .unwrap_or_else(|_| failed("the exec process failed during setup")))
        }
        Ok(_) => Err(abandon(StartError::engine(
            "unexpected report from the exec process",
        ))),
        Err(e) => Err(abandon(StartError::os(
            "reading the exec process's report",
            e,
        ))),
    }
}

/// Runs in the child; never returns.
fn run(setup: ExecSetup<'_>, namespaces: Vec<OwnedFd>, sync: OwnedFd, report: OwnedFd) -> ! {
    let mut report = std::fs::File::from(report);
    let e = match become_exec(setup, namespaces, sync) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let e = StartError {
        code: EXEC_FAILED,
        ..e
    };
    let mut msg = vec![ERROR];
    msg.extend(serde_json::to_vec(&e).unwrap_or_default());
    let _ = report.write_all(&msg);
    std::process::exit(e.code);
}

fn become_exec(
    setup: ExecSetup<'_>,
    namespaces: Vec<OwnedFd>,
    sync: OwnedFd,
) -> Result<Never, StartError> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| StartError::os("prctl(PR_SET_DUMPABLE)", e))?;
    child::wait_byte(&mut std::fs::File::from(sync), "cgroup setup")?;
    for ns in &namespaces {
        rustix::thread::move_into_link_name_space(ns.as_fd(), None)
            .map_err(|e| StartError::os("joining the container's namespaces", e))?;
    }
    drop(namespaces);
    rustix::process::setsid().map_err(|e| StartError::os("setsid", e))?;
    if let Some(console) = &setup.console {
        rustix::process::ioctl_tiocsctty(console)
            .map_err(|e| StartError::os("setting the controlling terminal", e))?;
    }
    for (i, fd) in setup.stdio.iter().enumerate() {
        // SAFETY: dup2 onto 0..=2 replaces our stdio with descriptors we own; no Rust object
        // owns the raw descriptors 0..=2 of this process.
        if unsafe { libc::dup2(fd.as_raw_fd(), i as libc::c_int) } < 0 {
            return Err(StartError::os(
                "setting up stdio",
                std::io::Error::last_os_error(),
            ));
        }
    }

    let process = setup.process;
    let spec_process = setup
        .spec
        .process()
        .as_ref()
        .ok_or_else(|| StartError::engine("spec has no process"))?;
    // Joining the mount namespace made its root ours: this is the container's /etc/passwd.
    let root = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StartError::os("opening the container's root", e))?;
    let who =
        user::resolve(&root, &process.user, &process.groups).map_err(|e| failed(e.to_string()))?;
    drop(root);
    if let Some(console) = &setup.console {
        // The terminal belongs to whoever runs on it.
        rustix::fs::fchown(
            console,
            Some(Uid::from_raw(who.uid)),
            Some(Gid::from_raw(who.gid)),
        )
        .map_err(|e| StartError::os("chown of the terminal", e))?;
    }
    for r in spec_process.rlimits().as_deref().unwrap_or(&[]) {
        child::set_rlimit(r)?;
    }
    let cwd = if process.cwd.is_empty() {
        spec_process.cwd().display().to_string()
    } else {
        process.cwd.clone()
    };

    let bounding: Vec<String> = if process.privileged {
        caps::held().iter().map(|c| c.to_string()).collect()
    } else {
        spec_process
            .capabilities()
            .as_ref()
            .and_then(|c| c.bounding().as_ref())
            .map(|s| s.iter().map(|c| format!("CAP_{c}")).collect())
            .unwrap_or_default()
    };
    caps::limit_bounding_set(&bounding)?;
    if spec_process.no_new_privileges().unwrap_or(false) {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| StartError::os("setting no_new_privs", e))?;
    }
    if let Some(program) = setup.seccomp {
        crate::seccomp::install(program)
            .map_err(|e| StartError::engine(format!("installing seccomp filter: {e}")))?;
    }
    super::user::switch_to(who.uid, who.gid, &who.additional_gids)?;
    // As for the container's process: root keeps its capabilities, anyone else has them
    // only in the bounding set.
    let held = if who.uid == 0 { bounding } else { Vec::new() };
    caps::set(&held, &held, &[])?;

    std::env::set_current_dir(&cwd).map_err(|e| {
        failed(format!(
            "chdir to cwd ({cwd:?}) set in config.json failed: {}",
            child::describe(&e)
        ))
    })?;
    let mut env = process.env.clone();
    if !env.iter().any(|e| e.split('=').next() == Some("HOME")) {
        env.push(format!("HOME={}", who.home));
    }
    child::exec_program(&process.args, &env)
}
