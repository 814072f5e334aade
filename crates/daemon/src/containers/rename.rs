//! `docker rename`: a container's name changes, with docker's rules for names, and the
//! new name is claimed before the old one is released so two containers never share one.

use std::sync::Arc;

use super::{names, ContainerService};
use crate::error::{EngineError, EngineResult};

impl ContainerService {
    pub async fn rename(self: &Arc<Self>, name: &str, new_name: &str) -> EngineResult<()> {
        if name.is_empty() || new_name.is_empty() {
            return Err(EngineError::invalid(
                "Neither old nor new names may be empty",
            ));
        }
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        let old = c.record().name.clone();
        let new = new_name.strip_prefix('/').unwrap_or(new_name).to_string();
        if old == new {
            return Err(EngineError::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        let allocating = |e: EngineError| e.context("Error when allocating new name");
        if !names::valid(&new) {
            return Err(allocating(EngineError::invalid(format!(
                "Invalid container name (/{new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            ))));
        }
        {
            let mut taken = self.names.write().unwrap_or_else(|e| e.into_inner());
            if let Some(owner) = taken.get(&new) {
                return Err(allocating(EngineError::conflict(format!(
                    "Conflict. The container name \"/{new}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
                ))));
            }
            taken.insert(new.clone(), c.id.clone());
        }
        let renamed = c.update(&self.data_dir(&c.id), |r| r.name = new.clone());
        let mut taken = self.names.write().unwrap_or_else(|e| e.into_inner());
        let rec = match renamed {
            Ok(rec) => {
                taken.remove(&old);
                rec
            }
            Err(e) => {
                // The record on disk still has the old name: so must the engine.
                taken.remove(&new);
                let _ = c.update(&self.data_dir(&c.id), |r| r.name = old.clone());
                return Err(e);
            }
        };
        drop(taken);
        // Its neighbours on user networks find it by the new name only.
        self.networks.rename_container(&rec.id, &old, &new);
        self.announce(&rec, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }
}
