//! Containers through the CLI against a real engine: run and its exit codes, Docker's
//! isolation measured from inside, the lifecycle, logs, stdin, restart policies, and an
//! engine killed with SIGKILL while containers run.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::images::{docker_archive, Image};
use common::{assert_contains, eventually, Daemon};

#[test]
fn run_hello_world_and_exit_codes() {
    let d = Daemon::start();
    let out = d.ok(&["run", "--rm", "hello-world"]);
    assert!(out.starts_with("Hello from Berth!"), "{out}");
    d.load(&docker_archive(
        &[Image::busybox().tagged("busybox:latest")],
    ));
    assert_eq!(
        d.run(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
            .status,
        3
    );
    let r = d.run(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(r.status, 127);
    assert_contains(&r.stderr, "executable file not found in $PATH");
    let r = d.run(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(r.status, 126);
    assert_contains(&r.stderr, "permission denied");
    let r = d.run(&["run", "--rm", "no-such-image"]);
    assert_eq!(r.status, 125);
    assert_contains(
        &r.stderr,
        "Unable to find image 'no-such-image:latest' locally",
    );
    let r = d.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
    assert!(
        d.ok(&["ps", "-aq"]).trim().is_empty(),
        "--rm leaves nothing"
    );
    let r = d.run(&["run", "--bogus", "busybox"]);
    assert_eq!(r.status, 125);
}

/// Docker's defaults, read from inside the container.
#[test]
fn isolation_matches_dockers_defaults() {
    let d = Daemon::with_busybox();
    let status = d.ok(&["run", "--rm", "busybox", "cat", "/proc/self/status"]);
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    // Docker's 14 default capabilities.
    assert_eq!(field("CapEff:"), "00000000a80425fb");
    assert_eq!(field("CapBnd:"), "00000000a80425fb");
    assert_eq!(field("Seccomp:"), "2");
    assert_eq!(field("NoNewPrivs:"), "0");
    // seccomp refuses mount and unshare even to root.
    let r = d.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /m && mount -t tmpfs none /m",
    ]);
    assert_ne!(r.status, 0);
    let r = d.run(&["run", "--rm", "busybox", "unshare", "-n", "true"]);
    assert_ne!(r.status, 0);
    // pid 1, its own hostname (the short ID), the standard /dev only.
    assert_eq!(
        d.ok(&["run", "--rm", "busybox", "sh", "-c", "echo $$"])
            .trim(),
        "1"
    );
    let out = d.ok(&["run", "--rm", "--name", "iso", "busybox", "hostname"]);
    assert_eq!(out.trim().len(), 12);
    let dev = d.ok(&["run", "--rm", "busybox", "ls", "/dev"]);
    let mut nodes: Vec<&str> = dev.split_whitespace().collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [
            "core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr",
            "stdin", "stdout", "tty", "urandom", "zero"
        ]
    );
    // Masked and read-only /proc paths (of those docker masks, the ones every kernel has).
    for masked in ["/proc/timer_list", "/proc/keys"] {
        let cmd = format!("wc -c < {masked}");
        assert_eq!(
            d.ok(&["run", "--rm", "busybox", "sh", "-c", &cmd]).trim(),
            "0",
            "{masked} reads empty"
        );
    }
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "busybox",
            "ls",
            "/proc/acpi",
            "/sys/firmware"
        ])
        .trim(),
        "/proc/acpi:\n\n/sys/firmware:",
        "masked directories are empty"
    );
    let r = d.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo 1 > /proc/sysrq-trigger",
    ]);
    assert_ne!(r.status, 0);
    let r = d.run(&["run", "--rm", "busybox", "sh", "-c", "touch /sys/x"]);
    assert_ne!(r.status, 0);
    // No descriptor of the engine or the shim reaches the process.
    let fds = d.ok(&["run", "--rm", "busybox", "ls", "/proc/self/fd"]);
    let mut fds: Vec<&str> = fds.split_whitespace().collect();
    fds.sort();
    assert_eq!(
        fds,
        ["0", "1", "2", "3"],
        "ls's own directory descriptor is 3"
    );
    // --privileged gets every capability; --cap-drop/--cap-add adjust.
    let all = d.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "grep CapEff /proc/self/status",
    ]);
    // Every capability the engine holds (on this host the bounding set of this process).
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let held = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim();
    assert_eq!(all.split_whitespace().nth(1), Some(held), "{all}");
    let dropped = d.ok(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CHOWN",
        "busybox",
        "sh",
        "-c",
        "grep CapEff /proc/self/status",
    ]);
    assert_contains(&dropped, "0000000000000001");
    let r = d.run(&["run", "--rm", "--cap-add", "NOPE", "busybox", "true"]);
    assert_eq!(r.status, 125);
    assert_contains(&r.stderr, "NOPE");
}

