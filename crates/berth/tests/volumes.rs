//! Volumes and bind mounts end to end: named volumes made on first use and kept across
//! containers and engine crashes, anonymous ones removed with their container, bind mounts
//! (read-only enforced), copy-up from the image and `nocopy`, `--volumes-from`, the volume
//! commands with docker's in-use and prune rules, and bad specs refused with nothing made —
//! including an image whose mount point is a symlink to the host's /etc.

mod common;

use common::{assert_contains, images, Daemon};

fn engine() -> Daemon {
    let d = Daemon::start();
    d.load(&images::docker_archive(&[
        common::net::netbox().tagged("netbox:latest")
    ]));
    d
}

fn volumes(d: &Daemon) -> Vec<String> {
    d.ok(&["volume", "ls", "-q"])
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn named_volumes_keep_data_across_containers_and_engine_crashes() {
    let mut d = engine();
    d.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "netbox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert!(volumes(&d).contains(&"data".to_string()));
    let mountpoint = d.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "data"]);
    assert_eq!(
        std::fs::read_to_string(format!("{}/f", mountpoint.trim())).unwrap(),
        "kept\n"
    );
    d.kill9();
    d.relaunch();
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data:ro",
        "netbox",
        "cat",
        "/data/f",
    ]);
    assert_eq!(out, "kept\n");
    let r = d.run(&[
        "run",
        "--rm",
        "-v",
        "data:/data:ro",
        "netbox",
        "sh",
        "-c",
        "echo x > /data/g",
    ]);
    assert_ne!(r.status, 0, "a read-only volume was written");
    // `rm -v` and `run --rm` leave named volumes alone.
    assert!(volumes(&d).contains(&"data".to_string()));
}

#[test]
fn anonymous_volumes_go_with_their_container() {
    let d = engine();
    d.ok(&[
        "run", "-d", "--name", "anon", "-v", "/scratch", "netbox", "sleep", "100",
    ]);
    let name = d.ok(&["inspect", "-f", "{{(index .Mounts 0).Name}}", "anon"]);
    let name = name.trim().to_string();
    assert_eq!(name.len(), 64);
    assert!(volumes(&d).contains(&name));
    let r = d.fails(&["volume", "rm", &name]);
    assert_contains(&r.stderr, "volume is in use");
    d.ok(&["rm", "-f", "-v", "anon"]);
    assert!(!volumes(&d).contains(&name));

    let before = volumes(&d);
    d.ok(&["run", "--rm", "-v", "/tmpdata", "netbox", "true"]);
    assert_eq!(volumes(&d), before, "run --rm left its anonymous volume");
}

#[test]
fn bind_mounts_read_write_and_read_only() {
    let d = engine();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in"), "from-host\n").unwrap();
    let src = host.path().display().to_string();
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{src}:/mnt"),
        "netbox",
        "sh",
        "-c",
        "cat /mnt/in; echo back > /mnt/out",
    ]);
    assert_eq!(out, "from-host\n");
    assert_eq!(
        std::fs::read_to_string(host.path().join("out")).unwrap(),
        "back\n"
    );
    let r = d.run(&[
        "run",
        "--rm",
        "-v",
        &format!("{src}:/mnt:ro"),
        "netbox",
        "sh",
        "-c",
        "echo x > /mnt/no",
    ]);
    assert_ne!(r.status, 0);
    assert!(!host.path().join("no").exists());
    // A missing host directory is made, as docker's -v does.
    let missing = host.path().join("new/dir");
    d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/m", missing.display()),
        "netbox",
        "true",
    ]);
    assert!(missing.is_dir());
    let inspect_src = d.ok(&[
        "run",
        "-d",
        "--name",
        "bb",
        "-v",
        &format!("{src}:/mnt:ro"),
        "netbox",
        "sleep",
        "10",
    ]);
    assert!(!inspect_src.is_empty());
    let mounts = d.ok(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}}{{end}}",
        "bb",
    ]);
    assert_eq!(mounts.trim(), format!("bind {src} /mnt false"));
    d.ok(&["rm", "-f", "bb"]);
}

