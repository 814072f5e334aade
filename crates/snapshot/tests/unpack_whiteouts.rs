//! OCI whiteouts: converted to overlayfs's format for layers, or carried out on a full
//! tree (ADD, `cp`).

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use berth_snapshot::{UnpackOptions, WhiteoutMode, OPAQUE_XATTR};
use common::*;

fn xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

fn apply() -> UnpackOptions {
    UnpackOptions {
        whiteouts: WhiteoutMode::Apply,
        ..UnpackOptions::default()
    }
}

#[test]
fn overlay_mode_converts_whiteouts() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .dir("etc")
        .file("etc/.wh.passwd", b"")
        .file("gone/.wh.deep", b"")
        .dir("opq")
        .file("opq/.wh..wh..opq", b"")
        .file("opq/new", b"new")
        .file("implicit/.wh..wh..opq", b"")
        .file("a/.wh..wh.plnk", b"")
        .finish();
    let stats = unpack(&tar, &root).expect("unpack");
    assert_eq!(stats.entries, 8);
    for wh in ["etc/passwd", "gone/deep"] {
        let m = lstat(root.join(wh));
        assert!(m.file_type().is_char_device(), "{wh}");
        assert_eq!(m.rdev(), 0, "{wh}");
        assert!(!exists(root.join(wh.replace('/', "/.wh."))));
    }
    assert_eq!(
        xattr(&root.join("opq"), OPAQUE_XATTR).as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(
        xattr(&root.join("implicit"), OPAQUE_XATTR).as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(read(root.join("opq/new")), "new");
    assert!(!exists(root.join("opq/.wh..wh..opq")));
    assert!(!exists(root.join("a/.wh..wh.plnk")));
}

#[test]
fn apply_mode_removes_whited_out_paths() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let base = Tar::new()
        .file("etc/passwd", b"p")
        .file("etc/group", b"g")
        .file("var/cache/a/b", b"b")
        .finish();
    unpack_with(&base, &root, &apply()).expect("base");
    let change = Tar::new()
        .file("etc/.wh.passwd", b"")
        .file("var/.wh.cache", b"")
        .file("nothing/.wh.here", b"")
        .file("new", b"n")
        .file(".wh.new", b"")
        .finish();
    unpack_with(&change, &root, &apply()).expect("change");
    assert!(!exists(root.join("etc/passwd")));
    assert_eq!(read(root.join("etc/group")), "g");
    assert!(!exists(root.join("var/cache")));
    assert!(
        !exists(root.join("nothing")),
        "a whiteout does not create directories"
    );
    assert_eq!(
        read(root.join("new")),
        "n",
        "a whiteout never hides its own layer's files"
    );
    assert!(!exists(root.join(".wh.new")));
}

#[test]
fn apply_mode_opaque_keeps_only_this_archives_entries_in_any_order() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let base = Tar::new()
        .file("a/old", b"old")
        .file("a/b/c/bar", b"bar")
        .file("a/keep/old2", b"old2")
        .file("other/x", b"x")
        .finish();
    unpack_with(&base, &root, &apply()).expect("base");
    // Entries before and after the opaque marker, as the OCI spec allows.
    let change = Tar::new()
        .dir("a")
        .dir("a/b")
        .file("a/b/c/foo", b"foo")
        .file("a/.wh..wh..opq", b"")
        .file("a/keep/new", b"new")
        .finish();
    unpack_with(&change, &root, &apply()).expect("change");
    assert_eq!(read(root.join("a/b/c/foo")), "foo");
    assert!(!exists(root.join("a/b/c/bar")));
    assert!(!exists(root.join("a/old")));
    assert!(!exists(root.join("a/keep/old2")));
    assert_eq!(read(root.join("a/keep/new")), "new");
    assert_eq!(read(root.join("other/x")), "x");
    assert!(xattr(&root.join("a"), OPAQUE_XATTR).is_none());
}
