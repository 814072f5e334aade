//! Small JSON records written whole and made durable at once (networks, volumes: made
//! rarely, and needed after a power cut by the containers that name them), and read back
//! with the unreadable ones reported and skipped, never deleted on a guess.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{EngineError, EngineResult};

/// Writes `value` to `path` (temporary file, rename) and fsyncs it; `what` names it in errors.
pub fn save<T: Serialize>(path: &Path, value: &T, what: &str) -> EngineResult<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| EngineError::internal(e.to_string()))?;
    berth_runtime::shim::write_atomic(path, &bytes)
        .map_err(|e| EngineError::internal(format!("writing the record of {what}: {e}")))?;
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.sync_all();
    }
    Ok(())
}

/// Reads every record at `paths` that exists; unreadable ones are logged and skipped.
pub fn load_all<T: DeserializeOwned>(paths: impl IntoIterator<Item = PathBuf>) -> Vec<T> {
    let mut out = Vec::new();
    for path in paths {
        if !path.exists() {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(rec) => out.push(rec),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable record")
            }
        }
    }
    out
}

/// The entries of `dir`, or none when it cannot be read.
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}
