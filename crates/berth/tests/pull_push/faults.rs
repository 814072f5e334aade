//! What a pull leaves when something goes wrong: a registry serving wrong bytes, an engine
//! killed in the middle, names and registries that do not exist.

use std::time::{Duration, Instant};

use crate::common::{self, assert_contains, Daemon};
use crate::distribution::Distribution;

/// The digest of the one layer of `repo:tag` in `r`, read from its manifest.
fn layer_digest(r: &Distribution, repo: &str, tag: &str) -> String {
    let (status, _, body) = crate::distribution::request(
        &r.addr,
        "GET",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        )],
        b"",
    );
    assert_eq!(status, 200);
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    m["layers"][0]["digest"].as_str().unwrap().to_string()
}

#[test]
fn a_registry_serving_wrong_bytes_fails_the_pull_and_commits_nothing() {
    let r = Distribution::start(None);
    let pusher = crate::engine_with_image(&r, "tampered:1");
    let name = format!("{}/tampered:1", r.addr);
    pusher.ok(&["push", &name]);
    let digest = layer_digest(&r, "tampered", "1");
    let file = r.blob_file(&digest);
    let good = std::fs::read(&file).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&file, &bad).unwrap();

    let d = Daemon::start();
    let failed = d.fails(&["pull", &name]);
    assert_contains(&failed.stderr, &digest);
    assert!(d.run(&["image", "inspect", &name]).status != 0, "no image");
    assert!(d.blobs().is_empty(), "no blob kept: {:?}", d.blobs());
    assert!(d.layers().is_empty(), "no layer kept: {:?}", d.layers());
    assert!(common::list_dir(&d.data_root().join("content/ingest")).is_empty());

    // Once the registry is right, the same pull succeeds.
    std::fs::write(&file, &good).unwrap();
    d.ok(&["pull", &name]);
    assert_eq!(d.ok(&["run", "--rm", &name, "echo", "fine"]).trim(), "fine");
}

#[test]
fn an_engine_killed_during_a_pull_starts_clean_and_pulls_again() {
    let r = Distribution::start(None);
    // A layer too big to fly past: 48 MiB that do not compress.
    let mut noise = vec![0u8; 48 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for chunk in noise.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let image = common::images::Image::new(
        vec![
            common::images::busybox_layer(),
            common::images::layer(&[("noise.bin", &noise, 0o644)]),
        ],
        &["sh"],
    )
    .tagged(&format!("{}/big:1", r.addr));
    let pusher = Daemon::start();
    pusher.load(&common::images::docker_archive(&[image]));
    let name = format!("{}/big:1", r.addr);
    pusher.ok(&["push", &name]);

    let mut d = Daemon::start();
    let mut pull = d
        .cli()
        .args(["pull", &name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ingest = d.data_root().join("content/ingest");
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::list_dir(&ingest).is_empty() {
        assert!(Instant::now() < deadline, "the pull never started writing");
        std::thread::sleep(Duration::from_millis(1));
    }
    d.kill9();
    let _ = pull.wait();
    d.relaunch();
    assert!(
        d.run(&["image", "inspect", &name]).status != 0,
        "nothing visible"
    );
    assert!(common::list_dir(&ingest).is_empty(), "no half-written blob");
    assert!(
        d.blobs().is_empty(),
        "unreferenced blobs removed: {:?}",
        d.blobs()
    );
    assert!(
        d.layers().is_empty(),
        "unreferenced layers removed: {:?}",
        d.layers()
    );
    d.ok(&["pull", &name]);
    assert_eq!(
        d.ok(&["run", "--rm", &name, "stat", "-c", "%s", "/noise.bin"])
            .trim(),
        (48u64 << 20).to_string()
    );
}

#[test]
fn bad_names_missing_tags_and_absent_registries_are_clear_errors() {
    let r = Distribution::start(None);
    let d = Daemon::start();
    let bad = d.fails(&["pull", "NoCapitals"]);
    assert_contains(&bad.stderr, "invalid reference format");
    let missing = d.fails(&["pull", &format!("{}/nothing:here", r.addr)]);
    assert_contains(&missing.stderr, "not found");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let absent = d.fails(&["pull", &format!("127.0.0.1:{port}/x:1")]);
    assert_contains(&absent.stderr, "connecting to 127.0.0.1");
    let unknown = d.fails(&["push", &format!("{}/never:made", r.addr)]);
    assert_contains(
        &unknown.stderr,
        "An image does not exist locally with the tag",
    );
    assert!(d.blobs().is_empty());
}