#[test]
fn env_workdir_user_entrypoint_hostname() {
    let d = Daemon::with_busybox();
    let out = d.ok(&[
        "run",
        "--rm",
        "-e",
        "A=1",
        "-e",
        "B=two words",
        "-w",
        "/tmp/made",
        "-h",
        "box",
        "busybox",
        "sh",
        "-c",
        "echo $A $B $(pwd) $(hostname) $HOME $PATH",
    ]);
    assert_eq!(
        out.trim(),
        "1 two words /tmp/made box /root /bin",
        "the image's PATH is kept"
    );
    assert_eq!(
        d.ok(&["run", "--rm", "-u", "65534:65534", "busybox", "id", "-u"])
            .trim(),
        "65534"
    );
    assert_eq!(
        d.ok(&["run", "--rm", "--user", "nobody", "busybox", "whoami"])
            .trim(),
        "nobody"
    );
    // A non-root user keeps no capabilities.
    let caps = d.ok(&[
        "run",
        "--rm",
        "-u",
        "1000",
        "busybox",
        "sh",
        "-c",
        "grep CapEff /proc/self/status",
    ]);
    assert_contains(&caps, "0000000000000000");
    let r = d.run(&["run", "--rm", "-u", "ghost", "busybox", "true"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "unable to find user ghost");
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--entrypoint",
            "echo",
            "busybox",
            "from",
            "entrypoint"
        ])
        .trim(),
        "from entrypoint"
    );
    let env_file = d.dir.path().join("env.list");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\n\n").unwrap();
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--env-file",
            env_file.to_str().unwrap(),
            "busybox",
            "sh",
            "-c",
            "echo $FROM_FILE"
        ])
        .trim(),
        "yes"
    );
}

#[test]
fn detached_lifecycle_ps_logs_stop_start_rm() {
    let d = Daemon::with_busybox();
    let id = d
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    eventually("the log line", || {
        d.ok(&["logs", "web"]).contains("started")
    });
    let ps = d.ok(&["ps"]);
    let mut lines = ps.lines();
    let header = lines.next().unwrap();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert_contains(header, col);
    }
    let row = lines.next().unwrap();
    assert!(row.starts_with(&id[..12]), "{row}");
    assert_contains(row, "Up ");
    assert_contains(row, "web");
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.Name}} {{.State.Running}}",
            "web"
        ])
        .trim(),
        "running /web true"
    );
    assert_eq!(d.ok(&["ps", "-q"]).trim(), &id[..12]);
    // A name in use, a running container removed without -f.
    let r = d.run(&["run", "-d", "--name", "web", "busybox", "true"]);
    assert_eq!(r.status, 125);
    assert_contains(&r.stderr, "is already in use");
    let r = d.run(&["rm", "web"]);
    assert_contains(
        &r.stderr,
        "Stop the container before attempting removal or force remove",
    );
    // stop: the signal is trapped and the container exits 0.
    assert_eq!(d.ok(&["stop", "web"]).trim(), "web");
    assert_contains(&d.ok(&["logs", "web"]), "bye");
    let ps = d.ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(ps.trim().starts_with("Exited (0)"), "{ps}");
    assert!(d.ok(&["ps", "-q"]).trim().is_empty());
    // start again, then kill: 137.
    d.ok(&["start", "web"]);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", &id[..6]])
            .trim(),
        "running"
    );
    d.ok(&["kill", "web"]);
    eventually("the kill", || {
        d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "web"])
            .trim()
            == "137"
    });
    d.ok(&["restart", "-t", "1", "web"]);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Running}}", "web"]).trim(),
        "true"
    );
    d.ok(&["rm", "-f", "web"]);
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
    assert!(d.run(&["inspect", "web"]).status != 0);
}

#[test]
fn stop_kills_after_the_timeout() {
    let d = Daemon::with_busybox();
    // sh as pid 1 ignores SIGTERM (no handler): stop must SIGKILL after the timeout.
    d.ok(&["run", "-d", "--name", "stubborn", "busybox", "sleep", "100"]);
    let started = Instant::now();
    d.ok(&["stop", "-t", "1", "stubborn"]);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "stubborn"])
            .trim(),
        "137"
    );
}

#[test]
fn logs_options() {
    let d = Daemon::with_busybox();
    d.ok(&[
        "run",
        "--name",
        "talk",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2",
    ]);
    assert_eq!(
        d.ok(&["logs", "talk"]),
        "line1\nline2\nline3\nline4\nline5\n"
    );
    assert_eq!(d.run(&["logs", "talk"]).stderr, "oops\n");
    assert_eq!(d.ok(&["logs", "--tail", "2", "talk"]), "line5\n");
    let stamped = d.ok(&["logs", "-t", "talk"]);
    let first = stamped.lines().next().unwrap();
    assert!(
        first.ends_with(" line1") && first.contains('T') && first.contains('Z'),
        "{first}"
    );
    // The json-file log is docker's format.
    let log = d
        .data_root()
        .join("containers")
        .join(d.ok(&["inspect", "-f", "{{.Id}}", "talk"]).trim());
    let file = std::fs::read_dir(&log)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with("-json.log"))
        .unwrap();
    let text = std::fs::read_to_string(file.path()).unwrap();
    let record: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(record["log"], "line1\n");
    assert_eq!(record["stream"], "stdout");
    // -f follows until the container stops.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "busybox",
        "sh",
        "-c",
        "echo a; sleep 1; echo b",
    ]);
    let followed = d.ok(&["logs", "-f", "slow"]);
    assert_eq!(followed, "a\nb\n");
}

