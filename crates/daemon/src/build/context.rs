//! A build's context: the tar the client sends, unpacked into a directory of the build's own
//! under `<data-root>/build/`, with every path kept inside it (no `..`, absolute or link
//! escapes; no devices; files owned by root, as docker's COPY makes them). The directory
//! goes when the build ends; one a crash left is removed at the next start.

use std::io::Read;
use std::path::{Path, PathBuf};

use berth_snapshot::{unpack_into, UnpackOptions, WhiteoutMode};

use crate::error::{EngineError, EngineResult};

pub struct Context {
    dir: PathBuf,
    /// Beside the context: files the builder makes (heredocs, `--exclude` copies).
    scratch: PathBuf,
    /// For a context read in place: the whiteouts' directory; `dir` is then an overlay
    /// mount of the client's directory, to be unmounted, never emptied.
    hide: Option<PathBuf>,
}

impl Context {
    /// Unpacks `tar` (plain, gzip or zstd) into a new directory under `root`.
    pub fn unpack(root: &Path, tar: impl Read + Send) -> EngineResult<Context> {
        crate::engine::ensure_private_dir(root, 0o700)?;
        let id = &crate::containers::new_id()[..24];
        let dir = root.join(format!("context-{id}"));
        let scratch = root.join(format!("scratch-{id}"));
        for d in [&dir, &scratch] {
            std::fs::create_dir(d)
                .map_err(|e| EngineError::internal(format!("creating {}: {e}", d.display())))?;
        }
        let ctx = Context {
            dir,
            scratch,
            hide: None,
        };
        let tar = berth_snapshot::decompress(tar)
            .map_err(|e| EngineError::invalid(format!("reading the build context: {e}")))?;
        let opts = UnpackOptions {
            whiteouts: WhiteoutMode::Apply,
            preserve_owner: false,
            allow_devices: false,
            no_overwrite_dir_non_dir: false,
        };
        unpack_into(tar, &ctx.dir, &opts)
            .map_err(|e| EngineError::invalid(format!("unpacking the build context: {e}")))?;
        Ok(ctx)
    }

    /// The client's directory `source` (`dev:ino` as `id`) shown in place, minus what its
    /// ignore file excludes, through a read-only overlay.
    pub fn in_place(
        root: &Path,
        source: &Path,
        id: &str,
        dockerfile: &str,
    ) -> EngineResult<Context> {
        super::local::check(source, id)?;
        crate::engine::ensure_private_dir(root, 0o700)?;
        let tag = &crate::containers::new_id()[..24];
        let dir = root.join(format!("context-{tag}"));
        let scratch = root.join(format!("scratch-{tag}"));
        let hide = root.join(format!("hide-{tag}"));
        for d in [&dir, &scratch, &hide] {
            std::fs::create_dir(d)
                .map_err(|e| EngineError::internal(format!("creating {}: {e}", d.display())))?;
        }
        // Until the overlay is up, dropping it only removes the build's own directories.
        let ctx = Context {
            dir,
            scratch,
            hide: Some(hide.clone()),
        };
        super::local::whiteouts(source, dockerfile, &hide)?;
        berth_snapshot::overlay::mount_overlay(&[hide, source.to_path_buf()], None, &ctx.dir)
            .map_err(super::local::refused_mount)?;
        Ok(ctx)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// Contexts a crashed engine left behind. Contexts read in place are overlay mounts of
    /// clients' directories: they are unmounted first, so only the build's own files go.
    pub fn remove_stale(root: &Path) {
        if !root.exists() {
            return;
        }
        if let Err(e) = berth_snapshot::overlay::unmount_all_under(root) {
            tracing::warn!(error = %e, "unmounting stale build contexts; leaving them");
            return;
        }
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if ["context-", "scratch-", "hide-"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if let Some(hide) = &self.hide {
            // The client's own files are under `dir`: it is unmounted and removed empty,
            // never emptied.
            if let Err(e) = berth_snapshot::overlay::unmount(&self.dir) {
                tracing::warn!(dir = %self.dir.display(), error = %e, "unmounting a build context");
            }
            let _ = std::fs::remove_dir(&self.dir);
            let _ = std::fs::remove_dir_all(hide);
            let _ = std::fs::remove_dir_all(&self.scratch);
            return;
        }
        for d in [&self.dir, &self.scratch] {
            if let Err(e) = std::fs::remove_dir_all(d) {
                tracing::warn!(dir = %d.display(), error = %e, "removing a build context");
            }
        }
    }
}
