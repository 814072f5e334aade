//! The engine's event stream through the CLI and the API: events of a container's life in
//! order with docker's attributes, collected live and replayed with `--since`/`--until`,
//! docker's filters and formats; and docker's restart-policy rules for `kill`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{assert_contains, eventually, Daemon};

fn inspect(d: &Daemon, format: &str, name: &str) -> String {
    d.ok(&["inspect", "-f", format, name]).trim().to_string()
}

/// Unix time `ahead` from now, as `seconds.nanoseconds`.
fn unix_time(ahead: Duration) -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + ahead;
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// Names and actions of the container events in `lines` (docker's default output).
fn actions_of<'a>(lines: &'a str, name: &str) -> Vec<&'a str> {
    lines
        .lines()
        .filter(|l| l.contains(&format!("name={name},")) || l.contains(&format!("name={name})")))
        .map(|l| l.split(' ').nth(2).unwrap())
        .collect()
}

#[test]
fn events_in_order_with_filters_and_formats() {
    let d = Daemon::with_busybox();
    let since = unix_time(Duration::ZERO);
    // A collector running meanwhile, that ends by itself at `until`.
    let until = unix_time(Duration::from_secs(8));
    let collector = d
        .cli()
        .args(["events", "--since", &since, "--until", &until])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    d.ok(&[
        "run", "-d", "--name", "ev", "--label", "tier=web", "busybox", "sh", "-c", "exit 3",
    ]);
    assert_eq!(d.ok(&["wait", "ev"]).trim(), "3");
    let trap = "trap 'exit 0' TERM; while true; do sleep 0.1; done";
    d.ok(&[
        "run", "-d", "--name", "stopped", "busybox", "sh", "-c", trap,
    ]);
    d.ok(&["stop", "stopped"]);
    d.ok(&["rm", "stopped"]);
    d.ok(&["tag", "busybox", "ev:1"]);
    d.ok(&["rmi", "-f", "ev:1"]);
    d.ok(&["rename", "ev", "ev2"]);
    let out = collector.wait_with_output().unwrap();
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(actions_of(&all, "ev"), ["create", "start", "die"], "{all}");
    assert_eq!(actions_of(&all, "ev2"), ["rename"], "{all}");
    assert_eq!(
        actions_of(&all, "stopped"),
        ["create", "start", "kill", "die", "stop", "destroy"],
        "{all}"
    );
    assert_contains(&all, "signal=15");
    let die = all.lines().find(|l| l.contains(" container die ")).unwrap();
    assert_contains(die, "(exitCode=3, image=busybox, name=ev, ");
    assert!(die.ends_with(", tier=web)"), "labels are attributes: {die}");
    assert!(die.starts_with("20") && die.contains('T'), "{die}");
    assert_contains(&all, "oldName=/ev");
    assert_contains(&all, " image tag sha256:");
    assert_contains(&all, " image untag sha256:");
    // The same window again, narrowed.
    let window = ["--since", since.as_str(), "--until", until.as_str()];
    let events = |extra: &[&str]| {
        let mut args = vec!["events"];
        args.extend_from_slice(&window);
        args.extend_from_slice(extra);
        d.ok(&args)
    };
    let containers = events(&["--filter", "type=container"]);
    assert!(!containers.contains(" image "), "{containers}");
    assert_eq!(containers.lines().count(), 10, "{containers}");
    assert_eq!(
        events(&[
            "--filter",
            "event=die",
            "--format",
            "{{.Status}} {{.Actor.Attributes.exitCode}}"
        ]),
        "die 3\ndie 0\n"
    );
    assert_eq!(
        events(&[
            "--filter",
            "container=ev",
            "--filter",
            "event=start",
            "--format",
            "{{.Type}}"
        ]),
        "container\n"
    );
    let images = events(&["--filter", "type=image", "--filter", "event=tag"]);
    assert_eq!(images.lines().count(), 1, "{images}");
    assert!(
        images.trim_end().ends_with("(name=ev:1, org.test=yes)"),
        "{images}"
    );
    let json = events(&["--filter", "label=tier=web", "--format", "json"]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["status"].as_str(), first["from"].as_str()),
        (Some("create"), Some("busybox"))
    );
    assert_eq!(first["scope"], "local");
    // Live: a subscriber sees events as they happen.
    let mut child = d
        .cli()
        .args([
            "system",
            "events",
            "--filter",
            "event=kill",
            "--format",
            "{{.Actor.Attributes.signal}}",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    d.ok(&["run", "-d", "--name", "live", "busybox", "sleep", "1000"]);
    d.ok(&["kill", "-s", "USR1", "live"]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(line, "10\n");
    let r = d.api("GET", "/v1.41/events?since=100&until=50", b"");
    assert_eq!(r.status, 400);
}

/// docker's rules: a kill with the stop signal (or SIGKILL, or any signal when no stop
/// signal is set) ends the container for good; another signal leaves `always` in force.
#[test]
fn kill_and_restart_policies() {
    let d = Daemon::with_busybox();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "kk",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "1000",
    ]);
    d.ok(&["kill", "kk"]);
    assert_eq!(
        inspect(&d, "{{.State.Status}} {{.State.ExitCode}}", "kk"),
        "exited 137"
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        inspect(&d, "{{.State.Status}} {{.RestartCount}}", "kk"),
        "exited 0"
    );
    let trap = "trap 'exit 3' USR1; trap 'exit 0' INT; while true; do sleep 0.1; done";
    d.ok(&[
        "run",
        "-d",
        "--name",
        "k2",
        "--restart",
        "always",
        "--stop-signal",
        "INT",
        "busybox",
        "sh",
        "-c",
        trap,
    ]);
    std::thread::sleep(Duration::from_millis(300));
    d.ok(&["kill", "-s", "USR1", "k2"]);
    eventually("the restart", || {
        inspect(&d, "{{.RestartCount}}", "k2") != "0"
    });
    eventually("running again", || {
        inspect(&d, "{{.State.Status}}", "k2") == "running"
    });
    d.ok(&["kill", "-s", "INT", "k2"]);
    eventually("the stop", || {
        inspect(&d, "{{.State.Status}}", "k2") == "exited"
    });
    let count = inspect(&d, "{{.RestartCount}}", "k2");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        inspect(&d, "{{.RestartCount}} {{.State.Status}}", "k2"),
        format!("{count} exited")
    );
}

#[test]
fn file_operations_are_events_too() {
    let d = Daemon::with_busybox();
    let since = unix_time(Duration::ZERO);
    d.ok(&[
        "run",
        "--name",
        "files",
        "busybox",
        "sh",
        "-c",
        "echo x > /made",
    ]);
    let out = d.dir.path().join("made");
    d.ok(&["cp", "files:/made", out.to_str().unwrap()]);
    d.ok(&["cp", out.to_str().unwrap(), "files:/copied"]);
    d.ok(&["commit", "-m", "saved", "files", "files-image:1"]);
    let tar = d.dir.path().join("files.tar");
    d.ok(&["export", "-o", tar.to_str().unwrap(), "files"]);
    let until = unix_time(Duration::ZERO);
    let all = d.ok(&["events", "--since", &since, "--until", &until]);
    assert_eq!(
        actions_of(&all, "files"),
        [
            "create",
            "attach",
            "start",
            "die",
            "archive-path",
            "extract-to-dir",
            "commit",
            "export"
        ],
        "{all}"
    );
    assert_contains(&all, "comment=saved");
}
