//! More of the container lifecycle through the CLI: a terminal and the detach keys, restart
//! policies when the engine starts again, and what `create` refuses before anything exists.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::images::{docker_archive, Image};
use common::pty::Terminal;
use common::{assert_contains, eventually, Daemon};

fn status(d: &Daemon, name: &str) -> String {
    d.ok(&["inspect", "-f", "{{.State.Status}}", name])
        .trim()
        .to_string()
}

#[test]
fn a_terminal_detach_keys_and_attach_again() {
    let d = Daemon::with_busybox();
    let mut cmd = d.cli();
    cmd.args(["run", "-it", "--name", "term", "busybox", "sh"]);
    let mut t = Terminal::spawn(cmd, 30, 100);
    t.type_in(b"tty; stty size; echo $TERM; ls -l /dev/console\r");
    // As under Docker: a terminal of the container's own devpts, also its console.
    t.expect("/dev/pts/0");
    t.expect("136,   0");
    t.expect("30 100");
    t.expect("xterm");
    // ctrl-p ctrl-q: the CLI returns at once, the container goes on.
    t.type_in(b"\x10\x11");
    assert_eq!(t.wait(), 0);
    assert_eq!(status(&d, "term"), "running");

    // Custom keys on attach; a broken partial sequence still lets the keys work.
    let mut cmd = d.cli();
    cmd.args(["attach", "--detach-keys", "ctrl-x,x", "term"]);
    let mut t = Terminal::spawn(cmd, 24, 80);
    t.type_in(b"echo attached-$((40+2))\r");
    t.expect("attached-42");
    t.type_in(b"\x18\x18x");
    assert_eq!(t.wait(), 0);
    assert_eq!(status(&d, "term"), "running");

    // Attached again, the shell's exit ends attach with its code.
    let mut cmd = d.cli();
    cmd.args(["attach", "term"]);
    let mut t = Terminal::spawn(cmd, 24, 80);
    t.type_in(b"exit 3\r");
    assert_eq!(t.wait(), 3);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "term"])
            .trim(),
        "3"
    );
    let r = d.run(&["run", "-it", "--detach-keys", "ctrl-1", "busybox", "true"]);
    assert_eq!(r.status, 125);
    assert_contains(&r.stderr, "Invalid escape keys (ctrl-1) provided");
}

#[test]
fn restart_policies_when_the_engine_starts_again() {
    let mut d = Daemon::with_busybox();
    let forever = [
        "sh",
        "-c",
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ];
    for (name, policy) in [
        ("always-stopped", "always"),
        ("unless-stopped", "unless-stopped"),
        ("no-policy", "no"),
    ] {
        let mut args = vec!["run", "-d", "--name", name, "--restart", policy, "busybox"];
        args.extend(forever);
        d.ok(&args);
        d.ok(&["stop", "-t", "1", name]);
    }
    // One that ends while the engine is away, with a policy that wants it back.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "comes-back",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 4",
    ]);
    d.kill9();
    std::thread::sleep(Duration::from_millis(1500));
    d.relaunch();
    // docker: `always` starts again even after a manual stop; `unless-stopped` does not.
    eventually("the always container", || {
        status(&d, "always-stopped") == "running"
    });
    eventually("the container that ended meanwhile", || {
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            "comes-back",
        ])
        .trim()
        .starts_with("running")
            || status(&d, "comes-back") == "restarting"
    });
    assert_eq!(status(&d, "unless-stopped"), "exited");
    assert_eq!(status(&d, "no-policy"), "exited");
}

