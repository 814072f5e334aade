//! Berth's built-in default seccomp profile: the policy of Docker's default profile as shipped
//! with Docker Engine 26 and 27 (moby `profiles/seccomp/default.json`: the 25.0 profile, which
//! dropped `io_uring_*` from the allow-list, plus the syscalls of kernels 6.5–6.7 added for
//! 26.0: cachestat, fchmodat2, map_shadow_stack, futex_wake, futex_wait, futex_requeue).
//!
//! Mostly data. [`Profile::docker_default`] assembles the tables below in the order of Docker's
//! JSON, so `Profile::docker_default().to_json()` reads like Docker's file.
//!
//! In short: refuse by default with EPERM; allow the syscalls any unprivileged process may make;
//! allow the privileged ones (mount, unshare, setns, bpf, reboot, module loading, …) only when
//! the container holds the capability the kernel would check anyway; allow `clone` without
//! namespace flags and make `clone3` fail with ENOSYS (its flags live in memory a filter cannot
//! read) so that libcs fall back to `clone`. keyctl, add_key, request_key, kexec_*, swapon,
//! userfaultfd, io_uring_*, … are allowed by no rule.

use super::profile::{
    Action, ArchMap, ArgOp, Filter, KernelVersion, Profile, ScmpArch, SyscallArg, SyscallRule,
};

/// Syscalls every container may make.
const ALLOWED: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
];

/// Allowed on kernels from 4.8, which closed the hole that let ptrace bypass seccomp.
const ALLOWED_FROM_4_8: &[&str] = &["process_vm_readv", "process_vm_writev", "ptrace"];

/// `socket` is allowed for every address family but AF_VSOCK (40), which would reach the host.
const AF_VSOCK: u64 = 40;

/// The only `personality(2)` values allowed: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26|PER_LINUX32, and 0xffffffff (query the current persona).
const PERSONALITIES: &[u64] = &[0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff];

/// Syscalls allowed only on some host architectures (Docker's arch names).
const BY_ARCH: &[(&[&str], &[&str])] = &[
    (&["ppc64le"], &["sync_file_range2", "swapcontext"]),
    (
        &["arm", "arm64"],
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
    ),
    (&["amd64", "x32"], &["arch_prctl"]),
    (&["amd64", "x32", "x86"], &["modify_ldt"]),
    (
        &["s390", "s390x"],
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
    ),
    (&["riscv64"], &["riscv_flush_icache"]),
];

/// Privileged syscalls allowed when the container holds the capability.
const BY_CAPABILITY_BEFORE_CLONE: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
];

/// The namespace flags `clone` may not carry without CAP_SYS_ADMIN: CLONE_NEWNS (0x20000) and
/// CLONE_NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (0x0200_0000 to 0x4000_0000).
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// clone3 fails with this (ENOSYS) without CAP_SYS_ADMIN, so libcs fall back to clone.
const ENOSYS: u32 = 38;

