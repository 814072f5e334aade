//! Container operations beyond the lifecycle, through the CLI and the API against a real
//! engine: pause/unpause (the freezer really stops the processes), rename, update (limits
//! reach the live cgroup and outlive a restart), top, stats and port.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{assert_contains, eventually, Daemon};

fn inspect(d: &Daemon, format: &str, name: &str) -> String {
    d.ok(&["inspect", "-f", format, name]).trim().to_string()
}

/// A file of the container's cgroup as the host sees it (cgroup v1 or v2).
fn cgroup_file(d: &Daemon, id: &str, v1_controller: &str, file: &str) -> PathBuf {
    let v1 = PathBuf::from("/sys/fs/cgroup")
        .join(v1_controller)
        .join(d.cgroup_parent())
        .join(id)
        .join(file);
    if v1.exists() {
        return v1;
    }
    PathBuf::from("/sys/fs/cgroup")
        .join(d.cgroup_parent())
        .join(id)
        .join(file)
}

const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";

#[test]
fn pause_freezes_and_unpause_resumes() {
    let mut d = Daemon::with_busybox();
    let id = d.ok(&[
        "run", "-d", "--name", "counter", "busybox", "sh", "-c", COUNTER,
    ]);
    let id = id.trim();
    eventually("counting", || {
        d.ok(&["logs", "counter"]).lines().count() > 3
    });
    assert_eq!(d.ok(&["pause", "counter"]), "counter\n");
    assert_eq!(
        inspect(
            &d,
            "{{.State.Status}} {{.State.Paused}} {{.State.Running}}",
            "counter"
        ),
        "paused true true"
    );
    assert_contains(&d.ok(&["ps", "--format", "{{.Status}}"]), "(Paused)");
    assert_eq!(
        d.ok(&["ps", "-q", "--no-trunc", "--filter", "status=paused"])
            .trim(),
        id
    );
    let frozen = d.ok(&["logs", "counter"]).lines().count();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        d.ok(&["logs", "counter"]).lines().count(),
        frozen,
        "a paused container does not run"
    );
    let r = d.api("POST", "/v1.41/containers/counter/pause", b"");
    assert_eq!(r.status, 409);
    assert_contains(&r.text(), "is already paused");
    let r = d.api("POST", "/v1.41/containers/counter/start", b"");
    assert_eq!(r.status, 409, "a paused container cannot be started");

    // Still paused after an engine restart; then unpause resumes it.
    d.restart();
    assert_eq!(inspect(&d, "{{.State.Status}}", "counter"), "paused");
    d.ok(&["container", "unpause", "counter"]);
    eventually("counting again", || {
        d.ok(&["logs", "counter"]).lines().count() > frozen + 3
    });
    let r = d.api("POST", "/v1.41/containers/counter/unpause", b"");
    assert_eq!(r.status, 409);
    assert_contains(&r.text(), "is not paused");

    // stop and rm -f of paused containers.
    d.ok(&["pause", "counter"]);
    d.ok(&["stop", "-t", "1", "counter"]);
    assert_eq!(inspect(&d, "{{.State.Status}}", "counter"), "exited");
    let r = d.api("POST", "/v1.41/containers/counter/pause", b"");
    assert_eq!(r.status, 409);
    assert_contains(&r.text(), "is not running");
    d.ok(&["run", "-d", "--name", "second", "busybox", "sleep", "1000"]);
    d.ok(&["pause", "second"]);
    d.ok(&["rm", "-f", "second"]);
    assert!(d.run(&["inspect", "second"]).status != 0);
    let r = d.run(&["pause", "nope"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "No such container: nope");
}

