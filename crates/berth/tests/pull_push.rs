//! Pulling and pushing through a registry nobody here wrote (Debian's distribution 2.8):
//! round trips, cross-repository mounts, credentials, manifest lists and compressions,
//! and the faults — a registry serving wrong bytes, an engine killed mid-pull.
#![allow(clippy::unwrap_used)]

#[path = "pull_push/berth_registry.rs"]
mod berth_registry;
mod common;
#[path = "pull_push/distribution.rs"]
mod distribution;
#[path = "pull_push/faults.rs"]
mod faults;
#[path = "pull_push/formats.rs"]
mod formats;

use common::{assert_contains, Daemon};
use distribution::Distribution;

/// An engine with the busybox test image named `<registry>/<repo>`.
fn engine_with_image(r: &Distribution, repo: &str) -> Daemon {
    let d = Daemon::with_busybox();
    d.ok(&["tag", "busybox", &format!("{}/{repo}", r.addr)]);
    d
}

#[test]
fn an_image_pushed_then_removed_pulls_back_and_runs() {
    let r = Distribution::start(None);
    let d = engine_with_image(&r, "bb:1");
    let name = format!("{}/bb:1", r.addr);
    let id = d.image_id(&name);
    let out = d.ok(&["push", &name]);
    assert_contains(
        &out,
        &format!("The push refers to repository [{}/bb]", r.addr),
    );
    assert_contains(&out, "Pushed");
    assert_contains(&out, "1: digest: sha256:");
    assert_eq!(r.tags("bb"), ["1"]);

    // Pushed again: the registry has every blob, nothing is sent.
    let again = d.ok(&["push", &name]);
    assert_contains(&again, "Layer already exists");

    // Into an engine that has none of it, so every blob comes from the registry.
    let d = Daemon::start();
    let pulled = d.ok(&["pull", &name]);
    assert_contains(&pulled, "Pull complete");
    assert_contains(&pulled, "1: Pulling from bb");
    assert_contains(&pulled, "Digest: sha256:");
    assert_contains(
        &pulled,
        &format!("Status: Downloaded newer image for {name}"),
    );
    assert_eq!(d.image_id(&name), id, "the same image comes back");
    let digests = d.ok(&["image", "inspect", "-f", "{{json .RepoDigests}}", &name]);
    assert_contains(&digests, &format!("{}/bb@sha256:", r.addr));
    assert_eq!(
        d.ok(&["run", "--rm", &name, "echo", "pulled"]).trim(),
        "pulled"
    );

    let up_to_date = d.ok(&["pull", &name]);
    assert_contains(&up_to_date, "Already exists");
    assert_contains(
        &up_to_date,
        &format!("Status: Image is up to date for {name}"),
    );
}

#[test]
fn a_second_repository_mounts_blobs_instead_of_uploading_them() {
    let r = Distribution::start(None);
    let d = engine_with_image(&r, "first:1");
    d.ok(&["push", &format!("{}/first:1", r.addr)]);
    // The layer was compressed once, on the first push; the pushed image now points at it.
    let second = format!("{}/second:1", r.addr);
    d.ok(&["tag", "busybox", &second]);
    let out = d.ok(&["push", &second]);
    assert_contains(&out, "Mounted from first");
    assert!(!out.contains("Pushed"), "nothing uploaded:\n{out}");
}

#[test]
fn all_tags_are_pushed_and_pulled_with_a() {
    let r = Distribution::start(None);
    let d = Daemon::with_busybox();
    for tag in ["a", "b"] {
        d.ok(&["tag", "busybox", &format!("{}/multi:{tag}", r.addr)]);
    }
    let repo = format!("{}/multi", r.addr);
    d.ok(&["push", "-a", &repo]);
    assert_eq!(r.tags("multi"), ["a", "b"]);
    d.ok(&["rmi", &format!("{repo}:a"), &format!("{repo}:b")]);
    let out = d.ok(&["pull", "-a", &repo]);
    assert_contains(&out, "a: Pulling from multi");
    assert_contains(&out, "b: Pulling from multi");
    for tag in ["a", "b"] {
        d.ok(&["image", "inspect", &format!("{repo}:{tag}")]);
    }
    let bad = d.fails(&["pull", "-a", &format!("{repo}:a")]);
    assert_contains(&bad.stderr, "tag can't be used with --all-tags/-a");
}

