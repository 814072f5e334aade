//! Which ignore file applies: `<Dockerfile>.dockerignore` beside the Dockerfile (e.g.
//! `build/app.Dockerfile.dockerignore`) takes precedence over `.dockerignore` at the root of
//! the context.

use std::io;
use std::path::{Path, PathBuf};

use super::read_patterns;

/// The ignore files that could apply, best first: the one named after the Dockerfile, in
/// its directory, then the context's `.dockerignore`.
pub fn ignore_file_candidates(context: &Path, dockerfile: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(name) = dockerfile.file_name() {
        let mut own = name.to_os_string();
        own.push(".dockerignore");
        out.push(dockerfile.with_file_name(own));
    }
    out.push(context.join(".dockerignore"));
    out
}

/// The first of [`ignore_file_candidates`] for which `exists` is true.
pub fn pick_ignore_file(
    context: &Path,
    dockerfile: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    ignore_file_candidates(context, dockerfile)
        .into_iter()
        .find(|p| exists(p))
}

/// Reads the ignore file that applies, if any: its path and its patterns.
pub fn load_ignore_file(
    context: &Path,
    dockerfile: &Path,
) -> io::Result<Option<(PathBuf, Vec<String>)>> {
    let Some(path) = pick_ignore_file(context, dockerfile, Path::is_file) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)?;
    Ok(Some((path, read_patterns(&text))))
}
