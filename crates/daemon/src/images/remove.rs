//! Tagging, removing and pruning images, with docker's rules for what a removal by tag,
//! by digest or by ID does, and when it needs `force`.

use std::collections::HashSet;

use berth_api::filters::Filters;
use berth_api::types::{ImageDeleteItem, ImagesPruneReport};
use berth_store::reference::{parse_any, ImageRef, Reference};
use berth_store::{Change, Digest};
use chrono::Utc;

use super::filters::labels_match;
use super::ImageService;
use crate::error::{EngineError, EngineResult};
use crate::timefmt::parse_time_filter;

#[derive(Debug, Default, Clone, Copy)]
pub struct RemoveOptions {
    pub force: bool,
    /// Keep untagged parents instead of removing them along with the image.
    pub no_prune: bool,
}

/// A removal by name: the name, the digest references that go with it, and whether the
/// image keeps other names.
struct UntagPlan {
    name: Reference,
    also: Vec<Reference>,
    keeps_image: bool,
}

fn untagged(r: &Reference) -> ImageDeleteItem {
    ImageDeleteItem {
        untagged: Some(r.familiar_string()),
        deleted: None,
    }
}

fn deleted(id: &Digest) -> ImageDeleteItem {
    ImageDeleteItem {
        untagged: None,
        deleted: Some(id.to_string()),
    }
}

impl ImageService {
    /// Points `repo[:tag]` at the image `name` resolves to.
    pub fn tag(&self, name: &str, repo: &str, tag: &str) -> EngineResult<Reference> {
        let id = self.resolve_for_use(name)?;
        let mut target = Reference::parse_normalized(repo)?;
        if target.digest().is_some() {
            return Err(EngineError::invalid(
                "refusing to create a tag with a digest reference",
            ));
        }
        if !tag.is_empty() {
            target = target.with_tag(tag)?;
        }
        let target = super::with_default_tag(&target);
        let mut record = self.record(&id)?;
        record.last_tag_time = Some(Utc::now());
        self.store.apply(vec![
            Change::SetReference(target.clone(), id.clone()),
            Change::PutImage(record),
        ])?;
        self.announce("tag", &id, &target.familiar_string());
        Ok(target)
    }

    /// Whether removing `name` would only take a name away, leaving the image (`id`) with
    /// others: what a container using the image does not stand in the way of.
    pub fn removal_only_untags(&self, name: &str, id: &Digest) -> bool {
        self.untag_plan(name, id).is_some_and(|p| p.keeps_image)
    }

    /// What removing `name` by name does, if `name` is a name of `id`.
    fn untag_plan(&self, name: &str, id: &Digest) -> Option<UntagPlan> {
        let Ok(ImageRef::Named(r)) = parse_any(name) else {
            return None;
        };
        let r = super::with_default_tag(&r);
        let view = self.store.view();
        if view.lookup(&r) != Some(id) {
            return None;
        }
        let rest: Vec<Reference> = view
            .references_to(id)
            .into_iter()
            .filter(|o| **o != r)
            .cloned()
            .collect();
        // Digest references to the same repository go with its last tag, as in docker.
        let same_repo_digests_only = r.digest().is_none()
            && !rest.is_empty()
            && rest
                .iter()
                .all(|o| o.digest().is_some() && o.name() == r.name());
        let keeps_image = !rest.is_empty() && !same_repo_digests_only;
        Some(UntagPlan {
            name: r,
            also: if same_repo_digests_only {
                rest
            } else {
                Vec::new()
            },
            keeps_image,
        })
    }

    /// `DELETE /images/{name}`.
    pub fn remove(&self, name: &str, opts: RemoveOptions) -> EngineResult<Vec<ImageDeleteItem>> {
        let id = self.resolve(name)?;
        let items = self.remove_resolved(name, &id, opts)?;
        self.announce_removal(&id, &items);
        Ok(items)
    }

