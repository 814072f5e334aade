//! `GET /containers/json` (`ps`): containers with docker's state words and filters.

use std::sync::Arc;

use berth_api::filters::Filters;
use berth_api::types::ContainerSummary;
use chrono::{DateTime, Utc};

use super::record::{ContainerRecord, Status};
use super::ContainerService;
use crate::error::{EngineError, EngineResult};

#[derive(Debug, Default)]
pub struct ListOptions {
    pub all: bool,
    /// Only the `limit` most recently created (`-n`; `-l` is 1). Implies all.
    pub limit: Option<usize>,
    /// Measure each container's changes (`SizeRw`, `SizeRootFs`): a walk of its upper
    /// directory, so callers run the listing on a blocking thread.
    pub size: bool,
    pub filters: Filters,
}

const FILTERS: [&str; 10] = [
    "status", "name", "id", "label", "ancestor", "exited", "before", "since", "health", "is-task",
];

fn ago(t: Option<DateTime<Utc>>) -> String {
    let d = t
        .map(|t| (Utc::now() - t).to_std().unwrap_or_default())
        .unwrap_or_default();
    berth_api::units::human_duration(d)
}

/// docker's status column: `Up 3 seconds`, `Exited (0) 2 minutes ago`, …
pub fn status_text(rec: &ContainerRecord) -> String {
    let s = &rec.state;
    match s.status {
        Status::Created => "Created".into(),
        Status::Running => match &s.health {
            Some(h) if h.status == super::health::STARTING => {
                format!("Up {} (health: starting)", ago(s.started_at))
            }
            Some(h) => format!("Up {} ({})", ago(s.started_at), h.status),
            None => format!("Up {}", ago(s.started_at)),
        },
        Status::Paused => format!("Up {} (Paused)", ago(s.started_at)),
        Status::Restarting => format!("Restarting ({}) {} ago", s.exit_code, ago(s.finished_at)),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Exited if s.finished_at.is_none() => "Created".into(),
        Status::Exited => format!("Exited ({}) {} ago", s.exit_code, ago(s.finished_at)),
    }
}

/// The command docker lists: the program and its arguments joined by spaces, an argument
/// with a space in it between single quotes.
pub fn command_text(rec: &ContainerRecord) -> String {
    let mut words = rec.command().into_iter();
    let Some(program) = words.next() else {
        return String::new();
    };
    let mut text = program;
    for arg in words {
        text.push(' ');
        if arg.contains(' ') {
            text.push_str(&format!("'{arg}'"));
        } else {
            text.push_str(&arg);
        }
    }
    text
}

impl ContainerService {
    pub fn list(self: &Arc<Self>, opts: &ListOptions) -> EngineResult<Vec<ContainerSummary>> {
        let f = &opts.filters;
        f.validate(&FILTERS)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        for st in f.get("status") {
            if !matches!(
                st.as_str(),
                "created" | "restarting" | "running" | "removing" | "paused" | "exited" | "dead"
            ) {
                return Err(EngineError::invalid(format!(
                    "Invalid filter 'status={st}'"
                )));
            }
        }
        for h in f.get("health") {
            if !matches!(h.as_str(), "starting" | "healthy" | "unhealthy" | "none") {
                return Err(EngineError::invalid(format!(
                    "Unrecognised filter value for health: {h}"
                )));
            }
        }
        let bound = |key: &str| -> EngineResult<Option<DateTime<Utc>>> {
            match f.get(key) {
                [] => Ok(None),
                [name] => Ok(Some(self.find(name)?.record().created)),
                _ => Err(EngineError::invalid(format!(
                    "invalid filter '{key}': more than one value"
                ))),
            }
        };
        let before = bound("before")?;
        let since = bound("since")?;
        // docker's `ancestor`: the image named, or any image built on it.
        let mut ancestors: Vec<berth_store::Digest> = f
            .get("ancestor")
            .iter()
            .filter_map(|a| self.images.resolve(a).ok())
            .collect();
        {
            let view = self.images.store().view();
            let mut i = 0;
            while i < ancestors.len() {
                for child in view.children(&ancestors[i]) {
                    if !ancestors.contains(child) {
                        ancestors.push(child.clone());
                    }
                }
                i += 1;
            }
        }
        if !f.get("ancestor").is_empty() && ancestors.is_empty() {
            return Ok(Vec::new());
        }
        let mut records: Vec<Arc<ContainerRecord>> =
            self.all().iter().map(|c| c.record()).collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.created));
        let all = opts.all
            || opts.limit.is_some()
            || !f.get("status").is_empty()
            || !f.get("exited").is_empty();
        let mut out = Vec::new();
        for rec in records {
            if !all && !rec.state.status.is_active() {
                continue;
            }
            let status = rec.state.status.as_str();
            if !f.get("status").is_empty() && !f.get("status").iter().any(|s| s == status) {
                continue;
            }
            if !f.get("name").is_empty()
                && !f
                    .get("name")
                    .iter()
                    .any(|n| rec.name.contains(n.trim_start_matches('/')))
            {
                continue;
            }
            if !f.get("id").is_empty()
                && !f.get("id").iter().any(|i| rec.id.starts_with(i.as_str()))
            {
                continue;
            }
            let labels = super::create::labels(&rec.config);
            if !crate::images::labels_match(&labels, f.get("label")) {
                continue;
            }
            if !ancestors.is_empty() && !ancestors.contains(&rec.image_id) {
                continue;
            }
            if !f.get("exited").is_empty() {
                let exited = rec.state.status == Status::Exited && rec.state.finished_at.is_some();
                if !exited
                    || !f
                        .get("exited")
                        .iter()
                        .any(|c| c.parse::<i32>().ok() == Some(rec.state.exit_code))
                {
                    continue;
                }
            }
            if before.is_some_and(|b| rec.created >= b) || since.is_some_and(|s| rec.created <= s) {
                continue;
            }
            let health = rec
                .state
                .health
                .as_ref()
                .map(|h| h.status.as_str())
                .unwrap_or("none");
            if !f.get("health").is_empty() && !f.get("health").iter().any(|h| h == health) {
                continue;
            }
            let mut summary = self.summary(&rec);
            if opts.size {
                // docker leaves zero sizes out of the list (`omitempty`).
                let (rw, root) = self.sizes(&rec);
                summary.size_rw = (rw != 0).then_some(rw);
                summary.size_root_fs = (root != 0).then_some(root);
            }
            out.push(summary);
            if opts.limit.is_some_and(|n| out.len() >= n) {
                break;
            }
        }
        Ok(out)
    }

    fn summary(&self, rec: &ContainerRecord) -> ContainerSummary {
        let mut host = std::collections::BTreeMap::new();
        host.insert(
            "NetworkMode".to_string(),
            rec.host_config.network_mode.clone(),
        );
        // Docker shows the image ID when the name no longer points at the container's image.
        let named_still = self
            .images
            .resolve(&rec.image)
            .is_ok_and(|id| id == rec.image_id);
        ContainerSummary {
            id: rec.id.clone(),
            names: vec![format!("/{}", rec.name)],
            image: if named_still {
                rec.image.clone()
            } else {
                rec.image_id.to_string()
            },
            image_id: rec.image_id.to_string(),
            command: command_text(rec),
            created: rec.created.timestamp(),
            ports: super::networking::summary_ports(rec),
            size_rw: None,
            size_root_fs: None,
            labels: super::create::labels(&rec.config),
            state: rec.state.status.as_str().to_string(),
            status: status_text(rec),
            host_config: host,
            network_settings: serde_json::json!({"Networks": rec.network.networks}),
            mounts: self.mount_points(rec),
        }
    }
}
