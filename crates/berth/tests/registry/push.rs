//! The push workflow: blobs monolithically (one POST, or POST then PUT), in chunks (with an
//! out-of-order chunk refused and the status endpoint telling where the upload is), cancelled,
//! mounted from another repository, and manifests by tag and by digest with extra tags.

use super::common::images::sha256;
use super::common::registry::{all_headers, manifest_bytes, OCI_MANIFEST};
use super::*;

pub fn push(reg: &Registry) {
    // Monolithic, in one POST.
    let one = reg.push_blob("push/app", b"monolithic");
    assert_eq!(
        reg.get(&format!("/v2/push/app/blobs/{one}")).body,
        b"monolithic"
    );

    // POST then PUT.
    let start = reg.req("POST", "/v2/push/app/blobs/uploads/", &[], Body::Bytes(b""));
    assert_eq!(start.status, 202);
    let location = start.header("Location").unwrap().to_string();
    let uuid = start.header("Docker-Upload-UUID").unwrap();
    assert!(location.ends_with(uuid) && location.starts_with("/v2/push/app/blobs/uploads/"));
    let d = sha256(b"post then put");
    let put = reg.req(
        "PUT",
        &format!("{location}?digest={d}"),
        &[("Content-Type", "application/octet-stream")],
        Body::Bytes(b"post then put"),
    );
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(
        put.header("Location"),
        Some(format!("/v2/push/app/blobs/{d}").as_str())
    );
    assert_eq!(put.header("Docker-Content-Digest"), Some(d.as_str()));

    // Chunks, in order; one out of order is refused with where the upload really is.
    let data: Vec<u8> = (0..30u8).collect();
    let start = reg.req("POST", "/v2/push/app/blobs/uploads/", &[], Body::Bytes(b""));
    let location = start.header("Location").unwrap().to_string();
    let patch = |range: &str, bytes: &[u8]| {
        reg.req(
            "PATCH",
            &location,
            &[
                ("Content-Range", range),
                ("Content-Type", "application/octet-stream"),
            ],
            Body::Bytes(bytes),
        )
    };
    let first = patch("0-9", &data[..10]);
    assert_eq!((first.status, first.header("Range")), (202, Some("0-9")));
    let location = first.header("Location").unwrap().to_string();
    let skipped = patch("15-19", &data[15..20]);
    assert_eq!(
        (skipped.status, code(&skipped)),
        (416, "BLOB_UPLOAD_INVALID".into())
    );
    assert_eq!(skipped.header("Range"), Some("0-9"));
    let status = reg.get(&location);
    assert_eq!((status.status, status.header("Range")), (204, Some("0-9")));
    assert_eq!(status.header("Location"), Some(location.as_str()));
    assert!(status.header("Docker-Upload-UUID").is_some());
    assert_eq!(patch("10-19", &data[10..20]).header("Range"), Some("0-19"));
    let d = sha256(&data);
    let last = reg.req(
        "PUT",
        &format!("{location}?digest={d}"),
        &[("Content-Range", "20-29")],
        Body::Bytes(&data[20..]),
    );
    assert_eq!(last.status, 201, "{}", last.text());
    assert_eq!(reg.get(&format!("/v2/push/app/blobs/{d}")).body, data);

    // Cancel.
    let start = reg.req("POST", "/v2/push/app/blobs/uploads/", &[], Body::Bytes(b""));
    let location = start.header("Location").unwrap().to_string();
    assert_eq!(
        reg.req("PATCH", &location, &[], Body::Bytes(b"abandoned"))
            .status,
        202
    );
    assert_eq!(
        reg.req("DELETE", &location, &[], Body::Bytes(b"")).status,
        204
    );
    let gone = reg.get(&location);
    assert_eq!(
        (gone.status, code(&gone)),
        (404, "BLOB_UPLOAD_UNKNOWN".into())
    );

    // Mount from another repository; an unknown blob falls back to an upload session.
    let mounted = reg.req(
        "POST",
        &format!("/v2/push/other/blobs/uploads/?mount={one}&from=push/app"),
        &[],
        Body::Bytes(b""),
    );
    assert_eq!(mounted.status, 201);
    assert_eq!(
        mounted.header("Location"),
        Some(format!("/v2/push/other/blobs/{one}").as_str())
    );
    assert_eq!(
        reg.get(&format!("/v2/push/other/blobs/{one}")).body,
        b"monolithic"
    );
    let absent = sha256(b"never pushed");
    let fallback = reg.req(
        "POST",
        &format!("/v2/push/other/blobs/uploads/?mount={absent}&from=push/app"),
        &[],
        Body::Bytes(b""),
    );
    assert_eq!(fallback.status, 202);
    assert!(fallback
        .header("Location")
        .unwrap()
        .starts_with("/v2/push/other/blobs/uploads/"));

    // Manifests, by tag and by digest with extra tags.
    let config = br#"{"os":"linux"}"#;
    reg.push_blob("push/app", config);
    let m = manifest_bytes(config, &[b"monolithic".to_vec()]);
    let by_tag = reg.put_manifest("push/app", "latest", OCI_MANIFEST, &m);
    assert_eq!(by_tag.status, 201, "{}", by_tag.text());
    let digest = sha256(&m);
    assert_eq!(
        by_tag.header("Docker-Content-Digest"),
        Some(digest.as_str())
    );
    assert_eq!(
        by_tag.header("Location"),
        Some(format!("/v2/push/app/manifests/{digest}").as_str())
    );
    let by_digest = reg.put_manifest(
        "push/app",
        &format!("{digest}?tag=1.0&tag=stable"),
        OCI_MANIFEST,
        &m,
    );
    assert_eq!(by_digest.status, 201);
    assert_eq!(all_headers(&by_digest, "OCI-Tag"), ["1.0", "stable"]);
    assert_eq!(reg.get("/v2/push/app/manifests/stable").body, m);
}
