//! Archiving trees and reading a snapshot's changes: the packer's names and kinds, links
//! archived and never followed, the init directory, docker's change list, the diff as an
//! OCI layer, and extraction that refuses to turn directories into files.

mod common;

use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use berth_snapshot::{
    pack, Change, ChangeKind, ErrorKind, InitPath, LayerStore, PackOptions, UnpackOptions,
    WhiteoutMode,
};
use common::*;
use rustix::fs::{Mode, OFlags};

fn open_dir(p: &std::path::Path) -> std::os::fd::OwnedFd {
    rustix::fs::open(p, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).expect("open")
}

fn names(archive: &[u8]) -> Vec<String> {
    tar::Archive::new(archive)
        .entries()
        .expect("entries")
        .map(|e| String::from_utf8_lossy(&e.expect("entry").path_bytes()).into_owned())
        .collect()
}

#[test]
fn packs_a_tree_that_unpacks_the_same() {
    let s = Sandbox::new();
    let src = s.mkdir("src");
    std::fs::create_dir(src.join("d")).expect("mkdir");
    std::fs::write(src.join("d/f"), "content").expect("write");
    std::fs::set_permissions(src.join("d/f"), std::fs::Permissions::from_mode(0o640))
        .expect("chmod");
    std::fs::hard_link(src.join("d/f"), src.join("hard")).expect("link");
    std::os::unix::fs::symlink("/etc", src.join("link")).expect("symlink");
    let outside = s.mkdir("outside");
    std::fs::write(outside.join("secret"), "host").expect("write");
    std::os::unix::fs::symlink(&outside, src.join("away")).expect("symlink");

    let mut out = Vec::new();
    let stats = pack(
        open_dir(&src).as_fd(),
        b".",
        b"",
        &PackOptions::default(),
        &mut out,
    )
    .expect("pack");
    assert_eq!(stats.bytes, 7, "the hard link's content is archived once");
    assert_eq!(names(&out), ["away", "d/", "d/f", "hard", "link"]);
    let dst = s.mkdir("dst");
    unpack(&out, &dst).expect("unpack");
    assert_eq!(read(dst.join("d/f")), "content");
    assert_eq!(lstat(dst.join("d/f")).mode() & 0o777, 0o640);
    assert_eq!(lstat(dst.join("hard")).ino(), lstat(dst.join("d/f")).ino());
    assert_eq!(
        std::fs::read_link(dst.join("link")).expect("link"),
        std::path::Path::new("/etc")
    );
    assert!(
        lstat(dst.join("away")).file_type().is_symlink(),
        "a link, never followed"
    );

    // Named as docker names a path's archive: the top entry, then below it.
    let mut out = Vec::new();
    pack(
        open_dir(&src).as_fd(),
        b"d",
        b"renamed",
        &PackOptions::default(),
        &mut out,
    )
    .expect("pack");
    assert_eq!(names(&out), ["renamed/", "renamed/f"]);
    let mut out = Vec::new();
    pack(
        open_dir(&src.join("d")).as_fd(),
        b".",
        b".",
        &PackOptions::default(),
        &mut out,
    )
    .expect("pack");
    assert_eq!(names(&out), ["./", "./f"]);
    let mut out = Vec::new();
    pack(
        open_dir(&src).as_fd(),
        b"d",
        b"/",
        &PackOptions::default(),
        &mut out,
    )
    .expect("pack");
    assert_eq!(names(&out), ["/", "/f"]);
}

/// A store with one image layer (`etc/passwd`, `etc/group`, `tmp/`) and a snapshot over it
/// with an init directory, mounted.
fn snapshot(s: &Sandbox) -> (LayerStore, std::path::PathBuf) {
    let store = LayerStore::open(s.mkdir("store")).expect("store");
    let layer = Tar::new()
        .add(Entry::new("etc", DIR).mode(0o750).mtime(1_500_000_000))
        .file("etc/passwd", b"root\n")
        .file("etc/group", b"root\n")
        .dir("tmp")
        .finish();
    let info = store.unpack(layer.as_slice(), None).expect("layer");
    let init = [InitPath::File("/etc/hosts"), InitPath::Dir("/proc")];
    let merged = store
        .prepare_with_init("c1", &[info.diff_id], &init)
        .expect("prepare");
    (store, merged)
}

