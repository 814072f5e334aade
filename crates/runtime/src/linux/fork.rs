//! Forking a container's process (or an exec's) straight into the container's cgroup v2
//! directory, with `clone3(CLONE_INTO_CGROUP)`, so no migration is needed there (see
//! `cgroups::entry`). Kernels or cgroups that refuse it get a plain fork, and the parent
//! moves the child afterwards.

use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::process::Pid;

/// `clone3`'s argument, as the kernel defines `struct clone_args` (all fields 64-bit).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Which side of the fork this is.
pub enum Forked {
    Child,
    /// `in_cgroup`: the child was created in the v2 cgroup asked for.
    Parent {
        pid: Pid,
        in_cgroup: bool,
    },
}

/// Forks, the child created in `cgroup` (a v2 directory) when one is given and the kernel
/// allows it.
///
/// # Safety
/// As `fork`: the caller must be single-threaded, since the child goes on running Rust code
/// and must not find a lock held by a thread that was not copied.
pub unsafe fn fork_into(cgroup: Option<BorrowedFd<'_>>) -> std::io::Result<Forked> {
    if let Some(dir) = cgroup {
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir.as_raw_fd() as u64,
            ..CloneArgs::default()
        };
        // SAFETY: clone3 without CLONE_VM is fork: the child gets a copy of this
        // single-threaded process, resuming here on its copy of the stack (the stack
        // pointer argument is 0). `args` outlives the call. glibc's cached thread state is
        // the parent's in the child, which Rust's std does not rely on (its locks are
        // futexes without owners, and glibc asks the kernel for the thread ID when
        // signalling itself).
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match r {
            0 => return Ok(Forked::Child),
            pid if pid > 0 => {
                return Ok(Forked::Parent {
                    pid: Pid::from_raw(pid as i32).ok_or_else(std::io::Error::last_os_error)?,
                    in_cgroup: true,
                })
            }
            _ => {
                let e = std::io::Error::last_os_error();
                // Too old a kernel, or a cgroup that will not take a process this way
                // (EBUSY: v2's rule against processes in inner nodes): fork instead.
                let fallback = [
                    libc::ENOSYS,
                    libc::E2BIG,
                    libc::EINVAL,
                    libc::EBUSY,
                    libc::EOPNOTSUPP,
                ];
                if !e.raw_os_error().is_some_and(|c| fallback.contains(&c)) {
                    return Err(e);
                }
                tracing::debug!(error = %e, "clone3 into the cgroup refused; forking");
            }
        }
    }
    // SAFETY: the caller guarantees this process is single-threaded.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: Pid::from_raw(pid).ok_or_else(std::io::Error::last_os_error)?,
            in_cgroup: cgroup.is_none(),
        }),
    }
}
