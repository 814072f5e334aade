//! What the registry refuses, with the spec's codes, and that a refused push leaves nothing
//! behind: digest mismatches, unknown references, malformed manifests and names, uploads over
//! the size limit, too many sessions, stale sessions, and read-only mode.

use super::common::images::sha256;
use super::common::list_dir;
use super::common::registry::{manifest_bytes, OCI_MANIFEST};
use super::*;

fn blob_files(reg: &Registry) -> Vec<String> {
    list_dir(&reg.root().join("content/blobs/sha256"))
}

fn ingests(reg: &Registry) -> Vec<String> {
    list_dir(&reg.root().join("content/ingest"))
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_not_kept() {
    let reg = Registry::start(&[]);
    let claimed = sha256(b"what was promised");
    let r = reg.req(
        "POST",
        &format!("/v2/app/blobs/uploads/?digest={claimed}"),
        &[],
        Body::Bytes(b"something else"),
    );
    assert_eq!((r.status, code(&r)), (400, "DIGEST_INVALID".into()));
    // The same through a session closed with the wrong digest.
    let start = reg.req("POST", "/v2/app/blobs/uploads/", &[], Body::Bytes(b""));
    let location = start.header("Location").unwrap().to_string();
    assert_eq!(
        reg.req("PATCH", &location, &[], Body::Bytes(b"something else"))
            .status,
        202
    );
    let r = reg.req(
        "PUT",
        &format!("{location}?digest={claimed}"),
        &[],
        Body::Bytes(b""),
    );
    assert_eq!((r.status, code(&r)), (400, "DIGEST_INVALID".into()));
    assert_eq!(reg.get(&location).status, 404, "the session is closed");
    for d in [claimed, sha256(b"something else")] {
        assert_eq!(reg.head(&format!("/v2/app/blobs/{d}")).status, 404);
    }
    assert!(blob_files(&reg).is_empty(), "{:?}", blob_files(&reg));
    assert!(ingests(&reg).is_empty());
    assert!(list_dir(&reg.root().join("repositories/app/_layers/sha256")).is_empty());
}

#[test]
fn manifests_are_checked_before_they_are_stored() {
    let reg = Registry::start(&[]);
    let config = b"{}".to_vec();
    reg.push_blob("app", &config);
    let absent = b"a layer never pushed".to_vec();
    let m = manifest_bytes(&config, std::slice::from_ref(&absent));
    let r = reg.put_manifest("app", "v1", OCI_MANIFEST, &m);
    assert_eq!((r.status, code(&r)), (400, "MANIFEST_BLOB_UNKNOWN".into()));
    assert_eq!(r.json()["errors"][0]["detail"]["digest"], sha256(&absent));
    // A blob in another repository is not in this one.
    reg.push_blob("elsewhere", &absent);
    assert_eq!(
        code(&reg.put_manifest("app", "v1", OCI_MANIFEST, &m)),
        "MANIFEST_BLOB_UNKNOWN"
    );
    assert_eq!(reg.get("/v2/app/manifests/v1").status, 404);

    for bad in [&b"{not json"[..], br#"{"schemaVersion":1,"name":"x"}"#, br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#] {
        let r = reg.put_manifest("app", "v1", OCI_MANIFEST, bad);
        assert_eq!((r.status, code(&r)), (400, "MANIFEST_INVALID".into()), "{}", String::from_utf8_lossy(bad));
    }
    let good = manifest_bytes(&config, &[]);
    let r = reg.put_manifest(
        "app",
        "v1",
        "application/vnd.oci.image.index.v1+json",
        &good,
    );
    assert_eq!(
        code(&r),
        "MANIFEST_INVALID",
        "a Content-Type disagreeing with mediaType"
    );
    let r = reg.put_manifest("app", &sha256(b"other bytes"), OCI_MANIFEST, &good);
    assert_eq!((r.status, code(&r)), (400, "DIGEST_INVALID".into()));
    assert_eq!(
        reg.put_manifest("app", &sha256(&good), OCI_MANIFEST, &good)
            .status,
        201
    );
}

#[test]
fn names_digests_and_tags_are_validated() {
    let reg = Registry::start(&[]);
    for (path, want) in [
        ("/v2/App/tags/list", "NAME_INVALID"),
        ("/v2/a/../b/tags/list", "NAME_INVALID"),
        ("/v2/a//b/manifests/latest", "NAME_INVALID"),
        ("/v2/a/blobs/sha256:1234", "DIGEST_INVALID"),
        ("/v2/a/manifests/.hidden", "MANIFEST_INVALID"),
        ("/v2/a/referrers/not-a-digest", "DIGEST_INVALID"),
    ] {
        let r = reg.get(path);
        assert_eq!((r.status, code(&r)), (400, want.to_string()), "{path}");
    }
    assert_eq!(
        reg.get("/v2/a/b/c/d/e/tags/list").status,
        404,
        "valid but unknown"
    );
}

#[test]
fn uploads_over_the_size_limit_are_cut_off_and_leave_nothing() {
    let reg = Registry::start(&["--max-upload-size", "1MiB"]);
    let d = sha256(b"x");
    // Declared too large: refused before a byte is read.
    let r = reg.req(
        "POST",
        &format!("/v2/app/blobs/uploads/?digest={d}"),
        &[],
        Body::Declared(10 << 30),
    );
    assert_eq!((r.status, code(&r)), (413, "SIZE_INVALID".into()));
    // Streamed without end: reading stops at the limit.
    let r = reg.req(
        "POST",
        &format!("/v2/app/blobs/uploads/?digest={d}"),
        &[],
        Body::Endless {
            chunk: 64 << 10,
            max: 64 << 20,
        },
    );
    assert_eq!((r.status, code(&r)), (413, "SIZE_INVALID".into()));
    // Chunks that add up to too much: the session is dropped.
    let start = reg.req("POST", "/v2/app/blobs/uploads/", &[], Body::Bytes(b""));
    let location = start.header("Location").unwrap().to_string();
    let half = vec![b'y'; 600 << 10];
    assert_eq!(
        reg.req("PATCH", &location, &[], Body::Bytes(&half)).status,
        202
    );
    let r = reg.req("PATCH", &location, &[], Body::Bytes(&half));
    assert_eq!(r.status, 413);
    assert_eq!(reg.get(&location).status, 404);
    common::eventually("ingests to be cleared", || ingests(&reg).is_empty());
    assert!(blob_files(&reg).is_empty());
    // Within the limit all is well.
    reg.push_blob("app", &vec![b'z'; 1 << 20]);
}

#[test]
fn sessions_are_bounded_and_stale_ones_purged() {
    let reg = Registry::start(&["--max-uploads", "1", "--upload-purge-age", "1s"]);
    let start = reg.req("POST", "/v2/app/blobs/uploads/", &[], Body::Bytes(b""));
    assert_eq!(start.status, 202);
    let location = start.header("Location").unwrap().to_string();
    assert_eq!(
        reg.req("PATCH", &location, &[], Body::Bytes(b"partial"))
            .status,
        202
    );
    let second = reg.req("POST", "/v2/app/blobs/uploads/", &[], Body::Bytes(b""));
    assert_eq!(
        (second.status, code(&second)),
        (429, "TOOMANYREQUESTS".into())
    );
    assert!(second.header("Retry-After").is_some());
    common::eventually("the idle session to be purged", || {
        reg.get(&location).status == 404
    });
    assert!(ingests(&reg).is_empty());
    assert_eq!(
        reg.req("POST", "/v2/app/blobs/uploads/", &[], Body::Bytes(b""))
            .status,
        202
    );
}

#[test]
fn read_only_mode_serves_pulls_and_refuses_writes() {
    let mut reg = Registry::start(&[]);
    let img = reg.push_image("app", "v1", "ro");
    reg.stop();
    reg.launch(&["--read-only"]);
    assert_eq!(reg.get("/v2/app/manifests/v1").body, img.manifest);
    assert_eq!(
        reg.get(&format!("/v2/app/blobs/{}", img.layers[0])).status,
        200
    );
    for (method, path) in [
        ("POST", "/v2/app/blobs/uploads/".to_string()),
        ("PUT", "/v2/app/manifests/v2".to_string()),
        ("DELETE", format!("/v2/app/manifests/{}", img.digest)),
        ("DELETE", format!("/v2/app/blobs/{}", img.layers[0])),
    ] {
        let r = reg.req(method, &path, &[], Body::Bytes(&img.manifest));
        assert_eq!(
            (r.status, code(&r)),
            (405, "UNSUPPORTED".to_string()),
            "{method} {path}"
        );
    }
    assert_eq!(
        reg.get("/v2/app/tags/list").json()["tags"],
        serde_json::json!(["v1"])
    );
}
