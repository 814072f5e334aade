//! What unpacking writes: every entry kind with its metadata, whiteouts in both modes, and
//! bad input turned into errors.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use berth_snapshot::{UnpackError, UnpackOptions};
use common::*;

fn xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

#[test]
fn regular_files_keep_content_owner_mode_and_mtime() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let tar = Tar::new()
        .add(
            Entry::new("etc/conf", REGULAR)
                .data(b"hello")
                .mode(0o640)
                .owner(1234, 5678)
                .mtime(1_000_000_000),
        )
        .add(Entry::new("big", REGULAR).data(&big))
        .add(Entry::new("empty", REGULAR))
        .finish();
    let stats = unpack(&tar, &root).expect("unpack");
    assert_eq!(stats.entries, 3);
    assert_eq!(stats.bytes, 5 + big.len() as u64);
    let m = lstat(root.join("etc/conf"));
    assert_eq!((m.uid(), m.gid()), (1234, 5678));
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!(m.mtime(), 1_000_000_000);
    assert_eq!(m.atime(), 1_000_000_000);
    assert_eq!(read(root.join("etc/conf")), "hello");
    assert_eq!(std::fs::read(root.join("big")).expect("big"), big);
    assert_eq!(lstat(root.join("empty")).len(), 0);
    // Implicit parents are plain 0755 directories.
    assert_eq!(lstat(root.join("etc")).mode() & 0o7777, 0o755);
}

#[test]
fn setuid_setgid_and_sticky_bits_survive_chown() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .add(
            Entry::new("bin/su", REGULAR)
                .data(b"#!")
                .mode(0o4755)
                .owner(0, 0),
        )
        .add(
            Entry::new("bin/wall", REGULAR)
                .data(b"#!")
                .mode(0o2755)
                .owner(1000, 5),
        )
        .add(Entry::new("tmp", DIR).mode(0o1777))
        .add(Entry::new("shared", DIR).mode(0o2775).owner(1000, 1000))
        .finish();
    unpack(&tar, &root).expect("unpack");
    assert_eq!(lstat(root.join("bin/su")).mode() & 0o7777, 0o4755);
    assert_eq!(lstat(root.join("bin/wall")).mode() & 0o7777, 0o2755);
    assert_eq!(lstat(root.join("tmp")).mode() & 0o7777, 0o1777);
    assert_eq!(lstat(root.join("shared")).mode() & 0o7777, 0o2775);
}

#[test]
fn files_in_setgid_directories_still_get_the_archive_group() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .add(Entry::new("shared", DIR).mode(0o2775).owner(0, 1234))
        .add(Entry::new("shared/f", REGULAR).data(b"f"))
        .add(Entry::new("shared/l", SYMLINK).link("f"))
        .add(Entry::new("shared/sub/g", REGULAR).data(b"g"))
        .finish();
    unpack(&tar, &root).expect("unpack");
    // A second archive finds the directory by lookup rather than from the one before.
    unpack(
        &Tar::new()
            .file("shared/h", b"h")
            .file("shared/sub/i", b"i")
            .finish(),
        &root,
    )
    .expect("second unpack");
    assert_eq!(
        lstat(root.join("shared/sub")).gid(),
        1234,
        "setgid inheritance"
    );
    for name in [
        "shared/f",
        "shared/l",
        "shared/sub/g",
        "shared/h",
        "shared/sub/i",
    ] {
        assert_eq!(lstat(root.join(name)).gid(), 0, "{name}");
    }
}

#[test]
fn without_preserve_owner_files_belong_to_the_caller() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .add(Entry::new("f", REGULAR).owner(4321, 4321).data(b"x"))
        .finish();
    let opts = UnpackOptions {
        preserve_owner: false,
        ..UnpackOptions::default()
    };
    unpack_with(&tar, &root, &opts).expect("unpack");
    assert_eq!(
        lstat(root.join("f")).uid(),
        rustix::process::geteuid().as_raw()
    );
}

#[test]
fn directory_mtimes_are_restored_after_their_contents() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .add(Entry::new("./", DIR).mode(0o751).mtime(111))
        .add(Entry::new("d", DIR).mtime(1_234_567))
        .add(Entry::new("d/sub", DIR).mtime(7_654_321))
        .file("d/sub/f", b"x")
        .file("d/g", b"y")
        .symlink("d/l", "g")
        .finish();
    unpack(&tar, &root).expect("unpack");
    assert_eq!(lstat(root.join("d")).mtime(), 1_234_567);
    assert_eq!(lstat(root.join("d/sub")).mtime(), 7_654_321);
    assert_eq!(lstat(&root).mtime(), 111);
    assert_eq!(lstat(&root).mode() & 0o7777, 0o751);
}

