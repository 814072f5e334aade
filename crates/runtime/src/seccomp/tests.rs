//! Unit tests for the seccomp module. Compiled programs are checked by running them in a small
//! classic-BPF interpreter, so every ABI (including aarch64's on an x86_64 machine) is covered
//! without installing anything; tests/seccomp_filter.rs installs real filters.

use super::arch::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use super::*;

const ALLOW: u32 = 0x7fff_0000;
const EPERM: u32 = 0x0005_0001;
const ENOSYS: u32 = 0x0005_0026;
const KILL_PROCESS: u32 = 0x8000_0000;
const X32: u32 = 0x4000_0000;

/// Docker's default capability set.
pub(super) fn docker_caps() -> Vec<String> {
    crate::linux::caps::DOCKER_DEFAULT
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

fn with(extra: &[&str]) -> Vec<String> {
    let mut caps = docker_caps();
    caps.extend(extra.iter().map(|c| (*c).to_owned()));
    caps
}

/// Runs `prog` on a `struct seccomp_data` (little-endian, as on x86_64 and aarch64).
pub(super) fn run(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    exec(prog, arch, nr, args).0
}

/// The filter's verdict and how many instructions it executed to reach it.
fn exec(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let (mut pc, mut acc) = (0usize, 0u32);
    for steps in 1.. {
        let ins = &prog[pc];
        pc += 1;
        let k = ins.k;
        let cond = |taken: bool| usize::from(if taken { ins.jt } else { ins.jf });
        match ins.code {
            0x20 => acc = u32::from_le_bytes(data[k as usize..k as usize + 4].try_into().unwrap()),
            0x54 => acc &= k,
            0x05 => pc += k as usize,
            0x15 => pc += cond(acc == k),
            0x25 => pc += cond(acc > k),
            0x35 => pc += cond(acc >= k),
            0x45 => pc += cond(acc & k != 0),
            0x06 => return (k, steps),
            other => panic!("unexpected BPF opcode {other:#x} at {}", pc - 1),
        }
    }
    unreachable!()
}

fn x86_64(prog: &[sock_filter], nr: i64, args: [u64; 6]) -> u32 {
    run(prog, AUDIT_ARCH_X86_64, nr as u32, args)
}

const NO_ARGS: [u64; 6] = [0; 6];

fn default_for(caps: &[String], kernel: (u32, u32)) -> BpfProgram {
    Profile::docker_default()
        .compile_for(HostArch::X86_64, caps, kernel)
        .unwrap()
}

#[test]
fn default_profile_allows_ordinary_and_refuses_privileged_syscalls() {
    let prog = default_for(&docker_caps(), (6, 1));
    for nr in [
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_exit_group,
        libc::SYS_getpid,
        libc::SYS_execve,
    ] {
        assert_eq!(x86_64(&prog, nr, NO_ARGS), ALLOW, "syscall {nr}");
    }
    for nr in [
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_kexec_load,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_io_uring_setup,
        libc::SYS_init_module,
        libc::SYS_sethostname,
        libc::SYS_open_by_handle_at,
    ] {
        assert_eq!(x86_64(&prog, nr, NO_ARGS), EPERM, "syscall {nr}");
    }
    assert_eq!(x86_64(&prog, libc::SYS_clone3, NO_ARGS), ENOSYS);
    assert_eq!(
        x86_64(&prog, libc::SYS_chroot, NO_ARGS),
        ALLOW,
        "CAP_SYS_CHROOT is a default"
    );
}

#[test]
fn argument_rules() {
    let prog = default_for(&docker_caps(), (6, 1));
    let arg0 = |v: u64| [v, 0, 0, 0, 0, 0];
    for persona in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(
            x86_64(&prog, libc::SYS_personality, arg0(persona)),
            ALLOW,
            "{persona:#x}"
        );
    }
    for persona in [6, 0x0040_0008, 0x1_ffff_ffff] {
        assert_eq!(
            x86_64(&prog, libc::SYS_personality, arg0(persona)),
            EPERM,
            "{persona:#x}"
        );
    }
    let sigchld = libc::SIGCHLD as u64;
    assert_eq!(x86_64(&prog, libc::SYS_clone, arg0(sigchld)), ALLOW);
    let threads = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SETTLS) as u64;
    assert_eq!(x86_64(&prog, libc::SYS_clone, arg0(threads)), ALLOW);
    for ns in [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
    ] {
        assert_eq!(
            x86_64(&prog, libc::SYS_clone, arg0(ns as u64 | sigchld)),
            EPERM
        );
    }
    assert_eq!(
        x86_64(&prog, libc::SYS_socket, arg0(libc::AF_UNIX as u64)),
        ALLOW
    );
    assert_eq!(
        x86_64(&prog, libc::SYS_socket, arg0(libc::AF_INET6 as u64)),
        ALLOW
    );
    assert_eq!(
        x86_64(&prog, libc::SYS_socket, arg0(libc::AF_VSOCK as u64)),
        EPERM
    );
}

