//! The volume endpoints of the client (`/volumes…`), as docker's client calls them.

use http::Method;
use serde_json::Value;

use super::{empty_body, escape_path, filters_param, json_body, with_query, Client, Result};
use crate::filters::Filters;
use crate::types::{Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};

fn volume_path(name: &str) -> String {
    format!("/volumes/{}", escape_path(name))
}

impl Client {
    /// `GET /volumes`, filtered (dangling, driver, label, name).
    pub async fn volume_list(&self, filters: &Filters) -> Result<VolumeListResponse> {
        let path = with_query("/volumes", &[("filters", &filters_param(filters))]);
        self.get_json(&path).await
    }

    /// `GET /volumes/{name}`, read as docker's client reads it (`docker volume inspect`
    /// prints this, with the fields docker knows in docker's order).
    pub async fn volume_inspect(&self, name: &str) -> Result<Volume> {
        self.get_json(&volume_path(name)).await
    }

    /// `GET /volumes/{name}`: the raw document, as `docker inspect` prints it.
    pub async fn volume_inspect_raw(&self, name: &str) -> Result<Value> {
        self.get_json(&volume_path(name)).await
    }

    /// `POST /volumes/create`; the engine answers with the volume (its name generated
    /// when the request gave none).
    pub async fn volume_create(&self, req: &VolumeCreateRequest) -> Result<Volume> {
        self.json(
            Method::POST,
            "/volumes/create",
            json_body(req)?,
            Some("application/json"),
        )
        .await
    }

    /// `DELETE /volumes/{name}`; `force` is sent as docker sends it (`force=1`).
    pub async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let path = with_query(
            &volume_path(name),
            &[("force", if force { "1" } else { "" })],
        );
        self.call(Method::DELETE, &path).await
    }

    /// `POST /volumes/prune`, filtered (label, label!, and `all` for named volumes too).
    pub async fn volume_prune(&self, filters: &Filters) -> Result<VolumePruneResponse> {
        let path = with_query("/volumes/prune", &[("filters", &filters_param(filters))]);
        self.json(Method::POST, &path, empty_body(), None).await
    }
}

#[cfg(test)]
#[path = "volumes_tests.rs"]
mod tests;
