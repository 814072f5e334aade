//! Installs real seccomp filters and checks what the kernel then does: Docker's default profile
//! refuses namespace, mount and keyring syscalls (on every x86 ABI), keeps ordinary syscalls and
//! process creation working, and the kill actions kill with SIGSYS.
//!
//! A filter can never be removed, so it is never installed in the test harness: each test
//! re-executes this binary with `CHILD` naming the test (`--exact <name>`), and in that child the
//! same test function installs the filter, probes, and reports through its exit status.
//! Installing without no_new_privs needs CAP_SYS_ADMIN; when not root, the child sets
//! no_new_privs first so the tests still run.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use berth_runtime::seccomp::{self, Profile};

const CHILD: &str = "BERTH_SECCOMP_TEST_CHILD";

/// The exit status of a child whose probes all held. Not 0: a child that ran no test at all
/// (a mistyped name) exits 0 and must not pass.
const CHILD_OK: i32 = 99;

/// Docker's default capability set.
const DOCKER_CAPS: &[&str] = &berth_runtime::linux::caps::DOCKER_DEFAULT;

fn in_child(test: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == test)
}

/// Runs `test` again in a child process and returns how it ended, with its output.
fn run_child(test: &str) -> (std::process::ExitStatus, String) {
    let out = Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .expect("re-running the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

fn assert_child_passes(test: &str) {
    let (status, output) = run_child(test);
    assert_eq!(status.code(), Some(CHILD_OK), "child {status}:\n{output}");
}

/// Compiles `profile` for this container's capabilities and installs it on this thread.
fn install(profile: &Profile, caps: &[&str]) {
    let caps: Vec<String> = caps.iter().map(|c| (*c).to_owned()).collect();
    let kernel = seccomp::host_kernel_version().expect("kernel version");
    let program = profile
        .compile(&caps, kernel)
        .expect("compiling the profile");
    allow_unprivileged_install();
    seccomp::install(&program).expect("installing the filter");
}

fn allow_unprivileged_install() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        assert_eq!(rc, 0, "setting no_new_privs");
    }
}

fn no_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `zero` is a valid rlimit for the duration of the call.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

/// Collects failed expectations so that one run reports all of them.
#[derive(Default)]
struct Probe {
    failures: Vec<String>,
}

impl Probe {
    /// Expects a raw syscall result `rc` (with errno) to be a failure with `errno`.
    fn fails(&mut self, what: &str, rc: i64, errno: i32) {
        let actual = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if rc != -1 || actual != errno {
            self.failures.push(format!(
                "{what}: got {rc} (errno {actual}), want errno {errno}"
            ));
        }
    }

    fn succeeds(&mut self, what: &str, rc: i64) {
        if rc < 0 {
            let err = io::Error::last_os_error();
            self.failures.push(format!("{what}: failed with {err}"));
        }
    }

    fn check(&mut self, what: &str, ok: bool) {
        if !ok {
            self.failures.push(what.to_owned());
        }
    }

    /// Ends the child: exit status [`CHILD_OK`] if every expectation held.
    fn exit(self) -> ! {
        for f in &self.failures {
            eprintln!("FAILED: {f}");
        }
        let code = if self.failures.is_empty() {
            CHILD_OK
        } else {
            1
        };
        std::process::exit(code)
    }
}

/// A raw syscall with up to four integer arguments (the rest are 0).
fn sys(nr: libc::c_long, args: &[u64]) -> i64 {
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    // SAFETY: the probes pass integers or null pointers only; the kernel (or the filter)
    // rejects them without touching our memory.
    unsafe { libc::syscall(nr, arg(0), arg(1), arg(2), arg(3)) }
}

/// An i386 syscall through `int 0x80` from this 64-bit process; returns the raw result.
#[cfg(target_arch = "x86_64")]
fn i386_syscall(nr: u32, arg: u32) -> i64 {
    let mut rax = u64::from(nr);
    // SAFETY: `int 0x80` enters the kernel's i386 entry point with eax = nr and ebx = arg
    // (rbx is reserved by the compiler, hence the exchange around the call). The probed
    // syscalls take integers only. The compat entry clobbers r8-r11, declared here.
    unsafe {
        std::arch::asm!(
            "xchg {arg}, rbx",
            "int 0x80",
            "xchg {arg}, rbx",
            arg = inout(reg) u64::from(arg) => _,
            inout("rax") rax,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        );
    }
    i64::from(rax as u32 as i32)
}