#[test]
fn capabilities_open_their_syscalls() {
    let admin = default_for(&with(&["CAP_SYS_ADMIN"]), (6, 1));
    for nr in [
        libc::SYS_mount,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_clone3,
        libc::SYS_bpf,
    ] {
        assert_eq!(x86_64(&admin, nr, NO_ARGS), ALLOW, "syscall {nr}");
    }
    let newns = [(libc::CLONE_NEWNS | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0];
    assert_eq!(x86_64(&admin, libc::SYS_clone, newns), ALLOW);
    assert_eq!(
        x86_64(&admin, libc::SYS_keyctl, NO_ARGS),
        EPERM,
        "no rule allows keyctl"
    );

    let ptrace = default_for(&with(&["CAP_SYS_PTRACE"]), (6, 1));
    for nr in [
        libc::SYS_kcmp,
        libc::SYS_process_madvise,
        libc::SYS_pidfd_getfd,
    ] {
        assert_eq!(x86_64(&ptrace, nr, NO_ARGS), ALLOW, "syscall {nr}");
    }
    let plain = default_for(&docker_caps(), (6, 1));
    assert_eq!(x86_64(&plain, libc::SYS_kcmp, NO_ARGS), EPERM);

    // Capability names are matched without case or the CAP_ prefix.
    let boot = default_for(&["sys_boot".to_owned()], (6, 1));
    assert_eq!(x86_64(&boot, libc::SYS_reboot, NO_ARGS), ALLOW);
}

#[test]
fn min_kernel_gates_ptrace() {
    let new = default_for(&docker_caps(), (4, 8));
    let old = default_for(&docker_caps(), (4, 4));
    for nr in [libc::SYS_ptrace, libc::SYS_process_vm_readv] {
        assert_eq!(x86_64(&new, nr, NO_ARGS), ALLOW);
        assert_eq!(x86_64(&old, nr, NO_ARGS), EPERM);
    }
}

#[test]
fn compat_abis_and_foreign_arches() {
    let prog = default_for(&docker_caps(), (6, 1));
    // i386: chown32 = 212, mount = 21, socketcall = 102, unshare = 310.
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 212, NO_ARGS), ALLOW);
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 102, NO_ARGS), ALLOW);
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 21, NO_ARGS), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 310, NO_ARGS), EPERM);
    // personality on i386 compares the low word only.
    assert_eq!(
        run(&prog, AUDIT_ARCH_I386, 136, [0xffff_ffff, 0, 0, 0, 0, 0]),
        ALLOW
    );
    // x32: read, arch_prctl allowed; mount (165) refused; x32-only execve (520) allowed.
    assert_eq!(x86_64(&prog, i64::from(X32), NO_ARGS), ALLOW);
    assert_eq!(x86_64(&prog, i64::from(X32 | 158), NO_ARGS), ALLOW);
    assert_eq!(x86_64(&prog, i64::from(X32 | 165), NO_ARGS), EPERM);
    assert_eq!(x86_64(&prog, i64::from(X32 | 520), NO_ARGS), ALLOW);
    // An ABI the profile does not cover is killed.
    assert_eq!(run(&prog, AUDIT_ARCH_AARCH64, 63, NO_ARGS), KILL_PROCESS);
}

#[test]
fn numbers_beyond_the_profile_get_enosys() {
    let prog = default_for(&docker_caps(), (6, 1));
    assert_eq!(x86_64(&prog, 999, NO_ARGS), ENOSYS);
    assert_eq!(
        x86_64(&prog, 457, NO_ARGS),
        ENOSYS,
        "statmount is newer than the profile"
    );
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 999, NO_ARGS), ENOSYS);
    // A hole below the highest named number stays EPERM.
    assert_eq!(x86_64(&prog, 400, NO_ARGS), EPERM);
}

