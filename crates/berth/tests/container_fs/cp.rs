//! `cp` in both directions, for running and stopped containers, tar streams, owners, and
//! paths that must resolve inside the container.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::common::assert_contains;
use super::common::images::archive_entry;
use super::{decode_stat, eventually, mounted, names, ran, read, running, tar_of};
use crate::common::Daemon;

#[test]
fn cp_files_and_directories_both_ways() {
    let d = Daemon::with_busybox();
    let local = tempfile::tempdir().unwrap();
    let l = local.path();
    std::fs::write(l.join("f.txt"), "hello\n").unwrap();
    std::fs::create_dir_all(l.join("d/a")).unwrap();
    std::fs::write(l.join("d/a/b.txt"), "deep\n").unwrap();
    let s = |p: &str| l.join(p).display().to_string();

    running(&d, "run1");
    // A file into a directory, a directory to a new name, and back out again.
    d.ok(&["cp", &s("f.txt"), "run1:/tmp/"]);
    d.ok(&["container", "cp", &s("d"), "run1:/tmp/newdir"]);
    d.ok(&["cp", "run1:/tmp/f.txt", &s("back.txt")]);
    assert_eq!(read(l.join("back.txt")), "hello\n");
    d.ok(&["cp", "run1:/tmp/newdir", &s("out")]);
    assert_eq!(read(l.join("out/a/b.txt")), "deep\n");
    // Into an existing directory the source keeps its name; `/.` copies the contents.
    std::fs::create_dir(l.join("existing")).unwrap();
    d.ok(&["cp", "run1:/etc", &s("existing")]);
    assert_contains(&read(l.join("existing/etc/passwd")), "root:x:0:0");
    d.ok(&["cp", "run1:/etc/.", &s("contents")]);
    assert_contains(&read(l.join("contents/passwd")), "root:x:0:0");
    assert!(!l.join("contents/etc").exists());
    // The whole root file system, and a local directory's contents under a new name.
    d.ok(&["cp", "run1:/", &s("rootcopy")]);
    assert!(l.join("rootcopy/bin/busybox").is_file());
    assert_contains(&read(l.join("rootcopy/etc/passwd")), "root:x:0:0");
    d.ok(&["cp", &s("d/."), "run1:/tmp/flat"]);
    d.ok(&["cp", "run1:/tmp/flat/a/b.txt", &s("flat.txt")]);
    assert_eq!(read(l.join("flat.txt")), "deep\n");
    // A file onto an existing file replaces it, under the destination's name.
    d.ok(&["cp", "run1:/etc/group", &s("f.txt")]);
    assert_contains(&read(l.join("f.txt")), "root:x:0:");

    // docker's errors, exit status 1.
    let r = d.fails(&["cp", "run1:/nope", &s("x")]);
    assert_eq!(
        (r.status, r.stderr.trim()),
        (1, "Error: No such container:path: run1:/nope")
    );
    let r = d.fails(&["cp", "ghost:/etc", &s("x")]);
    assert_eq!(r.stderr.trim(), "Error: No such container:path: ghost:/etc");
    let r = d.fails(&["cp", &s("d"), "run1:/etc/passwd"]);
    assert_eq!((r.status, r.stderr.trim()), (1, "cannot copy directory"));
    let r = d.fails(&["cp", "run1:/etc", &s("back.txt")]);
    assert_eq!(r.stderr.trim(), "cannot copy directory");
    let r = d.fails(&["cp", &s("f.txt"), "run1:/tmp/no/such/dir/"]);
    assert_eq!(r.status, 1);
    let r = d.fails(&["cp", "run1:/etc", "run1:/tmp"]);
    assert_contains(&r.stderr, "copying between containers is not supported");
    let r = d.fails(&["cp", &s("f.txt"), &s("g.txt")]);
    assert_contains(&r.stderr, "must specify at least one container source");
}

#[test]
fn cp_works_on_stopped_containers_and_leaves_nothing_mounted() {
    let d = Daemon::with_busybox();
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("in.txt"), "into a created container\n").unwrap();
    let file = local.path().join("in.txt").display().to_string();

    // Never started: the root file system is prepared for the copy, then used by start.
    d.ok(&["create", "--name", "fresh", "busybox", "cat", "/tmp/in.txt"]);
    d.ok(&["cp", &file, "fresh:/tmp/in.txt"]);
    assert_eq!(
        d.ok(&["start", "-a", "fresh"]),
        "into a created container\n"
    );

    ran(&d, "done", "echo bye > /out");
    let id = d
        .ok(&["inspect", "-f", "{{.Id}}", "done"])
        .trim()
        .to_string();
    let merged = d.data_root().join("layers/active").join(&id).join("merged");
    let out = local.path().join("out").display().to_string();
    d.ok(&["cp", "done:/out", &out]);
    assert_eq!(read(&out), "bye\n");
    d.ok(&["cp", &file, "done:/"]);
    assert!(
        !mounted(&merged),
        "cp left the stopped container's file system mounted"
    );
    d.ok(&["start", "done"]);
    eventually("the container to exit again", || {
        d.ok(&["inspect", "-f", "{{.State.Status}}", "done"]).trim() == "exited"
    });
    d.ok(&["cp", "done:/in.txt", &out]);
    assert_eq!(read(&out), "into a created container\n");
}

