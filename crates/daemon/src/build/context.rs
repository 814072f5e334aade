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
        let ctx = Context { dir, scratch };
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

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// Contexts a crashed engine left behind.
    pub fn remove_stale(root: &Path) {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("context-") || name.starts_with("scratch-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        for d in [&self.dir, &self.scratch] {
            if let Err(e) = std::fs::remove_dir_all(d) {
                tracing::warn!(dir = %d.display(), error = %e, "removing a build context");
            }
        }
    }
}