    fn remove_resolved(
        &self,
        name: &str,
        id: &Digest,
        opts: RemoveOptions,
    ) -> EngineResult<Vec<ImageDeleteItem>> {
        let id = id.clone();
        let mut items = Vec::new();
        if let Some(plan) = self.untag_plan(name, &id) {
            // Removing by name: untag it; the image goes only with its last name.
            let mut changes = vec![Change::RemoveReference(plan.name.clone())];
            items.push(untagged(&plan.name));
            for o in &plan.also {
                changes.push(Change::RemoveReference(o.clone()));
                items.push(untagged(o));
            }
            if plan.keeps_image || !self.store.view().children(&id).is_empty() {
                self.store.apply(changes)?;
                return Ok(items);
            }
            self.delete_image(&id, changes, opts, &mut items)?;
            return Ok(items);
        }

        // Removing by ID.
        let refs = self.references_of(&id);
        let repos: HashSet<String> = refs.iter().map(|r| r.name()).collect();
        if repos.len() > 1 && !opts.force {
            return Err(EngineError::conflict(format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                id.short()
            )));
        }
        if !self.store.view().children(&id).is_empty() {
            return Err(EngineError::conflict(format!(
                "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
                id.short()
            )));
        }
        let mut changes = Vec::new();
        for r in &refs {
            changes.push(Change::RemoveReference(r.clone()));
            items.push(untagged(r));
        }
        self.delete_image(&id, changes, opts, &mut items)?;
        Ok(items)
    }

    /// Deletes `id` (with `changes` in the same transaction), then its untagged parents
    /// unless `no_prune`, then the layers and blobs nothing references any more.
    fn delete_image(
        &self,
        id: &Digest,
        mut changes: Vec<Change>,
        opts: RemoveOptions,
        items: &mut Vec<ImageDeleteItem>,
    ) -> EngineResult<()> {
        let mut doomed = vec![id.clone()];
        if !opts.no_prune {
            let view = self.store.view();
            let mut parent = view.get(id).and_then(|r| r.parent.clone());
            while let Some(p) = parent {
                let unnamed = view.references_to(&p).is_empty();
                let only_child = view.children(&p).iter().all(|c| doomed.contains(c));
                if !unnamed || !only_child {
                    break;
                }
                doomed.push(p.clone());
                parent = view.get(&p).and_then(|r| r.parent.clone());
            }
        }
        let (blobs, layers) = self.content_of(&doomed);
        for d in &doomed {
            changes.push(Change::DeleteImage(d.clone()));
        }
        self.store.apply(changes)?;
        items.extend(doomed.iter().map(deleted));
        self.collect(Some((&blobs, &layers)))?;
        Ok(())
    }

    /// The blobs and layers the images `ids` use.
    fn content_of(&self, ids: &[Digest]) -> (Vec<Digest>, Vec<Digest>) {
        let view = self.store.view();
        let mut blobs = Vec::new();
        let mut layers = Vec::new();
        for id in ids {
            if let Some(r) = view.get(id) {
                blobs.push(r.id.clone());
                blobs.extend(r.manifest.iter().map(|m| m.digest.clone()));
                for l in &r.layers {
                    blobs.push(l.blob.digest.clone());
                    layers.push(l.diff_id.clone());
                }
            }
        }
        (blobs, layers)
    }

    /// Removes the name `name` (or every name, for an ID) but keeps the image: what a forced
    /// `rmi` does to an image a stopped container still uses.
    pub fn untag_all(&self, name: &str) -> EngineResult<Vec<ImageDeleteItem>> {
        let id = self.resolve(name)?;
        let refs = match parse_any(name) {
            Ok(ImageRef::Named(r)) => vec![super::with_default_tag(&r)],
            _ => self.references_of(&id),
        };
        let items: Vec<ImageDeleteItem> = refs.iter().map(untagged).collect();
        self.store
            .apply(refs.into_iter().map(Change::RemoveReference).collect())?;
        self.announce_removal(&id, &items);
        Ok(items)
    }

    /// `POST /images/prune`: dangling images by default; every unused image with
    /// `dangling=false`. Filters `until`, `label` and `label!` narrow the selection.
    pub fn prune(&self, filters: &Filters) -> EngineResult<ImagesPruneReport> {
        filters
            .validate(&["dangling", "until", "label", "label!"])
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let dangling_only = filters
            .bool("dangling")
            .map_err(|e| EngineError::invalid(e.to_string()))?
            .unwrap_or(true);
        let until = match filters.get("until") {
            [] => None,
            [v] => Some(parse_time_filter(v, Utc::now()).ok_or_else(|| {
                EngineError::invalid(format!(
                    "invalid filter 'until={v}': not a time or duration"
                ))
            })?),
            _ => {
                return Err(EngineError::invalid(
                    "invalid filter 'until': more than one value",
                ))
            }
        };
        let candidates: Vec<Digest> = {
            let view = self.store.view();
            view.images()
                .filter(|img| {
                    let named = !view.references_to(&img.id).is_empty();
                    let excluded = filters.get("label!");
                    (!dangling_only || !named)
                        && until.is_none_or(|u| img.created_or_registered() < u)
                        && labels_match(&img.labels, filters.get("label"))
                        && (excluded.is_empty() || !labels_match(&img.labels, excluded))
                })
                .map(|img| img.id.clone())
                .collect()
        };
        Ok(self.remove_children_first(candidates))
    }

    /// Removes `candidates` (and their names), children before parents so that parents
    /// become removable as their children go; an image that cannot go stays.
    pub(super) fn remove_children_first(&self, candidates: Vec<Digest>) -> ImagesPruneReport {
        let mut report = ImagesPruneReport::default();
        let mut pending = candidates;
        loop {
            let mut progressed = false;
            let mut still = Vec::new();
            for id in pending {
                if self.store.view().get(&id).is_none() {
                    continue;
                }
                if !self.store.view().children(&id).is_empty() {
                    still.push(id);
                    continue;
                }
                let sizes_before = self.layer_sizes(&id);
                let refs = self.references_of(&id);
                let mut items = Vec::new();
                let changes = refs
                    .iter()
                    .map(|r| {
                        items.push(untagged(r));
                        Change::RemoveReference(r.clone())
                    })
                    .collect();
                let opts = RemoveOptions {
                    force: true,
                    no_prune: true,
                };
                match self.delete_image(&id, changes, opts, &mut items) {
                    Ok(()) => {
                        report.space_reclaimed += sizes_before
                            .iter()
                            .filter(|(d, _)| !self.layers.exists(&d.to_string()).unwrap_or(false))
                            .map(|(_, s)| s)
                            .sum::<u64>();
                        report.images_deleted.extend(items);
                        progressed = true;
                    }
                    Err(e) => {
                        tracing::warn!(image = %id, error = %e, "prune could not remove image")
                    }
                }
            }
            if still.is_empty() || !progressed {
                break;
            }
            pending = still;
        }
        report
    }

    /// Every name of an image, owned.
    fn references_of(&self, id: &Digest) -> Vec<Reference> {
        self.store
            .view()
            .references_to(id)
            .into_iter()
            .cloned()
            .collect()
    }

    fn layer_sizes(&self, id: &Digest) -> Vec<(Digest, u64)> {
        self.store
            .view()
            .get(id)
            .map(|r| {
                r.layers
                    .iter()
                    .map(|l| (l.diff_id.clone(), l.unpacked_size))
                    .collect()
            })
            .unwrap_or_default()
    }
}
