//! `--init`: the init is pid 1, runs the command as its child, forwards signals to it,
//! reaps orphans, and passes the command's exit status through.

use std::time::{Duration, Instant};

use super::common::assert_contains;
use super::{eventually, inspect, sleeper};
use crate::common::Daemon;

#[test]
fn init_is_pid_1_forwards_signals_and_reaps() {
    let d = Daemon::with_busybox();
    let cmdline = d.ok(&["run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline"]);
    assert_eq!(cmdline, "/dev/init\0--\0cat\0/proc/1/cmdline\0");
    assert_eq!(
        d.run(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 5"])
            .status,
        5
    );
    let r = d.run(&["run", "--rm", "--init", "busybox", "no-such-command"]);
    assert_eq!(r.status, 127);
    assert_contains(&r.stderr, "executable file not found in $PATH");
    let fds = d.ok(&["run", "--rm", "--init", "busybox", "ls", "/proc/self/fd"]);
    let mut fds: Vec<&str> = fds.split_whitespace().collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2", "3"]);

    let c = sleeper(&d, &["--init"]);
    let ps = d.ok(&["exec", &c, "ps", "-o", "pid,ppid,args"]);
    let rows: Vec<Vec<&str>> = ps.lines().map(|l| l.split_whitespace().collect()).collect();
    assert!(
        rows.iter()
            .any(|r| r[..] == ["1", "0", "/dev/init", "--", "sleep", "1000"]),
        "{ps}"
    );
    assert!(
        rows.iter()
            .any(|r| r.get(1) == Some(&"1") && r[2..] == ["sleep", "1000"]),
        "the command is the init's child:\n{ps}"
    );
    // The init's binary is the engine's, read-only and not writable through /proc/1/exe.
    let mounts = d.ok(&["exec", &c, "grep", " /dev/init ", "/proc/mounts"]);
    assert_contains(&mounts, "ro,nosuid");
    let r = d.run(&["exec", &c, "sh", "-c", "echo x >> /proc/1/exe"]);
    assert_ne!(r.status, 0);
    // docker stop's SIGTERM reaches `sleep` through the init: no waiting for the kill.
    let started = Instant::now();
    d.ok(&["stop", &c]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop waited for the kill"
    );
    assert_eq!(inspect(&d, &c, "{{.State.ExitCode}}"), "143");
    // Without an init, `sleep` as pid 1 ignores SIGTERM and is killed after the timeout.
    let plain = sleeper(&d, &[]);
    d.ok(&["stop", "-t", "1", &plain]);
    assert_eq!(inspect(&d, &plain, "{{.State.ExitCode}}"), "137");

    // An orphan is reaped by the init; with `sleep` as pid 1 it stays a zombie.
    let orphan = ["sh", "-c", "(sleep 0.1 &); exec sleep 1000"];
    let with_init = d
        .ok(&[&["run", "-d", "--init", "busybox"][..], &orphan[..]].concat())
        .trim()
        .to_string();
    let without = d
        .ok(&[&["run", "-d", "busybox"][..], &orphan[..]].concat())
        .trim()
        .to_string();
    let zombies = |c: &str| {
        d.ok(&["exec", c, "ps", "-o", "stat,args"])
            .lines()
            .filter(|l| l.trim_start().starts_with('Z'))
            .count()
    };
    eventually("the orphan to end", || zombies(&without) == 1);
    assert_eq!(zombies(&with_init), 0);
}