#[test]
fn seccomp_default_profile_in_a_real_process() {
    const NAME: &str = "seccomp_default_profile_in_a_real_process";
    if !in_child(NAME) {
        return assert_child_passes(NAME);
    }
    install(&Profile::docker_default(), DOCKER_CAPS);
    let mut p = Probe::default();
    let (eperm, enosys) = (libc::EPERM, libc::ENOSYS);
    let (newns, newnet) = (libc::CLONE_NEWNS as u64, libc::CLONE_NEWNET as u64);

    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    p.check("getpid", pid as u32 == std::process::id());
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    p.succeeds("pipe", i64::from(unsafe { libc::pipe(fds.as_mut_ptr()) }));
    // SAFETY: writes 3 bytes from a static buffer to the pipe just created.
    let written = unsafe { libc::write(fds[1], b"abc".as_ptr().cast(), 3) };
    p.check("write", written == 3);

    p.fails(
        "unshare(CLONE_NEWNS)",
        sys(libc::SYS_unshare, &[newns]),
        eperm,
    );
    p.fails("setns", sys(libc::SYS_setns, &[0, newnet]), eperm);
    let (target, fstype) = (c"/nonexistent-berth-seccomp-test", c"tmpfs");
    let (target, fstype) = (target.as_ptr(), fstype.as_ptr());
    // SAFETY: valid C strings; without the filter the missing target gives ENOENT.
    let rc = unsafe { libc::mount(fstype, target, fstype, 0, std::ptr::null()) };
    p.fails("mount", i64::from(rc), eperm);
    p.fails("umount2", sys(libc::SYS_umount2, &[]), eperm);
    // KEYCTL_GET_KEYRING_ID of the session keyring would succeed for root without the filter.
    p.fails("keyctl", sys(libc::SYS_keyctl, &[0, (-3i64) as u64]), eperm);
    p.fails("add_key", sys(libc::SYS_add_key, &[]), eperm);
    p.fails("request_key", sys(libc::SYS_request_key, &[]), eperm);
    // A wrong magic number: EINVAL if it reached the kernel.
    p.fails("reboot", sys(libc::SYS_reboot, &[]), eperm);
    p.fails("swapon", sys(libc::SYS_swapon, &[]), eperm);
    p.fails("bpf", sys(libc::SYS_bpf, &[]), eperm);
    p.fails("clone3", sys(libc::SYS_clone3, &[]), enosys);
    p.fails("a syscall newer than the profile", sys(1000, &[]), enosys);

    let stream = libc::SOCK_STREAM as u64;
    let vsock = sys(libc::SYS_socket, &[libc::AF_VSOCK as u64, stream]);
    p.fails("socket(AF_VSOCK)", vsock, eperm);
    let unix = sys(libc::SYS_socket, &[libc::AF_UNIX as u64, stream]);
    p.succeeds("socket(AF_UNIX)", unix);

    let persona = |value: u64| sys(libc::SYS_personality, &[value]);
    p.succeeds("personality(query)", persona(0xffff_ffff));
    p.succeeds("personality(PER_LINUX32)", persona(0x0008));
    p.succeeds("personality(PER_LINUX)", persona(0));
    p.fails("personality(PER_BSD)", persona(0x0006), eperm);
    p.fails("personality(ADDR_NO_RANDOMIZE)", persona(0x0040000), eperm);

    // The standard library spawns with clone3 first (glibc's posix_spawn), then falls back to
    // clone on ENOSYS: exactly what the clone3 rule is for.
    let spawned = Command::new("/bin/sh").args(["-c", "exit 7"]).status();
    p.check(
        "spawn a process",
        spawned.is_ok_and(|s| s.code() == Some(7)),
    );

    #[cfg(target_arch = "x86_64")]
    {
        // i386 ABI: getpid = 20, unshare = 310, mount = 21.
        let refused = -i64::from(eperm);
        p.check("i386 getpid", i386_syscall(20, 0) == i64::from(pid));
        p.check("i386 unshare", i386_syscall(310, newns as u32) == refused);
        p.check("i386 mount", i386_syscall(21, 0) == refused);
        // x32 ABI (bit 30 in the number): refused by the filter whether or not the kernel
        // has x32 enabled (without the filter: ENOSYS or success).
        let x32_unshare = sys(0x4000_0000 | libc::SYS_unshare, &[newns]);
        p.fails("x32 unshare", x32_unshare, eperm);
    }
    p.exit()
}

