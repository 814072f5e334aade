//! The referrers API: artifacts pushed with a `subject` are listed under it as an OCI index
//! of descriptors, filterable by `artifactType`, and the push says it saw the subject.

use serde_json::{json, Value};

use super::common::images::sha256;
use super::common::registry::{descriptor, OCI_INDEX, OCI_MANIFEST};
use super::*;

const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// An artifact manifest about `subject` (its bytes), with `artifact_type` if given.
fn artifact(
    reg: &Registry,
    repo: &str,
    subject: &[u8],
    artifact_type: Option<&str>,
    note: &str,
) -> Vec<u8> {
    reg.push_blob(repo, b"{}");
    let blob = format!("{note} payload").into_bytes();
    reg.push_blob(repo, &blob);
    let mut m = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(EMPTY, b"{}"), "layers": [descriptor("text/plain", &blob)],
        "subject": descriptor(OCI_MANIFEST, subject), "annotations": {"org.example.note": note}});
    if let Some(t) = artifact_type {
        m["artifactType"] = json!(t);
    }
    serde_json::to_vec(&m).unwrap()
}

fn listed(r: &Response) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some(OCI_INDEX));
    let v = r.json();
    assert_eq!(
        (v["schemaVersion"].as_i64(), v["mediaType"].as_str()),
        (Some(2), Some(OCI_INDEX))
    );
    v["manifests"].as_array().unwrap().clone()
}

#[test]
fn referrers_are_listed_filtered_and_forgotten() {
    let reg = Registry::start(&[]);
    let image = reg.push_image("art", "v1", "subject");
    let sbom = artifact(
        &reg,
        "art",
        &image.manifest,
        Some("application/vnd.example.sbom.v1"),
        "sbom",
    );
    let r = reg.put_manifest("art", &sha256(&sbom), OCI_MANIFEST, &sbom);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("OCI-Subject"), Some(image.digest.as_str()));
    let sig = artifact(&reg, "art", &image.manifest, None, "signature");
    assert_eq!(
        reg.put_manifest("art", &sha256(&sig), OCI_MANIFEST, &sig)
            .status,
        201
    );

    let all = listed(&reg.get(&format!("/v2/art/referrers/{}", image.digest)));
    assert_eq!(all.len(), 2);
    let by_digest = |d: &str| all.iter().find(|m| m["digest"] == d).unwrap().clone();
    let s = by_digest(&sha256(&sbom));
    assert_eq!(s["mediaType"], OCI_MANIFEST);
    assert_eq!(s["size"], sbom.len());
    assert_eq!(s["artifactType"], "application/vnd.example.sbom.v1");
    assert_eq!(s["annotations"]["org.example.note"], "sbom");
    // Without an artifactType of its own, an image manifest is typed by its config.
    assert_eq!(by_digest(&sha256(&sig))["artifactType"], EMPTY);

    let filtered = reg.get(&format!(
        "/v2/art/referrers/{}?artifactType=application/vnd.example.sbom.v1",
        image.digest
    ));
    assert_eq!(filtered.header("OCI-Filters-Applied"), Some("artifactType"));
    let only = listed(&filtered);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["digest"], sha256(&sbom));
    assert_eq!(
        reg.get(&format!("/v2/art/referrers/{}", image.digest))
            .header("OCI-Filters-Applied"),
        None
    );

    let none = reg.get(&format!("/v2/art/referrers/{}", sha256(b"no such subject")));
    assert!(listed(&none).is_empty());
    assert!(listed(&reg.get(&format!("/v2/unknown/repo/referrers/{}", image.digest))).is_empty());

    assert_eq!(
        reg.req(
            "DELETE",
            &format!("/v2/art/manifests/{}", sha256(&sbom)),
            &[],
            Body::Bytes(b"")
        )
        .status,
        202
    );
    let left = listed(&reg.get(&format!("/v2/art/referrers/{}", image.digest)));
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["digest"], sha256(&sig));
}

#[test]
fn a_referrer_may_arrive_before_its_subject() {
    let reg = Registry::start(&[]);
    let future_subject = b"{\"a manifest\":\"not pushed yet\"}";
    let note = artifact(
        &reg,
        "early",
        future_subject,
        Some("application/vnd.example.note"),
        "early",
    );
    let r = reg.put_manifest("early", "note", OCI_MANIFEST, &note);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("OCI-Subject"),
        Some(sha256(future_subject).as_str())
    );
    let list = listed(&reg.get(&format!("/v2/early/referrers/{}", sha256(future_subject))));
    assert_eq!(list.len(), 1);
}
