//! Overlayfs mounts: stacking read-only layer directories (topmost first) with an optional
//! writable upper directory.
//!
//! The new mount API is preferred: `fsopen("overlay")` with one `lowerdir+` per layer
//! (Linux >= 6.8) has no length limit and needs no escaping. Older kernels get classic
//! mount(2), whose option string must fit in one page.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::CWD;
use rustix::io::Errno;
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, mount, mount_bind, mount_remount,
    move_mount, FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MoveMountFlags,
    UnmountFlags,
};

use crate::error::OverlayError;

/// mount(2) copies at most one page of options; the smallest page size is assumed so the
/// check holds on every architecture.
const CLASSIC_OPTIONS_LIMIT: usize = 4096;

/// Mounts an overlay of `lowers` (topmost first) on `target`, writable through
/// `upper_work = (upperdir, workdir)` when given, read-only otherwise.
///
/// A read-only overlay needs two lower directories, so a single lower without an upper is
/// bind-mounted read-only instead (its whiteout devices, meaningless without a layer
/// below, then show as they are).
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper_work: Option<(&Path, &Path)>,
    target: &Path,
) -> Result<(), OverlayError> {
    match (lowers, upper_work) {
        ([], _) => Err(OverlayError::NoLowers),
        ([only], None) => bind_read_only(only, target),
        _ => match mount_new_api(lowers, upper_work, target)? {
            Mounted::Yes => Ok(()),
            Mounted::Unsupported => mount_classic(lowers, upper_work, target),
        },
    }
}

/// Unmounts `target`; if it is busy, detaches it so it goes away once no longer used.
pub fn unmount(target: &Path) -> Result<(), OverlayError> {
    let fail = |source: Errno| OverlayError::Unmount {
        target: target.to_path_buf(),
        source: source.into(),
    };
    match rustix::mount::unmount(target, UnmountFlags::NOFOLLOW) {
        Ok(()) => Ok(()),
        Err(Errno::BUSY) => {
            tracing::debug!(target = %target.display(), "mount busy, detaching it");
            rustix::mount::unmount(target, UnmountFlags::NOFOLLOW | UnmountFlags::DETACH)
                .map_err(fail)
        }
        Err(e) => Err(fail(e)),
    }
}

/// Detaches every mount at or below `dir`, innermost first; returns how many. For cleaning
/// up after a crash (or a failed test) before removing a directory tree.
pub fn unmount_all_under(dir: &Path) -> Result<usize, OverlayError> {
    let dir = dir
        .canonicalize()
        .map_err(|source| OverlayError::MountTable { source })?;
    let table = std::fs::read("/proc/self/mountinfo")
        .map_err(|source| OverlayError::MountTable { source })?;
    let prefix = dir.as_os_str().as_bytes();
    let mut points: Vec<PathBuf> = Vec::new();
    for line in table.split(|&b| b == b'\n') {
        // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
        let Some(field) = line.split(|&b| b == b' ').nth(4) else {
            continue;
        };
        let point = unescape_mountinfo(field);
        let inside = point.starts_with(prefix)
            && (point.len() == prefix.len() || point.get(prefix.len()) == Some(&b'/'));
        if inside {
            points.push(PathBuf::from(std::ffi::OsStr::from_bytes(&point)));
        }
    }
    // Later lines are mounted on top of (or inside) earlier ones.
    let mut count = 0;
    for point in points.iter().rev() {
        match rustix::mount::unmount(point, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW) {
            Ok(()) => count += 1,
            Err(Errno::INVAL | Errno::NOENT) => {}
            Err(e) => {
                return Err(OverlayError::Unmount {
                    target: point.clone(),
                    source: e.into(),
                })
            }
        }
    }
    Ok(count)
}

fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

fn mount_error(
    target: &Path,
    op: &'static str,
    detail: String,
) -> impl FnOnce(Errno) -> OverlayError {
    let target = target.to_path_buf();
    move |e| OverlayError::Mount {
        target,
        op,
        detail,
        source: e.into(),
    }
}

