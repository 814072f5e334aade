//! Limits on this host's real cgroup layout: values read back from the kernel's files after
//! apply and update, refusals naming the setting, a pids limit stopping a fork loop,
//! freezing, the OOM killer, device rules against real device nodes, and usage statistics.
//! Every test works under its own parent cgroup, removed when it ends.

mod cgroups_support;

/// Named so that `cargo test cgroups` selects these tests.
mod cgroups_limits {
    use std::time::{Duration, Instant};

    use crate::cgroups_support::{
        device_nodes, is_root, open_results, python, read, Proc, TestParent,
    };
    use berth_runtime::cgroups::{default_device_rules, CgroupError, ErrorKind, Resources};

    #[test]
    fn applies_and_updates_limits() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("limits");
        let mib = 1i64 << 20;
        let r = Resources {
            memory: Some(64 * mib),
            memory_swap: Some(128 * mib),
            memory_reservation: Some(32 * mib),
            cpu_shares: Some(512),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(50),
            blkio_weight: Some(300),
            ..Default::default()
        };
        cg.apply(&r).expect("apply");
        let mem = cg.controller_dir("memory").expect("memory controller");
        let cpu = cg.controller_dir("cpu").expect("cpu controller");
        let pids = cg.controller_dir("pids").expect("pids controller");
        if cg.is_v2() {
            assert_eq!(read(mem, "memory.max"), (64 * mib).to_string());
            assert_eq!(read(mem, "memory.low"), (32 * mib).to_string());
            if mem.join("memory.swap.max").exists() {
                assert_eq!(read(mem, "memory.swap.max"), (64 * mib).to_string());
            }
            assert_eq!(read(cpu, "cpu.weight"), "20");
            assert_eq!(read(cpu, "cpu.max"), "50000 100000");
        } else {
            assert_eq!(read(mem, "memory.limit_in_bytes"), (64 * mib).to_string());
            assert_eq!(
                read(mem, "memory.soft_limit_in_bytes"),
                (32 * mib).to_string()
            );
            if mem.join("memory.memsw.limit_in_bytes").exists() {
                assert_eq!(
                    read(mem, "memory.memsw.limit_in_bytes"),
                    (128 * mib).to_string()
                );
            }
            assert_eq!(read(cpu, "cpu.shares"), "512");
            assert_eq!(read(cpu, "cpu.cfs_quota_us"), "50000");
            assert_eq!(read(cpu, "cpu.cfs_period_us"), "100000");
        }
        if let Some(cpuset) = cg.controller_dir("cpuset") {
            assert_eq!(read(cpuset, "cpuset.cpus"), "0");
        }
        assert_eq!(read(pids, "pids.max"), "50");
        if let Some(blkio) = cg.controller_dir("blkio").or(cg.controller_dir("io")) {
            let weight = ["blkio.weight", "blkio.bfq.weight", "io.bfq.weight"]
                .iter()
                .find(|f| blkio.join(f).exists());
            if let Some(f) = weight {
                assert!(read(blkio, f).contains("300"), "{f}: {}", read(blkio, f));
            }
        }

