//! What a pull leaves when something goes wrong: a registry serving wrong bytes, an engine
//! killed in the middle, names and registries that do not exist.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
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

/// Pushes to `r` an image with a 48 MiB layer that does not compress; returns its name.
fn big_image(r: &Distribution) -> String {
    let mut noise = vec![0u8; 48 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for chunk in noise.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let name = format!("{}/big:1", r.addr);
    let image = common::images::Image::new(
        vec![
            common::images::busybox_layer(),
            common::images::layer(&[("noise.bin", &noise, 0o644)]),
        ],
        &["sh"],
    )
    .tagged(&name);
    let pusher = Daemon::start();
    pusher.load(&common::images::docker_archive(&[image]));
    pusher.ok(&["push", &name]);
    name
}

/// Nothing of a pull that did not finish is left: no image, blob, layer or ingest.
fn assert_nothing_left(d: &Daemon, name: &str) {
    assert!(
        d.run(&["image", "inspect", name]).status != 0,
        "nothing visible"
    );
    let ingest = d.data_root().join("content/ingest");
    assert!(common::list_dir(&ingest).is_empty(), "no half-written blob");
    assert!(d.blobs().is_empty(), "no blob kept: {:?}", d.blobs());
    assert!(d.layers().is_empty(), "no layer kept: {:?}", d.layers());
}

/// A `pull` of `name` in the background, once it has started writing a blob.
fn pull_under_way(d: &Daemon, name: &str) -> std::process::Child {
    let pull = d
        .cli()
        .args(["pull", name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_ingest(d);
    pull
}

/// A pull of [`big_image`] that succeeds and gives the whole image.
fn pulls_whole(d: &Daemon, name: &str) {
    d.ok(&["pull", name]);
    assert_eq!(
        d.ok(&["run", "--rm", name, "stat", "-c", "%s", "/noise.bin"])
            .trim(),
        (48u64 << 20).to_string()
    );
}

/// Waits until the pull has started writing a blob.
fn wait_for_ingest(d: &Daemon) {
    let ingest = d.data_root().join("content/ingest");
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::list_dir(&ingest).is_empty() {
        assert!(Instant::now() < deadline, "the pull never started writing");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits for the engine to let go of what an ended pull had (it unwinds on its own time
/// once the pull fails), then checks that nothing is left.
fn wait_for_nothing_left(d: &Daemon, name: &str) {
    let ingest = d.data_root().join("content/ingest");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && !(common::list_dir(&ingest).is_empty() && d.blobs().is_empty() && d.layers().is_empty())
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_nothing_left(d, name);
}

/// How [`faulty_proxy`] passes responses on.
const CUT: u8 = 0;
const SLOW: u8 = 1;
const FINE: u8 = 2;

/// A TCP proxy to `upstream` that, as `mode` says, breaks every connection once 8 MiB have
/// come back through it (a network failing in the middle of a download), passes responses
/// on slowly (about 50 MiB/s, so a client can be stopped midway), or just passes them on.
fn faulty_proxy(upstream: &str) -> (String, Arc<AtomicU8>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mode = Arc::new(AtomicU8::new(CUT));
    let (upstream, flag) = (upstream.to_string(), mode.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(std::net::Shutdown::Write);
            });
            let flag = flag.clone();
            std::thread::spawn(move || {
                let (mut from, mut to) = (server, client);
                let mut buf = vec![0u8; 64 << 10];
                let mut sent = 0usize;
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                    match flag.load(Ordering::SeqCst) {
                        CUT if sent > 8 << 20 => break,
                        SLOW => std::thread::sleep(Duration::from_millis(1)),
                        _ => {}
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Both);
                let _ = from.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (addr, mode)
}

#[test]
fn a_pull_cut_off_by_the_network_or_interrupted_leaves_nothing_and_the_next_one_works() {
    let r = Distribution::start(None);
    big_image(&r);
    let (proxy, mode) = faulty_proxy(&r.addr);
    let name = format!("{proxy}/big:1");
    let d = Daemon::start();

    let failed = d.fails(&["pull", &name]);
    assert!(!failed.stderr.is_empty());
    wait_for_nothing_left(&d, &name);

    // Ctrl-C in the client: the engine stops the pull it was serving.
    mode.store(SLOW, Ordering::SeqCst);
    let mut pull = pull_under_way(&d, &name);
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(pull.id() as i32, libc::SIGINT) }, 0);
    let _ = pull.wait();
    wait_for_nothing_left(&d, &name);

    mode.store(FINE, Ordering::SeqCst);
    pulls_whole(&d, &name);
}

#[test]
fn an_engine_killed_during_a_pull_starts_clean_and_pulls_again() {
    let r = Distribution::start(None);
    let name = big_image(&r);
    let mut d = Daemon::start();
    let mut pull = pull_under_way(&d, &name);
    d.kill9();
    let _ = pull.wait();
    d.relaunch();
    assert_nothing_left(&d, &name);
    pulls_whole(&d, &name);
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
