//! What each action does, over storage and upload sessions. Handlers take an
//! [`Action`] and answer with a [`Reply`] or an [`ApiError`]; they never see HTTP. Storage
//! work runs on blocking threads (it is plain file I/O, with fsyncs).

mod blobs;
mod discovery;
mod manifests;
mod uploads;

pub use manifests::forget_manifest;

use std::sync::Arc;

use berth_store::{Digest, FsContentStore};
use bytes::Bytes;

use super::action::Action;
use super::auth::Identity;
use super::body::RequestBody;
use super::errors::{ApiError, Code};
use super::names::RepoName;
use super::storage::Storage;
use super::uploads::Uploads;

/// The largest manifest accepted (the spec asks for at least 4 MiB).
pub const MAX_MANIFEST: usize = 8 << 20;

/// Everything handlers work on.
pub struct Ctx {
    pub storage: Storage,
    pub store: FsContentStore,
    pub uploads: Uploads,
    pub max_upload: u64,
}

/// A successful answer, in the registry's terms.
#[derive(Debug)]
pub enum Reply {
    /// `GET /v2/`.
    Base,
    /// A JSON document; `link` is the next page's URL, `filters` the filters applied.
    Json {
        body: Vec<u8>,
        content_type: &'static str,
        link: Option<String>,
        filters: Option<&'static str>,
    },
    Manifest {
        digest: Digest,
        media_type: String,
        size: u64,
        body: Option<Bytes>,
    },
    /// A blob or, with `range`, part of one (inclusive bounds).
    Blob {
        digest: Digest,
        size: u64,
        range: Option<(u64, u64)>,
        body: Option<Bytes>,
    },
    /// 201 with the new content's location (and e.g. `OCI-Subject`, `OCI-Tag`).
    Created {
        location: String,
        digest: Digest,
        headers: Vec<(&'static str, String)>,
    },
    /// An open upload session: 202 after a write, 204 for a status query.
    Upload {
        status: u16,
        location: String,
        id: String,
        offset: u64,
    },
    Accepted,
    NoContent,
}

pub async fn handle(
    ctx: &Arc<Ctx>,
    action: Action,
    who: &Identity,
    body: RequestBody,
) -> Result<Reply, ApiError> {
    use Action::*;
    match action {
        Base => Ok(Reply::Base),
        Catalog { page } => discovery::catalog(ctx, page).await,
        Tags { repo, page } => discovery::tags(ctx, repo, page).await,
        Referrers {
            repo,
            subject,
            artifact_type,
        } => discovery::referrers(ctx, repo, subject, artifact_type).await,
        GetManifest {
            repo,
            reference,
            head,
        } => manifests::get(ctx, repo, reference, head).await,
        PutManifest {
            repo,
            reference,
            content_type,
            tags,
            length,
        } => {
            let put = manifests::Put {
                repo,
                reference,
                content_type,
                tags,
                length,
            };
            manifests::put(ctx, put, body).await
        }
        DeleteManifest { repo, reference } => manifests::delete(ctx, repo, reference).await,
        GetBlob {
            repo,
            digest,
            head,
            range,
        } => blobs::get(ctx, repo, digest, head, range).await,
        DeleteBlob { repo, digest } => blobs::delete(ctx, repo, digest).await,
        StartUpload {
            repo,
            digest,
            mount,
            length,
        } => uploads::start(ctx, who, repo, digest, mount, length, body).await,
        PatchUpload {
            repo,
            id,
            range,
            length,
        } => uploads::patch(ctx, repo, id, range, length, body).await,
        FinishUpload {
            repo,
            id,
            digest,
            range,
            length,
        } => uploads::finish(ctx, repo, id, digest, range, length, body).await,
        UploadStatus { repo, id } => uploads::status(ctx, repo, id),
        CancelUpload { repo, id } => uploads::cancel(ctx, repo, id),
    }
}

/// Runs storage work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// 404 for something missing from `repo`: NAME_UNKNOWN when the repository itself is.
fn unknown(ctx: &Ctx, repo: &RepoName, code: Code, what: impl std::fmt::Display) -> ApiError {
    if ctx.storage.repos.exists(repo) {
        ApiError::not_found(code, format!("{what} is not in {repo}")).with_detail(
            serde_json::json!({ "name": repo.as_str(), "reference": what.to_string() }),
        )
    } else {
        ApiError::not_found(Code::NameUnknown, format!("repository {repo} is not known"))
            .with_detail(serde_json::json!({ "name": repo.as_str() }))
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        413,
        Code::SizeInvalid,
        format!("the upload exceeds this registry's limit of {limit} bytes"),
    )
}
