//! The spec's four workflows (pull, push, content discovery, content management), each a
//! function over a running registry whose default credentials let it do everything, run
//! without auth here and with Basic auth and bearer tokens in `auth.rs`.

use super::common::images::sha256;
use super::common::registry::OCI_MANIFEST;
use super::*;

pub fn all(reg: &Registry) {
    pull(reg);
    super::push::push(reg);
    discovery(reg);
    management(reg);
}

pub fn pull(reg: &Registry) {
    let img = reg.push_image("pull/app", "v1", "pull");
    let by_tag = reg.get("/v2/pull/app/manifests/v1");
    assert_eq!(by_tag.status, 200);
    assert_eq!(by_tag.body, img.manifest);
    assert_eq!(by_tag.header("Content-Type"), Some(OCI_MANIFEST));
    assert_eq!(
        by_tag.header("Docker-Content-Digest"),
        Some(img.digest.as_str())
    );
    assert_eq!(
        by_tag.header("Docker-Distribution-API-Version"),
        Some("registry/2.0")
    );
    let by_digest = reg.get(&format!("/v2/pull/app/manifests/{}", img.digest));
    assert_eq!(
        (by_digest.status, by_digest.body),
        (200, img.manifest.clone())
    );
    let head = reg.head("/v2/pull/app/manifests/v1");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("Content-Length"),
        Some(img.manifest.len().to_string().as_str())
    );
    assert_eq!(
        head.header("Docker-Content-Digest"),
        Some(img.digest.as_str())
    );

    let layer = &img.layers[0];
    let blob = reg.get(&format!("/v2/pull/app/blobs/{layer}"));
    assert_eq!(blob.status, 200);
    assert_eq!(sha256(&blob.body), *layer);
    assert_eq!(blob.header("Docker-Content-Digest"), Some(layer.as_str()));
    let size = blob.body.len();
    let head = reg.head(&format!("/v2/pull/app/blobs/{layer}"));
    assert_eq!(
        (head.status, head.header("Content-Length")),
        (200, Some(size.to_string().as_str()))
    );
    let ranged = |range: &str| {
        reg.req(
            "GET",
            &format!("/v2/pull/app/blobs/{layer}"),
            &[("Range", range)],
            Body::Bytes(b""),
        )
    };
    let part = ranged("bytes=2-9");
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("Content-Range"),
        Some(format!("bytes 2-9/{size}").as_str())
    );
    assert_eq!(part.body, blob.body[2..10]);
    let tail = ranged("bytes=-5");
    assert_eq!((tail.status, &tail.body[..]), (206, &blob.body[size - 5..]));
    let rest = ranged(&format!("bytes={}-", size - 3));
    assert_eq!(rest.body, blob.body[size - 3..]);
    let past = ranged(&format!("bytes={size}-"));
    assert_eq!(past.status, 416);
    assert_eq!(
        past.header("Content-Range"),
        Some(format!("bytes */{size}").as_str())
    );

    let missing = reg.get("/v2/pull/app/manifests/nope");
    assert_eq!(
        (missing.status, code(&missing)),
        (404, "MANIFEST_UNKNOWN".into())
    );
    let unknown_repo = reg.get("/v2/pull/none/manifests/v1");
    assert_eq!(
        (unknown_repo.status, code(&unknown_repo)),
        (404, "NAME_UNKNOWN".into())
    );
    let no_blob = reg.get(&format!("/v2/pull/app/blobs/{}", sha256(b"absent")));
    assert_eq!(
        (no_blob.status, code(&no_blob)),
        (404, "BLOB_UNKNOWN".into())
    );
    assert_eq!(
        reg.head(&format!("/v2/pull/app/blobs/{}", sha256(b"absent")))
            .status,
        404
    );
}

