//! Clients nobody here wrote against Berth: the docker CLI (client only) and docker-py,
//! running execs with their streams and exit codes, and `--init`.

use std::process::Command;

use super::common::{assert_contains, docker, Daemon};
use super::sleeper;

#[test]
fn docker_cli_exec_and_init() {
    let d = Daemon::with_busybox();
    let c = sleeper(&d, &[]);
    let out = docker::run(
        &d,
        &["exec", &c, "sh", "-c", "echo out; echo err >&2; exit 4"],
        b"",
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    let out = docker::run(
        &d,
        &["exec", "-i", "-e", "X=y", &c, "sh", "-c", "cat; echo $X"],
        b"in\n",
    );
    assert_eq!(
        (out.status.code(), out.stdout.as_slice()),
        (Some(0), &b"in\ny\n"[..])
    );
    let out = docker::run(&d, &["exec", &c, "no-such-command"], b"");
    assert_eq!(out.status.code(), Some(126));
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "executable file not found in $PATH",
    );
    let out = docker::run(&d, &["exec", "-d", &c, "touch", "/tmp/x"], b"");
    assert_eq!(out.status.code(), Some(0));
    let out = docker::run(
        &d,
        &["run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline"],
        b"",
    );
    assert_eq!(out.stdout, b"/dev/init\0--\0cat\0/proc/1/cmdline\0");
}

/// docker-py's `exec_run`, which reads the hijacked stream and then inspects the instance.
const DOCKER_PY: &str = r#"
import sys, docker
client = docker.DockerClient(base_url=sys.argv[1], version="1.41")
c = client.containers.get(sys.argv[2])
r = c.exec_run(["sh", "-c", "echo hi; echo oops >&2; exit 3"], demux=True)
print(r.exit_code, r.output[0], r.output[1])
r = c.exec_run("hostname", user="nobody", workdir="/tmp", environment={"A": "b"})
print(r.exit_code, r.output)
"#;

#[test]
fn docker_py_exec_run() {
    let d = Daemon::with_busybox();
    let c = sleeper(&d, &["--hostname", "pybox"]);
    let out = Command::new("python3")
        .args(["-c", DOCKER_PY, &d.host(), &c])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text, "3 b'hi\\n' b'oops\\n'\n0 b'pybox\\n'\n");
}
