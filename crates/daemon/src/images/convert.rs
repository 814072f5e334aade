//! Image records and configs as the Engine API presents them: inspect documents and
//! history entries.

use berth_api::types::{
    ContainerConfig, GraphDriverData, HistoryItem, ImageInspect, ImageMetadata, RootFs,
};
use berth_store::model::{ImageConfig, RunConfig};
use berth_store::{ContentStore, Digest, ImageRecord};

use super::{ImageService, MAX_METADATA_BLOB};
use crate::error::{EngineError, EngineResult};
use crate::timefmt::{go_rfc3339_nano, GO_ZERO_TIME};

impl ImageService {
    /// The parsed config blob of an image.
    pub fn config(&self, id: &Digest) -> EngineResult<ImageConfig> {
        let bytes = self.content.read_all(id, MAX_METADATA_BLOB)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::internal(format!("image {id} has an unreadable config: {e}")))
    }

    pub fn record(&self, id: &Digest) -> EngineResult<ImageRecord> {
        self.store
            .view()
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("No such image: {id}")))
    }

    /// Familiar tag and digest names of an image, as RepoTags and RepoDigests show them.
    pub fn names_of(&self, id: &Digest) -> (Vec<String>, Vec<String>) {
        let view = self.store.view();
        let mut tags = Vec::new();
        let mut digests = Vec::new();
        for r in view.references_to(id) {
            if r.digest().is_some() {
                digests.push(r.familiar_string());
            } else {
                tags.push(r.familiar_string());
            }
        }
        (tags, digests)
    }

    pub fn inspect(&self, name: &str) -> EngineResult<ImageInspect> {
        let id = self.resolve_for_use(name)?;
        let record = self.record(&id)?;
        let config = self.config(&id)?;
        let (repo_tags, repo_digests) = self.names_of(&id);
        let lower: Vec<String> = record
            .layers
            .iter()
            .rev()
            .filter_map(|l| self.layers.path(&l.diff_id.to_string()).ok())
            .map(|p| p.display().to_string())
            .collect();
        let mut driver_data = std::collections::BTreeMap::new();
        driver_data.insert("LowerDir".to_string(), lower.join(":"));
        Ok(ImageInspect {
            id: id.to_string(),
            repo_tags,
            repo_digests,
            parent: record
                .parent
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            comment: image_comment(&config),
            created: config
                .created
                .map(go_rfc3339_nano)
                .unwrap_or_else(|| GO_ZERO_TIME.to_string()),
            container: config.container.clone(),
            container_config: to_api_config(config.container_config.as_ref()),
            docker_version: config.docker_version.clone(),
            author: config.author.clone(),
            config: to_api_config(config.config.as_ref()),
            architecture: config.architecture.clone(),
            variant: config.variant.clone(),
            os: config.os.clone(),
            os_version: config.os_version.clone(),
            size: record.size as i64,
            virtual_size: record.size as i64,
            graph_driver: GraphDriverData {
                name: "overlayfs".into(),
                data: driver_data,
            },
            root_fs: RootFs {
                kind: "layers".into(),
                layers: config
                    .rootfs
                    .diff_ids
                    .iter()
                    .map(|d| d.to_string())
                    .collect(),
            },
            metadata: ImageMetadata {
                last_tag_time: record
                    .last_tag_time
                    .map(go_rfc3339_nano)
                    .unwrap_or_else(|| GO_ZERO_TIME.to_string()),
            },
        })
    }

    /// The history of an image, newest first, with the size of the layer each entry added.
    pub fn history(&self, name: &str) -> EngineResult<Vec<HistoryItem>> {
        let id = self.resolve_for_use(name)?;
        let record = self.record(&id)?;
        let config = self.config(&id)?;
        let mut layer_sizes = record.layers.iter().map(|l| l.unpacked_size);
        let mut items: Vec<HistoryItem> = config
            .history
            .iter()
            .map(|h| HistoryItem {
                id: "<missing>".into(),
                created: h.created.map(|t| t.timestamp()).unwrap_or(0),
                created_by: h.created_by.clone(),
                tags: Vec::new(),
                size: if h.empty_layer {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0) as i64
                },
                comment: h.comment.clone(),
            })
            .collect();
        if items.is_empty() {
            // An image without history still has layers; show one entry per layer.
            items = record
                .layers
                .iter()
                .map(|l| HistoryItem {
                    id: "<missing>".into(),
                    created: record.created_or_registered().timestamp(),
                    size: l.unpacked_size as i64,
                    ..Default::default()
                })
                .collect();
        }
        items.reverse();
        // As docker does: the newest entry is the image, each older one its parent in
        // turn, for as long as the local parent chain goes (locally built images have one
        // ancestor per instruction).
        let mut current = Some(id);
        for item in items.iter_mut() {
            let Some(id) = current.take() else { break };
            item.tags = self.names_of(&id).0;
            item.id = id.to_string();
            current = self.store.view().get(&id).and_then(|r| r.parent.clone());
        }
        Ok(items)
    }
}

