//! A container's file system through the CLI and the API: `cp` both ways (running and
//! stopped containers, tar streams, owners, symlinks that must stay inside the container,
//! hostile archives), `diff`, `commit` (the image runs and holds the changes), `export`,
//! and the sizes `ps -s` and `inspect -s` report.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::images::{archive_entry, docker_archive, raw_entry, raw_tar, Image};
use common::{assert_contains, Daemon};

fn with_busybox() -> Daemon {
    let d = Daemon::start();
    d.load(&docker_archive(
        &[Image::busybox().tagged("busybox:latest")],
    ));
    d
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A container that has run `script` and exited.
fn ran(d: &Daemon, name: &str, script: &str) {
    d.ok(&["run", "--name", name, "busybox", "sh", "-c", script]);
}

/// A container running `sleep` until the test ends.
fn running(d: &Daemon, name: &str) {
    d.ok(&["run", "-d", "--name", name, "busybox", "sleep", "1000"]);
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

/// The names in a tar archive, in order.
fn names(archive: &[u8]) -> Vec<String> {
    tar::Archive::new(archive)
        .entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect()
}

/// A tar of `(name, content)` regular files.
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn mounted(path: &Path) -> bool {
    read("/proc/self/mountinfo").contains(&path.display().to_string())
}

#[test]
fn cp_files_and_directories_both_ways() {
    let d = with_busybox();
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
    let d = with_busybox();
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
    let d = with_busybox();
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
    let d = with_busybox();
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
    let d = with_busybox();
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

/// The JSON of a path stat header.
fn decode_stat(header: &str) -> serde_json::Value {
    let json = berth_api_base64_decode(header);
    serde_json::from_slice(&json).unwrap()
}

fn berth_api_base64_decode(text: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        acc = (acc << 6) | A.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn archive_api_status_codes_and_hostile_archives() {
    let d = with_busybox();
    running(&d, "api");
    let host = tempfile::tempdir().unwrap();
    let r = d.api(
        "HEAD",
        "/v1.41/containers/api/archive?path=/etc/passwd",
        b"",
    );
    assert_eq!(r.status, 200);
    let stat = decode_stat(r.header("X-Docker-Container-Path-Stat").unwrap());
    assert_eq!(stat["name"], "passwd");
    assert_eq!(stat["mode"], 0o644);
    assert!(stat["size"].as_u64().unwrap() > 0);
    let r = d.api("GET", "/v1.41/containers/api/archive?path=/etc/passwd", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/x-tar"));
    assert!(r.header("X-Docker-Container-Path-Stat").is_some());
    assert_eq!(names(&r.body), ["passwd"]);

    for (method, path, status) in [
        ("HEAD", "/containers/ghost/archive?path=/etc", 404),
        ("HEAD", "/containers/api/archive?path=/nope", 404),
        ("HEAD", "/containers/api/archive", 400),
        ("HEAD", "/containers/api/archive?path=/etc/passwd/", 400),
        ("GET", "/containers/api/archive?path=/nope", 404),
        ("GET", "/containers/ghost/archive?path=/", 404),
        ("GET", "/containers/api/archive", 400),
        ("PUT", "/containers/api/archive?path=/nope", 404),
        ("PUT", "/containers/api/archive?path=/etc/passwd", 400),
        ("PUT", "/containers/ghost/archive?path=/tmp", 404),
        ("POST", "/containers/api/archive?path=/tmp", 405),
        ("GET", "/containers/ghost/changes", 404),
        ("GET", "/containers/ghost/export", 404),
        ("POST", "/commit?container=ghost", 404),
        ("POST", "/commit?container=api&repo=UPPER", 400),
        (
            "POST",
            "/commit?container=api&changes=RUN%20rm%20-rf%20%2F",
            400,
        ),
    ] {
        let body = if method == "PUT" {
            tar_of(&[("x", b"x")])
        } else {
            Vec::new()
        };
        let r = d.api(method, &format!("/v1.41{path}"), &body);
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
    }
    let r = d.api("GET", "/v1.41/containers/api/archive?path=/nope", b"");
    assert_eq!(
        r.json()["message"],
        "Could not find the file /nope in container api"
    );

    // `..` climbing out of the extraction directory is refused, and nothing is written.
    let marker = format!("berth-escape-{}", std::process::id());
    let climbing = raw_tar(&[raw_entry(
        &format!(
            "../../../../../../{}/{marker}",
            &host.path().display().to_string()[1..]
        ),
        tar::EntryType::Regular,
        "",
        b"out",
    )]);
    let r = d.api("PUT", "/v1.41/containers/api/archive?path=/tmp", &climbing);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_contains(&r.text(), "escapes");
    assert!(!host.path().join(&marker).exists());
    // A link to the host leads later entries nowhere but inside the extraction directory.
    let linked = raw_tar(&[
        raw_entry(
            "out",
            tar::EntryType::Symlink,
            &host.path().display().to_string(),
            b"",
        ),
        raw_entry(
            &format!("out/{marker}"),
            tar::EntryType::Regular,
            "",
            b"linked",
        ),
    ]);
    let r = d.api("PUT", "/v1.41/containers/api/archive?path=/tmp", &linked);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        !host.path().join(&marker).exists(),
        "followed a link onto the host"
    );
    // A hard link out of it is refused.
    let hard = raw_tar(&[raw_entry(
        "hard",
        tar::EntryType::Link,
        "../../../etc/passwd",
        b"",
    )]);
    let r = d.api("PUT", "/v1.41/containers/api/archive?path=/tmp", &hard);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_contains(&r.text(), "hard link");
    // An absolute entry lands inside the extraction directory.
    let abs = raw_tar(&[raw_entry(
        &format!("/{marker}-abs"),
        tar::EntryType::Regular,
        "",
        b"abs",
    )]);
    let r = d.api("PUT", "/v1.41/containers/api/archive?path=/tmp", &abs);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!Path::new("/").join(format!("{marker}-abs")).exists());
    let inside = d
        .cli()
        .args(["cp", &format!("api:/tmp/{marker}-abs"), "-"])
        .output()
        .unwrap();
    assert_eq!(
        archive_entry(&inside.stdout, &format!("{marker}-abs")).unwrap(),
        b"abs"
    );

    // noOverwriteDirNonDir refuses turning a directory into a file.
    let clash = tar_of(&[("etc", b"not a dir")]);
    let r = d.api(
        "PUT",
        "/v1.41/containers/api/archive?path=/&noOverwriteDirNonDir=true",
        &clash,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_contains(&r.text(), "cannot overwrite directory");
    let r = d.api(
        "PUT",
        "/v1.41/containers/api/archive?path=/tmp",
        &tar_of(&[("ok", b"fine")]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn diff_lists_changes_as_docker_does() {
    let d = with_busybox();
    // Mount points Berth provides are not the container's changes.
    running(&d, "idle");
    assert_eq!(d.ok(&["diff", "idle"]), "");
    d.ok(&["create", "--name", "created", "busybox"]);
    assert_eq!(d.ok(&["container", "diff", "created"]), "");
    ran(
        &d,
        "changed",
        "echo x > /etc/new; echo y >> /etc/passwd; rm /etc/group; mkdir -p /tmp/d; touch /tmp/d/f",
    );
    assert_eq!(
        d.ok(&["diff", "changed"]),
        "C /etc\nD /etc/group\nA /etc/new\nC /etc/passwd\nC /tmp\nA /tmp/d\nA /tmp/d/f\n"
    );
    let r = d.api("GET", "/v1.41/containers/changed/changes", b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()[1],
        serde_json::json!({"Path": "/etc/group", "Kind": 2})
    );
    assert_eq!(
        r.json()[2],
        serde_json::json!({"Path": "/etc/new", "Kind": 1})
    );
    assert_eq!(r.json()[0], serde_json::json!({"Path": "/etc", "Kind": 0}));
    let r = d.fails(&["diff", "ghost"]);
    assert_eq!(
        r.stderr.trim(),
        "Error response from daemon: No such container: ghost"
    );
}

#[test]
fn commit_makes_an_image_that_runs_with_the_changes() {
    let d = with_busybox();
    let busybox = d.image_id("busybox");
    ran(&d, "cm", "echo committed > /hello; rm /etc/group");
    let id = d.ok(&[
        "commit",
        "-a",
        "A U Thor <a@example.com>",
        "-m",
        "my message",
        "-c",
        "CMD [\"cat\", \"/hello\"]",
        "-c",
        "ENV FOO=bar",
        "cm",
        "me/app:v1",
    ]);
    let id = id.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(d.image_id("me/app:v1"), id);
    assert_eq!(d.ok(&["run", "--rm", "me/app:v1"]), "committed\n");
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "me/app:v1",
            "sh",
            "-c",
            "test -e /etc/group && echo present || echo gone; echo $FOO"
        ]),
        "gone\nbar\n"
    );
    let inspect = |f: &str| {
        d.ok(&["image", "inspect", "-f", f, "me/app:v1"])
            .trim()
            .to_string()
    };
    assert_eq!(inspect("{{.Author}}"), "A U Thor <a@example.com>");
    assert_eq!(inspect("{{.Parent}}"), busybox);
    assert_eq!(inspect("{{json .Config.Cmd}}"), r#"["cat","/hello"]"#);
    assert_eq!(inspect("{{len .RootFS.Layers}}"), "2");
    let history = d.ok(&["history", "--no-trunc", "me/app:v1"]);
    assert_contains(&history, "my message");
    assert_contains(&history, id);

    // A running container is paused for the commit and runs on after it.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo live > /live; sleep 1000",
    ]);
    eventually("the container's write", || {
        d.ok(&["diff", "live"]).contains("A /live")
    });
    let live = d.ok(&["container", "commit", "live"]).trim().to_string();
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Paused}}",
            "live"
        ])
        .trim(),
        "running false"
    );
    assert_eq!(d.ok(&["run", "--rm", &live, "cat", "/live"]), "live\n");
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{json .Config.Cmd}}", &live])
            .trim(),
        r#"["sh","-c","echo live > /live; sleep 1000"]"#,
        "the container's command became CMD"
    );
    let no_pause = d.ok(&["commit", "--pause=false", "live"]);
    assert!(no_pause.trim().starts_with("sha256:"));

    // Nothing changed: no new layer, one more history entry.
    d.ok(&["create", "--name", "untouched", "busybox"]);
    let same = d.ok(&["commit", "untouched"]).trim().to_string();
    let layers = d.ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", &same]);
    assert_eq!(layers.trim(), "1");

    let r = d.api(
        "POST",
        "/v1.41/commit?container=cm&repo=api/made&tag=t&comment=via%20api",
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["Id"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(d.image_id("api/made:t"), r.json()["Id"].as_str().unwrap());
}

#[test]
fn export_holds_the_whole_file_system() {
    let d = with_busybox();
    ran(&d, "ex", "echo exported > /root-file; rm /etc/group");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("fs.tar");
    d.ok(&["export", "-o", &file.display().to_string(), "ex"]);
    let archive = std::fs::read(&file).unwrap();
    assert_eq!(archive_entry(&archive, "root-file").unwrap(), b"exported\n");
    let listed = names(&archive);
    assert!(listed.contains(&"bin/busybox".to_string()), "{listed:?}");
    assert!(listed.contains(&"bin/".to_string()));
    assert!(!listed
        .iter()
        .any(|n| n.starts_with("./") || n.starts_with('/')));
    assert!(
        !listed.contains(&"etc/group".to_string()),
        "a deleted file was exported"
    );
    let r = d
        .cli()
        .args(["container", "export", "ex"])
        .output()
        .unwrap();
    assert!(r.status.success());
    assert_eq!(names(&r.stdout), listed);
    let r = d.fails(&["export", "-o", "/no/such/dir/fs.tar", "ex"]);
    assert_contains(&r.stderr, "does not exist");
}

#[test]
fn ps_and_inspect_report_sizes() {
    let d = with_busybox();
    let image_size: i64 = d
        .ok(&["image", "inspect", "-f", "{{.Size}}", "busybox"])
        .trim()
        .parse()
        .unwrap();
    ran(
        &d,
        "sz",
        "dd if=/dev/zero of=/big bs=1000 count=100 2>/dev/null",
    );
    let sizes = d.ok(&["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "sz"]);
    assert_eq!(sizes.trim(), format!("100000 {}", 100_000 + image_size));
    let sizes = d.ok(&["container", "inspect", "--size", "-f", "{{.SizeRw}}", "sz"]);
    assert_eq!(sizes.trim(), "100000");
    let plain = d.api("GET", "/v1.41/containers/sz/json", b"").json();
    assert!(plain.get("SizeRw").is_none());
    let table = d.ok(&["ps", "-a", "-s"]);
    let header = table.lines().next().unwrap();
    assert!(header.ends_with("SIZE"), "{header}");
    // docker's three significant digits, for a size of a few megabytes.
    let human = |n: f64| {
        let v = n / 1e6;
        let decimals = 2 - v.log10().floor() as usize;
        let text = format!("{v:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        };
        text + "MB"
    };
    let expected = format!("100kB (virtual {})", human((100_000 + image_size) as f64));
    assert_contains(&table, &expected);
    assert_eq!(
        d.ok(&["ps", "-a", "--format", "{{.Size}}"]).trim(),
        expected
    );
    let list = d
        .api("GET", "/v1.41/containers/json?all=1&size=1", b"")
        .json();
    assert_eq!(list[0]["SizeRw"], 100_000);
    assert_eq!(list[0]["SizeRootFs"], 100_000 + image_size);
    let df = d.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}}",
    ]);
    assert_contains(&df, "Containers 1 0 100kB");
}
