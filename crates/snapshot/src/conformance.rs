//! The lifecycle suite every [`Snapshotter`] must pass: unpack → prepare → write through
//! the mount → release → remove, plus the refusals in between. Run it from a test with a
//! constructor for the implementation under test:
//!
//! ```ignore
//! berth_snapshot::conformance::run_all(&|root| Box::new(LayerStore::open(root).expect("open")));
//! ```
//!
//! Each case gets a fresh directory under the system temp dir; the suite panics (as a test
//! does) on the first broken expectation, after unmounting and deleting what it made.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::ErrorKind;
use crate::overlay::unmount_all_under;
use crate::Snapshotter;

type Make<'a> = &'a dyn Fn(&Path) -> Box<dyn Snapshotter>;
type Case = fn(Make<'_>, &Path);

/// Runs every case against snapshotters built by `make` on a fresh, empty root each.
pub fn run_all(make: Make<'_>) {
    let cases: [(&str, Case); 8] = [
        ("unpack_then_query", unpack_then_query),
        ("unpack_verifies_diff_id", unpack_verifies_diff_id),
        (
            "compressed_layers_share_the_diff_id",
            compressed_layers_share_the_diff_id,
        ),
        ("prepare_write_release", prepare_write_release),
        ("remove_lifecycle", remove_lifecycle),
        ("invalid_arguments", invalid_arguments),
        ("duplicate_snapshot_key", duplicate_snapshot_key),
        ("layers_persist_across_reopen", layers_persist_across_reopen),
    ];
    for (name, case) in cases {
        let dir = TempRoot::new(name);
        tracing::info!(case = name, "snapshotter conformance");
        case(make, &dir.0);
    }
}

/// A fresh directory, unmounted and removed on drop even when a case panics.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new(case: &str) -> Self {
        let nonce = crate::fsutil::random_name().expect("random name for a temp dir");
        let dir = std::env::temp_dir().join(format!("berth-conformance-{case}-{nonce}"));
        std::fs::create_dir_all(&dir).expect("creating the conformance temp dir");
        Self(dir)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        if let Err(e) = unmount_all_under(&self.0) {
            eprintln!("conformance cleanup: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Releases a snapshot when dropped, so a failing case leaves no mount behind.
struct Prepared<'a> {
    snap: &'a dyn Snapshotter,
    key: &'a str,
    merged: PathBuf,
    armed: bool,
}

impl<'a> Prepared<'a> {
    fn new(snap: &'a dyn Snapshotter, key: &'a str, lowers: &[String]) -> Self {
        let merged = snap.prepare(key, lowers).expect("prepare");
        Self {
            snap,
            key,
            merged,
            armed: true,
        }
    }

    fn release(mut self) {
        self.armed = false;
        self.snap.release(self.key).expect("release");
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.snap.release(self.key);
        }
    }
}

/// A layer of regular files; `.wh.` names are whiteouts like any other entry name.
fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        b.append_data(&mut h, path, *data)
            .expect("building a test layer");
    }
    b.into_inner().expect("finishing a test layer")
}

fn diff_id(tar: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(tar)))
}

fn kind<T: std::fmt::Debug>(r: Result<T, crate::LayerError>) -> ErrorKind {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.kind(),
    }
}

fn unpack_then_query(make: Make<'_>, root: &Path) {
    let snap = make(root);
    let tar = layer(&[("a", b"12345"), ("d/b", b"678")]);
    let info = snap.unpack(&mut &tar[..], None).expect("unpack");
    assert_eq!(info.diff_id, diff_id(&tar));
    assert_eq!(info.size, 8);
    assert!(snap.exists(&info.diff_id).expect("exists"));
    assert_eq!(snap.info(&info.diff_id).expect("info"), info);
    assert_eq!(snap.list().expect("list"), vec![info.clone()]);
    let again = snap
        .unpack(&mut &tar[..], Some(&info.diff_id))
        .expect("unpack again");
    assert_eq!(again, info);
    assert_eq!(
        snap.list().expect("list").len(),
        1,
        "one layer, however often unpacked"
    );
}

fn unpack_verifies_diff_id(make: Make<'_>, root: &Path) {
    let snap = make(root);
    let tar = layer(&[("a", b"1")]);
    let wrong = diff_id(b"something else");
    let err = snap
        .unpack(&mut &tar[..], Some(&wrong))
        .expect_err("mismatch");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let text = err.to_string();
    assert!(
        text.contains(&wrong) && text.contains(&diff_id(&tar)),
        "{text}"
    );
    assert!(!snap.exists(&diff_id(&tar)).expect("exists"));
    assert!(snap.list().expect("list").is_empty());
    let err = snap.unpack(&mut &b"not a tar archive, not at all"[..], None);
    assert_eq!(kind(err), ErrorKind::InvalidArgument);
    assert!(snap.list().expect("list").is_empty());
}