#[test]
fn existing_directory_is_kept_and_its_metadata_updated() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    unpack(&Tar::new().dir("d").file("d/old", b"old").finish(), &root).expect("first");
    let tar = Tar::new()
        .add(Entry::new("d", DIR).mode(0o700).owner(7, 8))
        .finish();
    unpack(&tar, &root).expect("second");
    let m = lstat(root.join("d"));
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o700, 7, 8));
    assert_eq!(read(root.join("d/old")), "old");
}

#[test]
fn existing_entries_are_replaced() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let first = Tar::new()
        .file("file-then-dir", b"f")
        .dir("dir-then-file")
        .file("dir-then-file/deep/x", b"x")
        .symlink("link-then-file", "file-then-dir")
        .file("hard", b"shared")
        .hardlink("hard2", "hard")
        .finish();
    unpack(&first, &root).expect("first");
    let second = Tar::new()
        .dir("file-then-dir")
        .file("dir-then-file", b"now a file")
        .file("link-then-file", b"now a file too")
        .file("hard2", b"replaced")
        .finish();
    unpack(&second, &root).expect("second");
    assert!(lstat(root.join("file-then-dir")).is_dir());
    assert_eq!(read(root.join("dir-then-file")), "now a file");
    assert_eq!(read(root.join("link-then-file")), "now a file too");
    // Replacing unlinks: the other name of the old inode keeps its content.
    assert_eq!(read(root.join("hard")), "shared");
    assert_eq!(read(root.join("hard2")), "replaced");
}

#[test]
fn symlinks_get_owner_and_times_without_following() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .add(
            Entry::new("target", REGULAR)
                .data(b"t")
                .owner(1, 1)
                .mtime(500),
        )
        .add(
            Entry::new("link", SYMLINK)
                .link("target")
                .owner(42, 43)
                .mtime(999),
        )
        .finish();
    unpack(&tar, &root).expect("unpack");
    let l = lstat(root.join("link"));
    assert!(l.file_type().is_symlink());
    assert_eq!((l.uid(), l.gid(), l.mtime()), (42, 43, 999));
    let t = lstat(root.join("target"));
    assert_eq!((t.uid(), t.mtime()), (1, 500));
}

#[test]
fn hard_links_share_the_inode() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .file("a/f", b"data")
        .hardlink("b/g", "a/f")
        .hardlink("a/self", "a/self")
        .finish();
    let stats = unpack(&tar, &root).expect("unpack");
    assert_eq!(stats.bytes, 4);
    assert_eq!(lstat(root.join("b/g")).ino(), lstat(root.join("a/f")).ino());
    assert_eq!(lstat(root.join("a/f")).nlink(), 2);
}

#[test]
fn devices_and_fifos_are_created_as_root() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .add(
            Entry::new("dev/null", CHAR)
                .dev(1, 3)
                .mode(0o666)
                .owner(0, 0)
                .mtime(77),
        )
        .add(
            Entry::new("dev/loop0", BLOCK)
                .dev(7, 0)
                .mode(0o660)
                .owner(0, 6),
        )
        .add(Entry::new("run/fifo", FIFO).mode(0o4620).owner(9, 9))
        .finish();
    unpack(&tar, &root).expect("unpack");
    let null = lstat(root.join("dev/null"));
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!((null.mode() & 0o7777, null.mtime()), (0o666, 77));
    let lp = lstat(root.join("dev/loop0"));
    assert!(lp.file_type().is_block_device());
    assert_eq!((lp.rdev(), lp.gid()), (rustix::fs::makedev(7, 0), 6));
    let fifo = lstat(root.join("run/fifo"));
    assert!(fifo.file_type().is_fifo());
    assert_eq!((fifo.mode() & 0o7777, fifo.uid()), (0o4620, 9));
}

#[test]
fn devices_are_skipped_when_not_allowed() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let tar = Tar::new()
        .add(Entry::new("dev/null", CHAR).dev(1, 3))
        .file("after", b"ok")
        .finish();
    let opts = UnpackOptions {
        allow_devices: false,
        ..UnpackOptions::default()
    };
    unpack_with(&tar, &root, &opts).expect("unpack");
    assert!(!exists(root.join("dev/null")));
    assert_eq!(read(root.join("after")), "ok");
}

