//! What a pull accepts: manifest lists and OCI indexes (this host's platform, or the one
//! asked for), OCI and Docker manifests, gzip and uncompressed layers, tags and digests.

use std::io::Write;

use serde_json::json;

use crate::common::images::{busybox_layer, host_arch, sha256, Image};
use crate::common::{assert_contains, Daemon};
use crate::distribution::Distribution;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Pushes an image for `arch` to `repo` with its layer stored as `layer_type`; returns the
/// manifest's descriptor.
fn push_image(
    r: &Distribution,
    repo: &str,
    arch: &str,
    layer: &[u8],
    layer_type: &str,
) -> serde_json::Value {
    let mut image = Image::busybox();
    image.config["architecture"] = json!(arch);
    let config = image.config_bytes();
    let config_digest = r.put_blob(repo, &config);
    let layer_digest = r.put_blob(repo, layer);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let digest = r.put_manifest(repo, &sha256(&manifest), OCI_MANIFEST, &manifest);
    json!({
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": manifest.len(),
        "platform": {"os": "linux", "architecture": arch},
    })
}

/// Tags the manifest `desc` describes (pushed by digest) as `tag`.
fn tag(r: &Distribution, repo: &str, desc: &serde_json::Value, tag: &str) {
    let (status, _, manifest) = crate::distribution::request(
        &r.addr,
        "GET",
        &format!("/v2/{repo}/manifests/{}", desc["digest"].as_str().unwrap()),
        &[("Accept", OCI_MANIFEST)],
        b"",
    );
    assert_eq!(status, 200);
    r.put_manifest(repo, tag, OCI_MANIFEST, &manifest);
}

/// Pushes `multi:1`, an index of this host's image and another platform's; returns the
/// other architecture and the index's digest.
fn push_multi(r: &Distribution) -> (&'static str, String) {
    let layer = gzip(&busybox_layer());
    let gz = "application/vnd.oci.image.layer.v1.tar+gzip";
    let other_arch = if host_arch() == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    let ours = push_image(r, "multi", host_arch(), &layer, gz);
    let theirs = push_image(r, "multi", other_arch, &layer, gz);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [theirs, ours],
    }))
    .unwrap();
    (other_arch, r.put_manifest("multi", "1", OCI_INDEX, &index))
}

#[test]
fn an_index_gives_this_hosts_image_or_the_platform_asked_for() {
    let r = Distribution::start(None);
    let (other_arch, index_digest) = push_multi(&r);

    let d = Daemon::start();
    let name = format!("{}/multi:1", r.addr);
    d.ok(&["pull", &name]);
    let arch = d.ok(&["image", "inspect", "-f", "{{.Architecture}}", &name]);
    assert_eq!(arch.trim(), host_arch());
    // As docker: the repository digest is the index's, the one the tag names.
    let digests = d.ok(&["image", "inspect", "-f", "{{json .RepoDigests}}", &name]);
    assert_contains(&digests, &index_digest);
    assert_eq!(
        d.ok(&["run", "--rm", &name, "echo", "native"]).trim(),
        "native"
    );

    let other = format!("{}/multi:1", r.addr);
    d.ok(&["pull", "--platform", &format!("linux/{other_arch}"), &other]);
    let arch = d.ok(&["image", "inspect", "-f", "{{.Architecture}}", &other]);
    assert_eq!(arch.trim(), other_arch);

    let none = d.fails(&["pull", "--platform", "linux/s390x", &name]);
    assert_contains(&none.stderr, "no matching manifest for linux/s390x");
}

#[test]
fn uncompressed_layers_and_digest_references_pull() {
    let r = Distribution::start(None);
    let desc = push_image(
        &r,
        "plain",
        host_arch(),
        &busybox_layer(),
        "application/vnd.oci.image.layer.v1.tar",
    );
    let digest = desc["digest"].as_str().unwrap();
    let d = Daemon::start();
    let by_digest = format!("{}/plain@{digest}", r.addr);
    let out = d.ok(&["pull", &by_digest]);
    assert_contains(&out, &format!("Digest: {digest}"));
    assert_eq!(
        d.ok(&["run", "--rm", &by_digest, "echo", "plain"]).trim(),
        "plain"
    );
    let tags = d.ok(&["image", "inspect", "-f", "{{json .RepoTags}}", &by_digest]);
    assert_eq!(tags.trim(), "[]", "a digest pull names no tag");

    // A digest the registry does not have is refused before anything is stored.
    let wrong = format!("{}/plain@sha256:{}", r.addr, "0".repeat(64));
    let failed = d.fails(&["pull", &wrong]);
    assert_contains(&failed.stderr, "not found");
}

#[test]
fn zstd_layers_pull() {
    let r = Distribution::start(None);
    let layer = zstd::encode_all(busybox_layer().as_slice(), 3).unwrap();
    let desc = push_image(
        &r,
        "zst",
        host_arch(),
        &layer,
        "application/vnd.oci.image.layer.v1.tar+zstd",
    );
    tag(&r, "zst", &desc, "1");
    let d = Daemon::start();
    let name = format!("{}/zst:1", r.addr);
    d.ok(&["pull", &name]);
    assert_eq!(d.ok(&["run", "--rm", &name, "echo", "zstd"]).trim(), "zstd");
}