#[test]
fn new_volumes_start_with_the_images_content_unless_nocopy() {
    let d = engine();
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "site:/www",
        "netbox",
        "cat",
        "/www/index.html",
    ]);
    assert_eq!(out, "hello\n");
    // The copy is the volume's now: a change stays.
    d.ok(&[
        "run",
        "--rm",
        "-v",
        "site:/www",
        "netbox",
        "sh",
        "-c",
        "echo changed > /www/index.html",
    ]);
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "site:/www",
        "netbox",
        "cat",
        "/www/index.html",
    ]);
    assert_eq!(out, "changed\n");
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "bare:/www:nocopy",
        "netbox",
        "ls",
        "-A",
        "/www",
    ]);
    assert_eq!(out.trim(), "");
}

#[test]
fn volumes_from_shares_another_containers_mounts() {
    let d = engine();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "-v",
        "shared:/shared",
        "netbox",
        "sh",
        "-c",
        "echo one > /shared/f; sleep 100",
    ]);
    common::eventually("the holder wrote its file", || {
        d.run(&["exec", "holder", "cat", "/shared/f"]).stdout == "one\n"
    });
    let out = d.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "holder:ro",
        "netbox",
        "cat",
        "/shared/f",
    ]);
    assert_eq!(out, "one\n");
    let r = d.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "holder:ro",
        "netbox",
        "sh",
        "-c",
        "echo x > /shared/g",
    ]);
    assert_ne!(r.status, 0);
    d.ok(&["rm", "-f", "holder"]);
}

#[test]
fn volume_commands_and_prune_rules() {
    let d = engine();
    d.ok(&["volume", "create", "--label", "team=a", "labelled"]);
    d.ok(&["volume", "create", "plain"]);
    d.ok(&[
        "run", "-d", "--name", "user", "-v", "plain:/p", "-v", "/anon", "netbox", "sleep", "100",
    ]);
    let q = d.ok(&["volume", "ls", "-q", "--filter", "label=team=a"]);
    assert_eq!(q.trim(), "labelled");
    let dangling = d.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]);
    assert_eq!(dangling.trim(), "labelled");
    let ls = d.ok(&["volume", "ls"]);
    assert_contains(&ls, "DRIVER");
    assert_contains(&ls, "VOLUME NAME");
    assert_contains(&ls, "local");

    d.ok(&["rm", "-f", "user"]);
    // Without -a, prune takes anonymous volumes only.
    let anon_before: Vec<String> = volumes(&d).into_iter().filter(|v| v.len() == 64).collect();
    assert_eq!(anon_before.len(), 1);
    d.ok(&["volume", "prune", "-f"]);
    let left = volumes(&d);
    assert!(left.contains(&"labelled".to_string()) && left.contains(&"plain".to_string()));
    assert!(!left.contains(&anon_before[0]));
    d.ok(&["volume", "prune", "-f", "-a"]);
    assert!(volumes(&d).is_empty());
    let r = d.fails(&["volume", "rm", "nope"]);
    assert_contains(&r.stderr, "No such volume: nope");
}