        // docker update: bigger memory with unlimited swap, unlimited pids.
        let u = Resources {
            memory: Some(128 * mib),
            memory_swap: Some(-1),
            pids_limit: Some(-1),
            ..Default::default()
        };
        cg.update(&u).expect("update");
        assert_eq!(read(pids, "pids.max"), "max");
        let limit = if cg.is_v2() {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        assert_eq!(read(mem, limit), (128 * mib).to_string());

        // v1 keeps memory <= memory+swap; raising memory alone past it gets a clear error.
        if !cg.is_v2() && mem.join("memory.memsw.limit_in_bytes").exists() {
            let both = Resources {
                memory: Some(64 * mib),
                memory_swap: Some(64 * mib),
                ..Default::default()
            };
            cg.update(&both).expect("shrink memory and swap");
            let alone = Resources {
                memory: Some(128 * mib),
                ..Default::default()
            };
            let e = cg.update(&alone).expect_err("above memory+swap");
            assert!(e.to_string().contains("memory-swap"), "{e}");
        }

        // Invalid values are refused before the kernel sees them, naming setting and value.
        let small = cg.update(&Resources {
            memory: Some(4 * mib),
            ..Default::default()
        });
        let e = small.expect_err("4 MiB is below the minimum");
        assert!(matches!(e, CgroupError::Invalid { .. }), "{e}");
        assert!(
            e.to_string().contains("memory limit") && e.to_string().contains("4194304"),
            "{e}"
        );
        if cg.controller_dir("cpuset").is_some() {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let missing = (cpus + 5).to_string();
            let e = cg
                .apply(&Resources {
                    cpuset_cpus: Some(missing.clone()),
                    ..Default::default()
                })
                .expect_err("missing cpu");
            assert!(
                e.to_string().contains("cpuset cpus") && e.to_string().contains(&missing),
                "{e}"
            );
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn pids_limit_stops_a_fork_loop() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("forks");
        if cg.controller_dir("pids").is_none() {
            eprintln!("skipped: no pids controller");
            return;
        }
        cg.apply(&Resources {
            pids_limit: Some(4),
            ..Default::default()
        })
        .expect("apply");
        // The sleeps let go of the pipes, so the test waits only for the shell.
        let mut p = Proc::sh(concat!(
            "read x; i=0; while [ $i -lt 20 ]; do ",
            "sleep 5 >/dev/null 2>&1 </dev/null & i=$((i+1)); done; echo done"
        ));
        cg.add_process(p.pid()).expect("add");
        p.release();
        let (_, out, err) = p.wait();
        assert!(!out.contains("done"), "the loop should have failed: {out}");
        assert!(err.to_lowercase().contains("fork"), "stderr: {err}");
        let s = cg.stats().expect("stats");
        assert!(
            s.pids.current <= 4 && s.pids.limit == Some(4),
            "{:?}",
            s.pids
        );
        cg.kill_all(libc::SIGKILL).expect("kill_all");
        cg.delete().expect("delete");
    }

    #[test]
    fn freeze_and_thaw_stop_and_resume_work() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("freeze");
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("ticks");
        let script = format!(
            "read x; while :; do echo t >> {}; sleep 0.01; done",
            log.display()
        );
        let mut p = Proc::sh(&script);
        cg.add_process(p.pid()).expect("add");
        p.release();
        let size = || std::fs::metadata(&log).map_or(0, |m| m.len());
        let start = Instant::now();
        while size() == 0 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        cg.freeze().expect("freeze");
        assert!(cg.is_frozen().expect("state"));
        if let Some(f) = cg.controller_dir("freezer") {
            assert_eq!(read(f, "freezer.state"), "FROZEN");
        }
        let frozen_at = size();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(size(), frozen_at, "no progress while frozen");
        cg.thaw().expect("thaw");
        assert!(!cg.is_frozen().expect("state"));
        std::thread::sleep(Duration::from_millis(200));
        assert!(size() > frozen_at, "progress after thaw");
        // Killing a paused container works too.
        cg.freeze().expect("freeze again");
        cg.kill_all(libc::SIGKILL).expect("kill while frozen");
        let (status, _, _) = p.wait();
        assert!(!status.success());
        cg.delete().expect("delete");
    }

    #[test]
    fn memory_limit_gets_the_oom_killer() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("oom");
        if cg.controller_dir("memory").is_none() {
            eprintln!("skipped: no memory controller");
            return;
        }
        let limit = 32i64 << 20;
        cg.apply(&Resources {
            memory: Some(limit),
            memory_swap: Some(limit),
            ..Default::default()
        })
        .expect("apply");
        assert!(!cg.oom_killed().expect("oom state"));
        let mut p = Proc::spawn(
            python(),
            &[
                "-c",
                "import sys\nsys.stdin.readline()\nb = b'a' * (256 << 20)\nprint(len(b))",
            ],
        );
        cg.add_process(p.pid()).expect("add");
        p.release();
        let (status, out, _) = p.wait();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "status {status:?}, out {out}"
        );
        assert!(cg.oom_killed().expect("oom state"));
        let s = cg.stats().expect("stats");
        assert!(s.memory.oom_kills >= 1, "{:?}", s.memory);
        assert_eq!(s.memory.limit, Some(limit as u64));
        cg.delete().expect("delete");
    }

    #[test]
    fn default_device_rules_deny_other_devices() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("devices");
        cg.apply(&Resources {
            devices: Some(default_device_rules()),
            ..Default::default()
        })
        .expect("apply device rules");
        if let Some(d) = cg.controller_dir("devices") {
            let list = read(d, "devices.list");
            assert!(
                list.contains("c 1:3 rwm") && !list.contains("a *:* rwm"),
                "{list}"
            );
        }
        let (_tmp, nodes) = device_nodes(&[(1, 3, "null"), (1, 1, "mem"), (1, 9, "urandom")]);
        let got = open_results(&cg, &nodes);
        assert_eq!(
            got,
            ["ok", "1", "ok"],
            "null allowed, mem EPERM, urandom allowed"
        );
        cg.delete().expect("delete");
    }

    #[test]
    fn stats_report_usage() {
        if !is_root() {
            return;
        }
        let t = TestParent::detected();
        let cg = t.create("stats");
        let mut p = Proc::sh("read x; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo $i");
        cg.add_process(p.pid()).expect("add");
        p.release();
        let (_, out, _) = p.wait();
        assert_eq!(out.trim(), "200000");
        let s = cg.stats().expect("stats");
        assert!(s.cpu.usage_ns > 1_000_000, "{:?}", s.cpu);
        assert!(
            s.cpu.system_usage_ns > s.cpu.usage_ns && s.cpu.online_cpus >= 1,
            "{:?}",
            s.cpu
        );
        if !cg.is_v2() && cg.controller_dir("cpuacct").is_some() {
            assert_eq!(s.cpu.per_cpu_ns.len() as u32, s.cpu.online_cpus);
        }
        assert_eq!(s.pids.current, 0);
        if cg.controller_dir("memory").is_some() {
            assert!(!s.memory.stat.is_empty());
            assert_eq!(s.memory.limit, None);
        }
        cg.delete().expect("delete");
    }
}
