//! Garbage collection: mark every digest a repository's manifests reach (see [`mark`]),
//! then sweep the blobs nothing marked, and (with `--delete-untagged`) the manifests nothing
//! keeps alive. It runs beside a serving registry on the same root: anything committed or
//! touched within the grace period is spared (a push uploads blobs before the manifest that
//! references them), and each deletion re-checks under the exclusive gc lock, which writers
//! hold shared while they make content reachable, so a blob a push has just touched is never
//! taken.

mod mark;

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use berth_store::Digest;

use super::handlers::forget_manifest;
use super::names::RepoName;
use super::storage::{Storage, StorageError};

#[derive(Debug, Clone)]
pub struct GcOptions {
    pub dry_run: bool,
    pub delete_untagged: bool,
    pub grace: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("manifest {digest} in {repo} cannot be read ({reason}); nothing was deleted")]
    Unreadable {
        repo: String,
        digest: Digest,
        reason: String,
    },
}

/// What a collection removed (or, in a dry run, would remove).
#[derive(Debug, Default)]
pub struct GcReport {
    pub dry_run: bool,
    pub blobs: Vec<(Digest, u64)>,
    pub manifests: Vec<(RepoName, Digest)>,
    pub bytes: u64,
    /// Unreferenced blobs kept because they are younger than the grace period.
    pub spared: usize,
}

impl fmt::Display for GcReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for (repo, d) in &self.manifests {
            writeln!(f, "{verb} manifest {repo}@{d}")?;
        }
        for (d, size) in &self.blobs {
            writeln!(f, "{verb} blob {d} ({size} bytes)")?;
        }
        write!(
            f,
            "{verb} {} blobs and {} manifests, {} bytes freed; {} unreferenced blobs spared (younger than the grace period)",
            self.blobs.len(),
            self.manifests.len(),
            self.bytes,
            self.spared
        )
    }
}

pub fn collect(storage: &Storage, opts: &GcOptions) -> Result<GcReport, GcError> {
    let now = SystemTime::now();
    let young = move |t: SystemTime| now.duration_since(t).map_or(true, |age| age < opts.grace);
    let mut report = GcReport {
        dry_run: opts.dry_run,
        ..GcReport::default()
    };
    // Every manifest is read before anything is deleted: a manifest that cannot be read
    // might reference anything, so it stops the collection.
    let mut reachable: HashSet<Digest> = HashSet::new();
    let mut dead: Vec<(RepoName, Digest)> = Vec::new();
    for repo in storage.repos.list()? {
        let m = mark::mark_repo(storage, &repo, opts, &young)?;
        reachable.extend(m.reachable);
        dead.extend(m.dead.into_iter().map(|d| (repo.clone(), d)));
    }
    for (repo, digest) in dead {
        if !opts.dry_run {
            let _lock = storage.sweep_lock()?;
            // A push of the same manifest (or a new tag for it) since the mark revives it.
            let still_old = storage
                .repos
                .revision_modified(&repo, &digest)?
                .is_some_and(|t| !young(t));
            let tagged = storage.repos.tags(&repo)?.iter().any(|(_, d)| *d == digest);
            if !still_old || tagged {
                reachable.insert(digest);
                continue;
            }
            forget_manifest(storage, &repo, &digest)?;
        }
        report.manifests.push((repo, digest));
    }
    let mut removed = HashSet::new();
    for blob in storage.blobs.list()? {
        if reachable.contains(&blob.digest) {
            continue;
        }
        if young(blob.modified) {
            report.spared += 1;
            continue;
        }
        if !opts.dry_run {
            let _lock = storage.sweep_lock()?;
            match storage.blobs.modified(&blob.digest)? {
                Some(t) if !young(t) => {}
                Some(_) => {
                    report.spared += 1;
                    continue;
                }
                None => continue,
            }
            storage.blobs.remove(&blob.digest)?;
            removed.insert(blob.digest.clone());
        }
        report.bytes += blob.size;
        report.blobs.push((blob.digest, blob.size));
    }
    if !removed.is_empty() {
        unlink_removed(storage, &removed)?;
    }
    Ok(report)
}

/// Drops repositories' links to blobs just removed, unless an upload has brought the blob back.
fn unlink_removed(storage: &Storage, removed: &HashSet<Digest>) -> Result<(), GcError> {
    for repo in storage.repos.list_all()? {
        for (d, _) in storage.repos.layer_links(&repo)? {
            if removed.contains(&d) {
                let _lock = storage.sweep_lock()?;
                if storage.blobs.size(&d)?.is_none() {
                    storage.repos.unlink_blob(&repo, &d)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
