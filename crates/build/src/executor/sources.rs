//! What a COPY or ADD reads besides plain context paths: files the builder makes in its
//! scratch directory (`--exclude` copies, `ADD <url>` downloads), and why a step's files
//! differ from its last build's.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::copy::context_path;
use super::{cache, Build, BuildError};

/// A source path and the root it is relative to.
#[derive(Debug, Clone)]
pub(super) struct Src {
    pub path: String,
    /// In the build's scratch directory rather than in the step's `from`.
    pub scratch: bool,
}

impl Src {
    pub fn from(path: String) -> Src {
        Src {
            path,
            scratch: false,
        }
    }
}

/// `ADD <url>`: the file downloaded into the scratch directory (named after the URL's last
/// path segment) and checked against `--checksum`; it is added as it is, not extracted.
pub(super) fn download(
    b: &Build<'_>,
    url: &str,
    checksum: Option<&str>,
) -> Result<Src, BuildError> {
    let name = url
        .split(['?', '#'])
        .next()
        .and_then(|u| u.rsplit('/').next())
        .filter(|n| !n.is_empty() && !n.contains(':'))
        .unwrap_or("download");
    let dir = format!("downloads/{}", &cache::key("", url, &[])[7..23]);
    let host = b.opts.scratch.join(&dir);
    fs::create_dir_all(&host).map_err(|e| BuildError(format!("ADD {url}: {e}")))?;
    let file = host.join(name);
    b.backend.download(url, &file)?;
    if let Some(want) = checksum {
        let want = want.strip_prefix("sha256:").ok_or_else(|| {
            BuildError(format!(
                "ADD --checksum={want}: only sha256: digests are supported"
            ))
        })?;
        let mut h = Sha256::new();
        let mut f = fs::File::open(&file).map_err(|e| BuildError(format!("ADD {url}: {e}")))?;
        std::io::copy(&mut f, &mut h).map_err(|e| BuildError(format!("ADD {url}: {e}")))?;
        let got = format!("{:x}", h.finalize());
        if got != want {
            return Err(BuildError(format!(
                "ADD {url}: digest mismatch: the file is sha256:{got}, --checksum wants sha256:{want}"
            )));
        }
    }
    // docker gives downloaded files mode 600.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600))
        .map_err(|e| BuildError(format!("ADD {url}: {e}")))?;
    Ok(Src {
        path: format!("{dir}/{name}"),
        scratch: true,
    })
}

/// The sources with `--exclude` applied: each source that has excluded paths in it is
/// replaced by a copy without them, of hard links where the filesystem allows.
pub(super) fn excluding(
    ctx: &Path,
    scratch: &Path,
    paths: Vec<Src>,
    patterns: &[String],
    parent: &str,
    step: &str,
) -> Result<Vec<Src>, BuildError> {
    let matcher = crate::ignore::IgnoreMatcher::new(patterns)
        .map_err(|e| BuildError(format!("COPY --exclude: {e}")))?;
    let tag = &cache::key(parent, step, &[])[7..23];
    let mut out = Vec::new();
    for src in paths {
        let p = src.path.clone();
        if src.scratch {
            out.push(src);
            continue;
        }
        if matcher.excludes(&p) {
            continue;
        }
        let host = context_path(ctx, &p)?;
        if !fs::symlink_metadata(&host)
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            out.push(src);
            continue;
        }
        let copy = format!("exclude/{tag}/{p}");
        link_tree(&host, &scratch.join(&copy), "", &p, &matcher)
            .map_err(|e| BuildError(format!("COPY --exclude: {p}: {e}")))?;
        out.push(Src {
            path: copy,
            scratch: true,
        });
    }
    Ok(out)
}

/// `from` re-made at `to` of hard links, leaving out what `matcher` excludes (matched by the
/// path under the source and under the context).
fn link_tree(
    from: &Path,
    to: &Path,
    rel: &str,
    context_rel: &str,
    matcher: &crate::ignore::IgnoreMatcher,
) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::symlink_metadata(from)?.permissions())?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let sub = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let in_context = format!("{context_rel}/{sub}");
        if matcher.excludes(&sub) || matcher.excludes(&in_context) {
            continue;
        }
        let ft = e.file_type()?;
        let dest = to.join(&name);
        if ft.is_dir() {
            link_tree(&e.path(), &dest, &sub, context_rel, matcher)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(e.path())?, &dest)?;
        } else if fs::hard_link(e.path(), &dest).is_err() {
            // A context read in place is on another filesystem than the scratch directory.
            fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

/// Why the files of a step differ from its last build's: the first few changed, added or
/// removed, as `app.txt changed`.
pub(super) fn miss_reason(
    prev: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Option<String> {
    let mut why: Vec<String> = Vec::new();
    for (path, digest) in now {
        match prev.get(path) {
            Some(d) if d == digest => {}
            Some(_) => why.push(format!("{path} changed")),
            None => why.push(format!("{path} added")),
        }
    }
    why.extend(
        prev.keys()
            .filter(|p| !now.contains_key(*p))
            .map(|p| format!("{p} removed")),
    );
    if why.is_empty() {
        return None;
    }
    let more = why.len().saturating_sub(3);
    why.truncate(3);
    let mut text = why.join(", ");
    if more > 0 {
        text += &format!(" and {more} more");
    }
    Some(text)
}
