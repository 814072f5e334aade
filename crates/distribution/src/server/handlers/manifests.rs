//! Manifests: pulled by tag or digest; pushed (checked for shape, digest and that everything
//! they reference is already in the repository, then stored byte for byte as a blob with a
//! revision record, tags and referrer entry); deleted by digest (with the tags pointing at
//! it) or by tag alone.

use std::sync::Arc;

use berth_store::{ContentStore, Digest, Expected};
use bytes::Bytes;

use super::{blocking, unknown, Ctx, Reply, MAX_MANIFEST};
use crate::server::body::RequestBody;
use crate::server::errors::{ApiError, Code};
use crate::server::manifest::Manifest;
use crate::server::names::{Reference, RepoName, Tag};
use crate::server::storage::{Revision, Storage, StorageError};

pub struct Put {
    pub repo: RepoName,
    pub reference: Reference,
    pub content_type: Option<String>,
    pub tags: Vec<Tag>,
    pub length: Option<u64>,
}

fn too_large() -> ApiError {
    ApiError::new(
        413,
        Code::ManifestInvalid,
        format!("manifests are limited to {MAX_MANIFEST} bytes"),
    )
}

fn resolve(
    ctx: &Ctx,
    repo: &RepoName,
    reference: &Reference,
) -> Result<(Digest, Revision), ApiError> {
    let missing = || unknown(ctx, repo, Code::ManifestUnknown, reference);
    let digest = match reference {
        Reference::Digest(d) => d.clone(),
        Reference::Tag(t) => ctx.storage.repos.tag(repo, t)?.ok_or_else(missing)?,
    };
    let rev = ctx
        .storage
        .repos
        .revision(repo, &digest)?
        .ok_or_else(missing)?;
    Ok((digest, rev))
}

pub async fn get(
    ctx: &Arc<Ctx>,
    repo: RepoName,
    reference: Reference,
    head: bool,
) -> Result<Reply, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        let (digest, rev) = resolve(&ctx, &repo, &reference)?;
        let body = if head {
            None
        } else {
            let bytes = ctx.storage.blobs.read(&digest, MAX_MANIFEST as u64)?;
            Some(Bytes::from(bytes.ok_or_else(|| {
                unknown(&ctx, &repo, Code::ManifestUnknown, &reference)
            })?))
        };
        Ok(Reply::Manifest {
            size: body.as_ref().map_or(rev.size, |b| b.len() as u64),
            digest,
            media_type: rev.media_type,
            body,
        })
    })
    .await
}

pub async fn put(ctx: &Arc<Ctx>, put: Put, mut body: RequestBody) -> Result<Reply, ApiError> {
    if put.length.is_some_and(|n| n > MAX_MANIFEST as u64) {
        return Err(too_large());
    }
    let bytes = body.collect(MAX_MANIFEST).await.map_err(|e| match e {
        None => too_large(),
        Some(e) => {
            ApiError::bad_request(Code::ManifestInvalid, format!("reading the manifest: {e}"))
        }
    })?;
    let ctx = ctx.clone();
    blocking(move || store(&ctx, put, bytes)).await
}

fn store(ctx: &Ctx, put: Put, bytes: Vec<u8>) -> Result<Reply, ApiError> {
    let m = Manifest::parse(&bytes, put.content_type.as_deref())
        .map_err(|why| ApiError::bad_request(Code::ManifestInvalid, why))?;
    let digest = Digest::sha256(&bytes);
    if let Reference::Digest(d) = &put.reference {
        if *d != digest {
            return Err(ApiError::bad_request(
                Code::DigestInvalid,
                format!("the manifest's digest is {digest}, not {d}"),
            )
            .with_detail(serde_json::json!({ "digest": d.to_string() })));
        }
    }
    let storage = &ctx.storage;
    let repo = &put.repo;
    let _lock = storage.writer_lock()?;
    let mut missing: Option<ApiError> = None;
    for d in m.required() {
        let present = (storage.repos.has_blob_link(repo, &d.digest)
            || storage.repos.revision(repo, &d.digest)?.is_some())
            && storage.blobs.touch(&d.digest)?;
        if present && storage.blobs.size(&d.digest)? != Some(d.size) {
            return Err(ApiError::bad_request(
                Code::ManifestInvalid,
                format!(
                    "the descriptor of {} says {} bytes, but the blob is not that size",
                    d.digest, d.size
                ),
            ));
        }
        if !present {
            let message = format!("{} is not in {repo}", d.digest);
            let detail = serde_json::json!({ "digest": d.digest.to_string() });
            missing = Some(match missing {
                None => {
                    ApiError::bad_request(Code::ManifestBlobUnknown, message).with_detail(detail)
                }
                Some(e) => e.and(Code::ManifestBlobUnknown, message, detail),
            });
        }
    }
    if let Some(e) = missing {
        return Err(e);
    }
    ctx.store
        .put(&bytes, &Expected::exact(&digest, bytes.len() as u64))
        .map_err(ApiError::internal)?;
    storage.blobs.touch(&digest)?;
    storage.blobs.sync(&digest)?;
    let size = bytes.len() as u64;
    storage.repos.put_revision(
        repo,
        &digest,
        &Revision {
            media_type: m.media_type.clone(),
            size,
        },
    )?;
    let mut headers = Vec::new();
    if let Some(subject) = &m.subject {
        storage.repos.add_referrer(
            repo,
            &subject.digest,
            &digest,
            &m.referrer_descriptor(&digest, size),
        )?;
        headers.push(("OCI-Subject", subject.digest.to_string()));
    }
    if let Reference::Tag(t) = &put.reference {
        storage.repos.set_tag(repo, t, &digest)?;
    }
    for t in &put.tags {
        storage.repos.set_tag(repo, t, &digest)?;
        headers.push(("OCI-Tag", t.to_string()));
    }
    Ok(Reply::Created {
        location: format!("/v2/{repo}/manifests/{digest}"),
        digest,
        headers,
    })
}

pub async fn delete(
    ctx: &Arc<Ctx>,
    repo: RepoName,
    reference: Reference,
) -> Result<Reply, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        let repos = &ctx.storage.repos;
        let missing = || unknown(&ctx, &repo, Code::ManifestUnknown, &reference);
        match &reference {
            Reference::Tag(t) => {
                if !repos.remove_tag(&repo, t)? {
                    return Err(missing());
                }
            }
            Reference::Digest(d) => {
                if repos.revision(&repo, d)?.is_none() {
                    return Err(missing());
                }
                forget_manifest(&ctx.storage, &repo, d)?;
            }
        }
        Ok(Reply::Accepted)
    })
    .await
}

/// Removes a manifest from a repository: the tags pointing at it, its entry in its subject's
/// referrers, and its revision (the bytes stay for the collector).
pub fn forget_manifest(
    storage: &Storage,
    repo: &RepoName,
    digest: &Digest,
) -> Result<(), StorageError> {
    for (tag, target) in storage.repos.tags(repo)? {
        if target == *digest {
            storage.repos.remove_tag(repo, &tag)?;
        }
    }
    let media_type = storage.repos.revision(repo, digest)?.map(|r| r.media_type);
    if let Some(bytes) = storage.blobs.read(digest, MAX_MANIFEST as u64)? {
        let parsed = Manifest::parse(&bytes, media_type.as_deref()).ok();
        if let Some(subject) = parsed.and_then(|m| m.subject) {
            storage
                .repos
                .remove_referrer(repo, &subject.digest, digest)?;
        }
    }
    storage.repos.remove_revision(repo, digest)?;
    Ok(())
}