fn bind_read_only(lower: &Path, target: &Path) -> Result<(), OverlayError> {
    mount_bind(lower, target).map_err(mount_error(
        target,
        "bind-mounting the only layer",
        String::new(),
    ))?;
    if let Err(e) = mount_remount(target, MountFlags::BIND | MountFlags::RDONLY, c"") {
        let _ = rustix::mount::unmount(target, UnmountFlags::DETACH);
        return Err(mount_error(
            target,
            "making the layer bind mount read-only",
            String::new(),
        )(e));
    }
    Ok(())
}

enum Mounted {
    Yes,
    Unsupported,
}

fn mount_new_api(
    lowers: &[PathBuf],
    upper_work: Option<(&Path, &Path)>,
    target: &Path,
) -> Result<Mounted, OverlayError> {
    let fs = match fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC) {
        Ok(fd) => fd,
        // Too old a kernel, or a seccomp filter that predates the new API.
        Err(Errno::NOSYS | Errno::PERM) => return Ok(Mounted::Unsupported),
        Err(e) => return Err(mount_error(target, "fsopen", String::new())(e)),
    };
    let fail = |op, e| mount_error(target, op, kernel_log(&fs))(e);
    for (i, lower) in lowers.iter().enumerate() {
        match fsconfig_set_string(&fs, "lowerdir+", lower) {
            Ok(()) => {}
            // Before Linux 6.8 overlayfs does not know the key at all.
            Err(Errno::INVAL) if i == 0 => {
                tracing::debug!("overlayfs lacks lowerdir+, using mount(2)");
                return Ok(Mounted::Unsupported);
            }
            Err(e) => {
                let detail = format!(" ({}){}", lower.display(), kernel_log(&fs));
                return Err(mount_error(target, "adding lower directory", detail)(e));
            }
        }
    }
    if let Some((upper, work)) = upper_work {
        fsconfig_set_string(&fs, "upperdir", upper).map_err(|e| fail("setting upperdir", e))?;
        fsconfig_set_string(&fs, "workdir", work).map_err(|e| fail("setting workdir", e))?;
    }
    fsconfig_create(&fs).map_err(|e| fail("creating overlay", e))?;
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())
        .map_err(|e| fail("fsmount", e))?;
    move_mount(
        &mnt,
        c"",
        CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| fail("attaching overlay", e))?;
    Ok(Mounted::Yes)
}

/// The messages the kernel queued on a filesystem context, which say why it refused far
/// better than an errno. Overlayfs itself mostly writes to the kernel log instead, so say
/// where to look when the context has nothing.
fn kernel_log(fs: &std::os::fd::OwnedFd) -> String {
    let mut out = String::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = rustix::io::read(fs, &mut buf) {
        if n == 0 {
            break;
        }
        out.push_str(" (");
        out.push_str(String::from_utf8_lossy(&buf[..n]).trim_end());
        out.push(')');
    }
    if out.is_empty() {
        out.push_str(" (see the kernel log, dmesg, for overlayfs's reason)");
    }
    out
}

fn mount_classic(
    lowers: &[PathBuf],
    upper_work: Option<(&Path, &Path)>,
    target: &Path,
) -> Result<(), OverlayError> {
    let mut opts = b"lowerdir=".to_vec();
    for (i, lower) in lowers.iter().enumerate() {
        if i > 0 {
            opts.push(b':');
        }
        escape_option(lower, &mut opts);
    }
    if let Some((upper, work)) = upper_work {
        opts.extend_from_slice(b",upperdir=");
        escape_option(upper, &mut opts);
        opts.extend_from_slice(b",workdir=");
        escape_option(work, &mut opts);
    }
    if opts.len() + 1 > CLASSIC_OPTIONS_LIMIT {
        return Err(OverlayError::OptionsTooLong {
            target: target.to_path_buf(),
            len: opts.len() + 1,
            limit: CLASSIC_OPTIONS_LIMIT,
        });
    }
    let data = CString::new(opts)
        .map_err(|_| mount_error(target, "building mount options", String::new())(Errno::INVAL))?;
    mount(
        "overlay",
        target,
        "overlay",
        MountFlags::empty(),
        data.as_c_str(),
    )
    .map_err(mount_error(target, "mount", String::new()))
}