#[test]
fn pax_records_give_xattrs_long_names_and_precise_times() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let long = format!("{}/file", "d".repeat(150));
    let tar = Tar::new()
        .add(
            Entry::new("placeholder", REGULAR)
                .data(b"x")
                .pax("path", long.as_bytes())
                .pax("mtime", b"1700000000.25")
                .pax("SCHILY.xattr.user.berth", b"value")
                .pax("SCHILY.xattr.trusted.overlay.redirect", b"/elsewhere"),
        )
        .add(Entry::new("dir", DIR).pax("SCHILY.xattr.user.d", b"dv"))
        .finish();
    unpack(&tar, &root).expect("unpack");
    let f = root.join(&long);
    assert_eq!(read(&f), "x");
    let m = lstat(&f);
    assert_eq!((m.mtime(), m.mtime_nsec()), (1_700_000_000, 250_000_000));
    assert_eq!(xattr(&f, "user.berth").as_deref(), Some(&b"value"[..]));
    assert_eq!(
        xattr(&f, "trusted.overlay.redirect"),
        None,
        "overlayfs xattrs are not taken from archives"
    );
    assert_eq!(
        xattr(&root.join("dir"), "user.d").as_deref(),
        Some(&b"dv"[..])
    );
}

#[test]
fn truncated_archive_is_an_error() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let full = Tar::new()
        .file("a", b"first")
        .file("big", &[7u8; 10_000])
        .finish();
    // Cut inside the content of "big".
    let cut = &full[..512 * 4 + 1000];
    match unpack(cut, &root) {
        Err(UnpackError::Truncated {
            entry,
            expected,
            got,
        }) => {
            assert_eq!((entry.as_str(), expected), ("big", 10_000));
            assert!(got < expected);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    // Cut inside a header.
    let err = unpack(&full[..512 * 2 + 100], &root).expect_err("cut header");
    assert!(matches!(err, UnpackError::Read { .. }), "{err}");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    let err = unpack(&garbage, &root).expect_err("garbage");
    assert!(matches!(err, UnpackError::Read { .. }), "{err}");
    // A valid-looking header with a bad checksum.
    let mut tar = Tar::new().file("f", b"x").finish();
    tar[0] = b'g';
    assert!(unpack(&tar, &root).is_err());
    // Numeric fields that do not parse.
    let mut bad = header(&Entry::new("f", REGULAR), 0);
    bad[100..108].copy_from_slice(b"zzzzzzz\0");
    bad[148..156].copy_from_slice(b"        ");
    let sum: u32 = bad.iter().map(|&b| u32::from(b)).sum();
    bad[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = bad.to_vec();
    tar.resize(512 * 3, 0);
    let err = unpack(&tar, &root).expect_err("bad mode");
    assert!(matches!(err, UnpackError::Header { .. }), "{err}");
}

#[test]
fn blank_numeric_fields_read_as_zero() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let mut h = header(&Entry::new("f", REGULAR).owner(5, 5), 0);
    // Blank uid, gid and device fields, as some archivers write them.
    for range in [108..116, 116..124, 329..337, 337..345] {
        h[range].fill(0);
    }
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = h.to_vec();
    tar.resize(512 * 3, 0);
    unpack(&tar, &root).expect("unpack");
    assert_eq!(
        (lstat(root.join("f")).uid(), lstat(root.join("f")).gid()),
        (0, 0)
    );
}

#[test]
fn trailing_bytes_after_the_archive_are_consumed() {
    let sb = Sandbox::new();
    let root = sb.mkdir("root");
    let mut tar = Tar::new().file("f", b"x").finish();
    tar.resize(tar.len() + 10 * 512, 0);
    let mut reader = &tar[..];
    berth_snapshot::unpack_into(&mut reader, &root, &UnpackOptions::default()).expect("unpack");
    assert!(reader.is_empty(), "{} bytes left unread", reader.len());
}

#[test]
fn unpack_root_must_exist() {
    let sb = Sandbox::new();
    let err = unpack(&Tar::new().finish(), &sb.path().join("missing")).expect_err("no root");
    assert!(matches!(err, UnpackError::OpenRoot { .. }), "{err}");
}
