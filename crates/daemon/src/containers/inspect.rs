//! `GET /containers/{id}/json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api::types::{ContainerInspect, ContainerState, GraphDriverData};

use super::record::Status;
use super::ContainerService;
use crate::error::EngineResult;
use crate::timefmt::{go_rfc3339_nano, GO_ZERO_TIME};

impl ContainerService {
    /// The inspect document, with `SizeRw` and `SizeRootFs` when `size` (`?size=1`, which
    /// walks the container's changes: call it on a blocking thread).
    pub fn inspect_sized(
        self: &Arc<Self>,
        name: &str,
        size: bool,
    ) -> EngineResult<ContainerInspect> {
        let mut doc = self.inspect(name)?;
        if size {
            let rec = self.find(name)?.record();
            let (rw, root) = self.sizes(&rec);
            doc.size_rw = Some(rw);
            doc.size_root_fs = Some(root);
        }
        Ok(doc)
    }

    pub fn inspect(self: &Arc<Self>, name: &str) -> EngineResult<ContainerInspect> {
        let c = self.find(name)?;
        let rec = c.record();
        let s = &rec.state;
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(go_rfc3339_nano)
                .unwrap_or_else(|| GO_ZERO_TIME.to_string())
        };
        let command = rec.command();
        let data = self.data_dir(&rec.id);
        let layers = self.images.layers();
        let mut driver = BTreeMap::new();
        if let Ok(upper) = layers.upper(&rec.id) {
            let active = upper.parent().map(|p| p.to_path_buf()).unwrap_or_default();
            driver.insert("UpperDir".to_string(), upper.display().to_string());
            driver.insert(
                "WorkDir".to_string(),
                active.join("work").display().to_string(),
            );
            driver.insert(
                "MergedDir".to_string(),
                active.join("merged").display().to_string(),
            );
        }
        let log_file = data.join(format!("{}-json.log", rec.id));
        Ok(ContainerInspect {
            id: rec.id.clone(),
            created: go_rfc3339_nano(rec.created),
            path: command.first().cloned().unwrap_or_default(),
            args: command.iter().skip(1).cloned().collect(),
            state: ContainerState {
                status: s.status.as_str().to_string(),
                running: matches!(s.status, Status::Running | Status::Paused),
                paused: s.status == Status::Paused,
                restarting: s.status == Status::Restarting,
                oom_killed: s.oom_killed,
                dead: s.status == Status::Dead,
                pid: s.pid as i64,
                exit_code: s.exit_code as i64,
                error: s.error.clone(),
                started_at: time(s.started_at),
                finished_at: time(s.finished_at),
                health: s.health.clone(),
            },
            exec_ids: Some(self.execs.of_container(&rec.id)).filter(|ids| !ids.is_empty()),
            image: rec.image_id.to_string(),
            resolv_conf_path: data.join("resolv.conf").display().to_string(),
            hostname_path: data.join("hostname").display().to_string(),
            hosts_path: data.join("hosts").display().to_string(),
            log_path: if rec.host_config.log_config.kind == "json-file" {
                log_file.display().to_string()
            } else {
                String::new()
            },
            name: format!("/{}", rec.name),
            restart_count: rec.restart_count as i64,
            driver: "overlayfs".into(),
            platform: "linux".into(),
            host_config: rec.host_config.clone(),
            graph_driver: GraphDriverData {
                name: "overlayfs".into(),
                data: driver,
            },
            mounts: self.mount_points(&rec),
            config: rec.config.clone(),
            network_settings: super::networking::settings_json(
                &rec,
                &self.networks.default_bridge(),
            ),
            ..Default::default()
        })
    }
}