fn compressed_layers_share_the_diff_id(make: Make<'_>, root: &Path) {
    let snap = make(root);
    let tar = layer(&[("f", &b"compress me ".repeat(500))]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let zst = zstd::encode_all(&tar[..], 3).expect("zstd");
    for blob in [&gz, &zst, &tar] {
        let info = snap
            .unpack(&mut &blob[..], Some(&diff_id(&tar)))
            .expect("unpack");
        assert_eq!(info.diff_id, diff_id(&tar));
    }
    assert_eq!(snap.list().expect("list").len(), 1);
}

fn prepare_write_release(make: Make<'_>, root: &Path) {
    let snap = make(root);
    let base = layer(&[("a", b"base"), ("gone", b"x"), ("dir/x", b"x")]);
    let top = layer(&[
        ("a", b"top"),
        (".wh.gone", b""),
        ("dir/.wh..wh..opq", b""),
        ("dir/y", b"y"),
    ]);
    let base_id = snap.unpack(&mut &base[..], None).expect("base").diff_id;
    let top_id = snap.unpack(&mut &top[..], None).expect("top").diff_id;
    let p = Prepared::new(&*snap, "c1", &[top_id.clone(), base_id.clone()]);
    let m = p.merged.clone();
    assert_eq!(std::fs::read(m.join("a")).expect("a"), b"top");
    assert!(!m.join("gone").exists(), "whited-out file visible");
    assert!(!m.join("dir/x").exists(), "opaque dir shows lower content");
    assert_eq!(std::fs::read(m.join("dir/y")).expect("y"), b"y");
    std::fs::write(m.join("new"), b"written").expect("write through the mount");
    std::fs::remove_file(m.join("a")).expect("delete through the mount");
    assert_eq!(std::fs::read(m.join("new")).expect("new"), b"written");
    // A second snapshot of the same layers sees none of the first one's changes.
    let q = Prepared::new(&*snap, "c2", &[top_id, base_id]);
    assert!(!q.merged.join("new").exists());
    assert_eq!(std::fs::read(q.merged.join("a")).expect("a"), b"top");
    q.release();
    p.release();
    assert!(!m.join("new").exists(), "released snapshot still mounted");
    assert_eq!(kind(snap.release("c1")), ErrorKind::NotFound);
    // Scratch: a snapshot with no layers at all.
    let s = Prepared::new(&*snap, "scratch", &[]);
    std::fs::write(s.merged.join("f"), b"f").expect("write to scratch");
    s.release();
}

fn remove_lifecycle(make: Make<'_>, root: &Path) {
    let snap = make(root);
    let tar = layer(&[("a", b"1")]);
    let id = snap.unpack(&mut &tar[..], None).expect("unpack").diff_id;
    let p = Prepared::new(&*snap, "user", std::slice::from_ref(&id));
    assert_eq!(
        kind(snap.remove(&id)),
        ErrorKind::Conflict,
        "removed while in use"
    );
    assert!(snap.exists(&id).expect("exists"));
    p.release();
    snap.remove(&id).expect("remove");
    assert!(!snap.exists(&id).expect("exists"));
    assert_eq!(kind(snap.info(&id)), ErrorKind::NotFound);
    assert_eq!(kind(snap.remove(&id)), ErrorKind::NotFound);
    assert!(snap.list().expect("list").is_empty());
    // Gone for good, yet can come back.
    snap.unpack(&mut &tar[..], Some(&id))
        .expect("unpack after remove");
    assert!(snap.exists(&id).expect("exists"));
}

fn invalid_arguments(make: Make<'_>, root: &Path) {
    let snap = make(root);
    let upper = format!("sha256:{}", "A".repeat(64));
    for bad in [
        "",
        "sha256:",
        "sha256:abc",
        "sha512:00",
        "../../etc",
        upper.as_str(),
    ] {
        assert_eq!(
            kind(snap.exists(bad)),
            ErrorKind::InvalidArgument,
            "{bad:?}"
        );
        assert_eq!(kind(snap.info(bad)), ErrorKind::InvalidArgument, "{bad:?}");
        assert_eq!(
            kind(snap.remove(bad)),
            ErrorKind::InvalidArgument,
            "{bad:?}"
        );
        let r = snap.unpack(&mut &layer(&[])[..], Some(bad));
        assert_eq!(kind(r), ErrorKind::InvalidArgument, "{bad:?}");
    }
    for bad_key in ["", "..", "a/b", "with space"] {
        assert_eq!(
            kind(snap.prepare(bad_key, &[])),
            ErrorKind::InvalidArgument,
            "{bad_key:?}"
        );
        assert_eq!(
            kind(snap.release(bad_key)),
            ErrorKind::InvalidArgument,
            "{bad_key:?}"
        );
    }
    let missing = diff_id(b"never unpacked");
    assert_eq!(kind(snap.prepare("k", &[missing])), ErrorKind::NotFound);
    assert_eq!(
        kind(snap.release("k")),
        ErrorKind::NotFound,
        "failed prepare left a snapshot"
    );
}

fn duplicate_snapshot_key(make: Make<'_>, root: &Path) {
    let snap = make(root);
    let p = Prepared::new(&*snap, "dup", &[]);
    assert_eq!(kind(snap.prepare("dup", &[])), ErrorKind::Conflict);
    std::fs::write(p.merged.join("still"), b"mounted").expect("first snapshot intact");
    p.release();
}

fn layers_persist_across_reopen(make: Make<'_>, root: &Path) {
    let tar = layer(&[("a", b"1")]);
    let info = make(root).unpack(&mut &tar[..], None).expect("unpack");
    let snap = make(root);
    assert_eq!(snap.list().expect("list"), vec![info.clone()]);
    assert_eq!(snap.info(&info.diff_id).expect("info"), info);
}
