//! What the forked child does to become the container's process: enter its namespaces, build
//! its mount table and /dev, pivot into its root, take its identity, limits and capabilities,
//! install its seccomp filter, report ready, wait for the start signal, and exec. With an
//! init (`--init`), the child execs the init once the mounts are in place and the init does
//! the rest ([`enter`]) before starting the command as its child (see `crate::init`).
//!
//! Reports go to the parent over a close-on-exec pipe: a `R` byte when ready, or an `E` byte
//! followed by a JSON [`StartError`]. After the start signal, end-of-file on that pipe means
//! the exec succeeded.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use rustix::fs::{Mode, OFlags};
use rustix::thread::{Gid, Uid, UnshareFlags};

use seccompiler::sock_filter;

use super::paths::{open_in_root, Create};
use super::{caps, devices, mounts, StartError};

/// Everything the child needs, prepared by the parent before the fork.
pub struct ChildSetup<'a> {
    pub spec: &'a Spec,
    pub rootfs: PathBuf,
    /// What becomes 0, 1 and 2.
    pub stdio: ChildStdio,
    /// Read: one byte when the cgroups are set up, one more for "start".
    pub sync: OwnedFd,
    /// Write: the reports described above.
    pub report: OwnedFd,
    /// The container's seccomp filter, compiled beforehand.
    pub seccomp: Option<&'a [sock_filter]>,
    /// The host's cgroup v1 hierarchies, for the container's /sys/fs/cgroup.
    pub cgroup_v1: &'a [(String, String)],
    /// The init to attach at /dev/init and start the process through (the spec's args name
    /// it): a detached mount of the engine's binary.
    pub init: Option<&'a OwnedFd>,
}

/// The process's standard streams.
pub enum ChildStdio {
    /// Pipes (or /dev/null): they become 0, 1 and 2.
    Fds([OwnedFd; 3]),
    /// A terminal, made by the process in its own devpts once mounted; its master goes back
    /// to the shim over this socket.
    Terminal(OwnedFd),
}

pub const READY: u8 = b'R';
pub const ERROR: u8 = b'E';

/// Runs in the child; never returns.
pub fn run(setup: ChildSetup<'_>) -> ! {
    let mut report = std::fs::File::from(
        setup
            .report
            .try_clone()
            .unwrap_or_else(|_| std::process::exit(125)),
    );
    let e = match become_container(setup, &mut report) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    fail(&report, e)
}

/// Reports `e` to the parent on the report pipe and exits with its code. In the child.
pub fn fail(report: impl AsFd, e: StartError) -> ! {
    let mut msg = vec![ERROR];
    msg.extend(serde_json::to_vec(&e).unwrap_or_default());
    let _ = rustix::io::write(report, &msg);
    std::process::exit(e.code);
}

pub(crate) enum Never {}

fn become_container(
    setup: ChildSetup<'_>,
    report: &mut std::fs::File,
) -> Result<Never, StartError> {
    let spec = setup.spec;
    // Not dumpable until exec: nothing in the container may open our /proc entries.
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| StartError::os("prctl(PR_SET_DUMPABLE)", e))?;
    let mut sync = std::fs::File::from(setup.sync);
    wait_byte(&mut sync, "cgroup setup")?;

    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| StartError::engine("spec has no linux section"))?;
    join_namespaces(linux.namespaces().as_deref().unwrap_or(&[]))?;

    rustix::process::setsid().map_err(|e| StartError::os("setsid", e))?;
    if let ChildStdio::Fds(fds) = &setup.stdio {
        set_stdio(fds)?;
    }

    let rootfs = &setup.rootfs;
    let mut so_far = mounts::prepare_root(rootfs)?;
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StartError::os(format!("opening {}", rootfs.display()), e))?;
    for m in spec.mounts().as_deref().unwrap_or(&[]) {
        mounts::mount(&root, m, setup.cgroup_v1, &mut so_far)?;
    }
    let dev = open_in_root(&root, Path::new("/dev"), Create::Dir)
        .map_err(|e| StartError::os("opening /dev", e))?;
    let dev = rustix::fs::open(
        super::paths::fd_path(&dev),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StartError::os("opening /dev", e))?;
    devices::populate(&dev, linux.devices().as_deref().unwrap_or(&[]))?;
    if let ChildStdio::Terminal(socket) = &setup.stdio {
        // The devpts just mounted at /dev/pts is the container's own.
        let ptmx = rustix::fs::openat(
            &dev,
            "pts/ptmx",
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| StartError::os("opening /dev/pts/ptmx", e))?;
        let pty = super::terminal::open(&ptmx)?;
        super::terminal::send_fd(socket, &pty.master)?;
        drop(pty.master);
        set_stdio(&pty.stdio)?;
        rustix::process::ioctl_tiocsctty(&pty.console)
            .map_err(|e| StartError::os("setting the controlling terminal", e))?;
        bind_console(&dev)?;
    }
    drop(dev);
    if let Some(binary) = setup.init {
        crate::init::attach(&root, binary)?;
        return crate::init::hand_over(&root, spec, rootfs, setup.seccomp, sync, &*report);
    }
    drop(root);
    enter(spec, rootfs, setup.seccomp, report, &mut sync)?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| StartError::engine("spec has no process"))?;
    exec_program(
        process.args().as_deref().unwrap_or(&[]),
        process.env().as_deref().unwrap_or(&[]),
    )
}

