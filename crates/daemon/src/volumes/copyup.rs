//! Copy-up: a new, empty volume mounted over a path that has content in the image starts
//! with that content — files, directories and symlinks, with their owners and modes — as
//! docker's does. The path is resolved inside the container's root by the kernel, so a
//! symlink in the image cannot make the copy read from the host.

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use berth_runtime::linux::paths::{fd_path, open_in_root, Create};
use rustix::fs::{Mode, OFlags};

use crate::error::{EngineError, EngineResult};

/// Fills the empty directory `volume` with what `rootfs` has at `dest`. Nothing happens when
/// the volume has content already, or the image has nothing there.
pub fn copy_up(rootfs: &Path, dest: &str, volume: &Path) -> EngineResult<()> {
    let is_empty = fs::read_dir(volume)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if !is_empty {
        return Ok(());
    }
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| EngineError::internal(format!("opening {}: {e}", rootfs.display())))?;
    let Ok(src) = open_in_root(root.as_fd(), Path::new(dest), Create::Nothing) else {
        return Ok(());
    };
    let src_path = fd_path(&src);
    let Ok(meta) = fs::metadata(&src_path) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Ok(());
    }
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        EngineError::internal(format!(
            "copying {dest} into its volume: {what} {}: {e}",
            p.display()
        ))
    };
    if let Err((p, e)) = copy_tree(&src_path, volume) {
        // It was empty: emptied again, so the next start copies it whole rather than finding
        // half a copy and taking it for the volume's content.
        empty(volume);
        return Err(fail("at", &p, e));
    }
    // The volume's root takes the owner and mode of the directory it covers.
    std::os::unix::fs::chown(volume, Some(meta.uid()), Some(meta.gid()))
        .map_err(|e| fail("owning", volume, e))?;
    fs::set_permissions(volume, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(|e| fail("setting the mode of", volume, e))
}

/// Removes everything in `dir` (symlinks themselves, never what they point to).
fn empty(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let _ = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
    }
}

type CopyResult = Result<(), (std::path::PathBuf, std::io::Error)>;

fn copy_tree(from: &Path, to: &Path) -> CopyResult {
    let at = |p: &Path| {
        let p = p.to_path_buf();
        move |e| (p, e)
    };
    for entry in fs::read_dir(from).map_err(at(from))? {
        let entry = entry.map_err(at(from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let meta = fs::symlink_metadata(&src).map_err(at(&src))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(at(&src))?;
            std::os::unix::fs::symlink(&target, &dst).map_err(at(&dst))?;
        } else if kind.is_dir() {
            fs::create_dir(&dst).map_err(at(&dst))?;
            copy_tree(&src, &dst)?;
            fs::set_permissions(&dst, fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(at(&dst))?;
        } else if kind.is_file() {
            fs::copy(&src, &dst).map_err(at(&dst))?;
            fs::set_permissions(&dst, fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(at(&dst))?;
        } else {
            // Devices, fifos and sockets are not volume content.
            continue;
        }
        std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid())).map_err(at(&dst))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_content_owners_and_modes_once() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        fs::create_dir_all(data.join("sub")).unwrap();
        fs::write(data.join("sub/f"), b"x").unwrap();
        fs::set_permissions(data.join("sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::lchown(data.join("sub/f"), Some(1000), Some(1001)).unwrap();
        std::os::unix::fs::symlink("sub/f", data.join("link")).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o750)).unwrap();
        let vol = tempfile::tempdir().unwrap();
        copy_up(root.path(), "/data", vol.path()).unwrap();
        let f = vol.path().join("sub/f");
        assert_eq!(fs::read(&f).unwrap(), b"x");
        let m = fs::metadata(&f).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (1000, 1001, 0o640));
        assert_eq!(
            fs::read_link(vol.path().join("link")).unwrap(),
            Path::new("sub/f")
        );
        assert_eq!(fs::metadata(vol.path()).unwrap().mode() & 0o777, 0o750);
        // Not again once the volume has content.
        fs::write(data.join("new"), b"y").unwrap();
        copy_up(root.path(), "/data", vol.path()).unwrap();
        assert!(!vol.path().join("new").exists());
    }

    #[test]
    fn a_failed_copy_is_undone() {
        let vol = tempfile::tempdir().unwrap();
        fs::create_dir_all(vol.path().join("half/deep")).unwrap();
        fs::write(vol.path().join("half/deep/f"), b"x").unwrap();
        fs::write(vol.path().join("g"), b"y").unwrap();
        std::os::unix::fs::symlink("/etc", vol.path().join("l")).unwrap();
        empty(vol.path());
        assert_eq!(fs::read_dir(vol.path()).unwrap().count(), 0);
        assert!(
            Path::new("/etc/passwd").exists(),
            "the symlink's target was emptied"
        );
    }

    #[test]
    fn a_symlink_in_the_image_cannot_reach_the_host() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", root.path().join("data")).unwrap();
        let vol = tempfile::tempdir().unwrap();
        copy_up(root.path(), "/data", vol.path()).unwrap();
        assert!(
            !vol.path().join("passwd").exists(),
            "the host's /etc was copied"
        );
    }
}