pub fn discovery(reg: &Registry) {
    for tag in ["b", "a", "e", "c", "d"] {
        reg.push_image("disco/one/two", tag, tag);
    }
    reg.push_image("disco/x", "v1", "x");
    let all = reg.get("/v2/disco/one/two/tags/list");
    assert_eq!(all.status, 200);
    assert_eq!(
        all.json(),
        serde_json::json!({"name": "disco/one/two", "tags": ["a", "b", "c", "d", "e"]})
    );
    let mut seen = Vec::new();
    let mut next = Some("/v2/disco/one/two/tags/list?n=2".to_string());
    while let Some(url) = next {
        let page = reg.get(&url);
        assert_eq!(page.status, 200);
        let tags = page.json()["tags"].as_array().unwrap().clone();
        assert!(tags.len() <= 2);
        seen.extend(tags.iter().map(|t| t.as_str().unwrap().to_string()));
        next = page.header("Link").map(|l| {
            assert!(l.ends_with("; rel=\"next\""), "{l}");
            l[1..l.find('>').unwrap()].to_string()
        });
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    let first = reg.get("/v2/disco/one/two/tags/list?n=2");
    assert_eq!(
        first.header("Link"),
        Some("</v2/disco/one/two/tags/list?n=2&last=b>; rel=\"next\"")
    );
    let none = reg.get("/v2/disco/one/two/tags/list?n=0");
    assert_eq!(
        (
            none.json()["tags"].as_array().unwrap().len(),
            none.header("Link")
        ),
        (0, None)
    );
    assert_eq!(
        reg.get("/v2/disco/one/two/tags/list?last=c").json()["tags"],
        serde_json::json!(["d", "e"])
    );
    let unknown = reg.get("/v2/disco/none/tags/list");
    assert_eq!(
        (unknown.status, code(&unknown)),
        (404, "NAME_UNKNOWN".into())
    );

    let catalog = reg.get("/v2/_catalog");
    assert_eq!(catalog.status, 200);
    let repos: Vec<String> = catalog.json()["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let mut sorted = repos.clone();
    sorted.sort();
    assert_eq!(repos, sorted);
    assert!(
        repos.contains(&"disco/one/two".to_string()) && repos.contains(&"disco/x".to_string()),
        "{repos:?}"
    );
    let page = reg.get("/v2/_catalog?n=1");
    assert_eq!(page.json()["repositories"], serde_json::json!([repos[0]]));
    assert_eq!(
        page.header("Link"),
        Some(format!("</v2/_catalog?n=1&last={}>; rel=\"next\"", repos[0]).as_str())
    );
}

pub fn management(reg: &Registry) {
    let img = reg.push_image("manage/app", "v1", "manage");
    let tag = |t: &str| {
        reg.put_manifest("manage/app", t, OCI_MANIFEST, &img.manifest)
            .status
    };
    assert_eq!((tag("v2"), tag("v3")), (201, 201));
    // A tag goes alone.
    assert_eq!(
        reg.req(
            "DELETE",
            "/v2/manage/app/manifests/v1",
            &[],
            Body::Bytes(b"")
        )
        .status,
        202
    );
    assert_eq!(reg.get("/v2/manage/app/manifests/v1").status, 404);
    assert_eq!(reg.get("/v2/manage/app/manifests/v2").status, 200);
    assert_eq!(
        reg.req(
            "DELETE",
            "/v2/manage/app/manifests/v1",
            &[],
            Body::Bytes(b"")
        )
        .status,
        404
    );
    // A manifest takes every tag pointing at it.
    let by_digest = format!("/v2/manage/app/manifests/{}", img.digest);
    assert_eq!(
        reg.req("DELETE", &by_digest, &[], Body::Bytes(b"")).status,
        202
    );
    assert_eq!(reg.get(&by_digest).status, 404);
    assert_eq!(reg.get("/v2/manage/app/manifests/v3").status, 404);
    assert_eq!(
        reg.get("/v2/manage/app/tags/list").json()["tags"],
        serde_json::json!([])
    );
    assert_eq!(
        reg.req("DELETE", &by_digest, &[], Body::Bytes(b"")).status,
        404
    );
    // A blob.
    let blob = format!("/v2/manage/app/blobs/{}", img.layers[0]);
    assert_eq!(reg.req("DELETE", &blob, &[], Body::Bytes(b"")).status, 202);
    assert_eq!(reg.get(&blob).status, 404);
    let again = reg.req("DELETE", &blob, &[], Body::Bytes(b""));
    assert_eq!((again.status, code(&again)), (404, "BLOB_UNKNOWN".into()));
}

#[test]
fn the_four_workflows_without_auth() {
    let reg = Registry::start(&[]);
    all(&reg);
}
