//! Listing images (`GET /images/json`) with docker's filters, and the image half of
//! `system df`.

use std::collections::HashMap;

use berth_api::filters::Filters;
use berth_api::types::ImageSummary;
use berth_store::reference::Reference;
use berth_store::{Digest, ImageRecord};
use chrono::Utc;

use super::filters::{labels_match, path_match};
use super::ImageService;
use crate::error::{EngineError, EngineResult};

#[derive(Debug, Default)]
pub struct ListOptions {
    /// Include intermediate images (untagged parents of other images).
    pub all: bool,
    pub filters: Filters,
    /// Compute SharedSize (for `system df`); otherwise it is -1 as in docker.
    pub shared_size: bool,
}

const IMAGE_FILTERS: [&str; 5] = ["dangling", "label", "before", "since", "reference"];

/// docker's `reference` filter: a pattern matches a reference if it matches its familiar
/// string (`busybox:latest`) or, failing that, its familiar name (`busybox`).
pub fn reference_matches(pattern: &str, r: &Reference) -> EngineResult<bool> {
    Ok(path_match(pattern, &r.familiar_string())? || path_match(pattern, &r.familiar_name())?)
}

impl ImageService {
    pub fn list(&self, opts: &ListOptions) -> EngineResult<Vec<ImageSummary>> {
        let f = &opts.filters;
        f.validate(&IMAGE_FILTERS)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let dangling = f
            .bool("dangling")
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let before = self.time_bound(f.get("before"))?;
        let since = self.time_bound(f.get("since"))?;
        let patterns = f.get("reference");

        let view = self.store.view();
        let layer_users = if opts.shared_size {
            count_layer_users(view.images())
        } else {
            HashMap::new()
        };
        let mut out = Vec::new();
        for image in view.images() {
            let refs = view.references_to(&image.id);
            let tags: Vec<&Reference> = refs
                .iter()
                .copied()
                .filter(|r| r.digest().is_none())
                .collect();
            let digests: Vec<&Reference> = refs
                .iter()
                .copied()
                .filter(|r| r.digest().is_some())
                .collect();
            let has_children = !view.children(&image.id).is_empty();
            if refs.is_empty() && has_children && !opts.all {
                continue;
            }
            if let Some(want) = dangling {
                if want != tags.is_empty() {
                    continue;
                }
            }
            let created = image.created_or_registered();
            if before.is_some_and(|b| created >= b) || since.is_some_and(|s| created <= s) {
                continue;
            }
            if !labels_match(&image.labels, f.get("label")) {
                continue;
            }
            let mut repo_tags: Vec<String> = Vec::new();
            let mut repo_digests: Vec<String> =
                digests.iter().map(|r| r.familiar_string()).collect();
            if patterns.is_empty() {
                repo_tags = tags.iter().map(|r| r.familiar_string()).collect();
            } else {
                let mut matched = false;
                for r in &refs {
                    let mut hit = false;
                    for p in patterns {
                        hit |= reference_matches(p, r)?;
                    }
                    if hit {
                        matched = true;
                        if r.digest().is_none() {
                            repo_tags.push(r.familiar_string());
                        }
                    }
                }
                if !matched {
                    continue;
                }
            }
            if repo_tags.is_empty() && repo_digests.is_empty() {
                // Docker's API marks an image with no names this way.
                repo_tags.push("<none>:<none>".into());
                repo_digests.push("<none>@<none>".into());
            }
            let shared_size = if opts.shared_size {
                image
                    .layers
                    .iter()
                    .filter(|l| layer_users.get(&l.diff_id).copied().unwrap_or(0) > 1)
                    .map(|l| l.unpacked_size as i64)
                    .sum()
            } else {
                -1
            };
            out.push(ImageSummary {
                id: image.id.to_string(),
                parent_id: image
                    .parent
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                repo_tags,
                repo_digests,
                created: created.timestamp(),
                size: image.size as i64,
                shared_size,
                virtual_size: image.size as i64,
                labels: image.labels.clone(),
                containers: if opts.shared_size { 0 } else { -1 },
            });
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// The creation time of the image a `before`/`since` filter names.
    fn time_bound(&self, values: &[String]) -> EngineResult<Option<chrono::DateTime<Utc>>> {
        match values {
            [] => Ok(None),
            [name] => {
                let id = self.resolve(name)?;
                let view = self.store.view();
                let record = view
                    .get(&id)
                    .ok_or_else(|| EngineError::not_found(format!("No such image: {name}")))?;
                Ok(Some(record.created_or_registered()))
            }
            _ => Err(EngineError::invalid(
                "invalid filter: before and since take one image",
            )),
        }
    }

    /// Bytes of all unpacked layers, each counted once.
    pub fn layers_size(&self) -> u64 {
        let view = self.store.view();
        let mut seen = HashMap::new();
        for image in view.images() {
            for l in &image.layers {
                seen.insert(l.diff_id.clone(), l.unpacked_size);
            }
        }
        seen.values().sum()
    }
}

fn count_layer_users<'a>(images: impl Iterator<Item = &'a ImageRecord>) -> HashMap<Digest, usize> {
    let mut users = HashMap::new();
    for image in images {
        for l in &image.layers {
            *users.entry(l.diff_id.clone()).or_default() += 1;
        }
    }
    users
}
