//! RUN (with mounts, network, security), CMD, ENTRYPOINT, SHELL, HEALTHCHECK.

use std::time::Duration;

use super::*;
use crate::instruction::Healthcheck;

fn run_of(line: &str) -> Run {
    match one(line) {
        Instruction::Run(r) => r,
        other => panic!("not a RUN: {other:?}"),
    }
}

fn mount_of(spec: &str) -> Mount {
    let mut r = run_of(&format!("RUN --mount={spec} true"));
    assert_eq!(r.mounts.len(), 1);
    r.mounts.remove(0)
}

/// A mount with every option unset, to write expectations as differences from it.
fn base(kind: MountType, target: &str) -> Mount {
    Mount {
        kind,
        target: Some(target.into()),
        source: None,
        from: None,
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        readonly: false,
        required: false,
        size: None,
        env: None,
    }
}

#[test]
fn run_shell_and_exec_forms() {
    assert_eq!(
        run_of("RUN echo hello world").command,
        shell("echo hello world")
    );
    assert_eq!(
        run_of(r#"RUN ["echo", "a b"]"#).command,
        exec(&["echo", "a b"])
    );
    assert_eq!(run_of(r#"RUN   [ "x" ]  "#).command, exec(&["x"]));
    // Not valid JSON: the shell form, as written.
    assert_eq!(run_of("RUN [echo, hi]").command, shell("[echo, hi]"));
    assert_eq!(
        run_of(r#"RUN ["unterminated"#).command,
        shell(r#"["unterminated"#)
    );
    assert_eq!(
        run_of("RUN [\"a\"] trailing").command,
        shell("[\"a\"] trailing")
    );
}

#[test]
fn run_network_and_security() {
    let r = run_of("RUN --network=none --security=insecure make");
    assert_eq!(
        (r.network, r.security),
        (Some(Network::None), Some(Security::Insecure))
    );
    assert_eq!(run_of("RUN --network=host x").network, Some(Network::Host));
    assert_eq!(
        run_of("RUN --network=default x").network,
        Some(Network::Default)
    );
    assert_eq!(
        run_of("RUN --security=sandbox x").security,
        Some(Security::Sandbox)
    );
    assert_eq!(
        one_err("RUN --network=bridge x"),
        r#"unsupported network mode "bridge""#
    );
    assert_eq!(
        one_err("RUN --security=root x"),
        r#"unsupported security mode "root""#
    );
}

#[test]
fn cache_mounts() {
    let m = mount_of(
        "type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=1000",
    );
    assert_eq!(
        m,
        Mount {
            id: Some("pip".into()),
            sharing: Some(Sharing::Locked),
            mode: Some(0o755),
            uid: Some(1000),
            gid: Some(1000),
            ..base(MountType::Cache, "/root/.cache")
        }
    );
    // Defaults: shared, writable; `from` and `source` choose a seed directory.
    let m = mount_of("type=cache,dst=/c,from=builder,source=/seed");
    assert_eq!(
        m,
        Mount {
            sharing: Some(Sharing::Shared),
            from: Some("builder".into()),
            source: Some("/seed".into()),
            ..base(MountType::Cache, "/c")
        }
    );
    assert_eq!(
        mount_of("type=cache,target=/c,sharing=private").sharing,
        Some(Sharing::Private)
    );
    assert!(mount_of("type=cache,target=/c,ro").readonly);
}

#[test]
fn bind_tmpfs_secret_ssh_mounts() {
    // Bind is the default type and read-only unless rw.
    assert_eq!(
        mount_of("target=/src"),
        Mount {
            readonly: true,
            ..base(MountType::Bind, "/src")
        }
    );
    assert_eq!(
        mount_of("type=bind,source=go.mod,target=/x/go.mod,from=deps,rw"),
        Mount {
            source: Some("go.mod".into()),
            from: Some("deps".into()),
            ..base(MountType::Bind, "/x/go.mod")
        }
    );
    assert!(!mount_of("type=bind,target=/a,readwrite=true").readonly);
    assert!(mount_of("type=bind,target=/a,readonly=1").readonly);
    assert_eq!(
        mount_of("type=tmpfs,destination=/tmp,size=64m").size,
        Some(64 << 20)
    );
    assert_eq!(
        mount_of("type=tmpfs,target=/tmp,size=1024").size,
        Some(1024)
    );
    assert!(!mount_of("type=tmpfs,target=/tmp").readonly);
    let s = mount_of("type=secret,id=aws,target=/root/.aws/credentials,required,mode=0400");
    assert_eq!(
        s,
        Mount {
            id: Some("aws".into()),
            required: true,
            mode: Some(0o400),
            readonly: true,
            ..base(MountType::Secret, "/root/.aws/credentials")
        }
    );
    let s = mount_of("type=secret,id=token,env=TOKEN");
    assert_eq!(
        (s.env.as_deref(), s.target.as_deref()),
        (Some("TOKEN"), None)
    );
    let ssh = mount_of("type=ssh");
    assert_eq!(
        (ssh.kind, ssh.target.as_deref(), ssh.readonly),
        (MountType::Ssh, None, true)
    );
    assert!(mount_of("type=ssh,id=github,required=true").required);
    // Quoted CSV fields may hold commas; the flag's own quotes go first, so the CSV quotes
    // must sit inside another pair.
    assert_eq!(
        mount_of("'type=bind,\"target=/a,b\"'").target.as_deref(),
        Some("/a,b")
    );
}

#[test]
fn several_mounts_keep_their_order() {
    let r = run_of("RUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/b \\\n  --mount=type=secret,id=s cmd");
    let kinds: Vec<MountType> = r.mounts.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [MountType::Cache, MountType::Tmpfs, MountType::Secret]
    );
    assert_eq!(r.command, shell("cmd"));
}

#[test]
fn mount_errors() {
    let e = |spec: &str| one_err(&format!("RUN --mount={spec} true"));
    assert_eq!(
        e("type=volume,target=/a"),
        r#"unsupported mount type "volume""#
    );
    assert_eq!(
        e("type=cache,target=/a,sharing=all"),
        r#"unsupported sharing value "all""#
    );
    assert_eq!(
        e("type=bind,target=/a,sharing=locked"),
        "invalid cache sharing set for bind mount"
    );
    assert_eq!(
        e("type=bind,target=/a,uid=1"),
        r#"uid not allowed for "bind" type mounts"#
    );
    assert_eq!(e("type=cache,target=/a,mode=9"), "invalid value 9 for mode");
    assert_eq!(
        e("type=cache,target=/a,size=1g"),
        "unexpected key 'size' for mount type 'cache'"
    );
    assert_eq!(
        e("type=bind,target=/a,required"),
        "unexpected key 'required' for mount type 'bind'"
    );
    assert_eq!(
        e("type=bind,target=/a,colour=red"),
        "unexpected key 'colour' in 'colour=red'"
    );
    assert_eq!(
        e("type=bind,target=/a,bogus"),
        "invalid field 'bogus' must be a key=value pair"
    );
    assert_eq!(
        e("type=secret"),
        "invalid secret mount. one of source, target required"
    );
    assert_eq!(
        e("type=secret,id=a,from=x"),
        "secret mount should not have a from"
    );
    assert_eq!(e("type=cache"), "mount type cache requires a target");
    assert_eq!(
        e("type=bind,target=/a,ro=maybe"),
        "invalid value for ro: maybe"
    );
}

#[test]
fn cmd_and_entrypoint() {
    assert_eq!(
        one("CMD [\"nginx\", \"-g\", \"daemon off;\"]"),
        Instruction::Cmd(exec(&["nginx", "-g", "daemon off;"]))
    );
    assert_eq!(
        one("CMD echo $HOME"),
        Instruction::Cmd(shell("echo $HOME")),
        "not expanded"
    );
    assert_eq!(one("CMD"), Instruction::Cmd(exec(&[])));
    assert_eq!(one("CMD []"), Instruction::Cmd(exec(&[])));
    assert_eq!(
        one("ENTRYPOINT [\"/init\"]"),
        Instruction::Entrypoint(exec(&["/init"]))
    );
    assert_eq!(
        one("ENTRYPOINT exec top -b"),
        Instruction::Entrypoint(shell("exec top -b"))
    );
    assert_eq!(one("ENTRYPOINT []"), Instruction::Entrypoint(exec(&[])));
    assert_eq!(
        one("CMD [\"a\\\"b\", \"c\\\\d\"]"),
        Instruction::Cmd(exec(&["a\"b", "c\\d"]))
    );
}

#[test]
fn shell_is_json_only() {
    assert_eq!(
        one(r#"SHELL ["powershell", "-command"]"#),
        Instruction::Shell(strings(&["powershell", "-command"]))
    );
    assert_eq!(
        one_err("SHELL /bin/bash -c"),
        "SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(one_err("SHELL []"), "SHELL requires at least one argument");
    assert_eq!(one_err("SHELL"), "SHELL requires at least one argument");
}

fn hc(test: Option<Command>) -> Healthcheck {
    Healthcheck {
        test,
        interval: None,
        timeout: None,
        start_period: None,
        start_interval: None,
        retries: None,
    }
}

#[test]
fn healthchecks() {
    assert_eq!(one("HEALTHCHECK NONE"), Instruction::Healthcheck(hc(None)));
    assert_eq!(
        one("HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 CMD curl -f http://localhost/ || exit 1"),
        Instruction::Healthcheck(Healthcheck {
            interval: Some(Duration::from_secs(30)),
            timeout: Some(Duration::from_secs(5)),
            start_period: Some(Duration::from_secs(60)),
            start_interval: Some(Duration::from_secs(2)),
            retries: Some(3),
            ..hc(Some(shell("curl -f http://localhost/ || exit 1")))
        })
    );
    assert_eq!(
        one("healthcheck cmd [\"/bin/check\", \"--fast\"]"),
        Instruction::Healthcheck(hc(Some(exec(&["/bin/check", "--fast"]))))
    );
    // Zero means "inherit the default", as unset.
    assert_eq!(
        one("HEALTHCHECK --interval=0 --retries=0 CMD true"),
        Instruction::Healthcheck(Healthcheck {
            retries: Some(0),
            ..hc(Some(shell("true")))
        })
    );
}

#[test]
fn healthcheck_errors() {
    assert_eq!(
        one_err("HEALTHCHECK"),
        "HEALTHCHECK requires at least one argument"
    );
    assert_eq!(
        one_err("HEALTHCHECK NONE now"),
        "HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        one_err("HEALTHCHECK CMD"),
        "Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        one_err("HEALTHCHECK RUN x"),
        r#"Unknown type "RUN" in HEALTHCHECK (try CMD)"#
    );
    assert_eq!(
        one_err("HEALTHCHECK --interval=1us CMD x"),
        r#"Interval "interval" cannot be less than 1ms"#
    );
    assert_eq!(
        one_err("HEALTHCHECK --retries=-1 CMD x"),
        "--retries cannot be negative (-1)"
    );
    assert_eq!(
        one_err("HEALTHCHECK --timeout=soon CMD x"),
        r#"time: invalid duration "soon""#
    );
    assert_eq!(
        one_err("HEALTHCHECK --intervl=1s CMD x"),
        "unknown flag: intervl (did you mean --interval?)"
    );
}
