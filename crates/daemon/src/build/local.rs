//! A build context read in place: when the client is on the engine's host (a CLI on the unix
//! socket), it names its context directory instead of sending it as a tar, and the engine
//! shows the builder that directory through a read-only overlay whose top layer holds a
//! whiteout for each path `.dockerignore` excludes. Nothing is copied, so a rebuild of a big
//! context costs a walk of its metadata, not a transfer of its bytes.
//!
//! The client also says which directory it means by device and inode; a directory that is
//! not that one (a client in another mount namespace) is refused, and the client sends a tar.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_build::ignore::{keep_build_files, load_ignore_file, IgnoreMatcher};

use crate::error::{EngineError, EngineResult};

/// The message that tells a client to send a tar instead.
pub const REFUSED: &str = "berth-context-dir cannot be used";

fn refused(why: impl std::fmt::Display) -> EngineError {
    EngineError::invalid(format!("{REFUSED}: {why}"))
}

/// The overlay could not be made (a filesystem overlayfs cannot stack): the client sends a
/// tar instead.
pub fn refused_mount(e: impl std::fmt::Display) -> EngineError {
    refused(format!("mounting the context: {e}"))
}

/// Checks that `dir` is the directory the client means (`dev:ino`).
pub fn check(dir: &Path, id: &str) -> EngineResult<()> {
    if !dir.is_absolute() {
        return Err(refused("not an absolute path"));
    }
    let text = dir.to_string_lossy();
    // overlayfs separates lower directories with ':' and options with ',' in its text form.
    if text.contains([':', ',', '\\', '\n']) {
        return Err(refused("the path has characters an overlay cannot name"));
    }
    let meta = std::fs::metadata(dir).map_err(refused)?;
    if !meta.is_dir() || id != format!("{}:{}", meta.dev(), meta.ino()) {
        return Err(refused("not the client's directory"));
    }
    Ok(())
}

/// Makes `hide` (a directory of the build's own) hold a whiteout for every path of `dir` the
/// ignore file excludes (`dockerfile` is always kept, as is the ignore file).
pub fn whiteouts(dir: &Path, dockerfile: &str, hide: &Path) -> EngineResult<()> {
    let patterns = match load_ignore_file(dir, &dir.join(dockerfile)).map_err(refused)? {
        Some((_, p)) => {
            keep_build_files(&p, dockerfile).map_err(|e| EngineError::invalid(e.to_string()))?
        }
        None => return Ok(()),
    };
    let matcher = IgnoreMatcher::new(&patterns).map_err(|e| EngineError::invalid(e.to_string()))?;
    walk(dir, "", hide, &matcher)
}

fn walk(dir: &Path, rel: &str, hide: &Path, m: &IgnoreMatcher) -> EngineResult<()> {
    let entries = std::fs::read_dir(dir.join(rel)).map_err(refused)?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !m.excludes(&path) {
            if is_dir {
                walk(dir, &path, hide, m)?;
            }
            continue;
        }
        if is_dir && m.must_walk(&path) {
            walk(dir, &path, hide, m)?;
            continue;
        }
        whiteout(&hide.join(&path))?;
    }
    Ok(())
}

/// overlayfs's whiteout: a 0:0 character device, in a directory tree mirroring the context.
fn whiteout(at: &PathBuf) -> EngineResult<()> {
    if let Some(parent) = at.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| EngineError::internal(format!("creating {}: {e}", parent.display())))?;
    }
    rustix::fs::mknodat(
        rustix::fs::CWD,
        at,
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::empty(),
        0,
    )
    .map_err(|e| EngineError::internal(format!("hiding {}: {e}", at.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn only_the_clients_directory_is_read_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let meta = std::fs::metadata(dir.path()).unwrap();
        let id = format!("{}:{}", meta.dev(), meta.ino());
        assert!(check(dir.path(), &id).is_ok());
        let wrong = check(dir.path(), "1:2").unwrap_err().message;
        assert!(wrong.starts_with(REFUSED), "{wrong}");
        assert!(check(Path::new("relative"), &id).is_err());
        let odd = dir.path().join("a:b");
        std::fs::create_dir(&odd).unwrap();
        assert!(check(&odd, &id).is_err());
    }

    #[test]
    fn excluded_paths_become_whiteouts() {
        let dir = tempfile::tempdir().unwrap();
        let hide = tempfile::tempdir().unwrap();
        for f in [
            "Dockerfile",
            "keep.txt",
            "logs/a.log",
            "logs/keep.log",
            "x.tmp",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        std::fs::write(
            dir.path().join(".dockerignore"),
            "*.tmp\nlogs\n!logs/keep.log\n",
        )
        .unwrap();
        whiteouts(dir.path(), "Dockerfile", hide.path()).unwrap();
        let is_whiteout = |p: &str| {
            std::fs::symlink_metadata(hide.path().join(p))
                .map(|m| m.file_type().is_char_device())
                .unwrap_or(false)
        };
        assert!(is_whiteout("x.tmp"));
        assert!(is_whiteout("logs/a.log"));
        assert!(!is_whiteout("logs/keep.log"));
        assert!(!is_whiteout("keep.txt"));
        assert!(!is_whiteout("Dockerfile"));
    }
}
