//! Options of the container commands checked end to end: `logs --since/--until/--details`
//! (with log attributes), `ps -n/-l/--no-trunc`, `--sig-proxy`, and `stats` redrawing on a
//! terminal.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::pty::Terminal;
use common::{assert_contains, eventually, Daemon};

#[test]
fn logs_since_until_and_details() {
    let d = Daemon::with_busybox();
    d.ok(&[
        "run",
        "--name",
        "timed",
        "--label",
        "team=core",
        "-e",
        "STAGE=test",
        "--log-opt",
        "labels=team",
        "--log-opt",
        "env=STAGE",
        "--log-opt",
        "tag={{.Name}}",
        "busybox",
        "sh",
        "-c",
        "echo early; sleep 1.2; echo late",
    ]);
    let stamped = d.ok(&["logs", "-t", "timed"]);
    let times: Vec<&str> = stamped
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(times.len(), 2, "{stamped}");
    // Both bounds include a record at the very time given.
    assert_eq!(d.ok(&["logs", "--since", times[1], "timed"]), "late\n");
    assert_eq!(d.ok(&["logs", "--until", times[0], "timed"]), "early\n");
    // --details: the attributes the log options asked for, before each line.
    assert_eq!(
        d.ok(&["logs", "--details", "--tail", "1", "timed"]),
        "STAGE=test,tag=timed,team=core late\n"
    );
    let r = d.run(&["run", "--log-opt", "labels-regex=(", "busybox", "true"]);
    assert_eq!(r.status, 125);
    assert_contains(&r.stderr, "invalid log option regex");
}

#[test]
fn ps_last_and_untruncated() {
    let d = Daemon::with_busybox();
    for name in ["first", "second", "third"] {
        d.ok(&[
            "create",
            "--name",
            name,
            "busybox",
            "echo",
            "a long command line",
        ]);
    }
    assert_eq!(
        d.ok(&["ps", "-n", "2", "--format", "{{.Names}}"]),
        "third\nsecond\n"
    );
    assert_eq!(d.ok(&["ps", "-l", "--format", "{{.Names}}"]), "third\n");
    let id = d
        .ok(&["inspect", "-f", "{{.Id}}", "third"])
        .trim()
        .to_string();
    let wide = d.ok(&["ps", "-l", "--no-trunc"]);
    assert_contains(&wide, &id);
    assert_contains(&wide, "\"echo 'a long command line'\"");
    let narrow = d.ok(&["ps", "-l"]);
    assert!(!narrow.contains(&id), "{narrow}");
    assert_contains(&narrow, &id[..12]);
    assert_contains(&narrow, "\"echo 'a long comman…\"");
}

#[test]
fn signals_reach_the_container_only_with_sig_proxy() {
    let d = Daemon::with_busybox();
    let trap = "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done";
    for (proxy, expect) in [("true", Some(7)), ("false", None)] {
        let flag = format!("--sig-proxy={proxy}");
        let name = format!("proxy-{proxy}");
        let mut child = d
            .cli()
            .args([
                "run", "--rm", "--name", &name, &flag, "busybox", "sh", "-c", trap,
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        eventually("the container to run", || {
            d.run(&["inspect", "-f", "{{.State.Running}}", &name])
                .stdout
                .trim()
                == "true"
        });
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: kill(2) on the CLI process this test spawned.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        match expect {
            Some(code) => {
                let out = child.wait_with_output().unwrap();
                assert_eq!(out.status.code(), Some(code));
                assert_contains(&String::from_utf8_lossy(&out.stdout), "got-term");
            }
            None => {
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(500));
                assert_eq!(
                    d.ok(&["inspect", "-f", "{{.State.Running}}", &name]).trim(),
                    "true",
                    "without --sig-proxy the container is not signalled"
                );
                d.ok(&["rm", "-f", &name]);
            }
        }
    }
}

#[test]
fn stats_redraws_on_a_terminal() {
    let d = Daemon::with_busybox();
    d.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    let mut cmd = d.cli();
    cmd.args(["stats", "busy"]);
    let mut t = Terminal::spawn(cmd, 24, 120);
    t.expect("CONTAINER ID");
    t.expect("busy");
    // Cleared and drawn again each second, not appended.
    t.expect_times("\x1b[2J\x1b[H", 3);
}
