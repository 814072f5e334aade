//! The image side of `POST /commit`: a container's changes (a layer tar) stacked on its
//! image's layers, under a config derived from the container's, registered (and named)
//! like any other image. An unchanged container adds no layer, only a history entry.

use std::io::Read;

use berth_store::model::{History, ImageConfig, RootFs, RunConfig};
use berth_store::reference::Reference;
use berth_store::{Digest, LayerRecord};
use chrono::Utc;

use super::ImageService;
use crate::error::{snapshot_kind, EngineError, EngineResult};

/// The digest of an archive with no entries (two zero blocks): docker's empty layer.
const EMPTY_LAYER: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// Everything a commit records besides the layer itself.
#[derive(Debug, Clone)]
pub struct CommitImage {
    /// The image the layer goes on, the new image's parent; none for a build `FROM scratch`.
    pub parent: Option<Digest>,
    pub container_id: String,
    /// The new image's run config.
    pub config: RunConfig,
    /// The container's own config, as docker keeps it in `container_config`.
    pub container_config: RunConfig,
    pub author: String,
    pub comment: String,
    /// What made the layer, for `history` (a build step's instruction).
    pub created_by: String,
    /// The image's creation time, when not now (a build's `SOURCE_DATE_EPOCH`).
    pub created: Option<chrono::DateTime<Utc>>,
    pub name: Option<Reference>,
}

/// Parses the `repo` and `tag` of a commit into the name it is made under.
pub fn commit_name(repo: &str, tag: &str) -> EngineResult<Option<Reference>> {
    super::import::repo_tag(
        repo,
        tag,
        "refusing to create a tag with a digest reference",
    )
}

impl ImageService {
    /// Stores the layer tar read from `diff` and registers the image; returns its ID.
    pub fn commit(&self, diff: impl Read, req: CommitImage) -> EngineResult<Digest> {
        let (parent_layers, parent) = match &req.parent {
            Some(p) => (self.record(p)?.layers, self.config(p)?),
            None => (Vec::new(), ImageConfig::default()),
        };
        let mut lease = self.lease();
        let layer = self
            .store_layer(diff, &mut lease)
            .map_err(|e| e.context("committing the container's changes"))?;
        let empty = layer.diff_id.to_string() == EMPTY_LAYER;
        let mut layers = parent_layers;
        let mut diff_ids = parent.rootfs.diff_ids.clone();
        if !empty {
            diff_ids.push(layer.diff_id.clone());
            layers.push(layer);
        }
        let now = req.created.unwrap_or_else(Utc::now);
        let mut history = parent.history.clone();
        history.push(History {
            created: Some(now),
            author: req.author.clone(),
            created_by: req.created_by.clone(),
            comment: req.comment.clone(),
            empty_layer: empty,
        });
        let config = ImageConfig {
            author: req.author,
            config: Some(req.config),
            container: req.container_id,
            container_config: Some(req.container_config),
            ..derived(&parent, now, diff_ids, history)
        };
        self.store_image(
            config,
            layers,
            req.name.into_iter().collect(),
            req.parent,
            &mut lease,
        )
    }

    /// A layer this engine has (an image's `layer`-th) stacked on `parent` under `history`,
    /// with `parent`'s run config: a build step found in a `--cache-from` image, made again
    /// without running it. Returns the new image's ID.
    pub fn stack_layer(
        &self,
        parent: Option<&Digest>,
        layer: LayerRecord,
        entry: History,
    ) -> EngineResult<Digest> {
        let (mut layers, parent_config) = match parent {
            Some(p) => (self.record(p)?.layers, self.config(p)?),
            None => (Vec::new(), ImageConfig::default()),
        };
        let mut lease = self.lease();
        lease.layer(&layer.diff_id);
        let mut diff_ids = parent_config.rootfs.diff_ids.clone();
        diff_ids.push(layer.diff_id.clone());
        layers.push(layer);
        let created = entry.created.unwrap_or_else(Utc::now);
        let mut history = parent_config.history.clone();
        history.push(entry);
        let config = ImageConfig {
            config: parent_config.config.clone(),
            ..derived(&parent_config, created, diff_ids, history)
        };
        self.store_image(config, layers, Vec::new(), parent.cloned(), &mut lease)
    }

    /// Commits the changes of snapshot `key` (a container's, a build step's): the layer tar
    /// is packed on one thread (times clamped to `clamp_mtime` when given) and stored on this
    /// one as it comes. `read` runs as soon as the changes are read, before they are stored
    /// (a paused container is thawed then).
    pub fn commit_snapshot(
        &self,
        key: &str,
        clamp_mtime: Option<u64>,
        req: CommitImage,
        read: impl FnOnce() + Send,
    ) -> EngineResult<Digest> {
        let layers = self.layers();
        let (reader, mut writer) = crate::pipe::pipe()
            .map_err(|e| EngineError::internal(format!("making a pipe: {e}")))?;
        std::thread::scope(|s| {
            let packer = s.spawn(move || {
                let packed = layers.write_diff_clamped(key, &mut writer, clamp_mtime);
                drop(writer);
                read();
                packed
            });
            let committed = self.commit(reader, req);
            match packer.join() {
                // A failed write only means the storing side gave up; its error is the one.
                Ok(Err(e))
                    if !matches!(
                        e,
                        berth_snapshot::LayerError::Pack(berth_snapshot::PackError::Write(_))
                    ) =>
                {
                    Err(EngineError::new(
                        snapshot_kind(e.kind()),
                        format!("reading the changes of {key}: {e}"),
                    ))
                }
                Ok(_) => committed,
                Err(_) => Err(EngineError::internal(format!(
                    "reading the changes of {key} failed"
                ))),
            }
        })
    }
}

/// An image config on `parent`'s platform with `diff_ids` and `history`, made at `created`;
/// run config, author and container are the caller's to fill in.
fn derived(
    parent: &ImageConfig,
    created: chrono::DateTime<Utc>,
    diff_ids: Vec<Digest>,
    history: Vec<History>,
) -> ImageConfig {
    ImageConfig {
        created: Some(created),
        author: String::new(),
        architecture: if parent.architecture.is_empty() {
            berth_store::model::host_architecture().to_string()
        } else {
            parent.architecture.clone()
        },
        os: if parent.os.is_empty() {
            "linux".into()
        } else {
            parent.os.clone()
        },
        os_version: parent.os_version.clone(),
        variant: parent.variant.clone(),
        config: None,
        rootfs: RootFs::layers(diff_ids),
        history,
        container: String::new(),
        container_config: None,
        docker_version: String::new(),
        comment: String::new(),
    }
}
