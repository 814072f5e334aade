//! The mark phase for one repository: which of its manifests are alive, and every digest
//! they keep alive. Without `--delete-untagged` every manifest is a root; with it the roots
//! are the tagged ones and those younger than the grace period (a multi-platform push uploads
//! its platform manifests by digest before the index that tags them). From the roots,
//! liveness follows every reference (config, layers, child manifests, subject), and a
//! manifest whose subject is alive is alive too (its referrers stay with an image).

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use berth_store::Digest;

use super::{GcError, GcOptions};
use crate::server::handlers::MAX_MANIFEST;
use crate::server::manifest::Manifest;
use crate::server::names::RepoName;
use crate::server::storage::Storage;

pub struct RepoMark {
    /// Digests this repository keeps: its live manifests and all they reference.
    pub reachable: HashSet<Digest>,
    /// Manifests nothing keeps alive (only with `--delete-untagged`).
    pub dead: Vec<Digest>,
}

pub fn mark_repo(
    storage: &Storage,
    repo: &RepoName,
    opts: &GcOptions,
    young: &dyn Fn(SystemTime) -> bool,
) -> Result<RepoMark, GcError> {
    let revisions = storage.repos.revisions(repo)?;
    let mut manifests: HashMap<Digest, Manifest> = HashMap::new();
    for (digest, _) in &revisions {
        let media_type = storage.repos.revision(repo, digest)?.map(|r| r.media_type);
        let Some(bytes) = storage.blobs.read(digest, MAX_MANIFEST as u64)? else {
            tracing::warn!(%repo, %digest, "a manifest's bytes are missing; it references nothing");
            continue;
        };
        let manifest = Manifest::parse(&bytes, media_type.as_deref()).map_err(|reason| {
            GcError::Unreadable {
                repo: repo.to_string(),
                digest: digest.clone(),
                reason,
            }
        })?;
        manifests.insert(digest.clone(), manifest);
    }
    let mut live: HashSet<Digest> = if opts.delete_untagged {
        let known: HashSet<&Digest> = revisions.iter().map(|(d, _)| d).collect();
        let mut roots: HashSet<Digest> = storage
            .repos
            .tags(repo)?
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| known.contains(d))
            .collect();
        roots.extend(
            revisions
                .iter()
                .filter(|(_, t)| young(*t))
                .map(|(d, _)| d.clone()),
        );
        roots
    } else {
        revisions.iter().map(|(d, _)| d.clone()).collect()
    };
    let mut stack: Vec<Digest> = live.iter().cloned().collect();
    loop {
        while let Some(d) = stack.pop() {
            let Some(m) = manifests.get(&d) else { continue };
            for r in m.references() {
                if manifests.contains_key(r) && live.insert(r.clone()) {
                    stack.push(r.clone());
                }
            }
        }
        let referrers: Vec<Digest> = manifests
            .iter()
            .filter(|(d, m)| {
                !live.contains(*d) && m.subject.as_ref().is_some_and(|s| live.contains(&s.digest))
            })
            .map(|(d, _)| d.clone())
            .collect();
        if referrers.is_empty() {
            break;
        }
        for d in referrers {
            live.insert(d.clone());
            stack.push(d);
        }
    }
    let mut reachable = HashSet::new();
    for d in &live {
        reachable.insert(d.clone());
        if let Some(m) = manifests.get(d) {
            reachable.extend(m.references().cloned());
        }
    }
    let dead = revisions
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| !live.contains(d))
        .collect();
    Ok(RepoMark { reachable, dead })
}
