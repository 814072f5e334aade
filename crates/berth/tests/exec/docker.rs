//! The docker CLI (client only) against Berth: exec, with its streams and exit codes, and
//! `--init`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::common::{assert_contains, Daemon};
use super::{sleeper, with_busybox};

fn docker(d: &Daemon, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new("/usr/bin/docker")
        .env_remove("DOCKER_HOST")
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .arg("-H")
        .arg(d.host())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn docker_cli_exec_and_init() {
    let d = with_busybox();
    let c = sleeper(&d, &[]);
    let out = docker(
        &d,
        &["exec", &c, "sh", "-c", "echo out; echo err >&2; exit 4"],
        b"",
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    let out = docker(
        &d,
        &["exec", "-i", "-e", "X=y", &c, "sh", "-c", "cat; echo $X"],
        b"in\n",
    );
    assert_eq!(
        (out.status.code(), out.stdout.as_slice()),
        (Some(0), &b"in\ny\n"[..])
    );
    let out = docker(&d, &["exec", &c, "no-such-command"], b"");
    assert_eq!(out.status.code(), Some(126));
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "executable file not found in $PATH",
    );
    let out = docker(&d, &["exec", "-d", &c, "touch", "/tmp/x"], b"");
    assert_eq!(out.status.code(), Some(0));
    let out = docker(
        &d,
        &["run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline"],
        b"",
    );
    assert_eq!(out.stdout, b"/dev/init\0--\0cat\0/proc/1/cmdline\0");
}
