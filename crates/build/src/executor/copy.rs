//! COPY and ADD: sources found in the context (globs included) or in a `--from` stage or
//! image, docker's rules for where each goes, and the cache key from the content of exactly
//! the files read — their bytes, modes and names, not their timestamps, so a touched but
//! unchanged file still hits.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::backend::{CopyFrom, CopyItem, CopyStep};
use crate::dockerfile::{Add, Copy, Source};

use super::glob::glob;
use super::hash::{content_hash, content_hash_remembered};
use super::sources::{download, excluding, miss_reason, Src};
use super::steps::StageState;
use super::{cache, Build, BuildError, StageOut};

/// A source path inside the context as a host path, refusing `..` escapes and symlinks that
/// lead outside the context.
pub fn context_path(context: &Path, rel: &str) -> Result<PathBuf, BuildError> {
    let clean = clean(rel)
        .ok_or_else(|| BuildError(format!("forbidden path outside the build context: {rel}")))?;
    let path = context.join(&clean);
    if let (Ok(real), Ok(root)) = (path.canonicalize(), context.canonicalize()) {
        if !real.starts_with(&root) {
            return Err(BuildError(format!(
                "forbidden path outside the build context: {rel} ({})",
                real.display()
            )));
        }
    }
    Ok(path)
}

