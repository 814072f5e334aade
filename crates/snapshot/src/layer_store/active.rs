//! Active snapshots: the writable root filesystem of a container, an overlay of read-only
//! layers under a private upper directory.
//!
//! ```text
//! <root>/active/<key>/lowers   the diff IDs stacked, topmost first (one per line)
//! <root>/active/<key>/init/    mount points the image lacks (see `init`), if asked for
//! <root>/active/<key>/upper/   the container's changes
//! <root>/active/<key>/work/    overlayfs scratch space
//! <root>/active/<key>/merged/  the mount point
//! ```
//!
//! Snapshots outlive the daemon (containers keep running across restarts), so stale ones
//! are removed only when the caller says which to keep ([`LayerStore::cleanup_active`]).

use std::fs;
use std::io;
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::init::{self, InitPath};
use super::{diff_id_hex, mkdir, LayerStore};
use crate::error::{LayerError, OverlayError};
use crate::overlay;

pub(super) const LOWERS: &str = "lowers";
pub(super) const INIT: &str = "init";

fn check_key(key: &str) -> Result<(), LayerError> {
    let ok = (1..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && key != "."
        && key != "..";
    if ok {
        Ok(())
    } else {
        Err(LayerError::InvalidKey(key.to_owned()))
    }
}

impl LayerStore {
    pub(super) fn active_dir(&self, key: &str) -> Result<PathBuf, LayerError> {
        check_key(key)?;
        Ok(self.active.join(key))
    }

    /// Creates the active snapshot `key` over `lowers` (diff IDs, topmost first; may be
    /// empty) and mounts it; returns the mount point, the container's root filesystem.
    pub fn prepare(&self, key: &str, lowers: &[String]) -> Result<PathBuf, LayerError> {
        self.prepare_with_init(key, lowers, &[])
    }

    /// Like [`prepare`](Self::prepare), with an init directory between the layers and the
    /// upper directory holding those of `init` the layers lack (see `init`).
    pub fn prepare_with_init(
        &self,
        key: &str,
        lowers: &[String],
        init: &[InitPath],
    ) -> Result<PathBuf, LayerError> {
        let dir = self.active_dir(key)?;
        let mut lower_dirs = Vec::with_capacity(lowers.len());
        for diff_id in lowers {
            if !self.exists(diff_id)? {
                return Err(LayerError::LayerNotFound(diff_id.clone()));
            }
            lower_dirs.push(self.path(diff_id)?);
        }
        match mkdir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(LayerError::SnapshotExists(key.to_owned()))
            }
            Err(e) => return Err(LayerError::io("creating", &dir)(e)),
        }
        let merged = dir.join("merged");
        let result = self.assemble(&dir, lowers, &mut lower_dirs, init, &merged);
        if result.is_err() {
            if let Err(e) = fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not clean up failed snapshot");
            }
        }
        result.map(|()| merged)
    }

    fn assemble(
        &self,
        dir: &Path,
        lowers: &[String],
        lower_dirs: &mut Vec<PathBuf>,
        init_paths: &[InitPath],
        merged: &Path,
    ) -> Result<(), LayerError> {
        // Written first, so a layer cannot be removed from under a snapshot being mounted.
        let lowers_file = dir.join(LOWERS);
        let mut text = String::new();
        for diff_id in lowers {
            text.push_str(diff_id);
            text.push('\n');
        }
        fs::write(&lowers_file, text).map_err(LayerError::io("writing", &lowers_file))?;
        let (upper, work) = (dir.join("upper"), dir.join("work"));
        for d in [&upper, &work, merged] {
            mkdir(d).map_err(LayerError::io("creating", d))?;
        }
        // The root of the merged view takes its attributes from the upper directory: give
        // it those of the image's root, as the topmost layer has them.
        if let Some(top) = lower_dirs.first() {
            let meta = fs::metadata(top).map_err(LayerError::io("reading", top))?;
            chown(&upper, Some(meta.uid()), Some(meta.gid()))
                .map_err(LayerError::io("chown", &upper))?;
            fs::set_permissions(&upper, fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(LayerError::io("chmod", &upper))?;
        }
        if !init_paths.is_empty() {
            let init_dir = dir.join(INIT);
            mkdir(&init_dir).map_err(LayerError::io("creating", &init_dir))?;
            init::build(&init_dir, lower_dirs, init_paths)?;
            lower_dirs.insert(0, init_dir);
        }
        if lower_dirs.is_empty() {
            // Overlayfs needs a lower directory even for an image with no layers.
            let empty = dir.join("empty");
            mkdir(&empty).map_err(LayerError::io("creating", &empty))?;
            lower_dirs.push(empty);
        }
        overlay::mount_overlay(lower_dirs, Some((&upper, &work)), merged)?;
        Ok(())
    }

    /// Whether the active snapshot `key` exists (mounted or not).
    pub fn has_active(&self, key: &str) -> bool {
        self.active_dir(key).is_ok_and(|d| d.is_dir())
    }

    /// Mounts an existing active snapshot again (a container started after it stopped);
    /// mounting one that is mounted already is fine. Returns the mount point.
    pub fn mount(&self, key: &str) -> Result<PathBuf, LayerError> {
        let dir = self.active_dir(key)?;
        let merged = dir.join("merged");
        if is_mount_point(&merged)? {
            return Ok(merged);
        }
        let mut lower_dirs = self.lower_dirs(key)?;
        if lower_dirs.is_empty() {
            lower_dirs.push(dir.join("empty"));
        }
        overlay::mount_overlay(
            &lower_dirs,
            Some((&dir.join("upper"), &dir.join("work"))),
            &merged,
        )?;
        Ok(merged)
    }

    /// Unmounts the active snapshot `key`, keeping its changes; unmounting one that is not
    /// mounted is fine.
    pub fn unmount(&self, key: &str) -> Result<(), LayerError> {
        let merged = self.active_dir(key)?.join("merged");
        if !is_mount_point(&merged)? {
            return Ok(());
        }
        overlay::unmount(&merged).map_err(LayerError::from)
    }

    /// Unmounts and deletes the active snapshot `key`, with the container's changes.
    pub fn release(&self, key: &str) -> Result<(), LayerError> {
        let dir = self.active_dir(key)?;
        if !dir.is_dir() {
            return Err(LayerError::SnapshotNotFound(key.to_owned()));
        }
        teardown(&dir)
    }

    /// Unmounts the active snapshot `key` and moves its directory to `to` (on the same file
    /// system; the caller deletes it there, at leisure): the snapshot is gone at once however
    /// much the container changed.
    pub fn release_into(&self, key: &str, to: &Path) -> Result<(), LayerError> {
        let dir = self.active_dir(key)?;
        if !dir.is_dir() {
            return Err(LayerError::SnapshotNotFound(key.to_owned()));
        }
        detach(&dir)?;
        fs::rename(&dir, to).map_err(LayerError::io("moving", &dir))
    }

    /// The upper (changes) directory of the active snapshot `key`.
    pub fn upper(&self, key: &str) -> Result<PathBuf, LayerError> {
        Ok(self.active_dir(key)?.join("upper"))
    }

    /// Keys of every active snapshot.
    pub fn active_keys(&self) -> Result<Vec<String>, LayerError> {
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.active).map_err(LayerError::io("listing", &self.active))? {
            let entry = entry.map_err(LayerError::io("listing", &self.active))?;
            if let Some(name) = entry.file_name().to_str() {
                keys.push(name.to_owned());
            }
        }
        Ok(keys)
    }

    /// Unmounts and removes every active snapshot for which `keep` says false (after a
    /// restart: those whose container is gone); returns the keys removed.
    pub fn cleanup_active(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>, LayerError> {
        let mut removed = Vec::new();
        for entry in fs::read_dir(&self.active).map_err(LayerError::io("listing", &self.active))? {
            let entry = entry.map_err(LayerError::io("listing", &self.active))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if check_key(&name).is_ok() && keep(&name) {
                continue;
            }
            tracing::info!(key = %name, "removing stale active snapshot");
            teardown(&entry.path())?;
            removed.push(name);
        }
        Ok(removed)
    }

    /// The key of an active snapshot stacking `diff_id`, if any.
    pub(super) fn user_of(&self, diff_id: &str) -> Result<Option<String>, LayerError> {
        diff_id_hex(diff_id)?;
        for entry in fs::read_dir(&self.active).map_err(LayerError::io("listing", &self.active))? {
            let entry = entry.map_err(LayerError::io("listing", &self.active))?;
            let lowers_file = entry.path().join(LOWERS);
            let text = match fs::read_to_string(&lowers_file) {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(LayerError::io("reading", &lowers_file)(e)),
            };
            if text.lines().any(|l| l == diff_id) {
                return Ok(Some(entry.file_name().to_string_lossy().into_owned()));
            }
        }
        Ok(None)
    }
}

/// Whether `path` is the root of a mount: its device differs from its parent's.
fn is_mount_point(path: &Path) -> Result<bool, LayerError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(LayerError::io("reading", path)(e)),
    };
    let parent = path.parent().unwrap_or(path);
    let pmeta = fs::metadata(parent).map_err(LayerError::io("reading", parent))?;
    Ok(meta.dev() != pmeta.dev())
}

/// Unmounts the snapshot in `dir` if it is mounted.
fn detach(dir: &Path) -> Result<(), LayerError> {
    match overlay::unmount(&dir.join("merged")) {
        Ok(()) => Ok(()),
        // Not mounted (EINVAL) or never created (ENOENT): a crash before or after mounting.
        Err(OverlayError::Unmount { source, .. })
            if matches!(source.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Unmounts the snapshot in `dir` if mounted, then deletes it.
fn teardown(dir: &Path) -> Result<(), LayerError> {
    detach(dir)?;
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LayerError::io("removing", dir)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn validates_keys() {
        for good in ["a", "container-1", "A.b_c-9", &"x".repeat(128)] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", &"x".repeat(129), "é"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