#[test]
fn bad_specs_are_refused_and_make_nothing() {
    let d = engine();
    for (spec, why) in [
        ("../etc:/x", "invalid characters for a local volume name"),
        ("ok_name:relative", "must be absolute"),
        ("ok_name:/x:bogus", "invalid mode"),
    ] {
        let r = d.fails(&["run", "--rm", "-v", spec, "netbox", "true"]);
        assert_contains(&r.stderr, why);
    }
    let r = d.fails(&[
        "run",
        "--rm",
        "-v",
        "one:/same",
        "-v",
        "two:/same",
        "netbox",
        "true",
    ]);
    assert_contains(&r.stderr, "Duplicate mount point");
    let r = d.fails(&["volume", "create", "a/b"]);
    assert_contains(&r.stderr, "invalid characters");
    assert!(volumes(&d).is_empty(), "{:?}", volumes(&d));
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn a_symlinked_mount_point_never_reaches_the_host() {
    let d = Daemon::start();
    // A malicious image: /data is a symlink to /etc.
    let evil = images::layer(&[("data", b"-> /etc", 0o777)]);
    let image =
        images::Image::new(vec![images::busybox_layer(), evil], &["sh"]).tagged("evil:latest");
    d.load(&images::docker_archive(&[image]));
    let host_passwd = std::fs::read("/etc/passwd").unwrap();
    d.ok(&[
        "run",
        "--rm",
        "-v",
        "grab:/data",
        "evil",
        "sh",
        "-c",
        "echo pwned > /data/pwned",
    ]);
    assert!(
        !std::path::Path::new("/etc/pwned").exists(),
        "the host's /etc was written"
    );
    assert_eq!(std::fs::read("/etc/passwd").unwrap(), host_passwd);
    let mountpoint = d.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "grab"]);
    // The copy-up took the image's /etc (through the symlink, inside the image), not the host's.
    assert!(!std::path::Path::new(mountpoint.trim())
        .join("os-release")
        .exists());
    let tmp = tempfile::tempdir().unwrap();
    let r = d.run(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/data", tmp.path().display()),
        "evil",
        "true",
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(!std::path::Path::new("/etc/pwned").exists());
}

#[test]
fn mount_flag_binds_volumes_and_tmpfs() {
    let d = engine();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "bound\n").unwrap();
    let src = host.path().display().to_string();
    let out = d.ok(&[
        "run",
        "--rm",
        "--mount",
        &format!("type=bind,src={src},dst=/b,readonly"),
        "--mount",
        "type=volume,src=mvol,dst=/v,volume-label=kind=test",
        "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m",
        "netbox",
        "sh",
        "-c",
        "cat /b/f; echo x > /v/x; grep ' /t ' /proc/mounts; echo y > /b/y || echo ro",
    ]);
    assert_contains(&out, "bound");
    assert_contains(&out, "tmpfs /t tmpfs");
    assert_contains(&out, "size=1024k");
    assert_contains(&out, "ro");
    assert_eq!(
        d.ok(&["volume", "inspect", "-f", "{{.Labels.kind}}", "mvol"])
            .trim(),
        "test"
    );
    let r = d.fails(&[
        "run",
        "--rm",
        "--mount",
        "type=bind,src=/no/such/dir,dst=/x",
        "netbox",
        "true",
    ]);
    assert_contains(&r.stderr, "bind source path does not exist: /no/such/dir");
    assert!(!std::path::Path::new("/no/such/dir").exists());
}

fn mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

#[test]
fn local_driver_options_mount_a_device_while_in_use() {
    let d = engine();
    d.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=2m",
        "ram",
    ]);
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "ram:/r",
        "netbox",
        "sh",
        "-c",
        "grep ' /r ' /proc/mounts",
    ]);
    assert_contains(&out, "tmpfs /r tmpfs");
    assert_contains(&out, "size=2048k");
    let mountpoint = d.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "ram"]);
    assert!(
        !mounted(mountpoint.trim()),
        "the tmpfs stayed mounted with no user"
    );

    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "on-host\n").unwrap();
    let device = format!("device={}", host.path().display());
    d.ok(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        &device,
        "-o",
        "o=bind",
        "hostdir",
    ]);
    let out = d.ok(&["run", "--rm", "-v", "hostdir:/h", "netbox", "cat", "/h/f"]);
    assert_eq!(out, "on-host\n");
    d.ok(&["volume", "rm", "hostdir"]);
    assert!(
        host.path().join("f").exists(),
        "removing the volume removed its device's content"
    );

    let r = d.fails(&["volume", "create", "-o", "size=1m", "badopt"]);
    assert_contains(&r.stderr, "invalid option key");
    assert!(!volumes(&d).contains(&"badopt".to_string()));
}