#[test]
fn aarch64_host() {
    let prog = Profile::docker_default()
        .compile_for(HostArch::Aarch64, &docker_caps(), (6, 1))
        .unwrap();
    let run64 = |nr, args| run(&prog, AUDIT_ARCH_AARCH64, nr, args);
    assert_eq!(run64(63, NO_ARGS), ALLOW, "read");
    assert_eq!(run64(40, NO_ARGS), EPERM, "mount");
    assert_eq!(run64(97, NO_ARGS), EPERM, "unshare");
    assert_eq!(run64(435, NO_ARGS), ENOSYS, "clone3");
    assert_eq!(
        run64(92, [8, 0, 0, 0, 0, 0]),
        ALLOW,
        "personality(PER_LINUX32)"
    );
    assert_eq!(
        run(&prog, AUDIT_ARCH_ARM, 212, NO_ARGS),
        ALLOW,
        "arm chown32"
    );
    assert_eq!(
        run(&prog, AUDIT_ARCH_ARM, 0x0f_0005, NO_ARGS),
        ALLOW,
        "arm set_tls"
    );
    assert_eq!(run(&prog, AUDIT_ARCH_ARM, 21, NO_ARGS), EPERM, "arm mount");
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 0, NO_ARGS), KILL_PROCESS);
    assert!(Profile::docker_default()
        .compile_for(HostArch::Aarch64, &[], (6, 1))
        .is_ok());
}

#[test]
fn every_syscall_takes_a_short_path() {
    let prog = default_for(&docker_caps(), (6, 1));
    let personality = [0xffff_ffff, 0, 0, 0, 0, 0];
    for (arch, bias) in [
        (AUDIT_ARCH_X86_64, 0),
        (AUDIT_ARCH_X86_64, X32),
        (AUDIT_ARCH_I386, 0),
    ] {
        let mut steps: Vec<_> = (0..600)
            .map(|nr| exec(&prog, arch, bias | nr, personality).1)
            .collect();
        steps.sort();
        let (median, longest) = (steps[steps.len() / 2], steps[steps.len() - 1]);
        eprintln!("{arch:#x}/{bias:#x}: median {median}, longest {longest} instructions");
        // The longest is personality(0xffffffff), the last of five 64-bit comparisons.
        assert!(
            median <= 16 && longest <= 48,
            "{arch:#x}/{bias:#x}: {median}, {longest}"
        );
    }
}

#[test]
fn default_profile_fits_with_every_capability() {
    let all: Vec<String> = [
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_MODULE",
        "CAP_SYS_PACCT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_SYS_NICE",
        "CAP_SYSLOG",
        "CAP_BPF",
        "CAP_PERFMON",
        "CAP_DAC_READ_SEARCH",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .chain(docker_caps())
    .collect();
    for host in [HostArch::X86_64, HostArch::Aarch64] {
        let prog = Profile::docker_default()
            .compile_for(host, &all, (6, 1))
            .unwrap();
        assert!(prog.len() < 2000, "{host:?}: {} instructions", prog.len());
    }
}

#[test]
fn default_profile_names_are_all_known() {
    for rule in Profile::docker_default().syscalls {
        for name in rule.names {
            assert!(arch::is_known_syscall(&name), "{name}");
        }
    }
}

#[test]
fn default_profile_compile_time() {
    let profile = Profile::docker_default();
    let caps = docker_caps();
    let mut times: Vec<_> = (0..50)
        .map(|_| {
            let start = std::time::Instant::now();
            let prog = profile.compile(&caps, (6, 1)).unwrap();
            std::hint::black_box(prog);
            start.elapsed()
        })
        .collect();
    times.sort();
    let start = std::time::Instant::now();
    std::hint::black_box(Profile::docker_default());
    let build = start.elapsed();
    let prog = profile.compile(&caps, (6, 1)).unwrap();
    eprintln!(
        "seccomp: docker_default() {build:?}; compile median {:?} (min {:?}); {} instructions",
        times[times.len() / 2],
        times[0],
        prog.len()
    );
}
