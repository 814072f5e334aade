//! Unit tests for reading, validating and writing profiles, and for how a parsed profile's
//! rules combine once compiled (checked with the BPF interpreter of `tests`).

use super::arch::AUDIT_ARCH_X86_64;
use super::tests::{docker_caps, run};
use super::*;

const HAND_WRITTEN: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    "listenerPath": "/run/agent.sock",
    "someFieldFromTheFuture": true,
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"name": "getpid", "action": "SCMP_ACT_ALLOW", "args": null, "includes": {},
         "excludes": null, "comment": ""},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]},
        {"names": ["kill"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 3, "value": 1, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}],
         "includes": {"minKernel": "4.8", "arches": ["amd64", "arm64"], "caps": ["CAP_SYS_ADMIN"]},
         "excludes": {"caps": ["CAP_SYS_BOOT"]},
         "comment": "read-only mounts only"}
    ]
}"#;

fn errno(e: u32) -> u32 {
    0x0005_0000 | e
}

fn x86_64(prog: &[sock_filter], nr: i64, args: [u64; 6]) -> u32 {
    run(prog, AUDIT_ARCH_X86_64, nr as u32, args)
}

fn caps(names: &[&str]) -> Vec<String> {
    names.iter().map(|c| (*c).to_owned()).collect()
}

#[test]
fn parses_a_hand_written_profile() {
    let p = Profile::from_json(HAND_WRITTEN.as_bytes()).unwrap();
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.default_errno_ret, Some(38));
    assert_eq!(p.architectures, [ScmpArch::X86_64, ScmpArch::X86]);
    assert_eq!(p.listener_path.as_deref(), Some("/run/agent.sock"));
    assert_eq!(p.syscalls.len(), 5);
    assert_eq!(
        p.syscalls[1].names,
        ["getpid"],
        "`name` is folded into `names`"
    );
    assert!(p.syscalls[1].args.is_empty() && p.syscalls[1].includes.is_empty());
    assert_eq!(p.syscalls[1].comment, None);
    let kill = &p.syscalls[2];
    assert_eq!((kill.action, kill.errno_ret), (Action::Errno, Some(13)));
    assert_eq!(
        kill.args,
        [SyscallArg {
            index: 1,
            value: 9,
            value_two: 0,
            op: ArgOp::Equal
        }]
    );
    let mount = &p.syscalls[4];
    assert_eq!(mount.args[0].op, ArgOp::MaskedEqual);
    assert_eq!(
        mount.includes.min_kernel,
        Some(KernelVersion { major: 4, minor: 8 })
    );
    assert_eq!(mount.includes.caps, ["CAP_SYS_ADMIN"]);
    assert_eq!(mount.excludes.caps, ["CAP_SYS_BOOT"]);
}

#[test]
fn hand_written_profile_behaves() {
    let p = Profile::from_json(HAND_WRITTEN.as_bytes()).unwrap();
    let plain = p.compile_for(HostArch::X86_64, &[], (6, 1)).unwrap();
    assert_eq!(x86_64(&plain, libc::SYS_read, [0; 6]), 0x7fff_0000);
    // Errno is more severe than allow, so the argument rule wins over the later allow.
    assert_eq!(
        x86_64(&plain, libc::SYS_kill, [1, 9, 0, 0, 0, 0]),
        errno(13)
    );
    assert_eq!(
        x86_64(&plain, libc::SYS_kill, [1, 15, 0, 0, 0, 0]),
        0x7fff_0000
    );
    // defaultErrnoRet is ENOSYS, so there is no separate ENOSYS rule: everything else gets it.
    assert_eq!(x86_64(&plain, libc::SYS_mount, [0; 6]), errno(38));
    assert_eq!(x86_64(&plain, 999, [0; 6]), errno(38));

    let admin = p
        .compile_for(HostArch::X86_64, &caps(&["CAP_SYS_ADMIN"]), (6, 1))
        .unwrap();
    assert_eq!(
        x86_64(&admin, libc::SYS_mount, [0, 0, 0, 1, 0, 0]),
        0x7fff_0000
    );
    assert_eq!(
        x86_64(&admin, libc::SYS_mount, [0, 0, 0, 0, 0, 0]),
        errno(38)
    );
    let excluded = caps(&["CAP_SYS_ADMIN", "CAP_SYS_BOOT"]);
    let excluded = p.compile_for(HostArch::X86_64, &excluded, (6, 1)).unwrap();
    assert_eq!(
        x86_64(&excluded, libc::SYS_mount, [0, 0, 0, 1, 0, 0]),
        errno(38)
    );
    let old_kernel = p
        .compile_for(HostArch::X86_64, &caps(&["CAP_SYS_ADMIN"]), (4, 4))
        .unwrap();
    assert_eq!(
        x86_64(&old_kernel, libc::SYS_mount, [0, 0, 0, 1, 0, 0]),
        errno(38)
    );
}