#[test]
fn bind_propagation_applies() {
    let d = engine();
    let host = tempfile::tempdir().unwrap();
    let src = host.path().display().to_string();
    let shared = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{src}:/mnt:rshared"),
        "netbox",
        "grep",
        " /mnt ",
        "/proc/self/mountinfo",
    ]);
    assert_contains(&shared, "shared:");
    let private = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{src}:/mnt"),
        "netbox",
        "grep",
        " /mnt ",
        "/proc/self/mountinfo",
    ]);
    assert!(!private.contains("shared:"), "{private}");
    // Under a shared mount a bind would be shared too: a private one asked for is made so.
    let inner = tempfile::tempdir().unwrap();
    let nested = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{src}:/mnt:rshared"),
        "-v",
        &format!("{}:/mnt/in:rprivate", inner.path().display()),
        "netbox",
        "grep",
        " /mnt/in ",
        "/proc/self/mountinfo",
    ]);
    assert!(!nested.contains("shared:"), "{nested}");
}

/// A layer with `/data` (mode 0750, uid 1000) holding `note` (mode 0640, uid 1000, gid 1001).
fn owned_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut entry = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(1000);
        h.set_gid(1001);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data)
            .expect("appending to a tar in memory");
    };
    entry("data", tar::EntryType::Directory, 0o750, b"");
    entry("data/note", tar::EntryType::Regular, 0o640, b"owned\n");
    b.into_inner().expect("finishing a tar in memory")
}

#[test]
fn copy_up_keeps_owners_and_modes_and_volume_opt_applies() {
    let d = Daemon::start();
    let image = images::Image::new(vec![images::busybox_layer(), owned_layer()], &["sh"])
        .tagged("owned:latest");
    d.load(&images::docker_archive(&[image]));
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "kept:/data",
        "owned",
        "sh",
        "-c",
        "stat -c '%u %g %a' /data /data/note; cat /data/note",
    ]);
    assert_eq!(out, "1000 1001 750\n1000 1001 640\nowned\n");
    let mountpoint = d.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "kept"]);
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(std::path::Path::new(mountpoint.trim()).join("note")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (1000, 1001, 0o640)
    );

    // --mount's volume-opt makes the new volume a tmpfs.
    let out = d.ok(&[
        "run", "--rm", "--mount",
        "type=volume,src=ramvol,dst=/r,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=3m",
        "owned", "grep", " /r ", "/proc/mounts",
    ]);
    assert_contains(&out, "size=3072k");
}

#[test]
fn symlinked_bind_sources_resolve_and_nonrecursive_binds_leave_submounts() {
    let d = engine();
    let host = tempfile::tempdir().unwrap();
    let real = host.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("f"), "through-link\n").unwrap();
    let link = host.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/m", link.display()),
        "netbox",
        "cat",
        "/m/f",
    ]);
    assert_eq!(out, "through-link\n");

    // A tmpfs mounted under the source: taken along by default, not with bind-nonrecursive.
    let sub = real.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let c = std::ffi::CString::new(sub.display().to_string()).unwrap();
    let tmpfs = std::ffi::CString::new("tmpfs").unwrap();
    let null = std::ptr::null();
    // SAFETY: mount(2) of a tmpfs on a directory this test made, with NUL-terminated strings.
    let rc = unsafe { libc::mount(tmpfs.as_ptr(), c.as_ptr(), tmpfs.as_ptr(), 0, null) };
    assert_eq!(rc, 0);
    std::fs::write(sub.join("inner"), "x").unwrap();
    let src = real.display();
    let rec = d.ok(&[
        "run",
        "--rm",
        "--mount",
        &format!("type=bind,src={src},dst=/m"),
        "netbox",
        "ls",
        "/m/sub",
    ]);
    let flat = d.ok(&[
        "run",
        "--rm",
        "--mount",
        &format!("type=bind,src={src},dst=/m,bind-nonrecursive"),
        "netbox",
        "ls",
        "/m/sub",
    ]);
    // SAFETY: umount2 of the tmpfs mounted above.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    assert_eq!(rec.trim(), "inner");
    assert_eq!(flat.trim(), "");
}
