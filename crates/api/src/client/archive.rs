//! Container file system endpoints of the client: path stats and archives
//! (`/containers/{id}/archive`), changes, export, commit, and inspect with sizes.

use http::Method;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use super::{empty_body, escape_path, with_query, Body, Client, ClientError, Result};
use crate::types::{
    ContainerConfig, ContainerPathStat, FilesystemChange, IdResponse, PATH_STAT_HEADER,
};

/// `POST /commit`'s parameters.
#[derive(Debug, Clone, Default)]
pub struct CommitParams {
    pub container: String,
    pub repo: String,
    pub tag: String,
    pub comment: String,
    pub author: String,
    pub pause: bool,
    pub changes: Vec<String>,
    pub config: Option<ContainerConfig>,
}

fn path_stat(resp: &http::Response<Incoming>) -> Result<ContainerPathStat> {
    let header = resp
        .headers()
        .get(PATH_STAT_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ClientError::Decode(format!("no {PATH_STAT_HEADER} header")))?;
    ContainerPathStat::decode(header).map_err(ClientError::Decode)
}

fn archive_path(id: &str) -> String {
    format!("/containers/{}/archive", escape_path(id))
}

impl Client {
    /// `HEAD /containers/{id}/archive`: what `path` is in the container.
    pub async fn container_stat_path(&self, id: &str, path: &str) -> Result<ContainerPathStat> {
        let resp = self
            .send(
                Method::HEAD,
                &with_query(&archive_path(id), &[("path", path)]),
                empty_body(),
                None,
            )
            .await?;
        let stat = path_stat(&resp)?;
        resp.into_body().collect().await?;
        Ok(stat)
    }

    /// `GET /containers/{id}/archive`: the stat of `path` and its tar archive, to stream.
    pub async fn container_archive(
        &self,
        id: &str,
        path: &str,
    ) -> Result<(ContainerPathStat, Incoming)> {
        let resp = self
            .send(
                Method::GET,
                &with_query(&archive_path(id), &[("path", path)]),
                empty_body(),
                None,
            )
            .await?;
        let stat = path_stat(&resp)?;
        Ok((stat, resp.into_body()))
    }

    /// `PUT /containers/{id}/archive`: extracts the tar `archive` into directory `path`.
    pub async fn container_extract(
        &self,
        id: &str,
        path: &str,
        archive: Body,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> Result<()> {
        let flag = |b: bool| if b { "true" } else { "" };
        let query = with_query(
            &archive_path(id),
            &[
                ("path", path),
                ("noOverwriteDirNonDir", flag(no_overwrite_dir_non_dir)),
                ("copyUIDGID", flag(copy_uid_gid)),
            ],
        );
        let resp = self
            .send(Method::PUT, &query, archive, Some("application/x-tar"))
            .await?;
        resp.into_body().collect().await?;
        Ok(())
    }

    pub async fn container_changes(&self, id: &str) -> Result<Vec<FilesystemChange>> {
        let changes: Option<Vec<FilesystemChange>> = self
            .get_json(&format!("/containers/{}/changes", escape_path(id)))
            .await?;
        Ok(changes.unwrap_or_default())
    }

    /// `GET /containers/{id}/export`: the container's file system as a tar, to stream.
    pub async fn container_export(&self, id: &str) -> Result<Incoming> {
        let resp = self
            .send(
                Method::GET,
                &format!("/containers/{}/export", escape_path(id)),
                empty_body(),
                None,
            )
            .await?;
        Ok(resp.into_body())
    }

    pub async fn container_commit(&self, p: &CommitParams) -> Result<IdResponse> {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("container", &p.container);
        for (k, v) in [
            ("repo", &p.repo),
            ("tag", &p.tag),
            ("comment", &p.comment),
            ("author", &p.author),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.append_pair("pause", if p.pause { "1" } else { "0" });
        for c in &p.changes {
            q.append_pair("changes", c);
        }
        let body = serde_json::to_vec(&p.config).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.json(
            Method::POST,
            &format!("/commit?{}", q.finish()),
            super::bytes_body(body),
            Some("application/json"),
        )
        .await
    }

    /// The inspect document, with `SizeRw` and `SizeRootFs` when `size`.
    pub async fn container_inspect_sized(&self, id: &str, size: bool) -> Result<Value> {
        let path = format!("/containers/{}/json", escape_path(id));
        let path = if size {
            with_query(&path, &[("size", "1")])
        } else {
            path
        };
        self.get_json(&path).await
    }
}
