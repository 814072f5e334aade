//! The engine killed with SIGKILL while containers are being created, started, stopped and
//! removed: when it comes back every container is in a state it can be in and removable, and
//! once they are removed nothing is left: no mount, cgroup or process.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::images::{docker_archive, Image};
use common::{eventually, Daemon};

/// Mounts under `dir`, but for the engine's network namespace directory, which stays a
/// mount point of its own while the engine runs (as iproute2's /run/netns does), and the
/// namespace files in it (counted by `Daemon::netns_files`).
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().to_string();
    let netns_dir = dir.join("exec/netns").to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix) && !p.starts_with(&netns_dir))
        .map(str::to_string)
        .collect()
}

/// Container cgroups left under the engine's parent, in any hierarchy.
fn cgroups_left(parent: &str) -> Vec<String> {
    let mut left = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        if let Ok(children) = std::fs::read_dir(h.path().join(parent)) {
            left.extend(
                children
                    .flatten()
                    .filter(|c| c.path().is_dir())
                    .map(|c| c.path().display().to_string()),
            );
        }
    }
    left
}

/// Processes other than the engine whose command line names `dir` (shims of its containers).
fn processes_mentioning(dir: &std::path::Path) -> Vec<String> {
    let needle = dir.to_string_lossy().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|p| p.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|p| {
            let cmd = std::fs::read(p.path().join("cmdline")).ok()?;
            Some(String::from_utf8_lossy(&cmd).replace('\0', " "))
        })
        .filter(|cmd| cmd.contains(&needle) && !cmd.contains(" daemon "))
        .collect()
}

#[test]
fn engine_killed_in_the_middle_of_operations() {
    let mut d = Daemon::start();
    d.load(&docker_archive(
        &[Image::busybox().tagged("busybox:latest")],
    ));
    let trap = "trap 'exit 0' TERM; while true; do sleep 0.1; done";
    for round in 0..6u64 {
        // Work in flight: containers made and started, and last round's stopped and removed.
        let before: Vec<String> = d
            .ok(&["ps", "-aq", "--no-trunc"])
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut inflight = Vec::new();
        for i in 0..5 {
            let name = format!("r{round}-{i}");
            inflight.push(
                d.cli()
                    .args(["run", "-d", "--name", &name, "busybox", "sh", "-c", trap])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        for (i, id) in before.iter().enumerate() {
            let op: &[&str] = if i % 2 == 0 {
                &["stop", "-t", "1"]
            } else {
                &["rm", "-f"]
            };
            let mut args = op.to_vec();
            args.push(id);
            inflight.push(
                d.cli()
                    .args(&args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        // From early in the first requests to after most of them finished.
        std::thread::sleep(Duration::from_millis(
            [5, 20, 40, 80, 150, 300][round as usize],
        ));
        d.kill9();
        for mut c in inflight {
            let _ = c.wait();
        }
        d.relaunch();
        // Removals the crash cut short are finished by the engine itself, soon after.
        eventually("interrupted removals to finish", || {
            !d.ok(&["ps", "-a", "--format", "{{.Status}}"])
                .contains("Removal In Progress")
        });
        // Every container the engine knows is in a real state, and a running one runs.
        for id in d.ok(&["ps", "-aq", "--no-trunc"]).split_whitespace() {
            let state = d.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", id]);
            let mut parts = state.split_whitespace();
            let status = parts.next().unwrap().to_string();
            let pid: u32 = parts.next().unwrap().parse().unwrap();
            assert!(
                [
                    "created",
                    "running",
                    "exited",
                    "dead",
                    "restarting",
                    "removing"
                ]
                .contains(&status.as_str()),
                "{id}: {state}"
            );
            if status == "running" {
                assert!(
                    std::path::Path::new(&format!("/proc/{pid}")).exists(),
                    "{id} is said to run as {pid}, which does not exist"
                );
            }
        }
    }
    // Everything can be removed, and then nothing of the containers is left.
    for id in d.ok(&["ps", "-aq", "--no-trunc"]).split_whitespace() {
        d.ok(&["rm", "-f", id]);
    }
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
    // Network namespaces are unmounted in the background, just after removal.
    common::eventually("nothing of the containers is mounted", || {
        mounts_under(d.dir.path()).is_empty() && d.only_the_spare_netns()
    });
    assert_eq!(cgroups_left(&d.cgroup_parent()), Vec::<String>::new());
    assert_eq!(processes_mentioning(d.dir.path()), Vec::<String>::new());
}
