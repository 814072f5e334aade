//! Hostile archives: nothing an entry says may make a write land outside the root.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_snapshot::{UnpackError, UnpackOptions, WhiteoutMode};
use common::*;

/// A sandbox with an unpack `root` and a sibling `outside` dir holding a sentinel file.
struct Setup {
    sb: Sandbox,
    root: PathBuf,
    outside: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let sb = Sandbox::new();
        let root = sb.mkdir("root");
        let outside = sb.mkdir("outside");
        std::fs::write(outside.join("sentinel"), "untouched").expect("sentinel");
        Self { sb, root, outside }
    }
    fn outside_str(&self) -> &str {
        self.outside.to_str().expect("utf8 temp path")
    }
    /// Where an absolute path lands once confined to the root.
    fn inside(&self, abs: &Path) -> PathBuf {
        self.root.join(abs.strip_prefix("/").expect("absolute"))
    }
    /// Nothing but the sentinel outside, and the sandbox holds only root and outside.
    fn assert_outside_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.outside)
            .expect("list outside")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            names,
            ["sentinel"],
            "something was written outside the root"
        );
        assert_eq!(read(self.outside.join("sentinel")), "untouched");
        assert_eq!(lstat(self.outside.join("sentinel")).nlink(), 1);
        let mut top: Vec<_> = std::fs::read_dir(self.sb.path())
            .expect("list sandbox")
            .map(|e| e.expect("entry").file_name())
            .collect();
        top.sort();
        assert_eq!(top, ["outside", "root"]);
    }
}

fn escaping(r: Result<berth_snapshot::UnpackStats, UnpackError>, want: &str) {
    match r {
        Err(UnpackError::EscapingPath { entry }) => assert_eq!(entry, want),
        other => panic!("expected EscapingPath for {want}, got {other:?}"),
    }
}

fn refused_link(r: Result<berth_snapshot::UnpackStats, UnpackError>, want_reason: &str) {
    match r {
        Err(UnpackError::HardLink { reason, .. }) => {
            assert!(reason.contains(want_reason), "{reason}")
        }
        other => panic!("expected a refused hard link ({want_reason}), got {other:?}"),
    }
}

#[test]
fn dotdot_entry_is_refused() {
    let s = Setup::new();
    escaping(
        unpack(&Tar::new().file("../escaped", b"x").finish(), &s.root),
        "../escaped",
    );
    s.assert_outside_untouched();
}

#[test]
fn nested_dotdot_climbing_above_root_is_refused() {
    let s = Setup::new();
    let tar = Tar::new().dir("a").file("a/../../x", b"x").finish();
    escaping(unpack(&tar, &s.root), "a/../../x");
    escaping(
        unpack(&Tar::new().file("/../x", b"x").finish(), &s.root),
        "/../x",
    );
    s.assert_outside_untouched();
}

#[test]
fn dotdot_that_stays_inside_is_fine() {
    let s = Setup::new();
    unpack(&Tar::new().file("a/../b", b"b").finish(), &s.root).expect("unpack");
    assert_eq!(read(s.root.join("b")), "b");
}

#[test]
fn absolute_entry_paths_are_relative_to_root() {
    let s = Setup::new();
    let abs = s.outside.join("pwned");
    let tar = Tar::new()
        .file("/abs/x", b"abs")
        .file(abs.to_str().expect("utf8"), b"pwned")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert_eq!(read(s.root.join("abs/x")), "abs");
    assert_eq!(read(s.inside(&abs)), "pwned");
    s.assert_outside_untouched();
}

#[test]
fn absolute_symlink_then_write_through_it_lands_inside() {
    // The `evil -> /etc` then `evil/passwd` attack, aimed at a directory the test owns.
    let s = Setup::new();
    let tar = Tar::new()
        .symlink("evil", s.outside_str())
        .dir(s.outside_str().trim_start_matches('/'))
        .file("evil/passwd", b"root::0:0::/:/bin/sh")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert_eq!(
        read(s.inside(&s.outside).join("passwd")),
        "root::0:0::/:/bin/sh"
    );
    assert_eq!(
        std::fs::read_link(s.root.join("evil")).expect("link"),
        s.outside
    );
    s.assert_outside_untouched();
}

