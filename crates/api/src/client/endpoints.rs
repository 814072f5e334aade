//! One method per Engine API endpoint Berth's CLI uses.

use http::Method;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use super::{empty_body, escape_path, with_query, Body, Client, JsonMessageStream, Result};
use crate::filters::Filters;
use crate::types::*;

/// What `/_ping` told us.
#[derive(Debug, Clone, Default)]
pub struct Ping {
    pub api_version: Option<String>,
    pub os_type: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    pub force: bool,
    pub no_prune: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `-` for the request body, or a URL the engine fetches.
    pub source: String,
    pub repo: String,
    pub tag: String,
    pub message: String,
    pub changes: Vec<String>,
    pub platform: String,
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        ""
    }
}

fn filters_param(f: &Filters) -> String {
    if f.is_empty() {
        String::new()
    } else {
        f.to_json()
    }
}

impl Client {
    pub async fn ping(&self) -> Result<Ping> {
        let resp = self.send(Method::GET, "/_ping", empty_body(), None).await?;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let ping = Ping {
            api_version: header("api-version"),
            os_type: header("ostype"),
        };
        resp.into_body().collect().await?;
        Ok(ping)
    }

    pub async fn version(&self) -> Result<SystemVersion> {
        self.get_json("/version").await
    }

    pub async fn info(&self) -> Result<SystemInfo> {
        self.get_json("/info").await
    }

    pub async fn system_df(&self) -> Result<SystemDataUsage> {
        self.get_json("/system/df").await
    }

    pub async fn images(
        &self,
        all: bool,
        digests: bool,
        filters: &Filters,
    ) -> Result<Vec<ImageSummary>> {
        let path = with_query(
            "/images/json",
            &[
                ("all", flag(all)),
                ("digests", flag(digests)),
                ("filters", &filters_param(filters)),
            ],
        );
        self.get_json(&path).await
    }

    /// The raw inspect document, so `--format` sees every field the engine sent.
    pub async fn image_inspect(&self, name: &str) -> Result<Value> {
        self.get_json(&format!("/images/{}/json", escape_path(name)))
            .await
    }

    pub async fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        self.get_json(&format!("/images/{}/history", escape_path(name)))
            .await
    }

    pub async fn image_tag(&self, name: &str, repo: &str, tag: &str) -> Result<()> {
        let path = with_query(
            &format!("/images/{}/tag", escape_path(name)),
            &[("repo", repo), ("tag", tag)],
        );
        self.call(Method::POST, &path).await
    }

    pub async fn image_remove(
        &self,
        name: &str,
        opts: &RemoveOptions,
    ) -> Result<Vec<ImageDeleteItem>> {
        let path = with_query(
            &format!("/images/{}", escape_path(name)),
            &[
                ("force", flag(opts.force)),
                ("noprune", flag(opts.no_prune)),
            ],
        );
        self.json(Method::DELETE, &path, empty_body(), None).await
    }

    pub async fn images_prune(&self, filters: &Filters) -> Result<ImagesPruneReport> {
        let path = with_query("/images/prune", &[("filters", &filters_param(filters))]);
        self.json(Method::POST, &path, empty_body(), None).await
    }

    /// `POST /build/prune`: the build cache's unused records (`all`: every record).
    pub async fn build_prune(&self, all: bool, filters: &Filters) -> Result<BuildCachePruneReport> {
        let path = with_query(
            "/build/prune",
            &[("all", flag(all)), ("filters", &filters_param(filters))],
        );
        self.json(Method::POST, &path, empty_body(), None).await
    }

    /// Streams an image archive to the engine; the answer is a stream of progress messages.
    pub async fn images_load(&self, archive: Body, quiet: bool) -> Result<JsonMessageStream> {
        let path = with_query("/images/load", &[("quiet", flag(quiet))]);
        let resp = self
            .send(Method::POST, &path, archive, Some("application/x-tar"))
            .await?;
        Ok(JsonMessageStream::new(resp.into_body()))
    }

    /// `POST /build`: builds the context tar `context`; `query` holds docker's build
    /// parameters (`t` repeated, `dockerfile`, `buildargs`, …).
    pub async fn build(
        &self,
        context: Body,
        query: &[(String, String)],
        auths: &std::collections::BTreeMap<String, AuthConfig>,
    ) -> Result<JsonMessageStream> {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            q.append_pair(k, v);
        }
        let path = format!("/build?{}", q.finish());
        // As docker's CLI: every stored credential, for the base images' registries.
        let mut headers = Vec::new();
        if !auths.is_empty() {
            let json = serde_json::to_vec(auths).unwrap_or_default();
            let coded = crate::base64::encode(&json)
                .replace('+', "-")
                .replace('/', "_");
            headers.push(("X-Registry-Config", coded));
        }
        let resp = self
            .send_with_headers(
                Method::POST,
                &path,
                context,
                Some("application/x-tar"),
                &headers,
            )
            .await?;
        Ok(JsonMessageStream::new(resp.into_body()))
    }

    /// The archive of one or more images, as a body to stream out.
    pub async fn images_save(&self, names: &[String]) -> Result<Incoming> {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for n in names {
            q.append_pair("names", n);
        }
        let path = format!("/images/get?{}", q.finish());
        Ok(self
            .send(Method::GET, &path, empty_body(), None)
            .await?
            .into_body())
    }

    pub async fn image_import(
        &self,
        body: Body,
        opts: &ImportOptions,
    ) -> Result<JsonMessageStream> {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("fromSrc", &opts.source);
        for (k, v) in [
            ("repo", &opts.repo),
            ("tag", &opts.tag),
            ("message", &opts.message),
            ("platform", &opts.platform),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        for c in &opts.changes {
            q.append_pair("changes", c);
        }
        let path = format!("/images/create?{}", q.finish());
        let resp = self
            .send(Method::POST, &path, body, Some("application/x-tar"))
            .await?;
        Ok(JsonMessageStream::new(resp.into_body()))
    }
}
