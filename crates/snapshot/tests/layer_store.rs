//! The layer store: diff IDs of compressed streams, atomic publication, crash debris.

mod common;

use std::io::Write;

use berth_snapshot::{ErrorKind, LayerError, LayerStore};
use common::*;
use sha2::{Digest, Sha256};

fn diff_id(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A layer as `tar` writes it: entries, end-of-archive blocks, then padding to a full
/// 10 KiB record. The padding is part of the diff ID.
fn sample_layer() -> Vec<u8> {
    let mut tar = Tar::new()
        .dir("etc")
        .add(
            Entry::new("etc/os-release", REGULAR)
                .data(b"ID=berth\n")
                .mode(0o644),
        )
        .add(
            Entry::new("bin/sh", REGULAR)
                .data(&[0x7f; 5000])
                .mode(0o755),
        )
        .file("etc/.wh.removed", b"")
        .finish();
    tar.resize(tar.len().div_ceil(10240) * 10240, 0);
    tar
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn dir_names(path: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(path)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn plain_gzip_and_zstd_layers_get_the_diff_id_of_the_uncompressed_bytes() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let tar = sample_layer();
    let want = diff_id(&tar);
    let zst = zstd::encode_all(&tar[..], 3).expect("zstd");
    for (what, blob) in [("gzip", gzip(&tar)), ("zstd", zst), ("plain", tar.clone())] {
        let info = store
            .unpack(&blob[..], None)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(info.diff_id, want, "{what}");
        assert_eq!(info.size, 9 + 5000, "{what}");
    }
    assert_eq!(dir_names(&sb.path().join("store/layers")), [&want[7..]]);
    let fs = store.path(&want).expect("path");
    assert_eq!(read(fs.join("etc/os-release")), "ID=berth\n");
    assert_eq!(
        read(sb.path().join("store/layers").join(&want[7..]).join("size")),
        "5009"
    );
    assert_eq!(store.info(&want).expect("info").size, 5009);
}

#[test]
fn diff_id_covers_everything_after_the_last_entry() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let mut tar = Tar::new().file("f", b"x").finish();
    tar.resize(tar.len() + 7 * 512, 0);
    let zst = zstd::encode_all(&tar[..], 1).expect("zstd");
    let info = store
        .unpack(&zst[..], Some(&diff_id(&tar)))
        .expect("unpack");
    assert_eq!(info.diff_id, diff_id(&tar));
}

#[test]
fn mismatched_diff_id_leaves_no_layer_and_no_staging() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let tar = sample_layer();
    let wrong = diff_id(b"other");
    let err = store
        .unpack(&gzip(&tar)[..], Some(&wrong))
        .expect_err("mismatch");
    match &err {
        LayerError::DiffIdMismatch { expected, actual } => {
            assert_eq!((expected, actual), (&wrong, &diff_id(&tar)));
        }
        other => panic!("expected DiffIdMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&wrong) && text.contains(&diff_id(&tar)),
        "{text}"
    );
    assert!(!store.exists(&diff_id(&tar)).expect("exists"));
    assert!(dir_names(&sb.path().join("store/layers")).is_empty());
    assert!(dir_names(&sb.path().join("store/staging")).is_empty());
}

#[test]
fn hostile_or_broken_layers_leave_no_trace() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let escaping = Tar::new()
        .file("ok", b"1")
        .file("../../../x", b"x")
        .finish();
    let truncated = &sample_layer()[..1500];
    let bad_gzip = [0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (what, blob) in [
        ("escaping", &escaping[..]),
        ("truncated", truncated),
        ("gzip", &bad_gzip[..]),
    ] {
        let err = store.unpack(blob, None).expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{what}: {err}");
        assert!(
            dir_names(&sb.path().join("store/layers")).is_empty(),
            "{what}"
        );
        assert!(
            dir_names(&sb.path().join("store/staging")).is_empty(),
            "{what}"
        );
    }
    assert!(!sb.path().join("x").exists());
}

#[test]
fn unpacking_the_same_layer_twice_keeps_one_directory() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let tar = sample_layer();
    let a = store.unpack(&tar[..], None).expect("first");
    let marker = store.path(&a.diff_id).expect("path").join("marker");
    std::fs::write(&marker, "from the first unpack").expect("marker");
    let b = store
        .unpack(&gzip(&tar)[..], Some(&a.diff_id))
        .expect("second");
    assert_eq!(a, b);
    assert!(marker.exists(), "the existing layer was replaced");
    assert_eq!(store.list().expect("list"), vec![a]);
    assert!(dir_names(&sb.path().join("store/staging")).is_empty());
}

#[test]
fn concurrent_unpacks_of_one_layer_agree() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let tar = sample_layer();
    let infos: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| store.unpack(&tar[..], None)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("unpack"))
            .collect()
    });
    assert!(infos.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(dir_names(&sb.path().join("store/layers")).len(), 1);
    assert!(dir_names(&sb.path().join("store/staging")).is_empty());
}

#[test]
fn remove_hides_then_deletes() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let info = store.unpack(&sample_layer()[..], None).expect("unpack");
    store.remove(&info.diff_id).expect("remove");
    assert!(!store.exists(&info.diff_id).expect("exists"));
    assert!(dir_names(&sb.path().join("store/layers")).is_empty());
    assert!(dir_names(&sb.path().join("store/staging")).is_empty());
    assert!(matches!(
        store.remove(&info.diff_id),
        Err(LayerError::LayerNotFound(_))
    ));
    assert!(matches!(
        store.info(&info.diff_id),
        Err(LayerError::LayerNotFound(_))
    ));
}

#[test]
fn open_clears_staging_debris_but_keeps_layers() {
    let sb = Sandbox::new();
    let root = sb.path().join("store");
    let info = LayerStore::open(&root)
        .expect("open")
        .unpack(&sample_layer()[..], None)
        .expect("unpack");
    // What a crash mid-unpack leaves: a half-written staging dir, read-only bits and all.
    let debris = root.join("staging/0123abcd");
    std::fs::create_dir_all(debris.join("fs/usr/lib")).expect("debris");
    std::fs::write(debris.join("fs/usr/lib/half"), "partial").expect("debris");
    std::os::unix::fs::symlink("/etc", debris.join("fs/etc")).expect("debris");
    std::fs::write(root.join("staging/stray-file"), "x").expect("debris");
    let store = LayerStore::open(&root).expect("reopen");
    assert!(dir_names(&root.join("staging")).is_empty());
    assert_eq!(store.list().expect("list"), vec![info]);
    assert!(std::path::Path::new("/etc").is_dir());
}

#[test]
fn invalid_diff_ids_never_reach_a_path() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    for bad in [
        "sha256:../../../../etc",
        "sha256:",
        "md5:0",
        &format!("sha256:{}", "G".repeat(64)),
    ] {
        assert!(
            matches!(store.path(bad), Err(LayerError::InvalidDiffId(_))),
            "{bad}"
        );
        assert!(
            matches!(store.exists(bad), Err(LayerError::InvalidDiffId(_))),
            "{bad}"
        );
        assert!(
            matches!(
                store.unpack(&b""[..], Some(bad)),
                Err(LayerError::InvalidDiffId(_))
            ),
            "{bad}"
        );
    }
    assert!(dir_names(&sb.path().join("store/staging")).is_empty());
}

#[test]
fn layers_hold_whiteouts_in_overlay_format() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let info = store.unpack(&sample_layer()[..], None).expect("unpack");
    let wh = lstat(store.path(&info.diff_id).expect("path").join("etc/removed"));
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
}
