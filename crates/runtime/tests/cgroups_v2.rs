//! The cgroup v2 backend on this host's v2 hierarchy, even where v1 holds the controllers
//! (then the v2 mount beside v1 has none, but membership, freezing, cgroup.kill and device
//! filter programs all work without controllers): the BPF device filter is checked against
//! real device nodes opened by a process inside the cgroup.

mod cgroups_support;

/// Named so that `cargo test cgroups` selects these tests.
mod cgroups_v2 {
    use crate::cgroups_support::{
        device_nodes, is_root, open_results, procs, read, Proc, TestParent,
    };
    use berth_runtime::cgroups::{
        allow_all_device_rules, default_device_rules, device_filters_attached, Cgroup, DeviceRule,
        Hierarchy, Layout, Resources,
    };

    fn v2_parent() -> Option<TestParent> {
        if !is_root() {
            return None;
        }
        let layout = Layout::detect().expect("layout").unified_as_v2();
        if layout.is_none() {
            eprintln!("skipped: no cgroup v2 hierarchy mounted");
        }
        layout.map(TestParent::new)
    }

    #[test]
    fn device_filter_allows_only_listed_devices() {
        let Some(t) = v2_parent() else { return };
        let cg = t.create("bpf");
        assert!(cg.is_v2());
        let (_tmp, nodes) = device_nodes(&[
            (1, 3, "null"),
            (1, 11, "kmsg"),
            (1, 7, "full"),
            (10, 229, "fuse"),
        ]);

        cg.apply(&Resources {
            devices: Some(default_device_rules()),
            ..Default::default()
        })
        .expect("attach filter");
        assert_eq!(device_filters_attached(cg.dirs()[0]).expect("query"), 1);
        assert_eq!(open_results(&cg, &nodes), ["ok", "1", "ok", "1"]);

        // Re-applying replaces the program rather than stacking a second one; an extra rule
        // (docker run --device-cgroup-rule 'c 1:11 r') opens /dev/kmsg for reading.
        let mut rules = default_device_rules();
        rules.push(DeviceRule::parse("c 1:11 r").expect("rule"));
        cg.apply(&Resources {
            devices: Some(rules),
            ..Default::default()
        })
        .expect("replace filter");
        assert_eq!(device_filters_attached(cg.dirs()[0]).expect("query"), 1);
        assert_eq!(open_results(&cg, &nodes), ["ok", "ok", "ok", "1"]);

        cg.apply(&Resources {
            devices: Some(allow_all_device_rules()),
            ..Default::default()
        })
        .expect("privileged");
        // Everything allowed; a node whose driver is absent may still fail, but not with EPERM.
        let all = open_results(&cg, &nodes);
        assert!(all.iter().all(|r| r != "1"), "{all:?}");
        cg.delete().expect("delete");
    }

    #[test]
    fn v2_membership_freeze_and_kill() {
        let Some(t) = v2_parent() else { return };
        let cg = t.create("life");
        let a = Proc::spawn("sleep", &["5"]);
        let b = Proc::spawn("sleep", &["5"]);
        cg.add_process(a.pid()).expect("add a");
        cg.add_process(b.pid()).expect("add b");
        let dir = cg.dirs()[0].to_path_buf();
        let mut want = vec![a.pid(), b.pid()];
        want.sort();
        assert_eq!(procs(&dir).len(), 2);
        assert_eq!(cg.pids().expect("pids"), want);

        cg.freeze().expect("freeze");
        assert!(read(&dir, "cgroup.events").contains("frozen 1"));
        cg.thaw().expect("thaw");
        assert!(read(&dir, "cgroup.events").contains("frozen 0"));

        cg.kill_all(libc::SIGKILL).expect("kill_all");
        let (sa, _, _) = a.wait();
        let (sb, _, _) = b.wait();
        assert!(!sa.success() && !sb.success());
        cg.delete().expect("delete");
        assert!(!dir.exists());
    }

    #[test]
    fn v2_reopen_and_stale_cleanup() {
        let Some(t) = v2_parent() else { return };
        let one = t.create("one");
        let _two = t.create("two");
        let reopened = Cgroup::open(&t.layout, &t.name, "one").expect("open");
        assert_eq!(reopened.dirs(), one.dirs());
        let removed =
            Cgroup::cleanup_stale(&t.layout, &t.name, &|id| id == "two").expect("cleanup");
        assert_eq!(removed, ["one"]);
        assert!(!one.dirs()[0].exists());
    }

    /// An engine in a container with its own cgroup namespace sees a non-root cgroup as its
    /// top and sits in it; moving it into a leaf makes room for container cgroups.
    #[test]
    fn engine_processes_move_out_of_a_nested_top() {
        let Some(t) = v2_parent() else { return };
        let top = t.create("nested-top");
        let top_dir = top.dirs()[0].to_path_buf();
        let p = Proc::spawn("sleep", &["5"]);
        top.add_process(p.pid()).expect("add");
        let layout = Layout::V2 {
            hierarchy: Hierarchy {
                mount_point: top_dir.clone(),
                mount_root: "/".into(),
                own_path: Some("/".into()),
            },
            controllers: vec![],
        };
        assert!(layout.move_processes_to_leaf("init").expect("move"));
        assert_eq!(procs(&top_dir.join("init")), vec![p.pid()]);
        assert!(procs(&top_dir).is_empty());
        assert!(!layout.move_processes_to_leaf("init").expect("nothing left"));
        let cg = Cgroup::create(&layout, "berth", "c").expect("create beside init");
        cg.delete().expect("delete");
        Cgroup::remove_parent(&layout, "berth").expect("remove parent");
        top.delete().expect("delete top with its leaf");
        assert!(!top_dir.exists());
    }
}
