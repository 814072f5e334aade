//! The network endpoints of the client (`/networks…`), as docker's client calls them.

use http::Method;
use serde::Serialize;
use serde_json::Value;

use super::{empty_body, escape_path, filters_param, json_body, with_query, Client, Result};
use crate::filters::Filters;
use crate::types::{
    ConfigReference, Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};

/// The fields of docker's create body that [`NetworkCreateRequest`] leaves out: the scope and
/// the configuration-only networks of swarm. Docker's CLI always sends them; the engine
/// decides what it accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkCreateOptions {
    /// `--scope`: empty for the driver's own.
    pub scope: String,
    /// `--config-only`.
    pub config_only: bool,
    /// `--config-from`: the network whose configuration to copy; empty for none.
    pub config_from: String,
}

/// The create body as it goes on the wire: the request and docker's extra fields.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBody<'a> {
    #[serde(flatten)]
    request: &'a NetworkCreateRequest,
    scope: &'a str,
    config_only: bool,
    config_from: Option<ConfigReference>,
}

impl Client {
    /// `GET /networks`, filtered (driver, id, label, name, scope, type, dangling).
    pub async fn network_list(&self, filters: &Filters) -> Result<Vec<Network>> {
        let path = with_query("/networks", &[("filters", &filters_param(filters))]);
        self.get_json(&path).await
    }

    /// `GET /networks/{id}`: the raw document, so `--format` sees every field the engine
    /// sent. `verbose` asks for the diagnostics docker shows with `-v`.
    pub async fn network_inspect(&self, id: &str, verbose: bool) -> Result<Value> {
        let path = with_query(
            &format!("/networks/{}", escape_path(id)),
            &[("verbose", if verbose { "true" } else { "" })],
        );
        self.get_json(&path).await
    }

    /// `POST /networks/create`.
    pub async fn network_create(
        &self,
        req: &NetworkCreateRequest,
        opts: &NetworkCreateOptions,
    ) -> Result<NetworkCreateResponse> {
        let body = CreateBody {
            request: req,
            scope: &opts.scope,
            config_only: opts.config_only,
            config_from: (!opts.config_from.is_empty()).then(|| ConfigReference {
                network: opts.config_from.clone(),
            }),
        };
        self.json(
            Method::POST,
            "/networks/create",
            json_body(&body)?,
            Some("application/json"),
        )
        .await
    }

    /// `DELETE /networks/{id}`.
    pub async fn network_remove(&self, id: &str) -> Result<()> {
        self.call(Method::DELETE, &format!("/networks/{}", escape_path(id)))
            .await
    }

    /// `POST /networks/{id}/connect`.
    pub async fn network_connect(&self, id: &str, req: &NetworkConnectRequest) -> Result<()> {
        self.post_json_unit(&format!("/networks/{}/connect", escape_path(id)), req)
            .await
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(&self, id: &str, req: &NetworkDisconnectRequest) -> Result<()> {
        self.post_json_unit(&format!("/networks/{}/disconnect", escape_path(id)), req)
            .await
    }

    /// `POST /networks/prune`, filtered (until, label).
    pub async fn network_prune(&self, filters: &Filters) -> Result<NetworkPruneResponse> {
        let path = with_query("/networks/prune", &[("filters", &filters_param(filters))]);
        self.json(Method::POST, &path, empty_body(), None).await
    }

    /// Posts a JSON body whose answer is not needed.
    async fn post_json_unit<T: Serialize>(&self, path: &str, body: &T) -> Result<()> {
        use http_body_util::BodyExt;
        let resp = self
            .send(
                Method::POST,
                path,
                json_body(body)?,
                Some("application/json"),
            )
            .await?;
        resp.into_body().collect().await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "networks_tests.rs"]
mod tests;