/// The rest of the setup once the mounts are in place: pivot into the root, hide and protect
/// what docker hides and protects, take the identity, limits, capabilities and seccomp
/// filter, report ready, wait for the start signal, and enter the working directory.
pub fn enter(
    spec: &Spec,
    rootfs: &Path,
    seccomp: Option<&[sock_filter]>,
    report: &mut std::fs::File,
    sync: &mut std::fs::File,
) -> Result<(), StartError> {
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| StartError::engine("spec has no linux section"))?;
    mounts::pivot(rootfs)?;
    mounts::mask(linux.masked_paths().as_deref().unwrap_or(&[]))?;
    mounts::readonly(linux.readonly_paths().as_deref().unwrap_or(&[]))?;
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly().unwrap_or(false))
    {
        mounts::readonly_root()?;
    }
    let own_uts = linux.namespaces().as_ref().is_some_and(|ns| {
        ns.iter()
            .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Uts && n.path().is_none())
    });
    if (spec.hostname().is_some() || spec.domainname().is_some()) && !own_uts {
        return Err(StartError::engine(
            "a hostname or domain name needs the container's own UTS namespace",
        ));
    }
    if let Some(h) = spec.hostname() {
        rustix::system::sethostname(h.as_bytes()).map_err(|e| StartError::os("sethostname", e))?;
    }
    if let Some(d) = spec.domainname() {
        rustix::system::setdomainname(d.as_bytes())
            .map_err(|e| StartError::os("setdomainname", e))?;
    }
    for (key, value) in linux.sysctl().as_ref().into_iter().flatten() {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        std::fs::write(&path, value)
            .map_err(|e| StartError::os(format!("setting sysctl {key}"), e))?;
    }

    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| StartError::engine("spec has no process"))?;
    for r in process.rlimits().as_deref().unwrap_or(&[]) {
        set_rlimit(r)?;
    }
    let user = process.user();
    let cwd = process.cwd();
    ensure_workdir(cwd, user.uid(), user.gid())?;

    let c = process.capabilities().as_ref();
    let names =
        |set: Option<&std::collections::HashSet<oci_spec::runtime::Capability>>| -> Vec<String> {
            set.map(|s| s.iter().map(|c| format!("CAP_{c}")).collect())
                .unwrap_or_default()
        };
    caps::limit_bounding_set(&names(c.and_then(|c| c.bounding().as_ref())))?;
    if process.no_new_privileges().unwrap_or(false) {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| StartError::os("setting no_new_privs", e))?;
    }
    if let Some(program) = seccomp {
        // Installed while we still hold CAP_SYS_ADMIN (no_new_privs stays off, as docker's
        // default); the filter lets through the few calls made from here to exec.
        crate::seccomp::install(program)
            .map_err(|e| StartError::engine(format!("installing seccomp filter: {e}")))?;
    }
    super::user::switch_to(
        user.uid(),
        user.gid(),
        user.additional_gids().as_deref().unwrap_or(&[]),
    )?;
    caps::set(
        &names(c.and_then(|c| c.effective().as_ref())),
        &names(c.and_then(|c| c.permitted().as_ref())),
        &names(c.and_then(|c| c.inheritable().as_ref())),
    )?;

    report
        .write_all(&[READY])
        .map_err(|e| StartError::os("reporting ready", e))?;
    wait_byte(sync, "the start signal")?;
    std::env::set_current_dir(cwd)
        .map_err(|e| StartError::os(format!("chdir to cwd ({})", cwd.display()), e))
}

pub(crate) fn wait_byte(sync: &mut std::fs::File, what: &str) -> Result<(), StartError> {
    let mut b = [0u8; 1];
    match sync.read(&mut b) {
        Ok(1) => Ok(()),
        // The parent is gone: nobody wants this container any more.
        Ok(_) => std::process::exit(125),
        Err(e) => Err(StartError::os(format!("waiting for {what}"), e)),
    }
}

fn join_namespaces(namespaces: &[oci_spec::runtime::LinuxNamespace]) -> Result<(), StartError> {
    let mut fresh = UnshareFlags::empty();
    for ns in namespaces {
        let flag = match ns.typ() {
            LinuxNamespaceType::Mount => UnshareFlags::NEWNS,
            LinuxNamespaceType::Uts => UnshareFlags::NEWUTS,
            LinuxNamespaceType::Ipc => UnshareFlags::NEWIPC,
            LinuxNamespaceType::Network => UnshareFlags::NEWNET,
            LinuxNamespaceType::Cgroup => UnshareFlags::NEWCGROUP,
            // The pid namespace was made by the parent before the fork; user namespaces come
            // with rootless mode.
            LinuxNamespaceType::Pid | LinuxNamespaceType::User | LinuxNamespaceType::Time => {
                continue
            }
        };
        match ns.path() {
            Some(path) => {
                let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| {
                        StartError::os(format!("opening namespace {}", path.display()), e)
                    })?;
                rustix::thread::move_into_link_name_space(fd.as_fd(), None).map_err(|e| {
                    StartError::os(format!("joining namespace {}", path.display()), e)
                })?;
            }
            None => fresh |= flag,
        }
    }
    // SAFETY: unshare on this single-threaded process; it changes only namespace membership.
    unsafe { rustix::thread::unshare_unsafe(fresh) }.map_err(|e| StartError::os("unshare", e))?;
    if fresh.contains(UnshareFlags::NEWNET) {
        super::loopback::up()?;
    }
    Ok(())
}