#[test]
fn create_refuses_bad_options_before_anything_exists() {
    let d = Daemon::with_busybox();
    let refused = [
        (
            vec!["--security-opt", "bogus=1"],
            "invalid --security-opt 2: \"bogus=1\"",
        ),
        (
            vec!["--security-opt", "nothing"],
            "invalid --security-opt 1: \"nothing\"",
        ),
        (
            vec!["--ulimit", "nofile=10:5"],
            "soft limit must be less than or equal to hard limit",
        ),
        (vec!["--tmpfs", "relative"], "mount path must be absolute"),
        (
            vec!["--cpus", "0.5", "--cpu-quota", "1000"],
            "Nano CPUs and CPU Quota cannot both be set",
        ),
        (vec!["--cpus", "1000"], "Range of CPUs is from 0.01 to"),
    ];
    for (flags, message) in refused {
        let mut args = vec!["create"];
        args.extend(&flags);
        args.extend(["busybox", "true"]);
        let r = d.run(&args);
        assert_eq!(r.status, 125, "{flags:?}: {}", r.stderr);
        assert_contains(&r.stderr, message);
    }
    assert!(
        d.ok(&["ps", "-aq"]).trim().is_empty(),
        "nothing was created"
    );

    // A container ID file that exists already: refused before the container is made.
    let cidfile = d.dir.path().join("cid");
    std::fs::write(&cidfile, "taken").unwrap();
    let cid = cidfile.to_str().unwrap();
    let r = d.run(&["run", "-d", "--cidfile", cid, "busybox", "true"]);
    assert_eq!(r.status, 125);
    assert_contains(&r.stderr, "container ID file found");
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
    std::fs::remove_file(&cidfile).unwrap();
    let id = d.ok(&["create", "--cidfile", cid, "busybox", "true"]);
    assert_eq!(std::fs::read_to_string(&cidfile).unwrap(), id.trim());
    d.ok(&["rm", id.trim()]);
    // A failed create gives the file up again.
    std::fs::remove_file(&cidfile).unwrap();
    let r = d.run(&[
        "create",
        "--cidfile",
        cid,
        "--ulimit",
        "bogus=1",
        "busybox",
        "true",
    ]);
    assert_eq!(r.status, 125);
    assert!(!cidfile.exists());
}

#[test]
fn create_rm_no_new_privileges_and_explicit_groups() {
    let d = Daemon::with_busybox();
    let id = d
        .ok(&["create", "--rm", "busybox", "true"])
        .trim()
        .to_string();
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.HostConfig.AutoRemove}}", &id])
            .trim(),
        "true"
    );
    d.ok(&["start", "-a", &id]);
    eventually("the removal", || d.ok(&["ps", "-aq"]).trim().is_empty());

    let out = d.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    assert_contains(&out, "1");
    let out = d.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges=false",
        "busybox",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    assert_contains(&out, "0");
    // `user:group` makes that group the only one.
    assert_eq!(
        d.ok(&["run", "--rm", "-u", "root:65534", "busybox", "id", "-G"])
            .trim(),
        "65534"
    );
}

#[test]
fn the_loopback_interface_is_up() {
    let d = Daemon::with_busybox();
    // IFF_UP | IFF_LOOPBACK, read through the container's own /sys.
    for network in ["none", "default"] {
        assert_eq!(
            d.ok(&[
                "run",
                "--rm",
                "--network",
                network,
                "busybox",
                "cat",
                "/sys/class/net/lo/flags"
            ])
            .trim(),
            "0x9",
            "--network {network}"
        );
    }
}

#[test]
fn privileged_containers_get_the_hosts_devices() {
    let d = Daemon::with_busybox();
    // Any block device of the host and one in a subdirectory, if the host has them.
    let wanted: Vec<String> = ["/dev/loop0", "/dev/net/tun", "/dev/kmsg"]
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .collect();
    assert!(
        !wanted.is_empty(),
        "the host has none of the devices looked for"
    );
    let mut args = vec!["run", "--rm", "--privileged", "busybox", "ls"];
    args.extend(wanted.iter().map(String::as_str));
    let listed = d.ok(&args);
    for w in &wanted {
        assert_contains(&listed, w);
    }
    let mut args = vec!["run", "--rm", "busybox", "ls"];
    args.extend(wanted.iter().map(String::as_str));
    assert_ne!(
        d.run(&args).status,
        0,
        "an unprivileged container has none of them"
    );
}

