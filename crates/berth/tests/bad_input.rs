//! Bad archives, hostile layers, and crashes in the middle of a load: each is refused with a
//! clear error, and nothing is registered or left behind.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::Stdio;

use common::images::{busybox_layer, docker_archive, layer, raw_entry, raw_tar, sha256, Image};
use common::{assert_contains, Daemon};

/// Loads `archive`, expecting failure; checks that nothing stayed behind.
fn load_fails(d: &Daemon, archive: &[u8]) -> String {
    let r = d.run_stdin(&["load"], archive);
    assert_ne!(r.status, 0, "load of a bad archive succeeded: {}", r.stdout);
    assert!(
        d.ok(&["images", "-qa"]).trim().is_empty(),
        "an image was registered"
    );
    assert!(d.blobs().is_empty(), "blobs left behind: {:?}", d.blobs());
    assert!(
        d.layers().is_empty(),
        "layers left behind: {:?}",
        d.layers()
    );
    r.stderr
}

#[test]
fn truncated_corrupt_and_non_tar_archives() {
    let d = Daemon::start();
    let good = docker_archive(&[Image::busybox().tagged("b:1")]);
    let err = load_fails(&d, &good[..good.len() / 2]);
    assert!(!err.is_empty());
    load_fails(
        &d,
        b"this is not a tar archive at all, just some text that goes on for a while",
    );
    let err = load_fails(&d, &[0u8; 1024]);
    assert_contains(&err, "empty or not a tar");
    let err = load_fails(
        &d,
        &raw_tar(&[raw_entry("hello.txt", tar::EntryType::Regular, "", b"hi")]),
    );
    assert_contains(&err, "neither manifest.json");
    // A loose image config with a tampered layer: the layer no longer matches the diff ID.
    let img = Image::busybox().tagged("b:1");
    let mut tampered = img.clone();
    tampered.layers[0] = layer(&[("other", b"content", 0o644)]);
    tampered.config = img.config.clone();
    let err = load_fails(&d, &docker_archive(&[tampered]));
    assert_contains(&err, "diff");
    // A manifest naming a layer that is not in the archive.
    let mut b = tar::Builder::new(Vec::new());
    let cfg = img.config_bytes();
    common::images::append_file(&mut b, "c.json", &cfg);
    common::images::append_file(
        &mut b,
        "manifest.json",
        br#"[{"Config":"c.json","RepoTags":["b:1"],"Layers":["missing/layer.tar"]}]"#,
    );
    let err = load_fails(&d, &b.into_inner().unwrap());
    assert_contains(&err, "missing/layer.tar");
    // Malformed manifest.json and an invalid tag in it.
    let mut b = tar::Builder::new(Vec::new());
    common::images::append_file(&mut b, "manifest.json", b"[{not json");
    let err = load_fails(&d, &b.into_inner().unwrap());
    assert_contains(&err, "manifest.json");
    let err = load_fails(&d, &docker_archive(&[Image::busybox().tagged("Not Valid")]));
    assert_contains(&err, "invalid tag");
}

#[test]
fn oci_blobs_must_match_their_names() {
    let d = Daemon::start();
    let fake = format!("blobs/sha256/{}", &sha256(b"something else")[7..]);
    let archive = raw_tar(&[
        raw_entry(
            "oci-layout",
            tar::EntryType::Regular,
            "",
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        ),
        raw_entry(
            &fake,
            tar::EntryType::Regular,
            "",
            b"not what the name says",
        ),
    ]);
    let err = load_fails(&d, &archive);
    assert_contains(&err, "digest mismatch");
}

#[test]
fn archive_entries_may_not_climb_out() {
    let d = Daemon::start();
    let archive = raw_tar(&[raw_entry(
        "../manifest.json",
        tar::EntryType::Regular,
        "",
        b"[]",
    )]);
    let err = load_fails(&d, &archive);
    assert_contains(&err, "outside the archive");
}