fn image_comment(config: &ImageConfig) -> String {
    if !config.comment.is_empty() {
        return config.comment.clone();
    }
    config
        .history
        .last()
        .map(|h| h.comment.clone())
        .unwrap_or_default()
}

/// An image's run config in the Engine API's spelling, with docker's defaults for fields
/// an image never sets.
pub fn to_api_config(config: Option<&RunConfig>) -> ContainerConfig {
    let Some(c) = config else {
        return ContainerConfig::default();
    };
    let set = |m: &Option<std::collections::BTreeMap<String, berth_store::model::Empty>>| {
        m.as_ref().map(|m| {
            m.keys()
                .map(|k| (k.clone(), serde_json::json!({})))
                .collect()
        })
    };
    ContainerConfig {
        hostname: c.hostname.clone(),
        domainname: c.domainname.clone(),
        user: c.user.clone(),
        exposed_ports: set(&c.exposed_ports),
        env: c.env.clone(),
        cmd: c.cmd.clone(),
        healthcheck: c
            .healthcheck
            .as_ref()
            .map(|h| berth_api::types::HealthConfig {
                test: h.test.clone(),
                interval: h.interval,
                timeout: h.timeout,
                start_period: h.start_period,
                retries: h.retries,
            }),
        args_escaped: c.args_escaped,
        image: c.image.clone(),
        volumes: set(&c.volumes),
        working_dir: c.working_dir.clone(),
        entrypoint: c.entrypoint.clone(),
        on_build: c.on_build.clone(),
        labels: c.labels.clone(),
        stop_signal: c.stop_signal.clone(),
        stop_timeout: c.stop_timeout,
        shell: c.shell.clone(),
        ..Default::default()
    }
}

/// The inverse of [`to_api_config`]: a config in the Engine API's spelling as an image's run
/// config (`commit` records the container's).
pub fn from_api_config(c: &ContainerConfig) -> RunConfig {
    let set = |m: &Option<std::collections::BTreeMap<String, serde_json::Value>>| {
        m.as_ref().map(|m| {
            m.keys()
                .map(|k| (k.clone(), berth_store::model::Empty {}))
                .collect()
        })
    };
    RunConfig {
        hostname: c.hostname.clone(),
        domainname: c.domainname.clone(),
        user: c.user.clone(),
        exposed_ports: set(&c.exposed_ports),
        env: c.env.clone(),
        entrypoint: c.entrypoint.clone(),
        cmd: c.cmd.clone(),
        healthcheck: c
            .healthcheck
            .as_ref()
            .map(|h| berth_store::model::HealthConfig {
                test: h.test.clone(),
                interval: h.interval,
                timeout: h.timeout,
                start_period: h.start_period,
                retries: h.retries,
            }),
        args_escaped: c.args_escaped,
        image: c.image.clone(),
        volumes: set(&c.volumes),
        working_dir: c.working_dir.clone(),
        on_build: c.on_build.clone(),
        labels: c.labels.clone(),
        stop_signal: c.stop_signal.clone(),
        stop_timeout: c.stop_timeout,
        shell: c.shell.clone(),
    }
}