#[test]
fn absolute_symlink_to_missing_dir_is_an_error_not_an_escape() {
    let s = Setup::new();
    let tar = Tar::new()
        .symlink("evil", s.outside_str())
        .file("evil/passwd", b"x")
        .finish();
    let err = unpack(&tar, &s.root).expect_err("dangling parent symlink");
    assert!(
        matches!(err, UnpackError::Io { ref entry, .. } if entry == "evil/passwd"),
        "{err}"
    );
    s.assert_outside_untouched();
}

#[test]
fn relative_symlink_climbing_out_is_clamped_at_root() {
    let s = Setup::new();
    let tar = Tar::new()
        .dir("a")
        .symlink("a/evil", "../../..")
        .file("a/evil/x", b"x")
        .file("a/evil/outside/sentinel", b"overwritten?")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert_eq!(read(s.root.join("x")), "x");
    assert_eq!(read(s.root.join("outside/sentinel")), "overwritten?");
    s.assert_outside_untouched();
}

#[test]
fn symlink_chains_stay_inside() {
    let s = Setup::new();
    let rel_outside = s.outside_str().trim_start_matches('/').to_owned();
    let tar = Tar::new()
        .dir(&rel_outside)
        .symlink("l3", s.outside_str())
        .symlink("l2", "/l3")
        .symlink("l1", "l2")
        .file("l1/f", b"chained")
        .symlink("up1", "up2/../..")
        .dir("up2")
        .symlink("up2/x", "../../../../..")
        .file("up1/g", b"g")
        .file("up2/x/h", b"h")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert_eq!(read(s.inside(&s.outside).join("f")), "chained");
    assert_eq!(read(s.root.join("g")), "g");
    assert_eq!(read(s.root.join("h")), "h");
    s.assert_outside_untouched();
}

#[test]
fn file_entry_replaces_a_symlink_instead_of_writing_through_it() {
    let s = Setup::new();
    let target = s.outside.join("target");
    let tar = Tar::new()
        .symlink("f", target.to_str().expect("utf8"))
        .file("f", b"mine")
        .symlink("s", &format!("{}/sentinel", s.outside_str()))
        .file("s", b"mine too")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert!(lstat(s.root.join("f")).is_file());
    assert_eq!(read(s.root.join("f")), "mine");
    assert_eq!(read(s.root.join("s")), "mine too");
    s.assert_outside_untouched();
}

#[test]
fn directory_entry_replaces_a_symlink_to_outside() {
    let s = Setup::new();
    let tar = Tar::new()
        .symlink("d", s.outside_str())
        .add(Entry::new("d", DIR).mode(0o700))
        .file("d/x", b"x")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert!(lstat(s.root.join("d")).is_dir());
    assert_eq!(read(s.root.join("d/x")), "x");
    assert_eq!(
        lstat(&s.outside).mode() & 0o777,
        0o755,
        "outside mode unchanged"
    );
    s.assert_outside_untouched();
}

#[test]
fn a_directory_replaced_by_a_symlink_is_not_written_through_a_stale_handle() {
    let s = Setup::new();
    // The last parent used ("a") stays open across the top-level symlink entry.
    let tar = Tar::new()
        .dir("c")
        .dir("a")
        .file("a/first", b"1")
        .symlink("a", "c")
        .file("a/x", b"through the new symlink")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert!(lstat(s.root.join("a")).file_type().is_symlink());
    assert_eq!(read(s.root.join("c/x")), "through the new symlink");
    assert!(!exists(s.root.join("c/first")));
    s.assert_outside_untouched();
}

#[test]
fn symlinks_are_created_verbatim() {
    let s = Setup::new();
    let tar = Tar::new()
        .symlink("s", "/etc/shadow")
        .symlink("r", "../../x")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert_eq!(
        std::fs::read_link(s.root.join("s")).expect("link"),
        Path::new("/etc/shadow")
    );
    assert_eq!(
        std::fs::read_link(s.root.join("r")).expect("link"),
        Path::new("../../x")
    );
}

#[test]
fn hardlink_to_dotdot_path_is_refused() {
    let s = Setup::new();
    let tar = Tar::new().hardlink("h", "../../etc/passwd").finish();
    refused_link(unpack(&tar, &s.root), "outside");
    let tar = Tar::new().hardlink("h", "../outside/sentinel").finish();
    refused_link(unpack(&tar, &s.root), "outside");
    s.assert_outside_untouched();
}