/// More capability-gated syscalls, after the clone rules in Docker's order.
const BY_CAPABILITY_AFTER_CLONE: &[(&str, &[&str])] = &[
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "init_module", "finit_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
    (
        "CAP_SYS_TIME",
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// Compat architectures to cover, per host architecture.
const ARCH_MAP: &[(ScmpArch, &[ScmpArch])] = &[
    (ScmpArch::X86_64, &[ScmpArch::X86, ScmpArch::X32]),
    (ScmpArch::Aarch64, &[ScmpArch::Arm]),
    (ScmpArch::Mips64, &[ScmpArch::Mips, ScmpArch::Mips64N32]),
    (ScmpArch::Mips64N32, &[ScmpArch::Mips, ScmpArch::Mips64]),
    (
        ScmpArch::Mipsel64,
        &[ScmpArch::Mipsel, ScmpArch::Mipsel64N32],
    ),
    (
        ScmpArch::Mipsel64N32,
        &[ScmpArch::Mipsel, ScmpArch::Mipsel64],
    ),
    (ScmpArch::S390X, &[ScmpArch::S390]),
    (ScmpArch::Riscv64, &[]),
];

impl Profile {
    /// Berth's default profile: Docker's default policy (see the module documentation).
    /// Compile it with the container's capabilities: several rules depend on them.
    pub fn docker_default() -> Profile {
        let mut syscalls = vec![allow(ALLOWED, Filter::default())];
        let from_4_8 = Filter {
            min_kernel: Some(KernelVersion { major: 4, minor: 8 }),
            ..Filter::default()
        };
        syscalls.push(allow(ALLOWED_FROM_4_8, from_4_8));
        syscalls.push(allow_if(&["socket"], 0, ArgOp::NotEqual, AF_VSOCK, 0));
        for &persona in PERSONALITIES {
            syscalls.push(allow_if(&["personality"], 0, ArgOp::Equal, persona, 0));
        }
        for &(arches, names) in BY_ARCH {
            syscalls.push(allow(names, on_arches(arches)));
        }
        syscalls.extend(
            BY_CAPABILITY_BEFORE_CLONE
                .iter()
                .map(|&(cap, names)| allow(names, with_cap(cap))),
        );

        // Without CAP_SYS_ADMIN, clone may not create namespaces. s390 passes the flags second.
        let mut clone = allow_if(&["clone"], 0, ArgOp::MaskedEqual, CLONE_NAMESPACE_FLAGS, 0);
        clone.excludes = Filter {
            caps: vec!["CAP_SYS_ADMIN".to_owned()],
            arches: vec!["s390".to_owned(), "s390x".to_owned()],
            min_kernel: None,
        };
        syscalls.push(clone);
        let mut clone_s390 = allow_if(&["clone"], 1, ArgOp::MaskedEqual, CLONE_NAMESPACE_FLAGS, 0);
        clone_s390.comment = Some("s390 parameter ordering for clone is different".to_owned());
        clone_s390.includes = on_arches(&["s390", "s390x"]);
        clone_s390.excludes = with_cap("CAP_SYS_ADMIN");
        syscalls.push(clone_s390);
        syscalls.push(SyscallRule {
            names: vec!["clone3".to_owned()],
            action: Action::Errno,
            errno_ret: Some(ENOSYS),
            args: Vec::new(),
            comment: None,
            includes: Filter::default(),
            excludes: with_cap("CAP_SYS_ADMIN"),
        });

        syscalls.extend(
            BY_CAPABILITY_AFTER_CLONE
                .iter()
                .map(|&(cap, names)| allow(names, with_cap(cap))),
        );

        Profile {
            default_action: Action::Errno,
            default_errno_ret: Some(1), // EPERM
            architectures: Vec::new(),
            arch_map: ARCH_MAP
                .iter()
                .map(|&(architecture, subs)| ArchMap {
                    architecture,
                    sub_architectures: subs.to_vec(),
                })
                .collect(),
            flags: Vec::new(),
            listener_path: None,
            listener_metadata: None,
            syscalls,
        }
    }
}

fn allow(names: &[&str], includes: Filter) -> SyscallRule {
    SyscallRule {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        action: Action::Allow,
        errno_ret: None,
        args: Vec::new(),
        comment: None,
        includes,
        excludes: Filter::default(),
    }
}

fn allow_if(names: &[&str], index: u32, op: ArgOp, value: u64, value_two: u64) -> SyscallRule {
    let mut rule = allow(names, Filter::default());
    rule.args.push(SyscallArg {
        index,
        value,
        value_two,
        op,
    });
    rule
}

fn with_cap(cap: &str) -> Filter {
    Filter {
        caps: vec![cap.to_owned()],
        ..Filter::default()
    }
}

fn on_arches(arches: &[&str]) -> Filter {
    Filter {
        arches: arches.iter().map(|a| (*a).to_owned()).collect(),
        ..Filter::default()
    }
}