#[test]
fn docker_hub_images_come_through_a_registry_mirror() {
    // The mirror holds `library/mirrored:1`; the engine has no way to Docker Hub.
    let r = Distribution::start(None);
    let desc = push_image(
        &r,
        "library/mirrored",
        host_arch(),
        &gzip(&busybox_layer()),
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    tag(&r, "library/mirrored", &desc, "1");

    let mirror = format!("http://{}", r.addr);
    let d = Daemon::start_with(&["--registry-mirror", &mirror]);
    let out = d.ok(&["pull", "mirrored:1"]);
    assert_contains(&out, "Pulling from library/mirrored");
    assert_contains(&out, "docker.io/library/mirrored:1");
    assert_eq!(
        d.ok(&["run", "--rm", "mirrored:1", "echo", "mirrored"])
            .trim(),
        "mirrored"
    );
}

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// Pushes a Docker image to `repo` whose one layer is foreign, found at `urls`.
fn push_foreign(r: &Distribution, repo: &str, layer: &[u8], urls: &[String]) -> String {
    let config = Image::busybox().config_bytes();
    let config_digest = r.put_blob(repo, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": DOCKER_FOREIGN, "digest": sha256(layer), "size": layer.len(), "urls": urls}],
    }))
    .unwrap();
    r.put_manifest(repo, "1", DOCKER_MANIFEST, &manifest)
}

fn blob_status(r: &Distribution, repo: &str, digest: &str) -> u16 {
    let path = format!("/v2/{repo}/blobs/{digest}");
    crate::distribution::request(&r.addr, "HEAD", &path, &[], b"").0
}

#[test]
fn foreign_layers_come_from_their_urls_and_are_not_pushed() {
    let r = Distribution::start(None);
    let layer = gzip(&busybox_layer());
    // The layer lives outside the image's repository: only its URL leads to it.
    let layer_digest = r.put_blob("elsewhere", &layer);
    let url = format!("http://{}/v2/elsewhere/blobs/{layer_digest}", r.addr);
    let manifest_digest = push_foreign(&r, "foreign", &layer, &[url]);
    assert_eq!(blob_status(&r, "foreign", &layer_digest), 404);

    let d = Daemon::start();
    let name = format!("{}/foreign:1", r.addr);
    d.ok(&["pull", &name]);
    assert_eq!(
        d.ok(&["run", "--rm", &name, "echo", "from the URL"]).trim(),
        "from the URL"
    );

    // A push leaves the layer where its URL says, and the manifest as it was.
    let other = Distribution::start(None);
    let target = format!("{}/foreign:1", other.addr);
    d.ok(&["tag", &name, &target]);
    let out = d.ok(&["push", &target]);
    assert_contains(&out, "Skipped foreign layer");
    assert_contains(&out, &format!("digest: {manifest_digest}"));
    assert_eq!(blob_status(&other, "foreign", &layer_digest), 404);

    // URLs that do not answer: the registry has the layer, and it comes from there (the
    // image goes first, so the layer is not already here).
    d.ok(&["rmi", &name, &target]);
    let r2 = Distribution::start(None);
    r2.put_blob("fallback", &layer);
    push_foreign(
        &r2,
        "fallback",
        &layer,
        &["http://127.0.0.1:9/gone".to_string()],
    );
    let fallback = format!("{}/fallback:1", r2.addr);
    d.ok(&["pull", &fallback]);
    assert_eq!(
        d.ok(&["run", "--rm", &fallback, "echo", "from the registry"])
            .trim(),
        "from the registry"
    );
}

#[test]
fn a_build_pulls_its_base_for_the_platform_from_names() {
    let r = Distribution::start(None);
    let (other_arch, _) = push_multi(&r);
    let name = format!("{}/multi:1", r.addr);
    let d = Daemon::start();
    let dir = d.dir.path().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "a\n").unwrap();
    let arch_of = |image: &str| {
        d.ok(&["image", "inspect", "-f", "{{.Architecture}}", image])
            .trim()
            .to_string()
    };
    let build = |dockerfile: &str, tag: &str, extra: &[&str]| {
        std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
        let mut args = vec!["build", "-q", "-t", tag];
        args.extend_from_slice(extra);
        let dir = dir.to_str().unwrap().to_string();
        args.push(&dir);
        d.ok(&args);
    };

    build(&format!("FROM {name}\nCOPY a.txt /\n"), "native", &[]);
    assert_eq!(arch_of("native"), host_arch());
    // The image here is this host's: FROM --platform asks for the other one, which is pulled.
    build(
        &format!("FROM --platform=linux/{other_arch} {name}\nCOPY a.txt /\n"),
        "cross",
        &[],
    );
    assert_eq!(arch_of("cross"), other_arch);
    // And `--platform` for the whole build, back to this host's.
    build(
        &format!("FROM {name}\nCOPY a.txt /\n"),
        "again",
        &["--platform", &format!("linux/{}", host_arch())],
    );
    assert_eq!(arch_of("again"), host_arch());
}