#[test]
fn cp_streams_tar_archives_with_a_dash() {
    let d = Daemon::with_busybox();
    running(&d, "streamer");
    let r = d
        .cli()
        .args(["cp", "streamer:/etc/passwd", "-"])
        .output()
        .unwrap();
    assert!(r.status.success());
    assert_eq!(names(&r.stdout), ["passwd"]);
    assert_contains(
        &String::from_utf8_lossy(&archive_entry(&r.stdout, "passwd").unwrap()),
        "root:x:0:0",
    );
    let r = d
        .cli()
        .args(["cp", "streamer:/etc/", "-"])
        .output()
        .unwrap();
    let listed = names(&r.stdout);
    assert_eq!(listed[0], "etc/");
    assert!(listed.contains(&"etc/passwd".to_string()), "{listed:?}");

    let archive = tar_of(&[("streamed.txt", b"from stdin\n"), ("sub/x", b"x")]);
    let r = d.run_stdin(&["cp", "-", "streamer:/tmp"], &archive);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let r = d
        .cli()
        .args(["cp", "streamer:/tmp/streamed.txt", "-"])
        .output()
        .unwrap();
    assert_eq!(
        archive_entry(&r.stdout, "streamed.txt").unwrap(),
        b"from stdin\n"
    );
    let r = d.run_stdin(&["cp", "-", "streamer:/etc/passwd"], &archive);
    assert_eq!(r.status, 1);
    assert_contains(
        &r.stderr,
        "destination \"streamer:/etc/passwd\" must be a directory",
    );
}

#[test]
fn cp_archive_mode_keeps_owners() {
    let d = Daemon::with_busybox();
    let local = tempfile::tempdir().unwrap();
    let f = local.path().join("owned");
    std::fs::write(&f, "mine").unwrap();
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).unwrap();
    let f = f.display().to_string();
    d.ok(&[
        "create",
        "--name",
        "owner",
        "busybox",
        "stat",
        "-c",
        "%u:%g",
        "/tmp/kept",
        "/tmp/root",
    ]);
    d.ok(&["cp", "-a", &f, "owner:/tmp/kept"]);
    d.ok(&["cp", &f, "owner:/tmp/root"]);
    assert_eq!(d.ok(&["start", "-a", "owner"]), "1234:5678\n0:0\n");
    // And back out: -a keeps the container's owners locally too.
    let back = local.path().join("back");
    d.ok(&["cp", "-a", "owner:/tmp/kept", &back.display().to_string()]);
    let meta = std::fs::metadata(&back).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 5678));
}

#[test]
fn symlinks_in_the_container_never_lead_to_the_host() {
    let d = Daemon::with_busybox();
    let host = tempfile::tempdir().unwrap();
    let host_dir = host.path().display().to_string();
    let marker = format!("berth-cp-escape-{}", std::process::id());
    let passwd_before = std::fs::read("/etc/passwd").unwrap();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "links",
        "busybox",
        "sh",
        "-c",
        &format!(
            "mkdir -p {host_dir}; busybox ln -s / /evil; busybox ln -s /etc /hostetc; \
             busybox ln -s {host_dir} /escape; sleep 1000"
        ),
    ]);
    eventually("the links", || {
        d.run(&["cp", "links:/escape", "-"]).status == 0
    });
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join(&marker);
    std::fs::write(&file, "written through a link\n").unwrap();
    let file = file.display().to_string();
    let passwd = local.path().join("passwd");
    std::fs::write(&passwd, "hacked:x:0:0::/:/bin/sh\n").unwrap();

    for stopped in [false, true] {
        if stopped {
            d.ok(&["stop", "-t", "0", "links"]);
        }
        // Into a directory reached through links, and onto a file through one.
        d.ok(&["cp", &file, "links:/escape/"]);
        d.ok(&["cp", &file, "links:/hostetc"]);
        d.ok(&[
            "cp",
            &passwd.display().to_string(),
            "links:/evil/etc/passwd",
        ]);
        assert!(
            !host.path().join(&marker).exists(),
            "wrote into the host's directory"
        );
        assert!(
            !Path::new("/etc").join(&marker).exists(),
            "wrote into the host's /etc"
        );
        assert_eq!(std::fs::read("/etc/passwd").unwrap(), passwd_before);
        // Reads resolve inside the container as well.
        let r = d
            .cli()
            .args(["cp", "links:/evil/etc/passwd", "-"])
            .output()
            .unwrap();
        assert_eq!(
            archive_entry(&r.stdout, "passwd").unwrap(),
            b"hacked:x:0:0::/:/bin/sh\n"
        );
        let r = d
            .cli()
            .args(["cp", &format!("links:/escape/{marker}"), "-"])
            .output()
            .unwrap();
        assert_eq!(
            archive_entry(&r.stdout, &marker).unwrap(),
            b"written through a link\n"
        );
    }
    // -L follows a link, inside the container, and keeps the link's name.
    let out = local.path().join("etc-copy").display().to_string();
    d.ok(&["cp", "-L", "links:/hostetc", &out]);
    assert_eq!(read(format!("{out}/passwd")), "hacked:x:0:0::/:/bin/sh\n");
    // Without -L the link itself is copied.
    let link = local.path().join("the-link");
    d.ok(&["cp", "links:/hostetc", &link.display().to_string()]);
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/etc"));
    // The stat says where a link leads, inside the container.
    let r = d.api("HEAD", "/v1.41/containers/links/archive?path=/escape", b"");
    assert_eq!(r.status, 200);
    let stat = decode_stat(r.header("X-Docker-Container-Path-Stat").unwrap());
    assert_eq!(stat["name"], "escape");
    assert_eq!(stat["linkTarget"], host_dir.as_str());
    assert_ne!(stat["mode"].as_u64().unwrap() & (1 << 27), 0, "a symlink");
}