/// Overlayfs splits options on `,` and lower directories on `:`, honouring backslashes.
fn escape_option(path: &Path, out: &mut Vec<u8>) {
    for &b in path.as_os_str().as_bytes() {
        if matches!(b, b',' | b':' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_fields() {
        assert_eq!(unescape_mountinfo(br"/a\040b\134c"), b"/a b\\c");
        assert_eq!(unescape_mountinfo(br"/plain"), b"/plain");
        assert_eq!(unescape_mountinfo(br"/trail\04"), br"/trail\04");
    }

    #[test]
    fn escapes_option_separators() {
        let mut out = Vec::new();
        escape_option(Path::new("/a:b,c\\d"), &mut out);
        assert_eq!(out, br"/a\:b\,c\\d");
    }

    /// Detaches whatever a test mounted under its temp dir, even when it fails.
    struct Cleanup(tempfile::TempDir);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = unmount_all_under(self.0.path());
        }
    }

    #[test]
    fn classic_mount_is_a_working_fallback() {
        let tmp = Cleanup(tempfile::tempdir().expect("tempdir"));
        let dir = |name: &str| {
            // Separators in names must survive the option string.
            let p = tmp.0.path().join(name);
            std::fs::create_dir_all(&p).expect("mkdir");
            p
        };
        let (l1, l2, upper, work, target) =
            (dir("low:1"), dir("low,2"), dir("up"), dir("work"), dir("m"));
        std::fs::write(l1.join("a"), "top").expect("write");
        std::fs::write(l2.join("a"), "bottom").expect("write");
        std::fs::write(l2.join("b"), "b").expect("write");
        mount_classic(&[l1, l2], Some((&upper, &work)), &target).expect("classic mount");
        assert_eq!(std::fs::read_to_string(target.join("a")).expect("a"), "top");
        assert_eq!(std::fs::read_to_string(target.join("b")).expect("b"), "b");
        std::fs::write(target.join("c"), "c").expect("write through");
        assert!(upper.join("c").exists());
        unmount(&target).expect("unmount");
        assert!(!target.join("a").exists());
    }

    #[test]
    fn classic_mount_refuses_options_over_a_page() {
        let lowers: Vec<PathBuf> = (0..100)
            .map(|i| PathBuf::from(format!("/{}/{i}", "x".repeat(60))))
            .collect();
        let err = mount_classic(&lowers, None, Path::new("/nonexistent")).expect_err("too long");
        assert!(
            matches!(err, OverlayError::OptionsTooLong { limit: 4096, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("lowerdir+"));
    }

    #[test]
    fn mount_errors_name_the_failing_step() {
        let tmp = Cleanup(tempfile::tempdir().expect("tempdir"));
        let target = tmp.0.path().join("m");
        std::fs::create_dir(&target).expect("mkdir");
        let missing = [tmp.0.path().join("nope1"), tmp.0.path().join("nope2")];
        let err = mount_overlay(&missing, None, &target).expect_err("missing lowers");
        assert!(err.to_string().contains("nope1"), "{err}");
        // The work dir cannot be the upper dir.
        let (lower, upper) = (tmp.0.path().join("l"), tmp.0.path().join("u"));
        std::fs::create_dir(&lower).expect("mkdir");
        std::fs::create_dir(&upper).expect("mkdir");
        let err =
            mount_overlay(&[lower], Some((&upper, &upper)), &target).expect_err("bad workdir");
        assert!(
            matches!(
                err,
                OverlayError::Mount {
                    op: "creating overlay",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn refuses_empty_lowers() {
        assert!(matches!(
            mount_overlay(&[], None, Path::new("/nonexistent")),
            Err(OverlayError::NoLowers)
        ));
    }
}
