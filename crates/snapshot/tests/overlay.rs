//! Overlay mounts of real layers, read through the kernel's merged view. Every mount lives
//! in a Sandbox, which detaches it even if the test fails.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;

use berth_snapshot::overlay::{mount_overlay, unmount};
use berth_snapshot::{ErrorKind, LayerError, LayerStore};
use common::*;

fn is_mountpoint(path: &std::path::Path) -> bool {
    let Ok(canon) = path.canonicalize() else {
        return false;
    };
    let table = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    table
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(canon.to_str().expect("utf8")))
}

/// Three layers: the upper two white out a lower file and make a directory opaque.
fn three_layers(store: &LayerStore) -> Vec<String> {
    let l1 = Tar::new()
        .file("file1", b"from l1")
        .file("opq/lower.txt", b"lower")
        .file("opq/sub/deep.txt", b"deeper")
        .file("same.txt", b"l1")
        .file("keep.txt", b"kept")
        .finish();
    let l2 = Tar::new()
        .file(".wh.file1", b"")
        .dir("opq")
        .file("opq/.wh..wh..opq", b"")
        .file("opq/upper.txt", b"upper")
        .file("same.txt", b"l2")
        .finish();
    let l3 = Tar::new()
        .file("same.txt", b"l3")
        .file("new.txt", b"new")
        .finish();
    // Topmost first, as overlay wants them.
    [l3, l2, l1]
        .iter()
        .map(|t| store.unpack(&t[..], None).expect("unpack").diff_id)
        .collect()
}

#[test]
fn three_layer_overlay_shows_whiteouts_opaque_dirs_and_upper_wins() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let ids = three_layers(&store);
    let lowers: Vec<PathBuf> = ids.iter().map(|id| store.path(id).expect("path")).collect();
    let target = sb.mkdir("merged");
    mount_overlay(&lowers, None, &target).expect("mount");
    assert!(is_mountpoint(&target));
    assert!(
        !exists(target.join("file1")),
        "whited-out file still visible"
    );
    let mut opq: Vec<_> = std::fs::read_dir(target.join("opq"))
        .expect("opq")
        .map(|e| e.expect("entry").file_name())
        .collect();
    opq.sort();
    assert_eq!(opq, ["upper.txt"], "opaque dir shows lower content");
    assert_eq!(read(target.join("same.txt")), "l3");
    assert_eq!(read(target.join("new.txt")), "new");
    assert_eq!(read(target.join("keep.txt")), "kept");
    // Read-only without an upper dir.
    let err = std::fs::write(target.join("x"), "x").expect_err("read-only overlay");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    unmount(&target).expect("unmount");
    assert!(!is_mountpoint(&target));
}

#[test]
fn single_lower_without_upper_is_a_read_only_mount() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let id = store
        .unpack(&Tar::new().file("only", b"one").finish()[..], None)
        .expect("unpack")
        .diff_id;
    let target = sb.mkdir("merged");
    mount_overlay(&[store.path(&id).expect("path")], None, &target).expect("mount");
    assert_eq!(read(target.join("only")), "one");
    let err = std::fs::write(target.join("only"), "changed").expect_err("read-only");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    unmount(&target).expect("unmount");
    assert_eq!(read(store.path(&id).expect("path").join("only")), "one");
}

#[test]
fn many_layers_mount_beyond_the_classic_option_limit() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let ids: Vec<String> = (0..60)
        .rev()
        .map(|i| {
            let tar = Tar::new()
                .file(&format!("layer{i}"), b"x")
                .file("top", format!("{i}").as_bytes())
                .finish();
            store.unpack(&tar[..], None).expect("unpack").diff_id
        })
        .collect();
    let lowers: Vec<PathBuf> = ids.iter().map(|id| store.path(id).expect("path")).collect();
    let option_len: usize = lowers.iter().map(|p| p.as_os_str().len() + 1).sum();
    assert!(
        option_len > 4096,
        "test needs more than a page of lowerdir ({option_len})"
    );
    let merged = store.prepare("many", &ids).expect("prepare over 60 layers");
    assert_eq!(read(merged.join("top")), "59", "topmost layer first");
    assert!(exists(merged.join("layer0")) && exists(merged.join("layer59")));
    store.release("many").expect("release");
}

