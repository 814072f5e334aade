//! Health checks: from the run flags and from the image's HEALTHCHECK, their states in
//! inspect and ps, the ps filter, and --no-healthcheck.

use std::time::Duration;

use super::common::images::{docker_archive, Image};
use super::common::{assert_contains, Daemon};
use super::{eventually, inspect, sleeper};

fn health(d: &Daemon, c: &str) -> serde_json::Value {
    serde_json::from_str(&inspect(d, c, "{{json .State.Health}}")).unwrap()
}

fn ps_status(d: &Daemon, c: &str) -> String {
    d.ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("id={c}"),
        "--format",
        "{{.Status}}",
    ])
    .trim()
    .to_string()
}

fn ps_health(d: &Daemon, state: &str) -> Vec<String> {
    d.ok(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("health={state}"),
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

#[test]
fn health_checks_from_flags() {
    let d = Daemon::with_busybox();
    let plain = sleeper(&d, &[]);
    let good = sleeper(&d, &["--health-cmd", "true", "--health-interval", "200ms"]);
    let waiting = sleeper(&d, &["--health-cmd", "true"]);
    let bad = sleeper(
        &d,
        &[
            "--health-cmd",
            "echo sick; exit 1",
            "--health-interval",
            "200ms",
            "--health-retries",
            "2",
        ],
    );
    // The default interval is 30s: the first probe is a long way off.
    assert_eq!(
        inspect(&d, &waiting, "{{.State.Health.Status}}"),
        "starting"
    );
    assert_contains(&ps_status(&d, &waiting), "(health: starting)");
    eventually("healthy", || {
        inspect(&d, &good, "{{.State.Health.Status}}") == "healthy"
    });
    assert!(
        ps_status(&d, &good).ends_with("(healthy)"),
        "{}",
        ps_status(&d, &good)
    );
    let h = health(&d, &good);
    let entry = &h["Log"][0];
    assert_eq!(
        (entry["ExitCode"].as_i64(), h["FailingStreak"].as_i64()),
        (Some(0), Some(0))
    );
    assert!(
        !entry["Start"].as_str().unwrap().is_empty() && !entry["End"].as_str().unwrap().is_empty()
    );
    eventually("unhealthy", || {
        inspect(&d, &bad, "{{.State.Health.Status}}") == "unhealthy"
    });
    assert!(ps_status(&d, &bad).ends_with("(unhealthy)"));
    let h = health(&d, &bad);
    assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
    assert_eq!(h["Log"][0]["Output"], "sick\n");
    assert_eq!(h["Log"][0]["ExitCode"], 1);
    eventually("five log entries", || {
        health(&d, &good)["Log"].as_array().unwrap().len() == 5
    });
    assert_eq!(ps_health(&d, "healthy"), [good.as_str()]);
    assert_eq!(ps_health(&d, "unhealthy"), [bad.as_str()]);
    assert_eq!(ps_health(&d, "starting"), [waiting.as_str()]);
    assert_eq!(ps_health(&d, "none"), [plain.as_str()]);
    let r = d.run(&["ps", "--filter", "health=bogus"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "Unrecognised filter value for health: bogus");
    // The prober stops with the container.
    d.ok(&["stop", "-t", "0", &good]);
    let log = health(&d, &good)["Log"].clone();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(health(&d, &good)["Log"], log);
}

#[test]
fn health_checks_from_the_image_and_disabled() {
    let d = Daemon::with_busybox();
    let mut image = Image::busybox().tagged("checked:latest");
    image.config["config"]["Healthcheck"] = serde_json::json!({
        "Test": ["CMD-SHELL", "test -e /tmp/ready"],
        "Interval": 200_000_000,
        "Retries": 1,
    });
    d.load(&docker_archive(&[image]));
    let c = d
        .ok(&["run", "-d", "checked", "sleep", "1000"])
        .trim()
        .to_string();
    eventually("unhealthy", || {
        inspect(&d, &c, "{{.State.Health.Status}}") == "unhealthy"
    });
    d.ok(&["exec", &c, "touch", "/tmp/ready"]);
    eventually("healthy", || {
        inspect(&d, &c, "{{.State.Health.Status}}") == "healthy"
    });
    // Health survives an engine restart, and probing goes on.
    let mut d = d;
    d.restart();
    assert_eq!(inspect(&d, &c, "{{.State.Health.Status}}"), "healthy");
    d.ok(&["exec", &c, "rm", "/tmp/ready"]);
    eventually("unhealthy again", || {
        inspect(&d, &c, "{{.State.Health.Status}}") == "unhealthy"
    });

    let off = d
        .ok(&["run", "-d", "--no-healthcheck", "checked", "sleep", "1000"])
        .trim()
        .to_string();
    std::thread::sleep(Duration::from_millis(500));
    // As docker's CLI prints a nil health: null.
    assert_eq!(inspect(&d, &off, "{{json .State.Health}}"), "null");
    assert!(
        !ps_status(&d, &off).contains('('),
        "{}",
        ps_status(&d, &off)
    );
    let r = d.run(&[
        "run",
        "--no-healthcheck",
        "--health-cmd",
        "true",
        "checked",
        "true",
    ]);
    assert_eq!(r.status, 125);
    assert_contains(
        &r.stderr,
        "--no-healthcheck conflicts with --health-* options",
    );
}
