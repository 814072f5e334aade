//! Extracting the tar `cp` receives into a local directory: the top entry renamed as the
//! destination needs, and no entry let out of the directory, whether by `..`, an absolute
//! name, or a symlink the archive made earlier.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::copy_local::{io_error, rename_entry};
use crate::error::{CliError, CliResult};

/// `rel` as a path below the extraction directory: no `..`, no root.
fn confined(rel: &str) -> CliResult<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            _ => {
                return Err(CliError::general(format!(
                    "invalid archive entry {rel:?}: it leaves the destination"
                )))
            }
        }
    }
    Ok(out)
}

/// Creates the parents of `target` after checking that the nearest existing one is inside
/// `root` (canonical): an archive's own symlinks must not carry later entries out.
fn parent_inside(root: &Path, target: &Path) -> CliResult<()> {
    let Some(parent) = target.parent() else {
        return Ok(());
    };
    let mut existing = parent;
    while fs::symlink_metadata(existing).is_err() {
        existing = existing.parent().unwrap_or(root);
    }
    let real = fs::canonicalize(existing)
        .map_err(|e| io_error("stat", &existing.display().to_string(), e))?;
    if !real.starts_with(root) {
        return Err(CliError::general(format!(
            "invalid archive entry {}: it leaves the destination",
            target.display()
        )));
    }
    fs::create_dir_all(parent)?;
    Ok(())
}

/// Extracts the tar `reader` into the existing directory `dst`, renaming the top entry as
/// `rename` says. Existing directories are never replaced by files or the other way round.
pub fn extract(
    reader: impl Read,
    dst: &Path,
    rename: Option<&(String, String)>,
    preserve_owner: bool,
) -> CliResult {
    let root =
        fs::canonicalize(dst).map_err(|e| io_error("stat", &dst.display().to_string(), e))?;
    let mut ar = tar::Archive::new(reader);
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_preserve_ownerships(preserve_owner);
    ar.set_unpack_xattrs(false);
    let bad = |e: io::Error| CliError::general(format!("reading the archive: {e}"));
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let renamed = match rename {
            Some((from, to)) => rename_entry(&name, from, to),
            None => name,
        };
        let target = root.join(confined(&renamed)?);
        let kind = entry.header().entry_type();
        if target != root {
            parent_inside(&root, &target)?;
        }
        if let Ok(existing) = fs::symlink_metadata(&target) {
            match (existing.is_dir(), kind.is_dir()) {
                (true, false) => {
                    return Err(CliError::general(format!(
                        "cannot overwrite directory {:?} with non-directory {renamed:?}",
                        target.display().to_string()
                    )))
                }
                (false, true) => {
                    return Err(CliError::general(format!(
                        "cannot overwrite non-directory {:?} with directory {renamed:?}",
                        target.display().to_string()
                    )))
                }
                _ => {}
            }
        }
        if kind == tar::EntryType::Link {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let link = match rename {
                Some((from, to)) => rename_entry(&link, from, to),
                None => link,
            };
            let source = root.join(confined(&link)?);
            parent_inside(&root, &source)?;
            let _ = fs::remove_file(&target);
            fs::hard_link(&source, &target)
                .map_err(|e| io_error("link", &target.display().to_string(), e))?;
            continue;
        }
        entry
            .unpack(&target)
            .map_err(|e| CliError::general(format!("extracting {renamed}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_cannot_leave_the_destination() {
        assert!(confined("../x").is_err());
        assert_eq!(confined("/a/./b").unwrap(), PathBuf::from("a/b"));
    }
}
