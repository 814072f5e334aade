//! The build cache as `system df` and `builder prune` see it: one record per cached step whose
//! image still exists, and pruning the step images nothing else needs.

use berth_api::types::{BuildCachePruneReport, BuildCacheRecord};
use berth_store::Digest;
use chrono::{DateTime, Utc};

use super::ImageService;
use crate::error::EngineResult;

impl ImageService {
    /// The cache's records; `in_use` says whether a container uses an image.
    pub fn build_cache_usage(&self, in_use: &dyn Fn(&Digest) -> bool) -> Vec<BuildCacheRecord> {
        let Ok(entries) = self.build_cache().entries() else {
            return Vec::new();
        };
        let view = self.store().view();
        let mut out = Vec::new();
        for (key, id) in entries {
            let Some(record) = view.get(&id) else {
                continue;
            };
            let parent_layers = record
                .parent
                .as_ref()
                .and_then(|p| view.get(p))
                .map_or(0, |p| p.layers.len());
            let size = if record.layers.len() > parent_layers {
                record.layers.last().map_or(0, |l| l.unpacked_size as i64)
            } else {
                0
            };
            let description = self
                .config(&id)
                .ok()
                .and_then(|c| c.history.last().map(|h| h.created_by.clone()))
                .unwrap_or_default();
            let hex = key.strip_prefix("sha256:").unwrap_or(&key);
            out.push(BuildCacheRecord {
                id: hex.chars().take(25).collect(),
                parent: record
                    .parent
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                kind: "regular".into(),
                description,
                in_use: in_use(&id),
                shared: !view.references_to(&id).is_empty(),
                size,
                created_at: crate::timefmt::go_rfc3339_nano(record.created_or_registered()),
                last_used_at: None,
                usage_count: 0,
            });
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// `builder prune`: the step images no name, container or other image needs (made before
    /// `until`, when given) are removed, and their records with them; with `all`, every
    /// record goes (the images a name still needs stay, but no build will use them again).
    pub fn prune_build_cache(
        &self,
        all: bool,
        until: Option<DateTime<Utc>>,
        in_use: &dyn Fn(&Digest) -> bool,
    ) -> EngineResult<BuildCachePruneReport> {
        let entries = self.build_cache().entries()?;
        let candidates: Vec<Digest> = {
            let view = self.store().view();
            let mut ids: Vec<Digest> = entries
                .iter()
                .filter_map(|(_, id)| view.get(id))
                .filter(|r| view.references_to(&r.id).is_empty() && !in_use(&r.id))
                .filter(|r| until.is_none_or(|u| r.created_or_registered() < u))
                .map(|r| r.id.clone())
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let removed = self.remove_children_first(candidates);
        let gone = |id: &Digest| self.store().view().get(id).is_none();
        let mut deleted: Vec<String> = entries
            .iter()
            .filter(|(_, id)| all || gone(id))
            .map(|(k, _)| {
                k.strip_prefix("sha256:")
                    .unwrap_or(k)
                    .chars()
                    .take(25)
                    .collect()
            })
            .collect();
        deleted.sort();
        self.build_cache().forget(|id| all || gone(id))?;
        Ok(BuildCachePruneReport {
            caches_deleted: deleted,
            space_reclaimed: removed.space_reclaimed,
        })
    }
}