/// A layer that tries to write outside the layer directory must not reach the host.
#[test]
fn hostile_layers_stay_inside_their_root() {
    let d = Daemon::start();
    let marker = tempfile::tempdir().unwrap();
    let target = marker.path().to_str().unwrap();

    // `..` entries are refused outright.
    let climbing = raw_tar(&[raw_entry(
        "../../../../../../../tmp/berth-escape",
        tar::EntryType::Regular,
        "",
        b"x",
    )]);
    let img = Image::new(vec![climbing], &["x"]).tagged("evil:1");
    let err = load_fails(&d, &docker_archive(&[img]));
    assert_contains(&err, "..");
    assert!(!std::path::Path::new("/tmp/berth-escape").exists());

    // A symlink to a host directory, then a file written "through" it, lands inside the layer.
    let through = raw_tar(&[
        raw_entry("escape", tar::EntryType::Symlink, target, b""),
        raw_entry("escape/pwned", tar::EntryType::Regular, "", b"gotcha"),
    ]);
    let img = Image::new(vec![through], &["x"]).tagged("evil:2");
    let r = d.run_stdin(&["load"], &docker_archive(&[img]));
    assert!(
        std::fs::read_dir(marker.path()).unwrap().next().is_none(),
        "a file escaped into {target}"
    );
    if r.status == 0 {
        d.ok(&["rmi", "evil:2"]);
    }

    // A hard link to a file outside the root is refused.
    let hardlink = raw_tar(&[raw_entry(
        "passwd",
        tar::EntryType::Link,
        "../../../../../../etc/passwd",
        b"",
    )]);
    let img = Image::new(vec![hardlink], &["x"]).tagged("evil:3");
    load_fails(&d, &docker_archive(&[img]));
}

/// A daemon killed in the middle of a load leaves no image, no blob and no layer, and
/// starts cleanly.
#[test]
fn sigkill_during_load_leaves_nothing() {
    let mut d = Daemon::start();
    let big: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let layers = vec![
        busybox_layer(),
        layer(&[("big.bin", &big, 0o644)]),
        layer(&[("c", b"c", 0o644)]),
    ];
    let archive = docker_archive(&[Image::new(layers, &["sh"]).tagged("big:1")]);

    let mut child = d
        .cli()
        .args(["load"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Send most of the archive (the first layers are ingested), then crash the daemon.
    stdin.write_all(&archive[..archive.len() * 3 / 4]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.kill9();
    drop(stdin);
    let _ = child.wait();
    assert!(
        !common::list_dir(&d.data_root().join("content/ingest")).is_empty()
            || !d.blobs().is_empty(),
        "the crash should have happened mid-load"
    );

    d.relaunch();
    assert!(d.ok(&["images", "-qa"]).trim().is_empty());
    assert!(d.blobs().is_empty(), "blobs left: {:?}", d.blobs());
    assert!(d.layers().is_empty(), "layers left: {:?}", d.layers());
    assert!(common::list_dir(&d.data_root().join("content/ingest")).is_empty());
    assert!(common::list_dir(&d.data_root().join("layers/staging")).is_empty());
    // And the same load works afterwards.
    let out = d.load(&archive);
    assert_contains(&out, "Loaded image: big:1");
}

/// Large entries are unpacked while they stream in, before the archive's index says what
/// they are. A large layer that does not match its config, and a large entry that is no
/// layer at all, must leave nothing behind either way.
#[test]
fn layers_unpacked_while_streaming_are_checked_and_collected() {
    let d = Daemon::start();
    let noise: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8)
        .collect();
    let big = layer(&[("big.bin", &noise, 0o644)]);
    let claimed = layer(&[("other.bin", b"not the big one", 0o644)]);
    let mut img = Image::new(vec![claimed], &["sh"]).tagged("mismatch:1");
    img.layers = vec![big.clone()];
    let err = load_fails(&d, &docker_archive(&[img]));
    assert_contains(&err, "diff");

    // A big non-layer entry beside a good image: the image loads, the junk goes.
    let good = Image::new(vec![big], &["sh"]).tagged("good:1");
    let mut archive = tar::Builder::new(Vec::new());
    common::images::append_file(&mut archive, "junk.bin", &noise);
    let mut inner = tar::Archive::new(std::io::Cursor::new(docker_archive(std::slice::from_ref(
        &good,
    ))));
    for entry in inner.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        common::images::append_file(&mut archive, &path, &data);
    }
    let out = d.load(&archive.into_inner().unwrap());
    assert_contains(&out, "Loaded image: good:1");
    assert_eq!(d.image_id("good:1"), good.id());
    assert_eq!(
        d.layers().len(),
        1,
        "only the image's layer stays: {:?}",
        d.layers()
    );
    assert_eq!(d.blobs().len(), 2, "config and layer only: {:?}", d.blobs());
}