#[test]
fn rename_moves_the_name() {
    let mut d = Daemon::with_busybox();
    let id = d.ok(&["create", "--name", "old", "busybox", "true"]);
    d.ok(&["create", "--name", "taken", "busybox", "true"]);
    assert_eq!(d.ok(&["rename", "old", "new"]), "");
    assert_eq!(
        inspect(&d, "{{.Id}} {{.Name}}", "new"),
        format!("{} /new", id.trim())
    );
    assert!(d.run(&["inspect", "old"]).status != 0);
    d.ok(&["create", "--name", "old", "busybox", "true"]);
    let r = d.api("POST", "/v1.41/containers/new/rename?name=taken", b"");
    assert_eq!(r.status, 409);
    assert_contains(
        &r.text(),
        "Conflict. The container name \\\"/taken\\\" is already in use",
    );
    let r = d.run(&["container", "rename", "new", "taken"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "Error: failed to rename container named new");
    assert_eq!(
        d.api("POST", "/v1.41/containers/new/rename?name=b%20d", b"")
            .status,
        400
    );
    assert_eq!(
        d.api("POST", "/v1.41/containers/new/rename?name=", b"")
            .status,
        400
    );
    assert_eq!(
        d.api("POST", "/v1.41/containers/nope/rename?name=x1", b"")
            .status,
        404
    );
    assert_eq!(
        inspect(&d, "{{.Name}}", &id[..12]),
        "/new",
        "a refused rename changes nothing"
    );
    assert_eq!(
        d.ok(&["start", "-a", "new"]),
        "",
        "the renamed container still runs"
    );
    d.restart();
    assert_eq!(
        inspect(&d, "{{.Name}}", &id[..12]),
        "/new",
        "the new name is kept"
    );
    assert_eq!(inspect(&d, "{{.Name}}", "new"), "/new");
}

#[test]
fn update_changes_the_live_cgroup_and_the_config() {
    let d = Daemon::with_busybox();
    let id = d.ok(&["run", "-d", "--name", "up", "busybox", "sleep", "1000"]);
    let id = id.trim();
    assert_eq!(
        d.ok(&["update", "-m", "64m", "--cpus", "0.5", "up"]),
        "up\n"
    );
    let limit = || {
        let v1 = cgroup_file(&d, id, "memory", "memory.limit_in_bytes");
        let path = if v1.exists() {
            v1
        } else {
            cgroup_file(&d, id, "memory", "memory.max")
        };
        std::fs::read_to_string(path).unwrap().trim().to_string()
    };
    assert_eq!(limit(), "67108864");
    let quota = cgroup_file(&d, id, "cpu", "cpu.cfs_quota_us");
    if quota.exists() {
        assert_eq!(std::fs::read_to_string(&quota).unwrap().trim(), "50000");
    }
    assert_eq!(
        inspect(&d, "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", "up"),
        "67108864 500000000"
    );
    d.ok(&[
        "container",
        "update",
        "--restart",
        "on-failure:3",
        "--pids-limit",
        "50",
        "up",
    ]);
    assert_eq!(
        inspect(&d, "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.PidsLimit}}", "up"),
        "on-failure:3 50"
    );
    // Kept in the HostConfig: a restart runs with the new limits.
    d.ok(&["restart", "-t", "0", "up"]);
    assert_eq!(limit(), "67108864");
    let r = d.run(&["update", "-m", "1m", "up"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "Minimum memory limit allowed is 6MB");
    let r = d.run(&["update", "up"]);
    assert_contains(&r.stderr, "you must provide one or more flags");
    let auto_remove =
        br#"{"Image": "busybox", "Cmd": ["true"], "HostConfig": {"AutoRemove": true}}"#;
    assert_eq!(
        d.api("POST", "/v1.41/containers/create?name=gone", auto_remove)
            .status,
        201
    );
    let r = d.run(&["update", "--restart", "always", "gone"]);
    assert_eq!(r.status, 1);
    assert_contains(
        &r.stderr,
        "Restart policy cannot be updated because AutoRemove is enabled",
    );
    let body = br#"{"Memory": 33554432, "MemorySwap": 67108864}"#;
    let r = d.api("POST", "/v1.41/containers/up/update", body);
    assert_eq!(
        (r.status, r.json()["Warnings"].clone()),
        (200, serde_json::json!([]))
    );
    assert_eq!(limit(), "33554432");
}

#[test]
fn top_lists_the_containers_processes_with_host_pids() {
    let d = Daemon::with_busybox();
    d.ok(&["run", "-d", "--name", "tp", "busybox", "sleep", "1000"]);
    let pid = inspect(&d, "{{.State.Pid}}", "tp");
    let out = d.ok(&["top", "tp"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "only the container's process: {out}");
    assert_eq!(rows[0].split_whitespace().nth(1), Some(pid.as_str()));
    assert!(rows[0].ends_with("sleep 1000"), "{out}");
    let out = d.ok(&["container", "top", "tp", "-o", "pid,comm"]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMMAND", &pid, "sleep"]
    );
    let r = d.api("GET", "/v1.41/containers/tp/top?ps_args=aux", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Titles"][1], "PID");
    d.ok(&["stop", "-t", "0", "tp"]);
    let r = d.api("GET", "/v1.41/containers/tp/top", b"");
    assert_eq!(r.status, 409);
    assert_contains(&r.text(), "is not running");
}

#[test]
fn stats_sample_the_cgroup() {
    let d = Daemon::with_busybox();
    d.ok(&[
        "run", "-d", "--name", "st", "-m", "64m", "busybox", "sleep", "1000",
    ]);
    let out = d.ok(&["stats", "--no-stream", "st"]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    for col in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert_contains(header, col);
    }
    let row = lines.next().unwrap();
    assert_contains(row, " st ");
    assert_contains(row, "/ 64MiB");
    assert!(row.trim_end().ends_with(" 1"), "one process: {row}");
    let v = d
        .api("GET", "/v1.41/containers/st/stats?stream=false", b"")
        .json();
    assert_eq!(v["memory_stats"]["limit"], 67108864);
    assert!(v["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert_eq!(v["pids_stats"]["current"], 1);
    assert!(v["cpu_stats"]["online_cpus"].as_u64().unwrap() > 0);
    let (now, pre) = (
        &v["cpu_stats"]["system_cpu_usage"],
        &v["precpu_stats"]["system_cpu_usage"],
    );
    assert!(
        now.as_u64().unwrap() > pre.as_u64().unwrap(),
        "two samples a second apart"
    );
    assert_eq!(v["name"], "/st");
    assert!(v["read"].as_str().unwrap().starts_with("20"));
    for key in [
        "preread",
        "blkio_stats",
        "num_procs",
        "storage_stats",
        "cpu_stats",
    ] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
    let one = d.api(
        "GET",
        "/v1.41/containers/st/stats?stream=false&one-shot=true",
        b"",
    );
    assert_eq!(one.json()["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(
        d.api(
            "GET",
            "/v1.41/containers/st/stats?stream=true&one-shot=true",
            b""
        )
        .status,
        400
    );
    // Streaming to a pipe: the table again each second.
    let mut child = d
        .cli()
        .args(["stats", "--format", "{{.Name}} {{.MemUsage}}"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    let mut second = String::new();
    out.read_line(&mut first).unwrap();
    out.read_line(&mut second).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("st ") && first.contains("/ 64MiB"),
        "{first}"
    );
    assert_eq!(first.split(' ').next(), second.split(' ').next());
    // Without names: the running containers, and those that start later.
    let mut child = d
        .cli()
        .args(["stats", "--format", "{{.Name}}"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "st");
    d.ok(&["run", "-d", "--name", "late", "busybox", "sleep", "1000"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while rx.recv_timeout(Duration::from_secs(10)).unwrap() != "late" {
        assert!(Instant::now() < deadline, "the new container never showed");
    }
    let _ = child.kill();
    let _ = child.wait();
    // A stopped container shows with -a, with zeros.
    d.ok(&["create", "--name", "idle", "busybox", "true"]);
    let out = d.ok(&[
        "stats",
        "-a",
        "--no-stream",
        "--format",
        "{{.Name}} {{.CPUPerc}} {{.PIDs}}",
    ]);
    assert_contains(&out, "idle 0.00% 0");
    let r = d.run(&["stats", "--no-stream", "nope"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "No such container: nope");
}

#[test]
fn port_without_published_ports() {
    let d = Daemon::with_busybox();
    d.ok(&["run", "-d", "--name", "pt", "busybox", "sleep", "1000"]);
    assert_eq!(d.ok(&["port", "pt"]), "");
    let r = d.run(&["container", "port", "pt", "80"]);
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr.trim(),
        "Error: No public port '80/tcp' published for pt"
    );
    let r = d.run(&["port", "pt", "53/udp"]);
    assert_eq!(
        r.stderr.trim(),
        "Error: No public port '53/udp' published for pt"
    );
}