#[test]
fn active_snapshot_writes_go_to_upper_and_release_cleans_up() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let ids = three_layers(&store);
    let merged = store.prepare("ctr-1", &ids).expect("prepare");
    assert!(is_mountpoint(&merged));
    let upper = store.upper("ctr-1").expect("upper");
    std::fs::write(merged.join("written.txt"), "by the container").expect("write");
    std::fs::write(merged.join("same.txt"), "modified").expect("modify");
    std::fs::remove_file(merged.join("keep.txt")).expect("delete");
    assert_eq!(read(upper.join("written.txt")), "by the container");
    assert_eq!(read(upper.join("same.txt")), "modified");
    let wh = lstat(upper.join("keep.txt"));
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "deletion recorded as whiteout"
    );
    // The layers themselves are untouched.
    assert_eq!(
        read(store.path(&ids[0]).expect("path").join("same.txt")),
        "l3"
    );
    assert_eq!(
        read(store.path(&ids[2]).expect("path").join("keep.txt")),
        "kept"
    );
    // A layer under an active snapshot cannot be removed.
    assert!(
        matches!(store.remove(&ids[2]), Err(LayerError::InUse { ref key, .. }) if key == "ctr-1")
    );
    assert_eq!(store.active_keys().expect("keys"), ["ctr-1"]);

    store.release("ctr-1").expect("release");
    assert!(!is_mountpoint(&merged));
    assert!(!exists(sb.path().join("store/active/ctr-1")));
    store.remove(&ids[2]).expect("remove after release");
    assert_eq!(
        store.release("ctr-1").map_err(|e| e.kind()),
        Err(ErrorKind::NotFound)
    );
}

#[test]
fn merged_root_takes_the_image_root_attributes() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let tar = Tar::new()
        .add(Entry::new("./", DIR).mode(0o750).owner(3, 4))
        .file("f", b"f")
        .finish();
    let id = store.unpack(&tar[..], None).expect("unpack").diff_id;
    let merged = store.prepare("root-attrs", &[id]).expect("prepare");
    let m = lstat(&merged);
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o750, 3, 4));
    store.release("root-attrs").expect("release");
}

#[test]
fn failed_prepare_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let id = store
        .unpack(&Tar::new().file("f", b"f").finish()[..], None)
        .expect("unpack")
        .diff_id;
    let missing = format!("sha256:{}", "ab".repeat(32));
    assert!(matches!(
        store.prepare("k", &[id.clone(), missing]),
        Err(LayerError::LayerNotFound(_))
    ));
    // The same layer twice is refused by overlayfs itself.
    let r = store.prepare("k2", &[id.clone(), id]);
    if r.is_ok() {
        store.release("k2").expect("release");
    }
    assert!(store.active_keys().expect("keys").is_empty());
}

#[test]
fn cleanup_active_removes_only_what_is_not_kept() {
    let sb = Sandbox::new();
    let store = LayerStore::open(sb.path().join("store")).expect("open");
    let id = store
        .unpack(&Tar::new().file("f", b"f").finish()[..], None)
        .expect("unpack")
        .diff_id;
    let keep = store
        .prepare("keep-me", std::slice::from_ref(&id))
        .expect("prepare");
    let gone = store
        .prepare("stale", std::slice::from_ref(&id))
        .expect("prepare");
    // A snapshot left half-made by a crash: directory but no mount.
    std::fs::create_dir_all(sb.path().join("store/active/half/upper")).expect("half");
    // Reopening never touches active snapshots by itself.
    let store = LayerStore::open(sb.path().join("store")).expect("reopen");
    assert!(is_mountpoint(&keep) && is_mountpoint(&gone));
    let mut removed = store
        .cleanup_active(&|key| key == "keep-me")
        .expect("cleanup");
    removed.sort();
    assert_eq!(removed, ["half", "stale"]);
    assert!(!is_mountpoint(&gone) && !exists(&gone));
    assert!(is_mountpoint(&keep));
    assert_eq!(read(keep.join("f")), "f");
    store.release("keep-me").expect("release");
}
