//! Seccomp for containers, compatible with Docker: the profile format of
//! `docker run --security-opt seccomp=profile.json`, Berth's built-in default profile (the policy
//! of Docker's default), compilation to a classic-BPF program for this host, and installation.
//!
//! Lifecycle: [`Profile::from_json`] or [`Profile::docker_default`] → [`Profile::compile`] (in
//! the parent, before fork: it allocates) → [`install`] (in the container's init, right before
//! it drops capabilities and execs: it does not allocate).
//!
//! What the compiled filter does, and where that comes from:
//! - Rules are kept or dropped by `includes`/`excludes` (capabilities, host architecture,
//!   minimum kernel) exactly as Docker does before handing the profile to runc.
//! - The filter covers the host ABI and the compat ABIs the profile lists (`architectures`, or
//!   the host's `archMap` entry: for x86_64, i386 and x32; for aarch64, 32-bit ARM). Syscalls
//!   from any other ABI kill the process, as libseccomp's "bad architecture" default kills.
//! - Syscall numbers above the highest one the profile names fail with `ENOSYS` rather than the
//!   default action, as runc arranges, so that libcs fall back from syscalls newer than the
//!   profile instead of failing with `EPERM`.
//! - A rule whose action equals the default action is dropped (runc does the same); when several
//!   rules match one syscall, the most severe action wins (kernel precedence:
//!   kill > trap > errno > trace > log > allow), then profile order.
//!
//! The `seccompiler` crate compiles each argument rule (`SeccompRule` of `SeccompCondition`s);
//! Berth lays out the rest itself (see `bpf`), because seccompiler's `SeccompFilter` handles a
//! single architecture and a single match action, and spends five instructions per syscall:
//! Docker's allow-list over three x86 ABIs would not fit the kernel's 4096-instruction limit.

mod arch;
mod bpf;
mod compile;
mod default_profile;
mod parse;
mod profile;
#[cfg(test)]
mod profile_tests;
mod syscall_table;
#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;

pub use arch::HostArch;
pub use profile::{
    Action, ArchMap, ArgOp, Filter, KernelVersion, Profile, ScmpArch, SyscallArg, SyscallRule,
};
pub use seccompiler::{sock_filter, BpfProgram};

/// The kernel's limit on the length of a classic-BPF program (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

/// Why a seccomp profile could not be read, compiled or installed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp profile is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("reading seccomp profile {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("seccomp profile {path}: {source}")]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<SeccompError>,
    },
    #[error("seccomp profile has no defaultAction")]
    MissingDefaultAction,
    #[error("unknown seccomp action {action:?}")]
    UnknownAction { action: String },
    #[error("seccomp action {action} is not supported by Berth (syscall rule for {syscall})")]
    UnsupportedAction { action: String, syscall: String },
    #[error("unknown seccomp argument operator {op:?} in the rule for syscall {syscall}")]
    UnknownOp { op: String, syscall: String },
    #[error("unknown syscall {name:?} in seccomp profile")]
    UnknownSyscall { name: String },
    #[error("unknown seccomp architecture {arch:?}")]
    UnknownArch { arch: String },
    #[error("seccomp profile sets both 'architectures' and 'archMap'; use one")]
    ArchitecturesAndArchMap,
    #[error("seccomp rule sets both 'name' ({name}) and 'names'; use one")]
    NameAndNames { name: String },
    #[error("seccomp rule #{index} names no syscall")]
    NoNames { index: usize },
    #[error("seccomp rule for syscall {syscall}: argument index {index} is not in 0..=5")]
    ArgIndex { syscall: String, index: u32 },
    #[error("seccomp rule for syscall {syscall}: errnoRet {errno} does not fit in 16 bits")]
    ErrnoRange { syscall: String, errno: u32 },
    #[error("invalid kernel version {version:?} (expected \"<major>.<minor>\")")]
    KernelVersion { version: String },
    #[error("seccomp filters are not supported on this host architecture ({arch})")]
    UnsupportedHostArch { arch: String },
    #[error("seccomp rule for syscall {syscall}: {source}")]
    Rule {
        syscall: String,
        #[source]
        source: seccompiler::BackendError,
    },
    #[error("seccomp filter needs {len} BPF instructions; the kernel allows {MAX_INSTRUCTIONS}")]
    TooLarge { len: usize },
    #[error("seccomp filter is empty")]
    EmptyProgram,
    #[error("installing seccomp filter: {0}")]
    Install(#[source] io::Error),
}

/// Installs `program` as a seccomp filter on the calling thread (and everything it later
/// forks or execs), with `seccomp(SECCOMP_SET_MODE_FILTER, 0, …)`.
///
/// Contract with the caller (the container's init, between `fork` and `exec`):
/// - `no_new_privs` is left alone, as Docker leaves it off by default; the kernel then demands
///   `CAP_SYS_ADMIN` (in the caller's user namespace), so install before dropping capabilities.
/// - From here on every syscall goes through the filter: whatever the init does between this
///   call and `execve` (dropping capabilities with `capset`/`prctl`, `setgroups`/`setres[ug]id`,
///   closing descriptors, `execve` itself) must be allowed by the profile. Docker's default
///   profile allows all of these; sethostname, mount and pivot_root are not, so do them first.
/// - Only the calling thread is filtered (no `TSYNC`): call it from the single-threaded child.
/// - It does not allocate, so it is safe in a forked child of a multi-threaded parent; compile
///   the program before forking.
pub fn install(program: &[sock_filter]) -> Result<(), SeccompError> {
    if program.is_empty() {
        return Err(SeccompError::EmptyProgram);
    }
    if program.len() > MAX_INSTRUCTIONS {
        return Err(SeccompError::TooLarge { len: program.len() });
    }
    let fprog = libc::sock_fprog {
        // Cannot truncate: checked against MAX_INSTRUCTIONS (4096) above.
        len: program.len() as libc::c_ushort,
        // The kernel only reads through this pointer; the cast is needed because the libc
        // type is `*mut`.
        filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: `seccompiler::sock_filter` is `#[repr(C)]` with the fields and order of the
    // kernel's `struct sock_filter` (u16 code, u8 jt, u8 jf, u32 k), so `fprog` describes
    // `program.len()` valid instructions that outlive the call. The kernel copies the program
    // (`copy_from_user`) and keeps no reference to our memory.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc != 0 {
        return Err(SeccompError::Install(io::Error::last_os_error()));
    }
    Ok(())
}

/// The running kernel's `(major, minor)` version, for [`Profile::compile`]'s `minKernel`
/// checks. Like Docker, only the first two numbers of the release count.
pub fn host_kernel_version() -> Result<(u32, u32), SeccompError> {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy();
    KernelVersion::parse_release(&release)
        .map(|v| (v.major, v.minor))
        .ok_or_else(|| SeccompError::KernelVersion {
            version: release.into_owned(),
        })
}