#[test]
fn the_init_directory_provides_mount_points_that_are_not_changes() {
    let s = Sandbox::new();
    let (store, merged) = snapshot(&s);
    assert!(merged.join("etc/hosts").is_file());
    assert!(merged.join("proc").is_dir());
    assert_eq!(read(merged.join("etc/passwd")), "root\n");
    let etc = lstat(merged.join("etc"));
    assert_eq!(
        (etc.mode() & 0o7777, etc.mtime()),
        (0o750, 1_500_000_000),
        "the image's /etc"
    );
    assert_eq!(store.changes("c1").expect("changes"), []);
    assert_eq!(store.upper_size("c1").expect("size"), 0);
    // Mounted again after an unmount, the init directory is still there.
    store.unmount("c1").expect("unmount");
    let merged = store.mount("c1").expect("mount");
    assert!(merged.join("etc/hosts").is_file());
}

#[test]
fn changes_and_the_diff_layer_follow_docker() {
    let s = Sandbox::new();
    let (store, merged) = snapshot(&s);
    std::fs::write(merged.join("etc/new"), "new").expect("write");
    std::fs::write(merged.join("etc/passwd"), "changed\n").expect("write");
    std::fs::remove_file(merged.join("etc/group")).expect("rm");
    std::fs::create_dir(merged.join("tmp/d")).expect("mkdir");
    let changes = store.changes("c1").expect("changes");
    let c = |p: &str, kind| Change {
        path: p.to_string(),
        kind,
    };
    assert_eq!(
        changes,
        [
            c("/etc", ChangeKind::Modified),
            c("/etc/group", ChangeKind::Deleted),
            c("/etc/new", ChangeKind::Added),
            c("/etc/passwd", ChangeKind::Modified),
            c("/tmp", ChangeKind::Modified),
            c("/tmp/d", ChangeKind::Added),
        ]
    );
    assert_eq!(store.upper_size("c1").expect("size"), 3 + 8);

    let mut diff = Vec::new();
    store.write_diff("c1", &mut diff).expect("diff");
    assert_eq!(
        names(&diff),
        [
            "etc/",
            "etc/.wh.group",
            "etc/new",
            "etc/passwd",
            "tmp/",
            "tmp/d/"
        ]
    );
    // As a layer on top of the image, the diff gives the container's view back.
    let top = store
        .unpack(diff.as_slice(), None)
        .expect("diff as a layer");
    let base = store.path(&top.diff_id).expect("path");
    assert!(
        lstat(base.join("etc/group")).file_type().is_char_device(),
        "a whiteout"
    );
    // An unchanged snapshot makes docker's empty layer.
    store.prepare("c2", &[]).expect("prepare");
    let mut none = Vec::new();
    store.write_diff("c2", &mut none).expect("diff");
    assert_eq!(none, vec![0u8; 1024]);
}

#[test]
fn extraction_can_refuse_to_replace_directories_and_files() {
    let s = Sandbox::new();
    let root = s.mkdir("root");
    std::fs::create_dir(root.join("d")).expect("mkdir");
    std::fs::write(root.join("f"), "file").expect("write");
    let keep = UnpackOptions {
        whiteouts: WhiteoutMode::Apply,
        no_overwrite_dir_non_dir: true,
        ..UnpackOptions::default()
    };
    let err = unpack_with(&Tar::new().file("d", b"x").finish(), &root, &keep).expect_err("dir");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string().contains("cannot overwrite directory"),
        "{err}"
    );
    let err = unpack_with(&Tar::new().dir("f").finish(), &root, &keep).expect_err("file");
    assert!(
        err.to_string().contains("cannot overwrite non-directory"),
        "{err}"
    );
    assert!(root.join("d").is_dir() && root.join("f").is_file());
    // A file may still replace a file.
    unpack_with(&Tar::new().file("f", b"new").finish(), &root, &keep).expect("file over file");
    assert_eq!(read(root.join("f")), "new");
    // Without the option, entries replace what they land on, as layers need.
    unpack(&Tar::new().file("d", b"x").finish(), &root).expect("replace");
    assert_eq!(read(root.join("d")), "x");
}