#[test]
fn seccomp_cap_sys_admin_opens_unshare_and_clone3() {
    const NAME: &str = "seccomp_cap_sys_admin_opens_unshare_and_clone3";
    if !in_child(NAME) {
        return assert_child_passes(NAME);
    }
    let mut caps = DOCKER_CAPS.to_vec();
    caps.push("CAP_SYS_ADMIN");
    install(&Profile::docker_default(), &caps);
    let mut p = Probe::default();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        p.succeeds(
            "unshare(CLONE_NEWNS)",
            sys(libc::SYS_unshare, &[libc::CLONE_NEWNS as u64]),
        );
    }
    // Reaches the kernel now, which rejects a null clone_args.
    let rc = sys(libc::SYS_clone3, &[]);
    let errno = io::Error::last_os_error().raw_os_error();
    p.check(
        "clone3 reaches the kernel",
        rc == -1 && errno != Some(libc::ENOSYS),
    );
    p.fails(
        "keyctl",
        sys(libc::SYS_keyctl, &[0, (-3i64) as u64]),
        libc::EPERM,
    );
    p.exit()
}

fn one_rule(action: &str, extra: &str) -> Profile {
    let json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{{"names": ["getppid"], "action": "{action}"{extra}}}]}}"#
    );
    Profile::from_json(json.as_bytes()).expect("test profile")
}

#[test]
fn seccomp_errno_action_returns_errno_ret() {
    const NAME: &str = "seccomp_errno_action_returns_errno_ret";
    if !in_child(NAME) {
        return assert_child_passes(NAME);
    }
    install(&one_rule("SCMP_ACT_ERRNO", r#", "errnoRet": 42"#), &[]);
    let mut p = Probe::default();
    p.fails("getppid", sys(libc::SYS_getppid, &[]), 42);
    p.succeeds("getpid", sys(libc::SYS_getpid, &[]));
    p.exit()
}

#[test]
fn seccomp_kill_process_action_kills_with_sigsys() {
    const NAME: &str = "seccomp_kill_process_action_kills_with_sigsys";
    if !in_child(NAME) {
        let (status, output) = run_child(NAME);
        assert_eq!(
            status.signal(),
            Some(libc::SIGSYS),
            "child {status}:\n{output}"
        );
        return;
    }
    no_core_dumps();
    install(&one_rule("SCMP_ACT_KILL_PROCESS", ""), &[]);
    sys(libc::SYS_getppid, &[]);
    eprintln!("survived getppid");
    std::process::exit(3)
}

/// SCMP_ACT_KILL kills the calling thread only (as with libseccomp). The test harness runs tests
/// on a thread of their own, so the child forks a single-threaded grandchild — the situation
/// of a container's init between fork and exec — which installs the compiled filter and dies.
#[test]
fn seccomp_kill_action_kills_with_sigsys() {
    const NAME: &str = "seccomp_kill_action_kills_with_sigsys";
    if !in_child(NAME) {
        return assert_child_passes(NAME);
    }
    no_core_dumps();
    let program = one_rule("SCMP_ACT_KILL", "").compile(&[], (6, 1)).unwrap();
    allow_unprivileged_install();
    // SAFETY: the child only calls async-signal-safe functions and `seccomp::install`, which
    // does not allocate, before `_exit`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = match seccomp::install(&program) {
            Ok(()) => {
                sys(libc::SYS_getppid, &[]);
                3
            }
            Err(_) => 4,
        };
        // SAFETY: _exit ends the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer; `pid` is our child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut p = Probe::default();
    p.check("waitpid", waited == pid);
    p.check(
        &format!("grandchild status {status:#x}: want death by SIGSYS"),
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
    );
    p.exit()
}
