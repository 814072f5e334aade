//! Exec endpoints of the client: creating an instance, starting it (detached, or with the
//! connection hijacked for its streams), resizing its terminal, inspecting it.

use http::Method;

use super::{bytes_body, escape_path, with_query, Client, ClientError, Hijacked, Result};
use crate::types::{ExecConfig, ExecInspect, ExecStartConfig, IdResponse};

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| ClientError::Decode(e.to_string()))
}

impl Client {
    /// Creates an exec instance in container `id`; its ID.
    pub async fn exec_create(&self, id: &str, config: &ExecConfig) -> Result<String> {
        let r: IdResponse = self
            .json(
                Method::POST,
                &format!("/containers/{}/exec", escape_path(id)),
                bytes_body(json(config)?),
                Some("application/json"),
            )
            .await?;
        Ok(r.id)
    }

    /// Starts an exec instance without attaching to it.
    pub async fn exec_start_detached(&self, id: &str, tty: bool) -> Result<()> {
        let body = json(&ExecStartConfig { detach: true, tty })?;
        let resp = self
            .send(
                Method::POST,
                &format!("/exec/{}/start", escape_path(id)),
                bytes_body(body),
                Some("application/json"),
            )
            .await?;
        http_body_util::BodyExt::collect(resp.into_body()).await?;
        Ok(())
    }

    /// Starts an exec instance; the connection then carries its streams.
    pub async fn exec_start(&self, id: &str, tty: bool) -> Result<Hijacked> {
        let body = json(&ExecStartConfig { detach: false, tty })?;
        self.hijack(&format!("/exec/{}/start", escape_path(id)), Some(body))
            .await
    }

    pub async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let (h, w) = (height.to_string(), width.to_string());
        self.call(
            Method::POST,
            &with_query(
                &format!("/exec/{}/resize", escape_path(id)),
                &[("h", &h), ("w", &w)],
            ),
        )
        .await
    }

    pub async fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        self.get_json(&format!("/exec/{}/json", escape_path(id)))
            .await
    }
}
