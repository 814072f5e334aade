//! The local side of `cp`, with docker's rules (its `archive.CopyInfo*` and
//! `PrepareArchiveCopy`): what a local path is, which directory an archive is extracted into
//! and what its top entry must be renamed to, and a tar of a local path. Extracting into a
//! local directory is `copy_extract`'s.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use crate::error::{CliError, CliResult};

/// Go's `filepath.Clean` for Unix paths.
pub fn clean(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Base`.
pub fn base(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { ".".into() } else { "/".into() };
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Go's `filepath.Dir`.
pub fn dir(p: &str) -> String {
    match p.rfind('/') {
        Some(i) => clean(&p[..=i]),
        None => ".".into(),
    }
}

/// `dir/.` or `.`: the contents of a directory.
pub fn specifies_current_dir(p: &str) -> bool {
    base(p) == "." && (p == "." || p.ends_with("/."))
}

pub fn asserts_directory(p: &str) -> bool {
    p.ends_with('/') || specifies_current_dir(p)
}

/// docker's `SplitPathDirEntry`: `/a/b/.` is (`/a/b`, `.`), `/a/b/` is (`/a`, `b`).
pub fn split_dir_entry(p: &str) -> (String, String) {
    let mut cleaned = clean(p);
    if specifies_current_dir(p) {
        cleaned.push_str("/.");
    }
    (dir(&cleaned), base(&cleaned))
}

/// docker's `PreserveTrailingDotOrSeparator`.
pub fn preserve_trailing(cleaned: &str, original: &str) -> String {
    let mut out = cleaned.to_string();
    if !specifies_current_dir(&out) && specifies_current_dir(original) {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push('.');
    }
    if !out.ends_with('/') && original.ends_with('/') {
        out.push('/');
    }
    out
}

/// A local path made absolute, keeping a trailing `/` or `/.`.
pub fn absolute(p: &str) -> CliResult<String> {
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        let cwd = std::env::current_dir()?;
        format!("{}/{p}", cwd.display())
    };
    Ok(preserve_trailing(&clean(&joined), p))
}

/// docker's `GetRebaseName`: after following a symlink, the name the archive's top entry
/// must keep (the one the user asked for).
pub fn rebase_name(path: &str, resolved: &str) -> (String, Option<String>) {
    let mut resolved = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&resolved) {
        resolved.push_str("/.");
    }
    if path.ends_with('/') && !resolved.ends_with('/') {
        resolved.push('/');
    }
    let rebase = (base(path) != base(&resolved)).then(|| base(path));
    (resolved, rebase)
}

/// What one side of a copy is.
#[derive(Debug, Clone, Default)]
pub struct CopyInfo {
    pub path: String,
    pub exists: bool,
    pub is_dir: bool,
    pub rebase: Option<String>,
}

pub fn io_error(op: &str, path: &str, e: io::Error) -> CliError {
    let text = e.to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    CliError::general(format!("{op} {path}: {text}"))
}

/// docker's `CopyInfoDestinationPath`: a destination need not exist, but its parent must;
/// a symlink in the last place is followed.
pub fn destination_info(path: &str) -> CliResult<CopyInfo> {
    let mut path = path.to_string();
    for _ in 0..=10 {
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&path).map_err(|e| io_error("readlink", &path, e))?;
                let target = target.to_string_lossy().into_owned();
                path = if target.starts_with('/') {
                    target
                } else {
                    clean(&format!("{}/{target}", split_dir_entry(&path).0))
                };
            }
            Ok(m) => {
                return Ok(CopyInfo {
                    path,
                    exists: true,
                    is_dir: m.is_dir(),
                    rebase: None,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let parent = split_dir_entry(&path).0;
                let m = fs::metadata(&parent).map_err(|e| io_error("stat", &parent, e))?;
                if !m.is_dir() {
                    return Err(CliError::general("not a directory"));
                }
                return Ok(CopyInfo {
                    path,
                    ..CopyInfo::default()
                });
            }
            Err(e) => return Err(io_error("lstat", &path, e)),
        }
    }
    Err(CliError::general(format!("too many symlinks in {path}")))
}

/// docker's `CopyInfoSourcePath`: the parent is resolved, the last element only with
/// `follow` (`-L`).
pub fn source_info(path: &str, follow: bool) -> CliResult<CopyInfo> {
    let canon = |p: &str| -> CliResult<String> {
        let p = if p.is_empty() { "." } else { p };
        fs::canonicalize(p)
            .map(|c| c.to_string_lossy().into_owned())
            .map_err(|e| io_error("lstat", p, e))
    };
    let (resolved, rebase) = if follow {
        rebase_name(path, &canon(path)?)
    } else {
        let cut = path.rfind('/').map_or(0, |i| i + 1);
        let (d, b) = path.split_at(cut);
        let resolved = format!("{}/{b}", canon(d)?.trim_end_matches('/'));
        let rebase = (path.ends_with('/') && base(path) != base(&resolved)).then(|| base(path));
        (resolved, rebase)
    };
    let m = fs::symlink_metadata(&resolved).map_err(|e| io_error("lstat", &resolved, e))?;
    Ok(CopyInfo {
        path: resolved,
        exists: true,
        is_dir: m.is_dir(),
        rebase,
    })
}

/// docker's `PrepareArchiveCopy`: the directory to extract into and the renaming of the
/// archive's top entry (`(from, to)`) that gives the copy the destination's name.
pub fn prepare(src: &CopyInfo, dst: &CopyInfo) -> CliResult<(String, Option<(String, String)>)> {
    let (dst_dir, dst_base) = split_dir_entry(&dst.path);
    let src_base = src
        .rebase
        .clone()
        .unwrap_or_else(|| split_dir_entry(&src.path).1);
    if dst.exists && dst.is_dir {
        return Ok((dst.path.clone(), None));
    }
    if dst.exists && src.is_dir {
        return Err(CliError::general("cannot copy directory"));
    }
    if !dst.exists && !src.is_dir && asserts_directory(&dst.path) {
        return Err(CliError::general("no such directory"));
    }
    Ok((dst_dir, Some((src_base, dst_base))))
}

/// Renames an archive entry whose name starts with the top entry `from` to start with `to`
/// instead (the root `/` prefixes everything).
pub fn rename_entry(name: &str, from: &str, to: &str) -> String {
    if from == "/" {
        return format!("{to}{}{name}", if name.starts_with('/') { "" } else { "/" });
    }
    match name.strip_prefix(from) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{to}{rest}"),
        _ => name.to_string(),
    }
}

/// Writes a tar of the local `src` with its top entry named `top` to `out`; symlinks are
/// archived, not followed.
pub fn write_tar(src: &CopyInfo, top: &str, out: impl Write) -> io::Result<()> {
    let (src_dir, src_base) = split_dir_entry(&src.path);
    let path = Path::new(&src_dir).join(&src_base);
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    if src.is_dir {
        b.append_dir_all(top, &path)?;
    } else {
        b.append_path_with_name(&path, top)?;
    }
    b.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_functions() {
        assert_eq!(clean("/a/b/../c/./"), "/a/c");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("/"), "/");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("b"), ".");
        assert_eq!(split_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(preserve_trailing("/a/b", "x/b/."), "/a/b/.");
        assert_eq!(preserve_trailing("/a/b", "x/b/"), "/a/b/");
    }

    #[test]
    fn entries_are_renamed_at_their_top() {
        assert_eq!(rename_entry("etc/passwd", "etc", "conf"), "conf/passwd");
        assert_eq!(rename_entry("etcx", "etc", "conf"), "etcx");
        assert_eq!(rename_entry("./a", ".", "dir"), "dir/a");
        assert_eq!(rename_entry("/bin/", "/", "root"), "root/bin/");
    }

    #[test]
    fn prepare_follows_dockers_cases() {
        let dir = CopyInfo {
            path: "/src/d".into(),
            exists: true,
            is_dir: true,
            rebase: None,
        };
        let file = CopyInfo {
            path: "/src/f".into(),
            exists: true,
            is_dir: false,
            rebase: None,
        };
        let existing_dir = CopyInfo {
            path: "/dst".into(),
            exists: true,
            is_dir: true,
            rebase: None,
        };
        let existing_file = CopyInfo {
            path: "/dst/x".into(),
            exists: true,
            is_dir: false,
            rebase: None,
        };
        let missing = CopyInfo {
            path: "/dst/new".into(),
            ..Default::default()
        };
        let missing_dir = CopyInfo {
            path: "/dst/new/".into(),
            ..Default::default()
        };
        assert_eq!(prepare(&dir, &existing_dir).unwrap(), ("/dst".into(), None));
        assert_eq!(
            prepare(&dir, &existing_file).unwrap_err().message,
            "cannot copy directory"
        );
        assert_eq!(
            prepare(&file, &existing_file).unwrap(),
            ("/dst".into(), Some(("f".into(), "x".into())))
        );
        assert_eq!(
            prepare(&dir, &missing).unwrap(),
            ("/dst".into(), Some(("d".into(), "new".into())))
        );
        assert_eq!(
            prepare(&file, &missing_dir).unwrap_err().message,
            "no such directory"
        );
    }
}
