//! `/dev/init` (`run --init`, or `berth init [--] COMMAND…`): a minimal init for pid 1 of a
//! container, as docker's tini. It starts the command as its child, forwards the signals it
//! receives to it, reaps every process that ends up its child (orphans are re-parented to
//! pid 1), and exits with the command's status (128 + the signal when it was killed).
//!
//! In a container the init is exec'd by the container's process as soon as its mounts are in
//! place, while the host's root is still its root, so that this dynamically linked binary
//! and its libraries load; the init then finishes the container's setup itself
//! ([`child::enter`]) from what the process hands over — the spec, the root and the seccomp
//! filter in a memfd, and the two pipes to the shim at fixed descriptors. It runs from a
//! read-only, nosuid mount of the engine's binary at /dev/init (so /proc/1/exe names a file
//! the container cannot write) and stays non-dumpable. The shim clones that mount from its
//! own executable before the container's mount namespace exists ([`binary`]): a bind of
//! /proc/self/exe from inside the new namespace would name a mount of the old one.

use std::ffi::{CString, OsString};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use oci_spec::runtime::Spec;
use seccompiler::sock_filter;
use serde::{Deserialize, Serialize};

use crate::linux::child::{self, Never, ERROR};
use crate::linux::paths::{open_in_root, Create};
use crate::linux::StartError;

/// Where the init is in a container, as docker's.
pub const PATH: &str = "/dev/init";

/// Set in the init's environment when a container's process handed over to it.
const HANDOFF_ENV: &str = "BERTH_INIT_HANDOFF";
const SYNC_FD: i32 = 3;
const REPORT_FD: i32 = 4;
const HANDOFF_FD: i32 = 5;

/// What the container's process hands over to the init.
#[derive(Serialize, Deserialize)]
struct Handoff {
    spec: Spec,
    rootfs: PathBuf,
    /// The compiled filter's instructions: (code, jt, jf, k).
    seccomp: Option<Vec<(u16, u8, u8, u32)>>,
}

/// A detached mount of this process's own executable, to attach at /dev/init.
pub fn binary() -> Result<OwnedFd, StartError> {
    use rustix::mount::OpenTreeFlags as F;
    rustix::mount::open_tree(
        rustix::fs::CWD,
        "/proc/self/exe",
        F::OPEN_TREE_CLONE | F::OPEN_TREE_CLOEXEC,
    )
    .map_err(|e| StartError::os("cloning the engine's binary for /dev/init", e))
}

/// Attaches `binary` at /dev/init in `root`, read-only and nosuid.
pub(crate) fn attach(root: &OwnedFd, binary: &OwnedFd) -> Result<(), StartError> {
    use rustix::mount::{MountFlags, MoveMountFlags as M};
    let at = Path::new(PATH);
    let target = open_in_root(root, at, Create::File)
        .map_err(|e| StartError::os("creating /dev/init", e))?;
    rustix::mount::move_mount(
        binary,
        "",
        &target,
        "",
        M::MOVE_MOUNT_F_EMPTY_PATH | M::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(|e| StartError::os("mounting /dev/init", e))?;
    let mounted = open_in_root(root, at, Create::Nothing)
        .map_err(|e| StartError::os("reopening /dev/init", e))?;
    rustix::mount::mount_remount(
        crate::linux::paths::fd_path(&mounted),
        MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID,
        "",
    )
    .map_err(|e| StartError::os("making /dev/init read-only", e))
}

fn os(step: &str) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |e| StartError::os(step, e)
}

fn cstring(s: &str) -> Result<CString, StartError> {
    CString::new(s).map_err(|_| StartError::engine(format!("{s:?} contains a NUL byte")))
}

