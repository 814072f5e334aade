//! `berth shim`: the one process per container that creates it, owns its stdio (log, attach,
//! terminal), reaps it and records how it ended. It is detached from the engine (its own
//! session), so the engine can stop, crash or restart without touching a running container;
//! the engine finds it again by its socket in the bundle directory.
//!
//! The bundle directory holds `config.json` (the OCI spec), `shim.json` ([`ShimConfig`]),
//! and, made by the shim, `shim.sock`, `shim.log` and, once the process has exited,
//! `exit.json`.

pub mod address;
mod hooks;
mod host;
mod process;
pub mod protocol;
mod server;
mod stdio;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::linux::child::ChildSetup;
use crate::linux::StartError;
use protocol::{Created, ExitRecord};

pub const SOCKET: &str = "shim.sock";
pub const EXIT_FILE: &str = "exit.json";
pub const CONFIG: &str = "shim.json";

/// What the shim needs beyond the OCI spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShimConfig {
    pub id: String,
    /// Where the container's log files live.
    pub log_dir: PathBuf,
    pub log_driver: String,
    #[serde(default)]
    pub log_opts: BTreeMap<String, String>,
    /// Attributes every log record carries (from the `labels`, `env` and `tag` options),
    /// worked out by the engine, which knows the container's labels and name.
    #[serde(default)]
    pub log_attrs: BTreeMap<String, String>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    /// The cgroup parent (under each hierarchy's root), e.g. `berth`.
    pub cgroup_parent: String,
    /// All devices allowed (`--privileged`), rather than docker's default list.
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub seccomp: Seccomp,
    /// Run the process through the init at /dev/init (`--init`; the spec binds it there and
    /// its args start with it).
    #[serde(default)]
    pub init: bool,
}

/// The container's seccomp filter, in docker's profile format: resolved against the
/// process's capabilities and compiled by the shim, so the profile's conditional rules
/// (per capability, per architecture, per kernel) apply exactly as docker applies them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seccomp {
    Unconfined,
    #[default]
    Default,
    /// A profile's JSON text.
    Custom(String),
}

/// What the shim does around the container process: logging, signals, cgroup queries, and
/// cleaning up when it has exited.
pub trait Hooks {
    fn log(&mut self, stream: u8, data: &[u8]);
    fn kill(&mut self, pid: i32, signal: i32, all: bool) -> Result<(), String>;
    /// Puts a further process (an exec's) into the container's cgroup.
    /// What a new process enters the container's cgroup through.
    fn entry(&mut self) -> Result<crate::cgroups::Entry, String>;
    fn oom_killed(&mut self) -> bool;
    /// Called once after the exit and the output drained: flush the log, release the
    /// cgroup, write the exit record.
    fn finish(&mut self, exit: &ExitRecord);
}

/// Reads the exit record a shim left, if the process has exited.
pub fn read_exit(bundle: &Path) -> Option<ExitRecord> {
    let bytes = std::fs::read(bundle.join(EXIT_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes `value` to `path` atomically (temporary file, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Runs `berth shim <bundle>`, or `berth shim --spare`, which waits for the bundle's path
/// on its stdin (a shim started ahead of its container).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let Some(arg) = args.get(1) else {
        eprintln!("usage: berth shim <bundle> | berth shim --spare");
        return ExitCode::from(125);
    };
    // Named as what it is in `ps` and `top` (the binary may have been run as /proc/self/exe).
    let _ = rustix::thread::set_name(c"berth-shim");
    // Fork away at once: the engine reaps the short-lived parent, and the shim (no longer
    // the engine's child) is not tied to the engine's life.
    // SAFETY: nothing has started a thread yet; the child continues as this program.
    match unsafe { libc::fork() } {
        -1 => {
            report(&Created::Error(StartError::os(
                "fork",
                std::io::Error::last_os_error(),
            )));
            return ExitCode::FAILURE;
        }
        0 => {}
        _ => return ExitCode::SUCCESS,
    }
    // Its own session: signals to the engine's process group never reach the shim.
    let _ = rustix::process::setsid();
    // Learnt now: for a spare, before its container exists.
    let host = host::HostFacts::gather();
    let bundle = if arg == "--spare" {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(n) if n > 0 => PathBuf::from(line.trim_end_matches('\n')),
            // The engine went away without a container for us.
            _ => return ExitCode::SUCCESS,
        }
    } else {
        PathBuf::from(arg)
    };
    // The engine's pipe is let go; what the shim says goes to the bundle's shim.log.
    redirect_stdio(&bundle);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .init();
    match host.and_then(|host| create(&bundle, &host)) {
        Ok((server, pid)) => {
            report(&Created::Pid(pid));
            let exit = server.run();
            tracing::info!(exit_code = exit.exit_code, "container exited");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "creating the container failed");
            report(&Created::Error(e));
            ExitCode::FAILURE
        }
    }
}

