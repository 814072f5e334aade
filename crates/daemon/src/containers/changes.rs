//! `GET /containers/{id}/changes` (`diff`) and the sizes `ps -s` and `inspect -s` report,
//! read from the upper directory of the container's snapshot (a container never started
//! has none yet: no changes, nothing written).

use berth_api::types::FilesystemChange;

use super::record::ContainerRecord;
use super::ContainerService;
use crate::error::{snapshot_kind, EngineError, EngineResult};

impl ContainerService {
    /// What the container changed, in docker's order. Blocking.
    pub fn changes(&self, name: &str) -> EngineResult<Vec<FilesystemChange>> {
        let c = self.find(name)?;
        let layers = self.images.layers();
        if !layers.has_active(&c.id) {
            return Ok(Vec::new());
        }
        let changes = layers
            .changes(&c.id)
            .map_err(|e| EngineError::new(snapshot_kind(e.kind()), e.to_string()))?;
        Ok(changes
            .into_iter()
            .map(|ch| FilesystemChange {
                path: ch.path,
                kind: ch.kind as u8,
            })
            .collect())
    }

    /// `(SizeRw, SizeRootFs)`: bytes the container wrote, and those plus its image's. A size
    /// that cannot be read is -1, as docker reports it. Blocking.
    pub(super) fn sizes(&self, rec: &ContainerRecord) -> (i64, i64) {
        let layers = self.images.layers();
        let rw = if layers.has_active(&rec.id) {
            match layers.upper_size(&rec.id) {
                Ok(n) => i64::try_from(n).unwrap_or(i64::MAX),
                Err(e) => {
                    tracing::warn!(id = %rec.id, error = %e, "measuring the container's changes");
                    -1
                }
            }
        } else {
            0
        };
        let image = self
            .images
            .record(&rec.image_id)
            .map(|r| i64::try_from(r.size).unwrap_or(i64::MAX))
            .unwrap_or(-1);
        let root = if image < 0 || rw < 0 { -1 } else { image + rw };
        (rw, root)
    }
}
