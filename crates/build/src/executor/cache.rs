//! Cache keys and cache mounts. A step's key is a digest of its parent image, the step after
//! substitution, and what else it depends on (the content of the files a COPY reads, a RUN's
//! environment and mounts): the same inputs give the same key, and any change gives another.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::BuildError;

/// The key of a step on `parent` doing `what`, depending also on `extra`.
pub fn key(parent: &str, what: &str, extra: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(b"berth-build-cache-v1\0");
    for part in std::iter::once(parent)
        .chain(std::iter::once(what))
        .chain(extra.iter().map(String::as_str))
    {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("sha256:{:x}", h.finalize())
}

/// The directory of cache mount `id` under `root`, made if missing. An id may be any text
/// (the target path is the default), so the directory is named by its digest; an id with a
/// `..` component is refused all the same, as docker refuses it.
pub fn mount_dir(root: &Path, id: &str) -> Result<PathBuf, BuildError> {
    if id.is_empty() || id.split('/').any(|c| c == "..") {
        return Err(BuildError(format!(
            "invalid cache mount id {id:?}: it must not be empty or contain \"..\""
        )));
    }
    let name = format!("{:x}", Sha256::digest(id.as_bytes()));
    let dir = root.join(&name[..32]);
    std::fs::create_dir_all(&dir)
        .map_err(|e| BuildError(format!("making cache mount {id}: {e}")))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_every_input() {
        let k = key("sha256:a", "RUN", &["x".into()]);
        assert_eq!(k, key("sha256:a", "RUN", &["x".into()]));
        assert_ne!(k, key("sha256:b", "RUN", &["x".into()]));
        assert_ne!(k, key("sha256:a", "RUN", &["y".into()]));
        // Parts are length-prefixed: moving a boundary changes the key.
        assert_ne!(key("p", "ab", &["c".into()]), key("p", "a", &["bc".into()]));
    }

    #[test]
    fn cache_mount_ids() {
        let dir = tempfile::tempdir().unwrap();
        let a = mount_dir(dir.path(), "/root/.cache").unwrap();
        assert_eq!(a, mount_dir(dir.path(), "/root/.cache").unwrap());
        assert!(a.is_dir());
        assert!(mount_dir(dir.path(), "../../etc").is_err());
        assert!(mount_dir(dir.path(), "a/../b").is_err());
        assert!(mount_dir(dir.path(), "").is_err());
    }
}