/// Execs the init at /dev/init in `root` (the container's root, not yet pivoted into), with
/// the rest of the setup handed over. Returns only on failure.
pub(crate) fn hand_over(
    root: &OwnedFd,
    spec: &Spec,
    rootfs: &Path,
    seccomp: Option<&[sock_filter]>,
    sync: std::fs::File,
    report: &std::fs::File,
) -> Result<Never, StartError> {
    let handoff = Handoff {
        spec: spec.clone(),
        rootfs: rootfs.to_path_buf(),
        seccomp: seccomp.map(|p| p.iter().map(|f| (f.code, f.jt, f.jf, f.k)).collect()),
    };
    let bytes = serde_json::to_vec(&handoff).map_err(|e| StartError::engine(e.to_string()))?;
    let memfd = rustix::fs::memfd_create("berth-init", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| StartError::os("memfd_create", e))?;
    let mut file = std::fs::File::from(memfd);
    file.write_all(&bytes).map_err(os("writing the handoff"))?;
    file.rewind().map_err(os("writing the handoff"))?;
    let exe = open_in_root(root, Path::new("/dev/init"), Create::Nothing)
        .map_err(|e| StartError::os("opening /dev/init", e))?;

    // Out of the way first, so that placing one cannot close another.
    let high = |fd: std::os::fd::BorrowedFd<'_>| {
        rustix::io::fcntl_dupfd_cloexec(fd, 10).map_err(|e| StartError::os("dup", e))
    };
    let moves = [
        (high(sync.as_fd())?, SYNC_FD),
        (high(report.as_fd())?, REPORT_FD),
        (high(file.as_fd())?, HANDOFF_FD),
    ];
    for (fd, to) in &moves {
        // SAFETY: dup2 onto 3..=5, numbers no Rust object of this process relies on (every
        // descriptor we hold was moved above them); the copies stay open across the exec.
        if unsafe { libc::dup2(fd.as_raw_fd(), *to) } < 0 {
            return Err(StartError::os(
                "handing over to the init",
                std::io::Error::last_os_error(),
            ));
        }
    }
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only marks descriptors close-on-exec.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            (HANDOFF_FD + 1) as u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| StartError::engine("spec has no process"))?;
    let argv = process
        .args()
        .iter()
        .flatten()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut envp = process
        .env()
        .iter()
        .flatten()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>, _>>()?;
    envp.push(cstring(&format!("{HANDOFF_ENV}=1"))?);
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    // SAFETY: execveat on a descriptor we own, with NUL-terminated argument and environment
    // arrays of C strings that outlive the call; it returns only on failure.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            exe.as_raw_fd(),
            c"".as_ptr(),
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(StartError::os(
        "exec /dev/init",
        std::io::Error::last_os_error(),
    ))
}

/// In the init: takes what was handed over and finishes the container's setup. Returns the
/// command's environment and the pipe on which to report how its exec went.
fn take_over() -> Result<(Vec<String>, std::fs::File), (StartError, Option<std::fs::File>)> {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    // Exec'd from a descriptor, the process is named after the engine's binary; name it
    // after the path it has in the container, as an exec of /dev/init would be.
    let _ = rustix::thread::set_name(c"init");
    // SAFETY: the container's process placed exactly these three descriptors here before
    // exec'ing us, and nothing else in this process owns them.
    let (mut sync, mut report, mut handoff) = unsafe {
        (
            std::fs::File::from_raw_fd(SYNC_FD),
            std::fs::File::from_raw_fd(REPORT_FD),
            std::fs::File::from_raw_fd(HANDOFF_FD),
        )
    };
    for f in [&sync, &report] {
        // The command must not inherit them: its exec closes the report pipe, which tells
        // the shim it started.
        let _ = rustix::io::fcntl_setfd(f, rustix::io::FdFlags::CLOEXEC);
    }
    let mut bytes = Vec::new();
    if let Err(e) = handoff.read_to_end(&mut bytes) {
        return Err((StartError::os("reading the handoff", e), Some(report)));
    }
    drop(handoff);
    let handoff: Handoff = match serde_json::from_slice(&bytes) {
        Ok(h) => h,
        Err(e) => {
            let e = StartError::engine(format!("reading the handoff: {e}"));
            return Err((e, Some(report)));
        }
    };
    let seccomp: Option<Vec<sock_filter>> = handoff.seccomp.map(|p| {
        p.into_iter()
            .map(|(code, jt, jf, k)| sock_filter { code, jt, jf, k })
            .collect()
    });
    if let Err(e) = child::enter(
        &handoff.spec,
        &handoff.rootfs,
        seccomp.as_deref(),
        &mut report,
        &mut sync,
    ) {
        return Err((e, Some(report)));
    }
    let env = handoff
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.env().clone())
        .unwrap_or_default();
    Ok((env, report))
}

