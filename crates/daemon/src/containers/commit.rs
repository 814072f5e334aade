//! `POST /commit`: a new image from a container's changes. A running container is frozen
//! (its cgroup's freezer) while its upper directory is read, so the layer is one moment of
//! its file system, and thawed after. The image's config is docker's: the request's config
//! with the `-c` changes applied, completed from the container's own.

use berth_api::types::ContainerConfig;
use berth_runtime::cgroups::Cgroup;
use berth_store::Digest;

use super::record::Status;
use super::{create, ContainerService};
use crate::error::{EngineError, EngineResult};
use crate::images::{self, CommitImage};

#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub container: String,
    pub repo: String,
    pub tag: String,
    pub comment: String,
    pub author: String,
    /// Freeze a running container while its changes are read (docker's default).
    pub pause: bool,
    /// Dockerfile instructions (`-c`).
    pub changes: Vec<String>,
    /// The request body's config, if it had one.
    pub config: Option<ContainerConfig>,
}

/// A frozen container, thawed when dropped.
struct Frozen(Cgroup);

impl Drop for Frozen {
    fn drop(&mut self) {
        if let Err(e) = self.0.thaw() {
            tracing::error!(id = %self.0.id(), error = %e, "thawing the container after a commit");
        }
    }
}

impl ContainerService {
    /// Commits the container; returns the new image's ID. Blocking.
    pub fn commit(&self, opts: CommitOptions) -> EngineResult<Digest> {
        let container = opts.container.clone();
        let comment = opts.comment.clone();
        let id = self.commit_image(opts)?;
        if let Ok(c) = self.find(&container) {
            let attrs = [("comment", comment), ("imageID", id.to_string())];
            self.announce(&c.record(), "commit", &attrs);
        }
        Ok(id)
    }

    fn commit_image(&self, opts: CommitOptions) -> EngineResult<Digest> {
        let name = images::commit_name(&opts.repo, &opts.tag)?;
        let instructions = images::parse_changes(&opts.changes)?;
        let c = self.find(&opts.container)?;
        let rec = c.record();
        match rec.state.status {
            Status::Dead => {
                return Err(EngineError::conflict(format!(
                    "You cannot commit container {} which is Dead",
                    rec.id
                )))
            }
            Status::Removing => {
                return Err(EngineError::conflict(format!(
                    "You cannot commit container {} which is being removed",
                    rec.id
                )))
            }
            _ => {}
        }
        let mut run = images::from_api_config(&opts.config.unwrap_or_default());
        images::apply_changes(&mut run, instructions);
        let mut config = images::to_api_config(Some(&run));
        create::merge(&mut config, &rec.config);
        let request = CommitImage {
            parent: Some(rec.image_id.clone()),
            container_id: rec.id.clone(),
            config: images::from_api_config(&config),
            container_config: images::from_api_config(&rec.config),
            author: opts.author,
            comment: opts.comment,
            created_by: String::new(),
            created: None,
            name,
        };
        let layers = self.images.layers();
        if !layers.has_active(&rec.id) {
            // Never started: no changes, docker's empty layer.
            return self.images.commit(&[0u8; 1024][..], request);
        }
        let frozen = if opts.pause && rec.state.status == Status::Running {
            self.freeze(&rec)
        } else {
            None
        };
        // Thawed as soon as its changes are read, not after they are stored.
        self.images
            .commit_snapshot(&rec.id, None, request, move || drop(frozen))
    }

    /// Freezes a running container's processes; a host without a freezer commits it
    /// running, as it must.
    fn freeze(&self, rec: &super::record::ContainerRecord) -> Option<Frozen> {
        let frozen = self.cgroup_of(rec).and_then(|cg| {
            cg.freeze()
                .map(|()| Frozen(cg))
                .map_err(crate::error::EngineError::from)
        });
        match frozen {
            Ok(f) => {
                tracing::debug!(id = %rec.id, "container paused for the commit");
                Some(f)
            }
            Err(e) => {
                tracing::warn!(id = %rec.id, error = %e, "could not pause the container for the commit");
                None
            }
        }
    }
}
