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

#[test]
fn an_index_gives_this_hosts_image_or_the_platform_asked_for() {
    let r = Distribution::start(None);
    let layer = gzip(&busybox_layer());
    let gz = "application/vnd.oci.image.layer.v1.tar+gzip";
    let other_arch = if host_arch() == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    let ours = push_image(&r, "multi", host_arch(), &layer, gz);
    let theirs = push_image(&r, "multi", other_arch, &layer, gz);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [theirs, ours],
    }))
    .unwrap();
    let index_digest = r.put_manifest("multi", "1", OCI_INDEX, &index);

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