/// stdin from /dev/null, stderr to `bundle/shim.log` (stdout stays the engine's until the
/// report).
fn redirect_stdio(bundle: &Path) {
    use std::os::fd::AsRawFd;
    let null = std::fs::File::open("/dev/null");
    let log = std::fs::File::create(bundle.join("shim.log"));
    for (file, fd) in [(null, 0), (log, 2)] {
        if let Ok(f) = file {
            // SAFETY: dup2 onto descriptor 0 or 2 replaces our stdin or stderr; Rust's
            // handles keep using those descriptors, which now are the new files.
            unsafe { libc::dup2(f.as_raw_fd(), fd) };
        }
    }
}

/// Tells the engine (on our stdout) whether the container was created, then lets go of
/// stdout so the engine's end sees end of file.
fn report(created: &Created) {
    let mut line = serde_json::to_vec(created).unwrap_or_default();
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&line);
    let _ = out.flush();
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto descriptor 1 replaces our stdout; Rust's stdout handle keeps
        // writing to descriptor 1, which is now /dev/null.
        unsafe { libc::dup2(null.as_raw_fd(), 1) };
    }
}

fn create(bundle: &Path, host: &host::HostFacts) -> Result<(server::Server, i32), StartError> {
    let read = |name: &str| {
        std::fs::read(bundle.join(name)).map_err(|e| StartError::os(format!("reading {name}"), e))
    };
    let config: ShimConfig = serde_json::from_slice(&read(CONFIG)?)
        .map_err(|e| StartError::engine(format!("{CONFIG}: {e}")))?;
    let spec: Spec = serde_json::from_slice(&read("config.json")?)
        .map_err(|e| StartError::engine(format!("config.json: {e}")))?;
    let rootfs = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .ok_or_else(|| StartError::engine("config.json has no root"))?;

    let mut hooks = hooks::RuntimeHooks::prepare(bundle, &config, &spec, host)?;
    let seccomp = hooks.seccomp.take();
    let (init_streams, child_stdio) = stdio::create_init(config.tty, config.open_stdin)?;
    let init_binary = if config.init {
        Some(crate::init::binary()?)
    } else {
        None
    };
    let new_pid_ns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter().any(|n| {
                n.typ() == oci_spec::runtime::LinuxNamespaceType::Pid && n.path().is_none()
            })
        });
    let entry = hooks.entry()?;
    let mut launched =
        crate::linux::launch::launch(new_pid_ns, &entry, |sync, report| ChildSetup {
            spec: &spec,
            rootfs: rootfs.clone(),
            stdio: child_stdio,
            sync,
            report,
            seccomp: seccomp.as_deref(),
            cgroup_v1: &host.cgroup_v1,
            init: init_binary.as_ref(),
        })?;
    drop(entry);
    let pid = launched.pid;
    // Ready to exec, its terminal (if any) made and handed over.
    let streams = match launched.setup_done().and_then(|()| init_streams.streams()) {
        Ok(s) => s,
        Err(e) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            hooks.abandon();
            return Err(e);
        }
    };
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .map_err(|e| StartError::os("pidfd_open", e))?;
    let socket = bundle.join(SOCKET);
    let _ = std::fs::remove_file(&socket);
    let listener = address::SocketAddress::new(&socket)
        .and_then(|at| UnixListener::bind(at.path()))
        .map_err(|e| StartError::os(format!("listening on {}", socket.display()), e))?;
    let init = process::Proc::new(pid.as_raw_nonzero().get(), pidfd, streams, config.tty);
    let server = server::Server::new(
        listener,
        launched,
        init,
        config.stdin_once,
        Box::new(hooks),
        server::ExecContext { spec, seccomp },
    )
    .map_err(|e| StartError::os("setting up the shim", e))?;
    Ok((server, pid.as_raw_nonzero().get()))
}