#[test]
fn stdin_wait_and_exit_status() {
    let d = Daemon::with_busybox();
    let r = d.run_stdin(
        &["run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z"],
        b"hello from stdin\n",
    );
    assert_eq!(r.stdout, "HELLO FROM STDIN\n");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "waiter",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; exit 5",
    ]);
    assert_eq!(d.ok(&["wait", "waiter"]).trim(), "5");
    assert_eq!(
        d.ok(&[
            "container",
            "inspect",
            "-f",
            "{{.State.ExitCode}}",
            "waiter"
        ])
        .trim(),
        "5"
    );
    let created = d
        .ok(&[
            "create",
            "--name",
            "later",
            "busybox",
            "echo",
            "created then started",
        ])
        .trim()
        .to_string();
    assert_eq!(
        d.ok(&["ps", "-a", "--filter", "status=created", "-q", "--no-trunc"])
            .trim(),
        created
    );
    assert_eq!(d.ok(&["start", "-a", "later"]), "created then started\n");
    let pruned = d.ok(&["container", "prune", "-f"]);
    assert_contains(&pruned, &created);
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn restart_policies() {
    let d = Daemon::with_busybox();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "exit 1",
    ]);
    eventually("two restarts", || {
        d.ok(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Status}}",
            "flaky",
        ])
        .trim()
            == "2 exited"
    });
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.RestartCount}}", "flaky"])
            .trim(),
        "2",
        "no more than the maximum"
    );
    d.ok(&[
        "run",
        "-d",
        "--name",
        "always",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.2",
    ]);
    eventually("a restart", || {
        d.ok(&["inspect", "-f", "{{.RestartCount}}", "always"])
            .trim()
            != "0"
    });
    d.ok(&["stop", "always"]);
    let count = d.ok(&["inspect", "-f", "{{.RestartCount}}", "always"]);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.RestartCount}}", "always"]),
        count,
        "stop ends the restarts"
    );
    let r = d.run(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert_eq!(r.status, 125);
}

#[test]
fn resource_limits() {
    let d = Daemon::with_busybox();
    // A fork loop stops at --pids-limit.
    let r = d.run(&[
        "run",
        "--rm",
        "--pids-limit",
        "8",
        "busybox",
        "sh",
        "-c",
        "for i in $(seq 1 20); do sleep 5 & done; wait",
    ]);
    assert_contains(&r.stderr, "can't fork");
    // -m: a process that needs more is OOM-killed, and inspect says so.
    // The shell holds all 64 MiB in a variable: more than the limit.
    let r = d.run(&[
        "run",
        "--name",
        "hog",
        "-m",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 64m /dev/zero | tr '\\0' a); echo ${#x}",
    ]);
    assert_eq!(r.status, 137, "{}", r.stderr);
    eventually("the OOM kill to be recorded", || {
        d.ok(&["inspect", "-f", "{{.State.Status}}", "hog"]).trim() == "exited"
    });
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.OOMKilled}}", "hog"])
            .trim(),
        "true"
    );
    let r = d.run(&["run", "--rm", "-m", "1m", "busybox", "true"]);
    assert_contains(&r.stderr, "Minimum memory limit allowed is 6MB");
}

/// The shim outlives the engine: SIGKILL the engine, and the container keeps running,
/// is found again, its logs complete; one that ended meanwhile has its real exit status.
#[test]
fn engine_sigkill_with_running_containers() {
    let mut d = Daemon::with_busybox();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "survivor",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.2; done",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "finisher",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 7",
    ]);
    let pid = d
        .ok(&["inspect", "-f", "{{.State.Pid}}", "survivor"])
        .trim()
        .to_string();
    d.kill9();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the container died with the engine"
    );
    d.relaunch();
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", "survivor"])
            .trim(),
        "running"
    );
    eventually("the finisher's exit", || {
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "finisher",
        ])
        .trim()
            == "exited 7"
    });
    let before = d.ok(&["logs", "survivor"]).lines().count();
    std::thread::sleep(Duration::from_millis(500));
    let logs = d.ok(&["logs", "survivor"]);
    assert!(logs.lines().count() > before, "logging went on");
    let numbers: Vec<u32> = logs
        .lines()
        .map(|l| l.trim_start_matches("tick").parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "no line lost: {numbers:?}"
    );
    d.ok(&["stop", "-t", "1", "survivor"]);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Running}}", "survivor"])
            .trim(),
        "false"
    );
}
