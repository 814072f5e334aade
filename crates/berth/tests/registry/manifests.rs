//! The manifest kinds a registry must take (Docker schema 2 manifest and manifest list, OCI
//! manifest and index), stored byte for byte and served with their own media type, and the
//! size a manifest may have.

use serde_json::json;

use super::common::images::sha256;
use super::common::registry::{descriptor, OCI_INDEX};
use super::*;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

#[test]
fn docker_and_oci_manifests_and_indexes_round_trip() {
    let reg = Registry::start(&[]);
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let layer = b"docker layer bytes";
    reg.push_blob("kinds", config);
    reg.push_blob("kinds", layer);
    // Pretty-printed on purpose: the bytes, not a re-encoding, are what is stored.
    let docker =
        serde_json::to_vec_pretty(&json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": descriptor(DOCKER_CONFIG, config), "layers": [descriptor(DOCKER_LAYER, layer)]}))
        .unwrap();
    assert_eq!(
        reg.put_manifest("kinds", "docker", DOCKER_MANIFEST, &docker)
            .status,
        201
    );
    let platform = json!({"architecture": "amd64", "os": "linux"});
    let list = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": DOCKER_LIST,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": sha256(&docker), "size": docker.len(), "platform": platform}]})).unwrap();
    assert_eq!(
        reg.put_manifest("kinds", "list", DOCKER_LIST, &list).status,
        201
    );
    let oci = reg.push_image("kinds", "oci", "kinds");
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [descriptor(super::common::registry::OCI_MANIFEST, &oci.manifest), {"mediaType": DOCKER_MANIFEST, "digest": sha256(&docker), "size": docker.len()}]})).unwrap();
    assert_eq!(
        reg.put_manifest("kinds", "index", OCI_INDEX, &index).status,
        201
    );
    for (tag, bytes, mt) in [
        ("docker", &docker, DOCKER_MANIFEST),
        ("list", &list, DOCKER_LIST),
        ("index", &index, OCI_INDEX),
    ] {
        let r = reg.get(&format!("/v2/kinds/manifests/{tag}"));
        assert_eq!(r.body, *bytes, "{tag}");
        assert_eq!(r.header("Content-Type"), Some(mt), "{tag}");
        assert_eq!(
            r.header("Docker-Content-Digest"),
            Some(sha256(bytes).as_str())
        );
    }
    // An index naming a manifest the repository lacks is refused.
    let dangling = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [descriptor(super::common::registry::OCI_MANIFEST, b"{}")]}))
    .unwrap();
    let r = reg.put_manifest("kinds", "dangling", OCI_INDEX, &dangling);
    assert_eq!((r.status, code(&r)), (400, "MANIFEST_BLOB_UNKNOWN".into()));
}

#[test]
fn manifests_of_four_mebibytes_are_taken_and_much_larger_ones_refused() {
    let reg = Registry::start(&[]);
    let config = b"{}";
    reg.push_blob("big", config);
    let manifest = |bytes: usize| {
        serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": super::common::registry::OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", config), "layers": [],
            "annotations": {"padding": "p".repeat(bytes)}}),
        )
        .unwrap()
    };
    let big = manifest(4 << 20);
    let r = reg.put_manifest("big", "v1", super::common::registry::OCI_MANIFEST, &big);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(reg.get("/v2/big/manifests/v1").body, big);
    let huge = manifest(9 << 20);
    let r = reg.put_manifest("big", "v2", super::common::registry::OCI_MANIFEST, &huge);
    assert_eq!(r.status, 413);
    let r = reg.req(
        "PUT",
        "/v2/big/manifests/v3",
        &[("Content-Type", super::common::registry::OCI_MANIFEST)],
        Body::Declared(1 << 30),
    );
    assert_eq!(r.status, 413);
}