#[test]
fn hardlink_through_an_escaping_symlink_is_refused_or_inside() {
    let s = Setup::new();
    // Nothing at the confined location: refused, and the real file is not linked.
    let tar = Tar::new()
        .symlink("evil", s.outside_str())
        .hardlink("h", "evil/sentinel")
        .finish();
    refused_link(unpack(&tar, &s.root), "does not exist");
    s.assert_outside_untouched();

    // A file at the confined location: that one is linked, not the one outside.
    let s = Setup::new();
    let inner = s.inside(&s.outside);
    let tar = Tar::new()
        .dir(
            inner
                .strip_prefix(&s.root)
                .expect("inside")
                .to_str()
                .expect("utf8"),
        )
        .file(
            inner
                .join("sentinel")
                .strip_prefix(&s.root)
                .expect("inside")
                .to_str()
                .expect("utf8"),
            b"inside",
        )
        .symlink("evil", s.outside_str())
        .hardlink("h", "evil/sentinel")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert_eq!(read(s.root.join("h")), "inside");
    assert_eq!(lstat(s.root.join("h")).nlink(), 2);
    s.assert_outside_untouched();
}

#[test]
fn hardlink_to_a_directory_is_refused() {
    let s = Setup::new();
    refused_link(
        unpack(&Tar::new().dir("d").hardlink("h", "d").finish(), &s.root),
        "directory",
    );
    refused_link(
        unpack(&Tar::new().hardlink("h", "./").finish(), &s.root),
        "directory",
    );
}

#[test]
fn hardlink_to_a_missing_target_is_refused() {
    let s = Setup::new();
    refused_link(
        unpack(&Tar::new().hardlink("h", "nope").finish(), &s.root),
        "does not exist",
    );
    refused_link(
        unpack(&Tar::new().hardlink("h", "no/dir/f").finish(), &s.root),
        "does not exist",
    );
}

#[test]
fn hardlink_with_absolute_target_links_inside() {
    let s = Setup::new();
    let tar = Tar::new()
        .file("f", b"data")
        .hardlink("dir/h", "/f")
        .finish();
    unpack(&tar, &s.root).expect("unpack");
    assert_eq!(
        lstat(s.root.join("dir/h")).ino(),
        lstat(s.root.join("f")).ino()
    );
}

#[test]
fn parent_that_is_a_file_is_an_error() {
    let s = Setup::new();
    let err = unpack(
        &Tar::new().file("f", b"x").file("f/g", b"y").finish(),
        &s.root,
    )
    .expect_err("file as parent");
    assert!(
        matches!(err, UnpackError::Io { ref entry, .. } if entry == "f/g"),
        "{err}"
    );
}

#[test]
fn only_a_directory_may_name_the_root() {
    let s = Setup::new();
    let err = unpack(&Tar::new().symlink(".", "/").finish(), &s.root).expect_err("root symlink");
    assert!(matches!(err, UnpackError::InvalidPath { .. }), "{err}");
    let err = unpack(&Tar::new().file("a/..", b"x").finish(), &s.root).expect_err("root file");
    assert!(matches!(err, UnpackError::InvalidPath { .. }), "{err}");
}

#[test]
fn whiteouts_through_an_escaping_symlink_stay_inside() {
    for mode in [WhiteoutMode::Apply, WhiteoutMode::Overlay] {
        let s = Setup::new();
        let opts = UnpackOptions {
            whiteouts: mode,
            ..UnpackOptions::default()
        };
        let tar = Tar::new()
            .symlink("evil", s.outside_str())
            .file("evil/.wh.sentinel", b"")
            .file("evil/.wh..wh..opq", b"")
            .finish();
        let r = unpack_with(&tar, &s.root, &opts);
        if mode == WhiteoutMode::Overlay {
            // Overlay whiteouts need their directory, and a dangling symlink is not one.
            let e = r.expect_err("overlay whiteout under a dangling symlink");
            assert!(matches!(e, UnpackError::Io { .. }), "{e}");
        } else {
            r.expect("apply mode ignores whiteouts of missing dirs");
        }
        s.assert_outside_untouched();
    }
}

#[test]
fn escaping_whiteouts_are_refused() {
    let s = Setup::new();
    escaping(
        unpack(&Tar::new().file("../.wh.outside", b"").finish(), &s.root),
        "../.wh.outside",
    );
    for bad in [".wh.", "a/.wh..", "a/.wh..."] {
        let err = unpack(&Tar::new().file(bad, b"").finish(), &s.root).expect_err(bad);
        assert!(
            matches!(err, UnpackError::InvalidWhiteout { .. }),
            "{bad}: {err}"
        );
    }
    s.assert_outside_untouched();
}