/// Makes `fds` our stdin, stdout and stderr.
fn set_stdio(fds: &[OwnedFd; 3]) -> Result<(), StartError> {
    for (i, fd) in fds.iter().enumerate() {
        // SAFETY: dup2 onto 0..=2 replaces our stdio with descriptors we own; no Rust object
        // owns the raw descriptors 0..=2 of this process.
        let r = unsafe { libc::dup2(fd.as_raw_fd(), i as libc::c_int) };
        if r < 0 {
            return Err(StartError::os(
                "setting up stdio",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// /dev/console: the terminal (already our stdin), bound over an empty file.
fn bind_console(dev: impl AsFd) -> Result<(), StartError> {
    let dev = dev.as_fd();
    let tty = std::fs::read_link("/proc/self/fd/0")
        .map_err(|e| StartError::os("finding the terminal", e))?;
    let console = rustix::fs::openat(
        dev,
        "console",
        OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| StartError::os("creating /dev/console", e))?;
    rustix::mount::mount_bind(&tty, super::paths::fd_path(&console))
        .map_err(|e| StartError::os("binding /dev/console", e))
}

pub(crate) fn set_rlimit(r: &oci_spec::runtime::PosixRlimit) -> Result<(), StartError> {
    use oci_spec::runtime::PosixRlimitType as T;
    use rustix::process::Resource as R;
    let resource = match r.typ() {
        T::RlimitCpu => R::Cpu,
        T::RlimitFsize => R::Fsize,
        T::RlimitData => R::Data,
        T::RlimitStack => R::Stack,
        T::RlimitCore => R::Core,
        T::RlimitRss => R::Rss,
        T::RlimitNproc => R::Nproc,
        T::RlimitNofile => R::Nofile,
        T::RlimitMemlock => R::Memlock,
        T::RlimitAs => R::As,
        T::RlimitLocks => R::Locks,
        T::RlimitSigpending => R::Sigpending,
        T::RlimitMsgqueue => R::Msgqueue,
        T::RlimitNice => R::Nice,
        T::RlimitRtprio => R::Rtprio,
        T::RlimitRttime => R::Rttime,
    };
    let limit = rustix::process::Rlimit {
        current: Some(r.soft()),
        maximum: Some(r.hard()),
    };
    rustix::process::setrlimit(resource, limit)
        .map_err(|e| StartError::os(format!("setting rlimit {:?}", r.typ()), e))
}

/// Creates a missing working directory, as docker does, owned by the user it runs as.
fn ensure_workdir(cwd: &Path, uid: u32, gid: u32) -> Result<(), StartError> {
    if cwd.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(cwd)
        .map_err(|e| StartError::os(format!("creating working directory {}", cwd.display()), e))?;
    rustix::fs::chown(cwd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .map_err(|e| StartError::os(format!("chown {}", cwd.display()), e))
}

/// An OS error as Go words it ("no such file or directory"), for docker's messages.
pub(crate) fn describe(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or_default();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Replaces this process with the container's program; returns only on failure, with the
/// message and exit code docker gives.
pub(crate) fn exec_program(args: &[String], env: &[String]) -> Result<Never, StartError> {
    let Some(program) = args.first() else {
        return Err(StartError::engine("no command specified"));
    };
    // No descriptor of the shim's may reach the container.
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only marks descriptors close-on-exec.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    let mut cmd = std::process::Command::new(program);
    cmd.arg0(program).args(&args[1..]).env_clear();
    for kv in env {
        match kv.split_once('=') {
            Some((k, v)) => cmd.env(k, v),
            None => cmd.env(kv, ""),
        };
    }
    let e = cmd.exec();
    let code = match e.raw_os_error() {
        Some(libc::ENOENT) => 127,
        Some(libc::EACCES) | Some(libc::EISDIR) | Some(libc::ENOEXEC) => 126,
        _ => 125,
    };
    let detail = if code == 127 && !program.contains('/') {
        "executable file not found in $PATH".to_string()
    } else if code == 127 {
        format!("stat {program}: no such file or directory")
    } else if e.raw_os_error() == Some(libc::EACCES) {
        "permission denied".to_string()
    } else {
        e.to_string()
    };
    Err(StartError {
        message: format!("exec: {program:?}: {detail}"),
        code,
    })
}
