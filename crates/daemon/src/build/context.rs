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
}

impl Context {
    /// Unpacks `tar` (plain, gzip or zstd) into a new directory under `root`.
    pub fn unpack(root: &Path, tar: impl Read + Send) -> EngineResult<Context> {
        crate::engine::ensure_private_dir(root, 0o700)?;
        let dir = root.join(format!("context-{}", &crate::containers::new_id()[..24]));
        std::fs::create_dir(&dir)
            .map_err(|e| EngineError::internal(format!("creating {}: {e}", dir.display())))?;
        let ctx = Context { dir };
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

    /// Contexts a crashed engine left behind.
    pub fn remove_stale(root: &Path) {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("context-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "removing a build context");
        }
    }
}
