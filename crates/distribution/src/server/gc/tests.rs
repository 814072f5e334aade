//! The collector over a storage root built by hand.

use std::time::{Duration, SystemTime};

use berth_store::model::media_type as mt;
use berth_store::{ContentStore, Expected, FsContentStore};
use serde_json::json;

use super::*;
use crate::server::names::Tag;
use crate::server::storage::Revision;

struct Root {
    _dir: tempfile::TempDir,
    storage: Storage,
    store: FsContentStore,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        let store = FsContentStore::open(Storage::content_root(dir.path())).unwrap();
        Root {
            storage: Storage::new(dir.path()),
            store,
            _dir: dir,
        }
    }

    fn blob(&self, repo: &RepoName, bytes: &[u8]) -> Digest {
        let d = Digest::sha256(bytes);
        self.store.put(bytes, &Expected::digest(&d)).unwrap();
        self.storage.repos.link_blob(repo, &d).unwrap();
        d
    }

    fn manifest(&self, repo: &RepoName, value: serde_json::Value, tag: Option<&str>) -> Digest {
        let bytes = serde_json::to_vec(&value).unwrap();
        let d = Digest::sha256(&bytes);
        self.store.put(&bytes, &Expected::digest(&d)).unwrap();
        let rev = Revision {
            media_type: value["mediaType"].as_str().unwrap().into(),
            size: bytes.len() as u64,
        };
        self.storage.repos.put_revision(repo, &d, &rev).unwrap();
        if let Some(t) = tag {
            self.storage
                .repos
                .set_tag(repo, &Tag::parse(t).unwrap(), &d)
                .unwrap();
        }
        d
    }

    /// Makes everything look old enough to collect.
    fn age_everything(&self) {
        let old = SystemTime::now() - Duration::from_secs(7200);
        for b in self.storage.blobs.list().unwrap() {
            std::fs::File::open(self.storage.blobs.path(&b.digest))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        let revs = self._dir.path().join("repositories");
        for entry in walk(&revs) {
            std::fs::File::open(entry)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

fn desc(mt: &str, d: &Digest, size: usize) -> serde_json::Value {
    json!({"mediaType": mt, "digest": d.to_string(), "size": size})
}

fn opts(delete_untagged: bool) -> GcOptions {
    GcOptions {
        dry_run: false,
        delete_untagged,
        grace: Duration::from_secs(3600),
    }
}

#[test]
fn unreferenced_old_blobs_go_and_the_rest_stay() {
    let r = Root::new();
    let repo = RepoName::parse("app").unwrap();
    let (config, layer, stray) = (
        r.blob(&repo, b"config"),
        r.blob(&repo, b"layer"),
        r.blob(&repo, b"stray"),
    );
    let image = json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
        "config": desc(mt::OCI_CONFIG, &config, 6), "layers": [desc(mt::OCI_LAYER, &layer, 5)]});
    let m = r.manifest(&repo, image, Some("v1"));
    r.age_everything();
    let fresh = r.blob(&repo, b"fresh");
    let dry = collect(
        &r.storage,
        &GcOptions {
            dry_run: true,
            ..opts(false)
        },
    )
    .unwrap();
    assert_eq!(dry.blobs, vec![(stray.clone(), 5)]);
    assert!(
        r.storage.blobs.size(&stray).unwrap().is_some(),
        "a dry run removes nothing"
    );
    let report = collect(&r.storage, &opts(false)).unwrap();
    assert_eq!(report.blobs, vec![(stray.clone(), 5)]);
    assert_eq!(report.bytes, 5);
    assert_eq!(report.spared, 1);
    for kept in [&config, &layer, &m, &fresh] {
        assert!(
            r.storage.blobs.size(kept).unwrap().is_some(),
            "{kept} removed"
        );
    }
    assert!(!r.storage.repos.has_blob_link(&repo, &stray));
    assert!(report
        .to_string()
        .contains("removed 1 blobs and 0 manifests, 5 bytes freed"));
}

#[test]
fn delete_untagged_keeps_what_tags_reach_and_their_referrers() {
    let r = Root::new();
    let repo = RepoName::parse("a/b").unwrap();
    let config = r.blob(&repo, b"{}");
    let layer_a = r.blob(&repo, b"a");
    let layer_b = r.blob(&repo, b"b");
    let image = |layer: &Digest| {
        json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
        "config": desc(mt::OCI_CONFIG, &config, 2), "layers": [desc(mt::OCI_LAYER, layer, 1)]})
    };
    let child = r.manifest(&repo, image(&layer_a), None);
    let index = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": [desc(mt::OCI_MANIFEST, &child, 1)]});
    r.manifest(&repo, index, Some("latest"));
    let mut sbom = image(&layer_b);
    sbom["subject"] = desc(mt::OCI_MANIFEST, &child, 1);
    let referrer = r.manifest(&repo, sbom, None);
    let orphan = r.manifest(&repo, image(&layer_b), None);
    r.age_everything();
    let report = collect(&r.storage, &opts(true)).unwrap();
    assert_eq!(report.manifests, vec![(repo.clone(), orphan.clone())]);
    assert!(r.storage.repos.revision(&repo, &orphan).unwrap().is_none());
    for kept in [&child, &referrer, &layer_a, &layer_b, &config] {
        assert!(
            r.storage.blobs.size(kept).unwrap().is_some(),
            "{kept} removed"
        );
    }
    assert!(r.storage.blobs.size(&orphan).unwrap().is_none());
}

#[test]
fn an_unreadable_manifest_stops_the_collection() {
    let r = Root::new();
    let repo = RepoName::parse("x").unwrap();
    let bad = r.blob(&repo, b"not json");
    let rev = Revision {
        media_type: mt::OCI_MANIFEST.into(),
        size: 8,
    };
    r.storage.repos.put_revision(&repo, &bad, &rev).unwrap();
    r.blob(&repo, b"stray");
    r.age_everything();
    assert!(matches!(
        collect(&r.storage, &opts(false)),
        Err(GcError::Unreadable { .. })
    ));
    assert_eq!(r.storage.blobs.list().unwrap().len(), 2);
}
