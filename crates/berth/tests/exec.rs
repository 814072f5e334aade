//! `exec`, `--init` and health checks through the CLI and the API against a real engine:
//! processes started in running containers (their options, streams, terminal, namespaces and
//! exit codes), the init that `--init` makes pid 1, and health probes with their states.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "exec/docker.rs"]
mod docker;
#[path = "exec/health.rs"]
mod health;
#[path = "exec/init.rs"]
mod init;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_contains, eventually, Daemon, BERTH};

/// Starts `busybox sleep 1000` in the background with `flags`; its ID.
fn sleeper(d: &Daemon, flags: &[&str]) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sleep", "1000"]);
    d.ok(&args).trim().to_string()
}

fn inspect(d: &Daemon, c: &str, format: &str) -> String {
    d.ok(&["inspect", "-f", format, c]).trim().to_string()
}

#[test]
fn exec_runs_commands_with_their_options_and_exit_codes() {
    let d = Daemon::with_busybox();
    let c = sleeper(&d, &["-e", "FROM_RUN=1", "-w", "/etc"]);
    assert_eq!(d.ok(&["exec", &c, "echo", "hi"]), "hi\n");
    assert_eq!(d.run(&["exec", &c, "sh", "-c", "exit 7"]).status, 7);
    let r = d.run(&["exec", &c, "sh", "-c", "echo out; echo err >&2"]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
    // The container's environment and working directory, unless told otherwise.
    let env = d.ok(&["exec", "-e", "FOO=bar", &c, "env"]);
    assert_contains(&env, "FOO=bar\n");
    assert_contains(&env, "FROM_RUN=1\n");
    assert_contains(&env, "HOME=/root\n");
    assert_contains(&env, "PATH=/bin\n");
    let file = d.dir.path().join("env.list");
    std::fs::write(&file, "FROM_FILE=yes\n").unwrap();
    let env = d.ok(&[
        "container",
        "exec",
        "--env-file",
        file.to_str().unwrap(),
        &c,
        "env",
    ]);
    assert_contains(&env, "FROM_FILE=yes\n");
    assert_eq!(d.ok(&["exec", &c, "pwd"]), "/etc\n");
    assert_eq!(d.ok(&["exec", "-w", "/tmp", &c, "pwd"]), "/tmp\n");
    assert_eq!(d.ok(&["exec", &c, "id", "-u"]), "0\n");
    assert_eq!(
        d.ok(&["exec", "-u", "nobody", &c, "sh", "-c", "id -u; echo $HOME"]),
        "65534\n/\n"
    );
    // The same identity as `run --user` gives.
    assert_eq!(
        d.ok(&["exec", "--user", "1000:1000", &c, "id"]),
        d.ok(&["run", "--rm", "--user", "1000:1000", "busybox", "id"])
    );
    let r = d.run(&["exec", "-u", "ghost", &c, "true"]);
    assert_eq!(r.status, 126);
    assert_contains(
        &(r.stdout + &r.stderr),
        "unable to find user ghost: no matching entries in passwd file",
    );
    let r = d.run(&["exec", "-w", "/nowhere", &c, "true"]);
    assert_eq!(r.status, 126);
    assert_contains(
        &r.stdout,
        "chdir to cwd (\"/nowhere\") set in config.json failed: no such file or directory",
    );
}

#[test]
fn exec_stdin_and_detached() {
    let d = Daemon::with_busybox();
    let c = sleeper(&d, &[]);
    let r = d.run_stdin(&["exec", "-i", &c, "cat"], b"hello\nworld\n");
    assert_eq!((r.status, r.stdout.as_str()), (0, "hello\nworld\n"));
    // Without -i the process's stdin is empty.
    let r = d.run_stdin(&["exec", &c, "cat"], b"ignored\n");
    assert_eq!((r.status, r.stdout.as_str()), (0, ""));
    let r = d.run_stdin(&["exec", "-i", &c, "sh", "-c", "cat > /tmp/in"], b"kept\n");
    assert_eq!(r.status, 0);
    assert_eq!(d.ok(&["exec", &c, "cat", "/tmp/in"]), "kept\n");
    // -d returns at once; the process goes on.
    let started = Instant::now();
    let out = d.ok(&[
        "exec",
        "-d",
        &c,
        "sh",
        "-c",
        "sleep 1; echo done > /tmp/d; sleep 1000",
    ]);
    assert_eq!(out, "");
    assert!(started.elapsed() < Duration::from_secs(1), "-d waited");
    eventually("the detached exec", || {
        d.run(&["exec", &c, "cat", "/tmp/d"]).stdout == "done\n"
    });
    // Its instance is listed while the container runs, and forgotten when it stops.
    let ids = inspect(&d, &c, "{{json .ExecIDs}}");
    assert!(ids.starts_with("[\""), "{ids}");
    d.ok(&["stop", "-t", "0", &c]);
    assert_eq!(inspect(&d, &c, "{{json .ExecIDs}}"), "null");
}

#[test]
fn exec_refusals_are_dockers() {
    let d = Daemon::with_busybox();
    d.ok(&["run", "--name", "done", "busybox", "true"]);
    let id = inspect(&d, "done", "{{.Id}}");
    let r = d.run(&["exec", "done", "true"]);
    assert_eq!(r.status, 1);
    assert_contains(
        &r.stderr,
        &format!("Error response from daemon: Container {id} is not running"),
    );
    let body = br#"{"Cmd":["true"],"AttachStdout":true}"#;
    let resp = d.api("POST", "/v1.41/containers/done/exec", body);
    assert_eq!(resp.status, 409);
    assert_contains(&resp.text(), &format!("Container {id} is not running"));
    let resp = d.api("POST", "/v1.41/containers/nope/exec", body);
    assert_eq!(resp.status, 404);
    assert_contains(&resp.text(), "No such container: nope");
    let r = d.run(&["exec", "nope", "true"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "No such container: nope");
    let c = sleeper(&d, &[]);
    let resp = d.api(
        "POST",
        &format!("/v1.41/containers/{c}/exec"),
        br#"{"Cmd":[]}"#,
    );
    assert_eq!(resp.status, 400);
    assert_contains(&resp.text(), "No exec command specified");
    let resp = d.api("GET", "/v1.41/exec/nope/json", b"");
    assert_eq!(resp.status, 404);
    assert_contains(&resp.text(), "No such exec instance: nope");
    // An instance starts once.
    let resp = d.api("POST", &format!("/v1.41/containers/{c}/exec"), body);
    assert_eq!(resp.status, 201);
    let exec: serde_json::Value = serde_json::from_str(&resp.text()).unwrap();
    let exec = exec["Id"].as_str().unwrap().to_string();
    let start = format!("/v1.41/exec/{exec}/start");
    assert_eq!(d.api("POST", &start, br#"{"Detach":true}"#).status, 200);
    assert_eq!(d.api("POST", &start, br#"{"Detach":true}"#).status, 409);
    eventually("the exec to end", || {
        let v: serde_json::Value = serde_json::from_str(
            &d.api("GET", &format!("/v1.41/exec/{exec}/json"), b"")
                .text(),
        )
        .unwrap();
        v["Running"] == false && v["ExitCode"] == 0
    });
}

#[test]
fn exec_output_stays_out_of_the_log_and_failures_exit_126() {
    let d = Daemon::with_busybox();
    let c = d
        .ok(&[
            "run",
            "-d",
            "busybox",
            "sh",
            "-c",
            "echo from-init; sleep 1000",
        ])
        .trim()
        .to_string();
    assert_eq!(d.ok(&["exec", &c, "echo", "from-exec"]), "from-exec\n");
    d.ok(&["exec", &c, "sh", "-c", "echo to-stderr >&2"]);
    eventually("the container's output", || {
        d.ok(&["logs", &c]).contains("from-init")
    });
    let r = d.run(&["logs", &c]);
    assert!(
        !r.stdout.contains("from-exec") && !r.stderr.contains("to-stderr"),
        "exec output in the log: {} {}",
        r.stdout,
        r.stderr
    );
    let r = d.run(&["exec", &c, "no-such-command"]);
    assert_eq!(r.status, 126);
    assert_contains(
        &r.stdout,
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"no-such-command\": executable file not found in $PATH: unknown",
    );
    let r = d.run(&["exec", &c, "/etc/passwd"]);
    assert_eq!(r.status, 126);
    assert_contains(&r.stdout, "permission denied");
    // Nothing was left running or broken: the container still runs execs.
    assert_eq!(d.ok(&["exec", &c, "true"]), "");
}

#[test]
fn exec_joins_the_containers_namespaces_cgroup_and_security() {
    let d = Daemon::with_busybox();
    let c = sleeper(&d, &["--hostname", "box"]);
    assert_eq!(d.ok(&["exec", &c, "hostname"]), "box\n");
    let ps = d.ok(&["exec", &c, "ps", "-o", "pid,args"]);
    assert!(
        ps.lines().any(|l| l.trim() == "1 sleep 1000"),
        "pid 1 is the container's process:\n{ps}"
    );
    assert_eq!(
        d.ok(&["exec", &c, "cat", "/proc/self/cgroup"]),
        d.ok(&["exec", &c, "cat", "/proc/1/cgroup"])
    );
    let status = d.ok(&["exec", &c, "cat", "/proc/self/status"]);
    assert_contains(&status, "CapEff:\t00000000a80425fb");
    assert_contains(&status, "Seccomp:\t2");
    let privileged = d.ok(&["exec", "--privileged", &c, "cat", "/proc/self/status"]);
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let bounding = own
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .unwrap()
        .replace("CapBnd:", "CapEff:");
    assert_contains(&privileged, &bounding);
    // Not root: no capabilities at all.
    let status = d.ok(&["exec", "-u", "nobody", &c, "cat", "/proc/self/status"]);
    assert_contains(&status, "CapEff:\t0000000000000000");
    // No descriptor of the engine or the shim reaches the process.
    let fds = d.ok(&["exec", &c, "ls", "/proc/self/fd"]);
    let mut fds: Vec<&str> = fds.split_whitespace().collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2", "3"], "ls's own directory is 3");
    let nnp = sleeper(&d, &["--security-opt", "no-new-privileges"]);
    let status = d.ok(&["exec", &nnp, "cat", "/proc/self/status"]);
    assert_contains(&status, "NoNewPrivs:\t1");
}

#[test]
fn exec_with_a_terminal() {
    let d = Daemon::with_busybox();
    let c = sleeper(&d, &[]);
    // A terminal of a known size around the CLI; the exec's follows it.
    let line = format!(
        "stty rows 33 cols 101; {BERTH} -H {} exec -it {c} sh -c 'busybox tty; sleep 1; busybox stty size; echo $TERM'",
        d.host()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_contains(&text, "/dev/pts/");
    assert_contains(&text, "33 101");
    assert_contains(&text, "xterm");
    // -t alone: a terminal, output raw (with its carriage returns), no stdin needed.
    let r = d.run(&["exec", "-t", &c, "sh", "-c", "busybox tty; exit 3"]);
    assert_eq!(r.status, 3);
    assert!(
        r.stdout.starts_with("/dev/pts/") && r.stdout.ends_with("\r\n"),
        "{:?}",
        r.stdout
    );
    let r = d.run(&["exec", "-it", &c, "true"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "the input device is not a TTY");
}
