//! Compatibility for containers: the docker CLI (Debian's docker.io, client only) and
//! docker-py (Debian's python3-docker) run the container lifecycle against Berth's socket.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::pty::Terminal;
use common::{assert_contains, eventually, Daemon};

use common::docker;

#[test]
fn docker_cli_runs_the_lifecycle() {
    let d = Daemon::with_busybox();
    // Foreground: output, stderr and the exit code come through.
    let out = docker::output(
        &d,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo hi; echo oops >&2; exit 4",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    let out = docker::output(&d, &["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(out.status.code(), Some(127));

    let id = docker::ok(
        &d,
        &[
            "run",
            "-d",
            "--name",
            "svc",
            "busybox",
            "sh",
            "-c",
            "echo up; trap 'echo down; exit 0' TERM; while true; do sleep 0.1; done",
        ],
    )
    .trim()
    .to_string();
    assert_eq!(id.len(), 64);
    let ps = docker::ok(&d, &["ps"]);
    assert_contains(&ps, &id[..12]);
    assert_contains(&ps, "svc");
    assert_eq!(
        docker::ok(&d, &["ps", "--format", "{{.Names}} {{.Image}}"]).trim(),
        "svc busybox"
    );
    assert_eq!(
        docker::ok(
            &d,
            &[
                "inspect",
                "-f",
                "{{.State.Running}} {{.Name}} {{.Config.Image}}",
                "svc"
            ]
        )
        .trim(),
        "true /svc busybox"
    );
    eventually("the first log line", || {
        docker::ok(&d, &["logs", "svc"]).contains("up")
    });

    // logs -f follows until the container stops.
    let follower = docker::command(&d)
        .args(["logs", "-f", "svc"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(docker::ok(&d, &["stop", "svc"]).trim(), "svc");
    let followed = follower.wait_with_output().unwrap();
    assert!(followed.status.success());
    assert_eq!(String::from_utf8_lossy(&followed.stdout), "up\ndown\n");
    assert_eq!(
        docker::ok(
            &d,
            &[
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}}",
                "svc"
            ]
        )
        .trim(),
        "exited 0"
    );
    assert_contains(&docker::ok(&d, &["logs", "svc"]), "down");
    assert_contains(&docker::ok(&d, &["ps", "-a"]), "Exited (0)");

    docker::ok(&d, &["start", "svc"]);
    assert_eq!(
        docker::ok(&d, &["inspect", "-f", "{{.State.Running}}", "svc"]).trim(),
        "true"
    );
    assert_eq!(docker::ok(&d, &["restart", "-t", "1", "svc"]).trim(), "svc");
    docker::ok(&d, &["kill", "svc"]);
    assert_eq!(docker::ok(&d, &["wait", "svc"]).trim(), "137");
    let out = docker::output(&d, &["rm", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_contains(
        &String::from_utf8_lossy(&out.stderr),
        "No such container: nope",
    );
    docker::ok(&d, &["rm", "svc"]);
    assert!(docker::ok(&d, &["ps", "-aq"]).trim().is_empty());
}

#[test]
fn docker_cli_terminal_attach_and_detach() {
    let d = Daemon::with_busybox();
    let mut cmd = docker::command(&d);
    cmd.args(["run", "-it", "--name", "shell", "busybox", "sh"]);
    let mut t = Terminal::spawn(cmd, 24, 80);
    t.type_in(b"echo in-$((6*7))\r");
    t.expect("in-42");
    t.type_in(b"\x10\x11");
    assert_eq!(t.wait(), 0);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Running}}", "shell"])
            .trim(),
        "true"
    );
    let mut cmd = docker::command(&d);
    cmd.args(["attach", "shell"]);
    let mut t = Terminal::spawn(cmd, 24, 80);
    t.type_in(b"echo again\r");
    t.expect("again");
    t.type_in(b"exit 5\r");
    assert_eq!(t.wait(), 5);
}

/// docker-py (Debian's python3-docker) drives containers through Berth.
#[test]
fn docker_py_runs_containers() {
    let d = Daemon::with_busybox();
    let script = r#"
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1], version="auto")
out = c.containers.run("busybox", ["sh", "-c", "echo hello from py"], remove=True)
assert out == b"hello from py\n", out
box = c.containers.run("busybox", ["sh", "-c", "echo started; sleep 30"], detach=True, name="py",
                       labels={"made.by": "docker-py"}, environment={"A": "1"})
assert box.name == "py"
box.reload()
assert box.status == "running", box.status
assert box.attrs["Config"]["Labels"]["made.by"] == "docker-py"
assert "A=1" in box.attrs["Config"]["Env"]
assert [x.name for x in c.containers.list(filters={"label": "made.by=docker-py"})] == ["py"]
import time
for _ in range(100):
    if b"started" in box.logs():
        break
    time.sleep(0.05)
assert box.logs() == b"started\n", box.logs()
box.stop(timeout=1)
assert box.wait()["StatusCode"] == 137
box.reload()
assert box.status == "exited"
box.remove()
try:
    c.containers.get("py")
    raise SystemExit("removed container found")
except docker.errors.NotFound:
    pass
try:
    c.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    raise SystemExit("a failing container did not raise")
except docker.errors.ContainerError as e:
    assert e.exit_status == 3
done = c.containers.run("busybox", ["sh", "-c", "echo one; sleep 0.1; echo two >&2"], detach=True)
assert done.wait()["StatusCode"] == 0
# attach with logs replays what the container wrote; without stream it ends there. Asked
# over a raw socket, as docker-py's `attach` would but for its buffered response reader,
# which loses whatever arrives together with the 101 (docker-py PR 1770), against any engine.
import socket, struct
def attach_logs(cid, stdout, stderr):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1][len("unix://"):])
    query = f"logs=1&stdout={int(stdout)}&stderr={int(stderr)}"
    s.sendall(f"POST /v1.41/containers/{cid}/attach?{query} HTTP/1.1\r\nHost: x\r\n"
              "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    raw = b""
    while chunk := s.recv(65536):
        raw += chunk
    out = b""
    while raw:
        kind, size = struct.unpack(">BxxxL", raw[:8])
        assert kind in (1, 2), raw
        out, raw = out + raw[8:8 + size], raw[8 + size:]
    return out
got = attach_logs(done.id, True, True)
assert got == b"one\ntwo\n", got
assert attach_logs(done.id, False, True) == b"two\n"
done.remove()
print("ok")
"#;
    assert_eq!(docker::py(&d, script), "ok");
}
