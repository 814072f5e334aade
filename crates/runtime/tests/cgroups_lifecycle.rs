//! Container cgroups on this host's real layout (cgroup v1, hybrid or v2, whatever
//! /proc/self/mountinfo says): detection, creation in every hierarchy, processes joining,
//! removal with processes left inside, stale cleanup, and the timings of the container
//! start/stop path. Every test works under its own parent cgroup, removed when it ends.

mod cgroups_support;

/// Named so that `cargo test cgroups` selects these tests.
mod cgroups_lifecycle {
    use std::time::{Duration, Instant};

    use crate::cgroups_support::{is_root, procs, read, Proc, TestParent};
    use berth_runtime::cgroups::{default_device_rules, Cgroup, ErrorKind, Layout, Resources};

    #[test]
    fn detects_the_layout_of_this_host() {
        let layout = Layout::detect().expect("layout");
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let has_v1 = mountinfo
            .lines()
            .any(|l| l.contains(" - cgroup ") && l.contains("memory"));
        assert_eq!(layout.is_v2(), !has_v1, "{layout:?}");
        match &layout {
            Layout::V1 {
                controllers,
                unified,
            } => {
                for (name, h) in controllers {
                    assert!(
                        h.mount_point.is_dir(),
                        "{name} at {}",
                        h.mount_point.display()
                    );
                    let own = h.own_dir().expect("own cgroup inside the mount");
                    assert!(own.is_dir(), "own cgroup of {name}: {}", own.display());
                }
                for c in [
                    "cpu", "cpuacct", "memory", "pids", "freezer", "devices", "cpuset",
                ] {
                    if mountinfo.contains(&format!(",{c}")) {
                        assert!(
                            controllers.contains_key(c),
                            "{c} is mounted but not detected"
                        );
                    }
                }
                let v2_mounted = mountinfo.contains(" - cgroup2 ");
                assert_eq!(unified.is_some(), v2_mounted);
            }
            Layout::V2 {
                hierarchy,
                controllers,
            } => {
                assert!(hierarchy.mount_point.join("cgroup.controllers").exists());
                assert!(controllers.iter().all(|c| !c.is_empty()));
            }
        }
    }

    #[test]
    fn create_open_and_delete_in_every_hierarchy() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("c1");
        let dirs: Vec<_> = cg.dirs().iter().map(|d| d.to_path_buf()).collect();
        let expected = match &t.layout {
            Layout::V1 {
                controllers,
                unified,
            } => {
                let mut mounts: Vec<_> = controllers
                    .values()
                    .map(|h| h.mount_point.clone())
                    .collect();
                mounts.extend(unified.iter().map(|u| u.mount_point.clone()));
                mounts.sort();
                mounts.dedup();
                mounts.len()
            }
            Layout::V2 { .. } => 1,
        };
        assert_eq!(dirs.len(), expected, "{dirs:?}");
        for d in &dirs {
            assert!(d.is_dir(), "{}", d.display());
            assert!(d.ends_with(format!("{}/c1", t.name)), "{}", d.display());
        }
        if let Some(cpuset) = cg.controller_dir("cpuset") {
            assert!(
                !read(cpuset, "cpuset.cpus").is_empty(),
                "cpuset initialised from the parent"
            );
        }
        let again = Cgroup::open(&t.layout, &t.name, "c1").expect("open");
        assert_eq!(again.dirs(), cg.dirs());
        // Re-creating an empty leftover is allowed.
        Cgroup::create(&t.layout, &t.name, "c1").expect("re-create empty");

        cg.delete().expect("delete");
        assert!(dirs.iter().all(|d| !d.exists()));
        cg.delete().expect("deleting a deleted cgroup");
        let e = Cgroup::open(&t.layout, &t.name, "c1").expect_err("gone");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(Cgroup::create(&t.layout, "../x", "c").is_err());
        assert!(Cgroup::create(&t.layout, &t.name, "a/b").is_err());
    }

    #[test]
    fn processes_join_and_are_listed() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("procs");
        let p = Proc::spawn("sleep", &["5"]);
        cg.add_process(p.pid()).expect("add");
        for d in cg.dirs() {
            assert!(
                procs(d).contains(&p.pid()),
                "{} lists {:?}",
                d.display(),
                procs(d)
            );
        }
        assert_eq!(cg.pids().expect("pids"), vec![p.pid()]);
        if cg.controller_dir("pids").is_some() {
            assert_eq!(cg.stats().expect("stats").pids.current, 1);
        }
        // A cgroup with a process in it is not silently re-used.
        let busy = Cgroup::create(&t.layout, &t.name, "procs").expect_err("busy");
        assert_eq!(busy.kind(), ErrorKind::Conflict);
        // delete() kills what is left.
        cg.delete().expect("delete with a live process");
        assert!(cg.dirs().iter().all(|d| !d.exists()));
        let (status, _, _) = p.wait();
        assert!(!status.success());
    }

    #[test]
    fn cleanup_stale_removes_rejected_ids() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let a = t.create("a");
        let b = t.create("b");
        let c = t.create("c");
        let p = Proc::spawn("sleep", &["5"]);
        c.add_process(p.pid()).expect("add");
        let removed = Cgroup::cleanup_stale(&t.layout, &t.name, &|id| id == "b").expect("cleanup");
        assert_eq!(removed, ["a", "c"]);
        assert!(a.dirs().iter().chain(c.dirs().iter()).all(|d| !d.exists()));
        assert!(b.dirs().iter().all(|d| d.exists()));
        let (status, _, _) = p.wait();
        assert!(
            !status.success(),
            "the stale container's process was killed"
        );
    }

    /// create → apply → add_process, then (after the process exits) delete: the cgroup share of
    /// the container start and stop path. Prints medians; timings never fail the test.
    #[test]
    fn start_path_timings() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let r = Resources {
            memory: Some(256 << 20),
            memory_swap: Some(512 << 20),
            cpu_shares: Some(512),
            pids_limit: Some(1000),
            devices: Some(default_device_rules()),
            ..Default::default()
        };
        let mut rows: Vec<[Duration; 4]> = Vec::new();
        for i in 0..25 {
            let p = Proc::spawn("sleep", &["5"]);
            let t0 = Instant::now();
            let cg = Cgroup::create(&t.layout, &t.name, &format!("timing{i}")).expect("create");
            let t1 = Instant::now();
            cg.apply(&r).expect("apply");
            let t2 = Instant::now();
            cg.add_process(p.pid()).expect("add");
            let t3 = Instant::now();
            p.kill();
            let t4 = Instant::now();
            cg.delete().expect("delete");
            let t5 = Instant::now();
            rows.push([t1 - t0, t2 - t1, t3 - t2, t5 - t4]);
        }
        let median = |k: usize| {
            let mut v: Vec<Duration> = rows.iter().map(|r| r[k]).collect();
            v.sort();
            v[v.len() / 2]
        };
        eprintln!(
        "cgroup timings ({}, median of 25): create {:?}, apply {:?}, add_process {:?}, delete {:?}",
        if t.layout.is_v2() { "v2" } else { "v1" },
        median(0),
        median(1),
        median(2),
        median(3)
    );
    }
}