#[test]
fn actions_map_to_kernel_return_values() {
    let cases = [
        ("SCMP_ACT_KILL", "", 0x0000_0000),
        ("SCMP_ACT_KILL_THREAD", "", 0x0000_0000),
        ("SCMP_ACT_KILL_PROCESS", "", 0x8000_0000),
        ("SCMP_ACT_TRAP", "", 0x0003_0000),
        ("SCMP_ACT_ERRNO", "", errno(1)),
        ("SCMP_ACT_ERRNO", r#", "errnoRet": 95"#, errno(95)),
        ("SCMP_ACT_TRACE", r#", "errnoRet": 7"#, 0x7ff0_0007),
        ("SCMP_ACT_LOG", "", 0x7ffc_0000),
    ];
    for (action, extra, expected) in cases {
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{{"names": ["getppid"], "action": "{action}"{extra}}}]}}"#
        );
        let prog = Profile::from_json(json.as_bytes())
            .unwrap()
            .compile_for(HostArch::X86_64, &[], (6, 1))
            .unwrap();
        assert_eq!(
            x86_64(&prog, libc::SYS_getppid, [0; 6]),
            expected,
            "{action}"
        );
        assert_eq!(
            x86_64(&prog, libc::SYS_getpid, [0; 6]),
            0x7fff_0000,
            "{action}"
        );
    }
}

