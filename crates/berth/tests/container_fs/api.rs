//! The archive endpoints over raw HTTP: stats, status codes, and hostile archives that must
//! neither escape the extraction directory nor write anything outside it.

use std::path::Path;

use super::common::assert_contains;
use super::common::images::{archive_entry, raw_entry, raw_tar};
use super::{decode_stat, names, running, tar_of};
use crate::common::Daemon;

#[test]
fn archive_api_status_codes_and_hostile_archives() {
    let d = Daemon::with_busybox();
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
    // A read-only root file system takes nothing.
    d.ok(&[
        "run",
        "-d",
        "--read-only",
        "--name",
        "ro",
        "busybox",
        "sleep",
        "1000",
    ]);
    let r = d.api(
        "PUT",
        "/v1.41/containers/ro/archive?path=/tmp",
        &tar_of(&[("x", b"x")]),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["message"], "container rootfs is marked read-only");
}