fn report_failure(e: &StartError, report: Option<&mut std::fs::File>) {
    match report {
        Some(r) => {
            let mut msg = vec![ERROR];
            msg.extend(serde_json::to_vec(e).unwrap_or_default());
            let _ = r.write_all(&msg);
        }
        None => eprintln!("berth init: {e}"),
    }
}

/// The signals the init receives by waiting for them: all but those a fault raises.
fn waited_signals() -> libc::sigset_t {
    // SAFETY: sigfillset and sigdelset initialise and edit a sigset_t we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for s in [
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGABRT,
            libc::SIGTRAP,
            libc::SIGSYS,
        ] {
            libc::sigdelset(&mut set, s);
        }
        set
    }
}

/// Runs `berth init`; `args` are the program name, an optional `--`, and the command.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let mut command: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if command.first().is_some_and(|a| a == "--") {
        command.remove(0);
    }
    let (env, mut report) = if std::env::var_os(HANDOFF_ENV).is_some() {
        match take_over() {
            Ok((env, report)) => (env, Some(report)),
            Err((e, mut report)) => {
                report_failure(&e, report.as_mut());
                return ExitCode::from(e.code.clamp(0, 255) as u8);
            }
        }
    } else {
        (
            std::env::vars().map(|(k, v)| format!("{k}={v}")).collect(),
            None,
        )
    };
    if command.is_empty() {
        report_failure(
            &StartError::engine("usage: berth init [--] COMMAND [ARG...]"),
            report.as_mut(),
        );
        return ExitCode::from(125);
    }
    let set = waited_signals();
    // SAFETY: sigprocmask and prctl take no pointers but to the sets we own. Blocking before
    // the fork means no signal meant for the command is lost before the loop waits for it.
    let saved = unsafe {
        let mut saved: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut saved);
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        saved
    };
    // SAFETY: the init is single-threaded, so the child may run ordinary code until exec.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = StartError::os("fork", std::io::Error::last_os_error());
        report_failure(&e, report.as_mut());
        return ExitCode::from(125);
    }
    if pid == 0 {
        // Its own process group, in the terminal's foreground, so that the terminal's
        // signals reach the command rather than the init.
        // SAFETY: setpgid, tcsetpgrp and getpgrp take no pointers; SIGTTOU is still
        // blocked, so taking the foreground from the background cannot stop us.
        unsafe {
            libc::setpgid(0, 0);
            libc::tcsetpgrp(0, libc::getpgrp());
        }
        // The command starts with the signal mask we were given (exec keeps the mask).
        // SAFETY: sigprocmask reads the set we own.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &saved, std::ptr::null_mut()) };
        let e = match child::exec_program(&command, &env) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        report_failure(&e, report.as_mut());
        std::process::exit(e.code);
    }
    // The command's exec closes its copy: the shim then knows it started.
    drop(report.take());
    ExitCode::from(supervise(pid, &set).clamp(0, 255) as u8)
}

/// Forwards signals to `child` and reaps every child until `child` ends; its status.
fn supervise(child: i32, set: &libc::sigset_t) -> i32 {
    loop {
        let timeout = libc::timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        // SAFETY: sigtimedwait reads the set and timeout we own; no siginfo is asked for.
        let sig = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &timeout) };
        if sig > 0 && sig != libc::SIGCHLD {
            // SAFETY: kill takes no pointers.
            unsafe { libc::kill(child, sig) };
        }
        while let Ok(Some((pid, status))) =
            rustix::process::wait(rustix::process::WaitOptions::NOHANG)
        {
            if pid.as_raw_nonzero().get() == child {
                return match (status.exit_status(), status.terminating_signal()) {
                    (Some(code), _) => code,
                    (None, Some(sig)) => 128 + sig,
                    _ => 255,
                };
            }
        }
    }
}