#[test]
fn conditions_on_one_argument_are_alternatives_as_in_runc() {
    let json = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 2, "op": "SCMP_CMP_GT"}]},
        {"names": ["dup"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 240, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#;
    let prog = Profile::from_json(json.as_bytes())
        .unwrap()
        .compile_for(HostArch::X86_64, &[], (6, 1))
        .unwrap();
    let allow = 0x7fff_0000;
    assert_eq!(x86_64(&prog, libc::SYS_socket, [1, 0, 0, 0, 0, 0]), allow);
    assert_eq!(x86_64(&prog, libc::SYS_socket, [2, 0, 0, 0, 0, 0]), allow);
    assert_eq!(
        x86_64(&prog, libc::SYS_socket, [3, 0, 0, 0, 0, 0]),
        errno(1)
    );
    // Different arguments: all must hold.
    assert_eq!(x86_64(&prog, libc::SYS_ioctl, [1, 3, 0, 0, 0, 0]), allow);
    assert_eq!(x86_64(&prog, libc::SYS_ioctl, [1, 2, 0, 0, 0, 0]), errno(1));
    assert_eq!(x86_64(&prog, libc::SYS_ioctl, [0, 3, 0, 0, 0, 0]), errno(1));
    // (arg & 0xf0) == 1 can never hold, as in libseccomp.
    assert_eq!(x86_64(&prog, libc::SYS_dup, [1, 0, 0, 0, 0, 0]), errno(1));
    assert_eq!(
        x86_64(&prog, libc::SYS_dup, [0xf1, 0, 0, 0, 0, 0]),
        errno(1)
    );
}

fn parse_err(json: &str) -> SeccompError {
    Profile::from_json(json.as_bytes()).unwrap_err()
}

#[test]
fn errors_name_what_is_wrong() {
    let rule = |r: &str| format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{r}]}}"#);
    match parse_err(r#"{"defaultAction": "SCMP_ACT_FROB"}"#) {
        SeccompError::UnknownAction { action } => assert_eq!(action, "SCMP_ACT_FROB"),
        e => panic!("{e}"),
    }
    match parse_err(&rule(
        r#"{"names": ["read", "frobnicate"], "action": "SCMP_ACT_ALLOW"}"#,
    )) {
        SeccompError::UnknownSyscall { name } => assert_eq!(name, "frobnicate"),
        e => panic!("{e}"),
    }
    let bad_op = r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SIMILAR"}]}"#;
    match parse_err(&rule(bad_op)) {
        SeccompError::UnknownOp { op, syscall } => assert_eq!(
            (op.as_str(), syscall.as_str()),
            ("SCMP_CMP_SIMILAR", "read")
        ),
        e => panic!("{e}"),
    }
    let bad_index = r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}"#;
    assert!(matches!(
        parse_err(&rule(bad_index)),
        SeccompError::ArgIndex { index: 6, .. }
    ));
    let both = r#"{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}"#;
    assert!(matches!(
        parse_err(&rule(both)),
        SeccompError::NameAndNames { .. }
    ));
    let none = r#"{"names": [], "action": "SCMP_ACT_ALLOW"}"#;
    assert!(matches!(
        parse_err(&rule(none)),
        SeccompError::NoNames { index: 0 }
    ));
    let kernel =
        r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}"#;
    assert!(matches!(
        parse_err(&rule(kernel)),
        SeccompError::KernelVersion { .. }
    ));
    let arch = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]}"#;
    assert!(
        matches!(parse_err(arch), SeccompError::UnknownArch { arch } if arch == "SCMP_ARCH_Z80")
    );
    let both_arch = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]}"#;
    assert!(matches!(
        parse_err(both_arch),
        SeccompError::ArchitecturesAndArchMap
    ));
    assert!(matches!(
        parse_err(r#"{"syscalls": []}"#),
        SeccompError::MissingDefaultAction
    ));
    assert!(matches!(
        parse_err(r#"{"defaultAction": "#),
        SeccompError::Json(_)
    ));
    assert!(matches!(parse_err("[1, 2]"), SeccompError::Json(_)));

    let notify = rule(r#"{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}"#);
    let notify = Profile::from_json(notify.as_bytes()).unwrap();
    match notify.compile_for(HostArch::X86_64, &[], (6, 1)) {
        Err(SeccompError::UnsupportedAction { action, syscall }) => {
            assert_eq!(
                (action.as_str(), syscall.as_str()),
                ("SCMP_ACT_NOTIFY", "read")
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_reading_a_file_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.json");
    assert!(matches!(
        Profile::from_file(&path),
        Err(SeccompError::ReadFile { .. })
    ));
    std::fs::write(&path, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
    let err = Profile::from_file(&path).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("profile.json") && text.contains("SCMP_ACT_NOPE"),
        "{text}"
    );
}

#[test]
fn json_round_trip() {
    for profile in [
        Profile::docker_default(),
        Profile::from_json(HAND_WRITTEN.as_bytes()).unwrap(),
    ] {
        let json = profile.to_json().unwrap();
        assert_eq!(Profile::from_json(json.as_bytes()).unwrap(), profile);
        // `Profile` is also an ordinary serde type.
        assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), profile);
    }
}

#[test]
fn default_profile_reads_like_dockers() {
    let json: serde_json::Value =
        serde_json::from_str(&Profile::docker_default().to_json().unwrap()).unwrap();
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["defaultErrnoRet"], 1);
    assert_eq!(json["archMap"][0]["architecture"], "SCMP_ARCH_X86_64");
    assert_eq!(
        json["archMap"][0]["subArchitectures"],
        serde_json::json!(["SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let rules = json["syscalls"].as_array().unwrap();
    assert_eq!(rules.len(), 31);
    assert_eq!(rules[1]["includes"]["minKernel"], "4.8");
    assert_eq!(
        rules[2]["args"][0],
        serde_json::json!({"index": 0, "value": 40, "op": "SCMP_CMP_NE"})
    );
    let clone3 = rules
        .iter()
        .find(|r| r["names"] == serde_json::json!(["clone3"]))
        .unwrap();
    assert_eq!(clone3["errnoRet"], 38);
    assert_eq!(
        clone3["excludes"]["caps"],
        serde_json::json!(["CAP_SYS_ADMIN"])
    );
    let allowed = rules[0]["names"].as_array().unwrap();
    for absent in [
        "mount",
        "unshare",
        "keyctl",
        "add_key",
        "request_key",
        "io_uring_setup",
        "ptrace",
        "reboot",
    ] {
        assert!(
            !allowed.iter().any(|n| n == absent),
            "{absent} is unconditionally allowed"
        );
    }
    for present in [
        "read",
        "write",
        "exit_group",
        "capset",
        "execve",
        "clock_gettime64",
    ] {
        assert!(
            allowed.iter().any(|n| n == present),
            "{present} is not allowed"
        );
    }
    assert_eq!(docker_caps().len(), 14);
}

#[test]
fn kernel_versions() {
    assert_eq!(
        KernelVersion::parse("4.8"),
        Some(KernelVersion { major: 4, minor: 8 })
    );
    for bad in ["4", "4.8.1", "a.b", "", "4."] {
        assert_eq!(KernelVersion::parse(bad), None, "{bad:?}");
    }
    let release = KernelVersion::parse_release("6.1.0-18-amd64");
    assert_eq!(release, Some(KernelVersion { major: 6, minor: 1 }));
    assert_eq!(
        KernelVersion::parse_release("5.10"),
        Some(KernelVersion {
            major: 5,
            minor: 10
        })
    );
    assert_eq!(KernelVersion::parse_release("linux"), None);
    let (major, _) = host_kernel_version().unwrap();
    assert!(major >= 3);
}

#[test]
fn install_refuses_bad_lengths_without_touching_the_kernel() {
    assert!(matches!(install(&[]), Err(SeccompError::EmptyProgram)));
    let huge = vec![
        sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000
        };
        MAX_INSTRUCTIONS + 1
    ];
    assert!(matches!(install(&huge), Err(SeccompError::TooLarge { .. })));
}