#[test]
fn credentials_are_checked_stored_and_used() {
    let r = Distribution::start(Some(("alice", "s3cret")));
    let d = engine_with_image(&r, "private:1");
    let name = format!("{}/private:1", r.addr);
    let config = d.dir.path().join("client-config");
    let cli = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = d.cli();
        cmd.env("BERTH_CONFIG", &config)
            .env("HOME", d.dir.path())
            .args(args);
        if let Some(input) = stdin {
            use std::io::Write;
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            return child.wait_with_output().unwrap();
        }
        cmd.stdin(std::process::Stdio::null()).output().unwrap()
    };
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    let denied = cli(&["push", &name], None);
    assert!(!denied.status.success());
    assert_contains(&text(&denied), "denied");

    let wrong = cli(
        &["login", "-u", "alice", "--password-stdin", &r.addr],
        Some("nope\n"),
    );
    assert!(!wrong.status.success());
    assert_contains(&text(&wrong), "incorrect username or password");
    assert!(
        !config.join("config.json").exists(),
        "nothing stored on failure"
    );

    let ok = cli(
        &["login", "-u", "alice", "--password-stdin", &r.addr],
        Some("s3cret\n"),
    );
    assert!(ok.status.success(), "{}", text(&ok));
    assert_contains(&text(&ok), "Login Succeeded");
    let stored = std::fs::read_to_string(config.join("config.json")).unwrap();
    assert_contains(&stored, &r.addr);
    assert!(
        !stored.contains("s3cret"),
        "the password is not stored in clear"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(config.join("config.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "config.json is private");
    assert!(
        !d.log().contains("s3cret"),
        "the engine never logs a password"
    );

    let pushed = cli(&["push", &name], None);
    assert!(pushed.status.success(), "{}", text(&pushed));
    d.ok(&["rmi", &name]);
    let pulled = cli(&["pull", &name], None);
    assert!(pulled.status.success(), "{}", text(&pulled));

    let out = cli(&["logout", &r.addr], None);
    assert_contains(
        &text(&out),
        &format!("Removing login credentials for {}", r.addr),
    );
    d.ok(&["rmi", &name]);
    let anonymous = cli(&["pull", &name], None);
    assert!(!anonymous.status.success());
    assert_contains(&text(&anonymous), "pull access denied");
}

#[test]
fn the_docker_cli_pushes_and_pulls_through_berth() {
    let r = Distribution::start(None);
    let d = engine_with_image(&r, "viadocker:1");
    let name = format!("{}/viadocker:1", r.addr);
    let out = common::docker::ok(&d, &["push", &name]);
    assert_contains(&out, "1: digest: sha256:");
    common::docker::ok(&d, &["rmi", &name]);
    let out = common::docker::ok(&d, &["pull", &name]);
    assert_contains(&out, "Status: Downloaded newer image");
    common::docker::ok(&d, &["image", "inspect", &name]);
}

#[test]
fn run_pulls_a_missing_image_unless_told_never() {
    let r = Distribution::start(None);
    let d = engine_with_image(&r, "runme:1");
    let name = format!("{}/runme:1", r.addr);
    d.ok(&["push", &name]);
    d.ok(&["rmi", &name]);
    let never = d.fails(&["run", "--rm", "--pull", "never", &name, "true"]);
    assert_contains(&never.stderr, "No such image");
    let out = d.run(&["run", "--rm", &name, "echo", "ran"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_contains(
        &out.stderr,
        &format!("Unable to find image '{name}' locally"),
    );
    assert_eq!(out.stdout.trim_end().lines().last(), Some("ran"));
    let always = d.run(&["run", "--rm", "--pull", "always", &name, "true"]);
    assert_eq!(always.status, 0, "{}", always.stderr);
    assert_contains(&always.stderr, "Image is up to date");
}

#[test]
fn build_pulls_a_missing_base_and_pull_fetches_a_moved_tag() {
    let r = Distribution::start(None);
    let base = format!("{}/base:1", r.addr);
    let pusher = engine_with_image(&r, "base:1");
    pusher.ok(&["push", &base]);

    let d = Daemon::start();
    let dir = d.dir.path().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {base}\nRUN echo built > /built\n"),
    )
    .unwrap();
    let ctx = dir.to_str().unwrap();
    d.ok(&["build", "-t", "child:1", ctx]);
    assert_eq!(
        d.ok(&["run", "--rm", "child:1", "cat", "/built"]).trim(),
        "built"
    );
    let first = d.image_id(&base);

    // The tag moves to another image; only --pull sees it.
    let moved =
        common::images::Image::new(vec![common::images::busybox_layer()], &["true"]).tagged(&base);
    pusher.load(&common::images::docker_archive(&[moved]));
    pusher.ok(&["push", &base]);
    d.ok(&["build", "-t", "child:2", ctx]);
    assert_eq!(
        d.image_id(&base),
        first,
        "without --pull the local base is used"
    );
    d.ok(&["build", "--pull", "-t", "child:3", ctx]);
    assert_ne!(d.image_id(&base), first, "--pull fetched the moved tag");
}

#[test]
fn docker_py_pushes_and_pulls_through_berth() {
    let r = Distribution::start(None);
    let d = engine_with_image(&r, "py:1");
    let repo = format!("{}/py", r.addr);
    let script = format!(
        r#"
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1])
for line in c.images.push("{repo}", tag="1", stream=True, decode=True):
    if "error" in line:
        raise SystemExit(line["error"])
    if "aux" in line:
        print("pushed", line["aux"]["Digest"])
c.images.remove("{repo}:1")
image = c.images.pull("{repo}", tag="1")
print("pulled", image.tags, image.attrs["RepoDigests"])
"#
    );
    let out = common::docker::py(&d, &script);
    assert_contains(&out, "pushed sha256:");
    assert_contains(&out, &format!("pulled ['{repo}:1'"));
    assert_contains(&out, &format!("{repo}@sha256:"));
}

#[test]
fn a_registry_off_loopback_is_reached_over_plain_http_only_when_declared_insecure() {
    let Some(ip) = common::net::host_address() else {
        panic!("this machine has no non-loopback IPv4 address for the test");
    };
    let r = Distribution::start_on(&ip.to_string(), None);
    let name = format!("{}/lan:1", r.addr);
    let strict = Daemon::with_busybox();
    strict.ok(&["tag", "busybox", &name]);
    let refused = strict.fails(&["push", &name]);
    assert_contains(&refused.stderr, "TLS");
    assert!(r.tags("lan").is_empty(), "nothing reached the registry");

    let insecure = Daemon::start_with(&["--insecure-registry", &r.addr]);
    insecure.load(&common::images::docker_archive(&[
        common::images::Image::busybox().tagged(&name),
    ]));
    insecure.ok(&["push", &name]);
    assert_eq!(r.tags("lan"), ["1"]);
    let puller = Daemon::start_with(&["--insecure-registry", &format!("{ip}/32")]);
    puller.ok(&["pull", &name]);
}
