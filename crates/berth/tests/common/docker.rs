//! The docker CLI (Debian's docker.io, client binary only) pointed at a test engine.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::Daemon;

pub const DOCKER: &str = "/usr/bin/docker";

/// `docker -H <the engine>`, with a configuration directory of the test's own.
pub fn command(d: &Daemon) -> Command {
    let mut cmd = Command::new(DOCKER);
    cmd.env_remove("DOCKER_HOST")
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .arg("-H")
        .arg(d.host());
    cmd
}

/// Runs `docker args…` with `input` on its stdin.
pub fn run(d: &Daemon, args: &[&str], input: &[u8]) -> Output {
    let mut child = command(d)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{DOCKER}: {e} (install docker.io: scripts/install-deps)"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Runs `docker args…` with nothing on its stdin.
pub fn output(d: &Daemon, args: &[&str]) -> Output {
    run(d, args, b"")
}

/// Runs `docker args…`, asserts it succeeded, and returns its stdout.
pub fn ok(d: &Daemon, args: &[&str]) -> String {
    let out = run(d, args, b"");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the Python `script` with docker-py (Debian's python3-docker), given the engine's
/// address as its first argument; asserts it succeeded and returns what it printed.
pub fn py(d: &Daemon, script: &str) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script, &d.host()])
        .output()
        .expect("/usr/bin/python3 (scripts/install-deps installs python3-docker)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