/// `rel` with `.` and empty components dropped; `None` if it climbs out with `..`.
pub(super) fn clean(rel: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(rel.trim_start_matches('/')).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

pub(super) fn copy(
    state: &mut StageState<'_>,
    b: &Build<'_>,
    out: &mut StageOut,
    c: &Copy,
    source: &str,
) -> Result<(), BuildError> {
    let from = match &c.from {
        None => CopyFrom::Context(b.opts.context.clone()),
        Some(name) => match b.graph.find(name) {
            Some(i) => CopyFrom::Image(
                b.built(i)
                    .map(|s| s.id)
                    .ok_or_else(|| BuildError(format!("stage {name} was not built")))?,
            ),
            None => CopyFrom::Image(b.backend.image(name, None)?.id),
        },
    };
    let mut paths = sources(b, state, &c.sources, &from, source)?;
    if !c.excludes.is_empty() {
        let CopyFrom::Context(ctx) = &from else {
            return Err(BuildError(
                "COPY --exclude with --from is not supported by Berth yet".into(),
            ));
        };
        paths = excluding(
            ctx,
            &b.opts.scratch,
            paths,
            &c.excludes,
            &state.image.id,
            source,
        )?;
    }
    let dest = if c.parents {
        Dest::Parents(c.dest.clone())
    } else {
        Dest::Plain(c.dest.clone())
    };
    write_step(
        state, b, out, from, paths, dest, &c.chown, &c.chmod, false, source,
    )
}

/// Where a COPY's sources go: docker's rules, or `--parents` (each under its own path).
enum Dest {
    Plain(String),
    Parents(String),
}

pub(super) fn add(
    state: &mut StageState<'_>,
    b: &Build<'_>,
    out: &mut StageOut,
    a: &Add,
    source: &str,
) -> Result<(), BuildError> {
    let mut local = Vec::new();
    let mut downloaded = Vec::new();
    for s in &a.sources {
        match s {
            Source::Path(p) if p.starts_with("git@") || p.ends_with(".git") => {
                return Err(BuildError(format!(
                    "ADD {p}: git sources are not supported by Berth yet"
                )))
            }
            Source::Path(p) if p.starts_with("http://") || p.starts_with("https://") => {
                downloaded.push(download(b, p, a.checksum.as_deref())?);
            }
            other => local.push(other.clone()),
        }
    }
    if a.checksum.is_some() && downloaded.is_empty() {
        return Err(BuildError("ADD --checksum is for URL sources only".into()));
    }
    let from = CopyFrom::Context(b.opts.context.clone());
    let mut paths = sources(b, state, &local, &from, source)?;
    paths.extend(downloaded);
    if !a.excludes.is_empty() {
        paths = excluding(
            &b.opts.context,
            &b.opts.scratch,
            paths,
            &a.excludes,
            &state.image.id,
            source,
        )?;
    }
    write_step(
        state,
        b,
        out,
        from,
        paths,
        Dest::Plain(a.dest.clone()),
        &a.chown,
        &a.chmod,
        true,
        source,
    )
}

/// The source paths (relative to their root) a COPY or ADD names, globs expanded; heredoc
/// sources are written into the context first.
fn sources(
    b: &Build<'_>,
    state: &StageState<'_>,
    list: &[Source],
    from: &CopyFrom,
    step: &str,
) -> Result<Vec<Src>, BuildError> {
    let mut out = Vec::new();
    for s in list {
        match s {
            Source::Heredoc(h) => {
                let dir = format!(
                    "heredocs/{}",
                    &cache::key(&state.image.id, step, &[])[7..23]
                );
                let host = b.opts.scratch.join(&dir);
                fs::create_dir_all(&host)
                    .map_err(|e| BuildError(format!("writing heredoc {}: {e}", h.name)))?;
                fs::write(host.join(&h.name), &h.content)
                    .map_err(|e| BuildError(format!("writing heredoc {}: {e}", h.name)))?;
                out.push(Src {
                    path: format!("{dir}/{}", h.name),
                    scratch: true,
                });
            }
            Source::Path(p) => match from {
                CopyFrom::Context(ctx) => {
                    let found = glob(ctx, p)?;
                    if found.is_empty() {
                        return Err(BuildError(format!(
                            "COPY failed: file not found in build context or excluded by .dockerignore: stat {p}: file does not exist"
                        )));
                    }
                    out.extend(found.into_iter().map(Src::from));
                }
                CopyFrom::Image(_) => out.push(Src::from(
                    clean(p)
                        .map(|c| c.to_string_lossy().into_owned())
                        .ok_or_else(|| BuildError(format!("invalid source path {p}")))?,
                )),
            },
        }
    }
    Ok(out)
}

/// Where each source goes, the cache key, and the step through the backend.
#[allow(clippy::too_many_arguments)]
fn write_step(
    state: &mut StageState<'_>,
    b: &Build<'_>,
    out: &mut StageOut,
    from: CopyFrom,
    paths: Vec<Src>,
    dest: Dest,
    chown: &Option<String>,
    chmod: &Option<String>,
    add: bool,
    step: &str,
) -> Result<(), BuildError> {
    let workdir = if state.image.working_dir.is_empty() {
        "/".to_string()
    } else {
        state.image.working_dir.clone()
    };
    let (dest, parents) = match &dest {
        Dest::Plain(d) => (d.as_str(), false),
        Dest::Parents(d) => (d.as_str(), true),
    };
    let to_dir = parents || dest.ends_with('/') || dest == "." || dest.ends_with("/.");
    let dest = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{}/{dest}", workdir.trim_end_matches('/'))
    };
    if paths.len() > 1 && !to_dir {
        return Err(BuildError(format!(
            "When using {} with more than one source file, the destination must be a directory and end with a /",
            if add { "ADD" } else { "COPY" }
        )));
    }
    let mode = match chmod {
        Some(m) => Some(u32::from_str_radix(m, 8).map_err(|_| {
            BuildError(format!(
                "invalid chmod parameter {m:?}: an octal mode such as 755"
            ))
        })?),
        None => None,
    };
    let mut items = Vec::new();
    let mut hashes = Vec::new();
    // Each file read, by its path in the step's sources, with its digest: what tells a miss's
    // reason next time.
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for src in &paths {
        let p = &src.path;
        let (hash, extract) = match (&from, src.scratch) {
            (_, true) => {
                let host = context_path(&b.opts.scratch, p)?;
                (Some(content_hash(&host)?), false)
            }
            (CopyFrom::Context(ctx), false) => {
                let host = context_path(ctx, p)?;
                let meta = fs::symlink_metadata(&host)
                    .map_err(|e| BuildError(format!("COPY failed: stat {p}: {e}")))?;
                let extract = add && meta.is_file() && is_archive(ctx, p);
                let hash = match &b.opts.context_origin {
                    Some(origin) => content_hash_remembered(&host, ctx, origin)?,
                    None => content_hash(&host)?,
                };
                (Some(hash), extract)
            }
            // An image's content is fixed by its ID.
            (CopyFrom::Image(_), false) => (None, false),
        };
        let shown = p
            .strip_prefix("exclude/")
            .and_then(|r| r.split_once('/').map(|(_, r)| r))
            .filter(|_| src.scratch)
            .unwrap_or(p);
        let hash = match (hash, &from) {
            (Some(h), _) => {
                for (rel, d) in &h.entries {
                    let name = if rel.is_empty() {
                        shown.to_string()
                    } else {
                        format!("{shown}/{rel}")
                    };
                    files.insert(name, d.clone());
                }
                h.digest
            }
            (None, CopyFrom::Image(id)) => format!("{id}:{p}"),
            (None, CopyFrom::Context(_)) => String::new(),
        };
        let item_dest = if parents {
            // The source's own path under the destination (an --exclude copy's original).
            let own = match (src.scratch, p.strip_prefix("exclude/")) {
                (true, Some(rest)) => rest.split_once('/').map_or(rest, |(_, r)| r),
                _ => p.as_str(),
            };
            format!("{}/{own}", dest.trim_end_matches('/'))
        } else {
            dest.clone()
        };
        items.push(CopyItem {
            source: p.clone(),
            dest: item_dest,
            into_dir: to_dir && !parents,
            extract,
            root: src.scratch.then(|| b.opts.scratch.clone()),
        });
        hashes.push(hash);
    }
    let what = if add { "ADD" } else { "COPY" };
    let keyed = [
        format!("{items:?}"),
        format!("{chown:?} {mode:?}"),
        hashes.join("\n"),
    ];
    let key = b.step_key(&state.image.id, what, &keyed);
    if let Some(hit) = b.cached(out, &key) {
        state.image = hit;
        return Ok(());
    }
    let content = b.content_key(what, &keyed);
    if let Some(hit) = b.cached_from(out, &state.image, &content, &key)? {
        state.image = hit;
        return Ok(());
    }
    // The same step on the same parent, whatever the files' content: where the last build
    // of it left its file list.
    let shape = cache::key(
        &state.image.id,
        &format!("{what} files"),
        &[format!("{items:?}")],
    );
    if !b.opts.no_cache {
        if let Some(reason) = b
            .backend
            .note(&shape)
            .and_then(|prev| serde_json::from_str::<BTreeMap<String, String>>(&prev).ok())
            .and_then(|prev| miss_reason(&prev, &files))
        {
            out.say(&format!(" ---> cache miss: {reason}\n"));
        }
    }
    out.notes
        .push((shape, serde_json::to_string(&files).unwrap_or_default()));
    let image = b.backend.copy(&CopyStep {
        parent: state.image.clone(),
        from,
        items,
        chown: chown.clone(),
        chmod: mode,
        created_by: format!("/bin/sh -c #(nop) {step}"),
        step: content,
    })?;
    b.made(out, key, &image);
    state.image = image;
    Ok(())
}

/// Whether a context file is a tar archive (plain, gzip, bzip2, xz or zstd), which ADD
/// extracts.
fn is_archive(context: &Path, rel: &str) -> bool {
    let Ok(path) = context_path(context, rel) else {
        return false;
    };
    let mut head = [0u8; 512];
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let head = &head[..n];
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(b"BZh")
        || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || (n >= 262 && &head[257..262] == b"ustar")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_in_the_context() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("in.txt"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
        assert!(context_path(dir.path(), "in.txt").is_ok());
        assert!(context_path(dir.path(), "../x").is_err());
        assert!(context_path(dir.path(), "out/passwd").is_err());
    }
}