#[test]
fn rmi_of_a_name_the_image_does_not_need_is_not_held_up_by_containers() {
    let d = Daemon::with_busybox();
    d.ok(&["tag", "busybox", "other:1"]);
    d.ok(&["create", "--name", "user", "busybox", "true"]);
    assert_contains(&d.ok(&["rmi", "other:1"]), "Untagged: other:1");
    let r = d.run(&["rmi", "busybox"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "container");
    assert_contains(&r.stderr, "is using its referenced image");
}

#[test]
fn ps_ancestor_matches_images_built_on_the_one_named() {
    let d = Daemon::with_busybox();
    d.ok(&["run", "--name", "base", "busybox", "touch", "/x"]);
    d.ok(&["commit", "base", "child:1"]);
    d.ok(&["create", "--name", "derived", "child:1", "true"]);
    let names = |filter: &str| {
        let mut v: Vec<String> = d
            .ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"])
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("ancestor=busybox"), ["base", "derived"]);
    assert_eq!(names("ancestor=child:1"), ["derived"]);
}

/// Every process of a container, the first and those of `exec`, is in the container's
/// cgroup in every hierarchy Berth manages (v1 controllers and the v2 mount).
#[test]
fn container_and_exec_processes_are_in_the_containers_cgroups() {
    let d = Daemon::with_busybox();
    let id = d
        .ok(&["run", "-d", "--name", "cg", "busybox", "sleep", "300"])
        .trim()
        .to_string();
    d.ok(&["exec", "-d", "cg", "sleep", "301"]);
    let mut pids = Vec::new();
    eventually("the exec'd process", || {
        pids = d
            .ok(&["top", "cg", "-o", "pid"])
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .collect();
        pids.len() == 2
    });
    let wanted = format!("/{}/{id}", d.cgroup_parent());
    for pid in pids {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let mut managed = 0;
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) =
                (parts.next(), parts.next().unwrap(), parts.next().unwrap());
            if controllers.starts_with("name=") {
                continue; // named hierarchies (systemd's) are not Berth's
            }
            assert_eq!(
                path, wanted,
                "pid {pid}, hierarchy {controllers:?}:\n{text}"
            );
            managed += 1;
        }
        assert!(managed > 0, "{text}");
    }
}

#[test]
fn the_engines_default_log_options_rotate_logs() {
    let d = Daemon::start_with(&["--log-opt", "max-size=2k", "--log-opt", "max-file=2"]);
    d.load(&docker_archive(
        &[Image::busybox().tagged("busybox:latest")],
    ));
    d.ok(&[
        "run",
        "--name",
        "chatty",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done",
    ]);
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}}",
            "chatty"
        ])
        .trim(),
        "json-file 2k"
    );
    let id = d
        .ok(&["inspect", "-f", "{{.Id}}", "chatty"])
        .trim()
        .to_string();
    let dir = d.data_root().join("containers").join(&id);
    let mut logs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-json.log"))
        .collect();
    logs.sort();
    assert_eq!(logs, [format!("{id}-json.log"), format!("{id}-json.log.1")]);
    // What is left is the end of the output, in order.
    let shown = d.ok(&["logs", "chatty"]);
    assert!(shown.ends_with("line-399\n"), "{shown}");
    // A container's own options win; a bad default is refused at start.
    d.ok(&[
        "run",
        "--log-opt",
        "max-size=1m",
        "--name",
        "own",
        "busybox",
        "true",
    ]);
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{index .HostConfig.LogConfig.Config \"max-size\"}}",
            "own"
        ])
        .trim(),
        "1m"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("daemon.json");
    std::fs::write(&config, r#"{"log-opts": {"max-file": "0"}}"#).unwrap();
    let out = std::process::Command::new(common::BERTH)
        .args(["daemon", "--config-file"])
        .arg(&config)
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_contains(&String::from_utf8_lossy(&out.stderr), "max-file");
}

#[test]
fn etc_hosts_hostname_and_resolv_conf_of_its_own() {
    let d = Daemon::with_busybox();
    let out = d.ok(&[
        "run",
        "--rm",
        "-h",
        "box",
        "--add-host",
        "db:10.1.2.3",
        "--dns",
        "9.9.9.9",
        "--dns-search",
        "example.test",
        "--dns-option",
        "ndots:2",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hostname; echo --; cat /etc/hosts; echo --; cat /etc/resolv.conf",
    ]);
    let parts: Vec<&str> = out.split("--\n").collect();
    assert_eq!(parts[0], "box\n");
    assert_contains(parts[1], "127.0.0.1\tlocalhost\n");
    assert_contains(parts[1], "10.1.2.3\tdb\n");
    assert_eq!(
        parts[2],
        "nameserver 9.9.9.9\nsearch example.test\noptions ndots:2\n"
    );
    // Each container has its own: a change in one is not seen by another.
    d.ok(&[
        "run",
        "--name",
        "writer",
        "busybox",
        "sh",
        "-c",
        "echo 1.1.1.1 x >> /etc/hosts",
    ]);
    assert!(!d
        .ok(&["run", "--rm", "busybox", "cat", "/etc/hosts"])
        .contains("1.1.1.1"));
    // And the host's are untouched.
    assert!(!std::fs::read_to_string("/etc/hosts")
        .unwrap()
        .contains("1.1.1.1 x"));
}
