//! The registry endpoints: pull (`POST /images/create?fromImage=`), push
//! (`POST /images/{name}/push`) and login (`POST /auth`).

use http::Method;

use super::{empty_body, escape_path, json_body, with_query, Client, JsonMessageStream, Result};
use crate::types::{AuthConfig, AuthResponse};

/// What `image_pull` asks for beyond the name.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]`; empty for the engine's own platform.
    pub platform: String,
    /// Credentials for the image's registry, if the user has some.
    pub auth: Option<AuthConfig>,
}

fn auth_header(auth: &Option<AuthConfig>) -> Vec<(&'static str, String)> {
    auth.iter()
        .map(|a| ("X-Registry-Auth", a.to_header()))
        .collect()
}

impl Client {
    /// `POST /images/create?fromImage=`: the image from its registry. `image` carries its
    /// tag or digest; a bare name with an empty `tag` pulls every tag.
    pub async fn image_pull(
        &self,
        image: &str,
        tag: &str,
        opts: &PullOptions,
    ) -> Result<JsonMessageStream> {
        let mut query = vec![("fromImage", image)];
        if !tag.is_empty() {
            query.push(("tag", tag));
        }
        if !opts.platform.is_empty() {
            query.push(("platform", opts.platform.as_str()));
        }
        let path = with_query("/images/create", &query);
        let headers = auth_header(&opts.auth);
        let resp = self
            .send_with_headers(Method::POST, &path, empty_body(), None, &headers)
            .await?;
        Ok(JsonMessageStream::new(resp.into_body()))
    }

    /// `POST /images/{name}/push`: the image (`tag` empty: every tag of the name).
    pub async fn image_push(
        &self,
        name: &str,
        tag: &str,
        auth: &Option<AuthConfig>,
    ) -> Result<JsonMessageStream> {
        let base = format!("/images/{}/push", escape_path(name));
        let path = if tag.is_empty() {
            base
        } else {
            with_query(&base, &[("tag", tag)])
        };
        // docker's CLI always sends the header, `{}` when it has no credentials.
        let headers = vec![(
            "X-Registry-Auth",
            auth.clone().unwrap_or_default().to_header(),
        )];
        let resp = self
            .send_with_headers(Method::POST, &path, empty_body(), None, &headers)
            .await?;
        Ok(JsonMessageStream::new(resp.into_body()))
    }

    /// `POST /auth`: checks credentials with a registry.
    pub async fn login(&self, auth: &AuthConfig) -> Result<AuthResponse> {
        self.json(
            Method::POST,
            "/auth",
            json_body(auth)?,
            Some("application/json"),
        )
        .await
    }
}
