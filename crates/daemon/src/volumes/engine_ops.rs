//! Volume operations that need the containers too: which volumes are in use, for `ls`'s
//! `dangling` filter, `rm` and `prune`.

use berth_api::filters::Filters;
use berth_api::types::Volume;

use crate::containers::mounts::users_by_volume;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

impl Engine {
    /// `GET /volumes` with docker's filters (`dangling`, `driver`, `label`, `name`).
    pub fn volume_list(&self, filters: &Filters) -> EngineResult<Vec<Volume>> {
        check_filters(filters, &["dangling", "driver", "label", "name"])?;
        let dangling = filters
            .bool("dangling")
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let users = users_by_volume(&self.containers.records());
        let mut out: Vec<Volume> = self
            .volumes
            .all()
            .into_iter()
            .filter(|v| {
                let used = users.contains_key(&v.name);
                dangling.is_none_or(|d| d != used)
                    && (filters.get("driver").is_empty()
                        || filters.get("driver").iter().any(|d| d == &v.driver))
                    && (filters.get("name").is_empty()
                        || filters
                            .get("name")
                            .iter()
                            .any(|n| v.name.contains(n.as_str())))
                    && crate::images::labels_match(&v.labels, filters.get("label"))
            })
            .map(|v| self.volumes.to_api(&v))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// `DELETE /volumes/{name}`: refused while any container names the volume.
    pub fn volume_remove(&self, name: &str, force: bool) -> EngineResult<()> {
        let users = self.containers.volume_users(name);
        self.volumes.remove(name, force, &users)
    }

    /// `POST /volumes/prune`: unused volumes — anonymous ones only unless `all=true`, as
    /// docker's current behaviour — with `label`/`label!`. Returns the names removed and
    /// the bytes freed.
    pub fn volume_prune(&self, filters: &Filters) -> EngineResult<(Vec<String>, u64)> {
        check_filters(filters, &["label", "label!", "all"])?;
        let all = filters
            .bool("all")
            .map_err(|e| EngineError::invalid(e.to_string()))?
            .unwrap_or(false);
        let users = users_by_volume(&self.containers.records());
        let excluded = filters.get("label!");
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for v in self.volumes.all() {
            let eligible = !users.contains_key(&v.name)
                && (all || v.anonymous)
                && crate::images::labels_match(&v.labels, filters.get("label"))
                && (excluded.is_empty() || !crate::images::labels_match(&v.labels, excluded));
            if !eligible {
                continue;
            }
            let size = super::tree_size(&self.volumes.data_path(&v.name));
            // Checked again under the volume lock, against a container made meanwhile.
            let users_now = self.containers.volume_users(&v.name);
            if self.volumes.remove(&v.name, false, &users_now).is_ok() {
                reclaimed += size;
                deleted.push(v.name);
            }
        }
        Ok((deleted, reclaimed))
    }
}

/// Refuses filters a volume request does not take.
fn check_filters(f: &Filters, allowed: &[&str]) -> EngineResult<()> {
    f.validate(allowed)
        .map_err(|e| EngineError::invalid(e.to_string()))
}
