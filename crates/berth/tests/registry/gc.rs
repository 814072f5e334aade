//! Garbage collection, by `berth registry gc` beside a running server on the same root and
//! on the server's own schedule: what nothing references goes, what a manifest references
//! stays, and so does anything pushed within the grace period.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use super::common::registry::{manifest_bytes, OCI_MANIFEST};
use super::common::BERTH;
use super::*;

fn hex(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// Makes a blob (and its link in `repo`) look two hours old.
fn backdate(reg: &Registry, repo: &str, digest: &str, kind: &str) {
    let old = SystemTime::now() - Duration::from_secs(7200);
    let blob = reg.root().join("content/blobs/sha256").join(hex(digest));
    let link = match kind {
        "blob" => reg
            .root()
            .join(format!("repositories/{repo}/_layers/sha256"))
            .join(hex(digest)),
        _ => reg
            .root()
            .join(format!("repositories/{repo}/_manifests/revisions/sha256"))
            .join(hex(digest)),
    };
    for p in [blob, link] {
        std::fs::File::open(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .set_modified(old)
            .unwrap();
    }
}

fn gc(root: &Path, args: &[&str]) -> String {
    let out = Command::new(BERTH)
        .args(["registry", "gc", "--root"])
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "gc failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn gc_beside_a_running_server_takes_only_old_unreferenced_blobs() {
    let reg = Registry::start(&[]);
    let image = reg.push_image("app", "v1", "kept");
    let stray_bytes = b"uploaded, never referenced".to_vec();
    let stray = reg.push_blob("app", &stray_bytes);
    for d in image.layers.iter().chain([&image.config, &stray]) {
        backdate(&reg, "app", d, "blob");
    }
    backdate(&reg, "app", &image.digest, "manifest");
    // A push in progress: its blob is up, its manifest not yet.
    let fresh = reg.push_blob("app", b"part of a push in progress");

    let dry = gc(&reg.root(), &["--dry-run"]);
    assert!(
        dry.contains(&format!(
            "would remove blob {stray} ({} bytes)",
            stray_bytes.len()
        )),
        "{dry}"
    );
    assert_eq!(
        reg.get(&format!("/v2/app/blobs/{stray}")).status,
        200,
        "a dry run removes nothing"
    );

    let out = gc(&reg.root(), &[]);
    assert!(
        out.contains(&format!(
            "removed blob {stray} ({} bytes)",
            stray_bytes.len()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "removed 1 blobs and 0 manifests, {} bytes freed",
            stray_bytes.len()
        )),
        "{out}"
    );
    assert!(
        !out.contains(&fresh) && !out.contains(&image.layers[0]),
        "{out}"
    );
    assert_eq!(reg.get(&format!("/v2/app/blobs/{stray}")).status, 404);
    assert_eq!(reg.get(&format!("/v2/app/blobs/{fresh}")).status, 200);
    assert_eq!(reg.get("/v2/app/manifests/v1").body, image.manifest);
    for d in image.layers.iter().chain([&image.config]) {
        assert_eq!(reg.get(&format!("/v2/app/blobs/{d}")).status, 200, "{d}");
    }
    // The push completes after the collection.
    let config = b"{\"late\":true}".to_vec();
    reg.push_blob("app", &config);
    let m = manifest_bytes(&config, &[b"part of a push in progress".to_vec()]);
    assert_eq!(reg.put_manifest("app", "v2", OCI_MANIFEST, &m).status, 201);
}

#[test]
fn gc_delete_untagged_removes_manifests_no_tag_reaches() {
    let reg = Registry::start(&[]);
    let tagged = reg.push_image("app", "v1", "tagged");
    let untagged = reg.push_image("app", "v2", "untagged");
    assert_eq!(
        reg.req("DELETE", "/v2/app/manifests/v2", &[], Body::Bytes(b""))
            .status,
        202
    );
    for img in [&tagged, &untagged] {
        for d in img.layers.iter().chain([&img.config]) {
            backdate(&reg, "app", d, "blob");
        }
        backdate(&reg, "app", &img.digest, "manifest");
    }
    let kept = gc(&reg.root(), &[]);
    assert!(
        kept.contains("removed 0 blobs and 0 manifests"),
        "untagged manifests stay by default: {kept}"
    );
    let out = gc(&reg.root(), &["--delete-untagged"]);
    assert!(
        out.contains(&format!("removed manifest app@{}", untagged.digest)),
        "{out}"
    );
    assert!(
        out.contains(&format!("removed blob {}", untagged.layers[0])),
        "{out}"
    );
    assert_eq!(
        reg.get(&format!("/v2/app/manifests/{}", untagged.digest))
            .status,
        404
    );
    assert_eq!(reg.get("/v2/app/manifests/v1").body, tagged.manifest);
    assert_eq!(
        reg.get(&format!("/v2/app/blobs/{}", tagged.layers[0]))
            .status,
        200
    );
}

#[test]
fn scheduled_gc_runs_inside_the_server() {
    let reg = Registry::start(&["--gc-interval", "300ms", "--gc-grace", "1h"]);
    let image = reg.push_image("app", "v1", "scheduled");
    let stray = reg.push_blob("app", b"scheduled for removal");
    let fresh = reg.push_blob("app", b"within its grace period");
    backdate(&reg, "app", &stray, "blob");
    common::eventually("the scheduled collection", || {
        reg.get(&format!("/v2/app/blobs/{stray}")).status == 404
    });
    assert_eq!(reg.get("/v2/app/manifests/v1").body, image.manifest);
    assert_eq!(
        reg.get(&format!("/v2/app/blobs/{}", image.layers[0]))
            .status,
        200
    );
    assert_eq!(reg.get(&format!("/v2/app/blobs/{fresh}")).status, 200);
}
