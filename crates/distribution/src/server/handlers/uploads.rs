//! Pushing blobs: a session opened by POST (or a monolithic POST with `?digest=`, or a
//! cross-repository mount), fed by PATCH chunks in order, closed by PUT with the digest.
//! Closing verifies digest and size, publishes the blob atomically, makes it durable and only
//! then links it into the repository; a mismatch keeps nothing.

use std::sync::Arc;

use berth_store::content::Ingest;
use berth_store::{ContentError, Digest, Expected};

use super::{blocking, too_large, Ctx, Reply};
use crate::server::auth::Identity;
use crate::server::body::RequestBody;
use crate::server::errors::{ApiError, Code};
use crate::server::names::RepoName;
use crate::server::uploads::{append, Claim, PumpError, Session};

fn upload_location(repo: &RepoName, id: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

fn blob_location(repo: &RepoName, digest: &Digest) -> String {
    format!("/v2/{repo}/blobs/{digest}")
}

fn open_reply(status: u16, s: &Session) -> Reply {
    Reply::Upload {
        status,
        location: upload_location(&s.repo, &s.id),
        id: s.id.clone(),
        offset: s.offset(),
    }
}

/// The `Range` a client resumes from, for a 416 or a status answer.
fn range_value(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

fn out_of_order(s: &Session, why: String) -> ApiError {
    ApiError::new(416, Code::BlobUploadInvalid, why)
        .with_header("Location", upload_location(&s.repo, &s.id))
        .with_header("Range", range_value(s.offset()))
        .with_header("Docker-Upload-UUID", s.id.clone())
}

fn claim(s: &Arc<Session>) -> Result<Claim, ApiError> {
    s.claim()
        .ok_or_else(|| out_of_order(s, "another request is writing to this upload".into()))
}

#[allow(clippy::too_many_arguments)]
pub async fn start(
    ctx: &Arc<Ctx>,
    who: &Identity,
    repo: RepoName,
    digest: Option<Digest>,
    mount: Option<(Digest, Option<RepoName>)>,
    length: Option<u64>,
    body: RequestBody,
) -> Result<Reply, ApiError> {
    if let Some((blob, Some(from))) = mount {
        // A source the client may not read is treated as not having the blob: the push
        // goes on as an ordinary upload.
        if who.may_pull(&from) {
            if let Some(reply) = try_mount(ctx, repo.clone(), from, blob).await? {
                return Ok(reply);
            }
        }
    }
    let session = ctx.uploads.open(&repo, &ctx.store)?;
    let Some(digest) = digest else {
        return Ok(open_reply(202, &session));
    };
    let claim = claim(&session)?;
    let written = feed(ctx, &session, claim, length, body).await;
    let claim = match written {
        Ok(c) => c,
        Err(e) => {
            ctx.uploads.close(&session.id);
            return Err(e);
        }
    };
    commit(ctx, &session, claim, digest, length).await
}

async fn try_mount(
    ctx: &Arc<Ctx>,
    repo: RepoName,
    from: RepoName,
    digest: Digest,
) -> Result<Option<Reply>, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        let storage = &ctx.storage;
        let _lock = storage.writer_lock()?;
        if !storage.repos.has_blob_link(&from, &digest) || !storage.blobs.touch(&digest)? {
            return Ok(None);
        }
        storage.repos.link_blob(&repo, &digest)?;
        Ok(Some(Reply::Created {
            location: blob_location(&repo, &digest),
            digest,
            headers: Vec::new(),
        }))
    })
    .await
}

/// Streams a request body into the session within the size limit. Over the limit, the
/// session is closed (nothing kept); a broken body leaves it where it got to.
async fn feed(
    ctx: &Arc<Ctx>,
    session: &Arc<Session>,
    claim: Claim,
    length: Option<u64>,
    mut body: RequestBody,
) -> Result<Claim, ApiError> {
    let budget = ctx.max_upload.saturating_sub(session.offset());
    if length.is_some_and(|n| n > budget) {
        ctx.uploads.close(&session.id);
        return Err(too_large(ctx.max_upload));
    }
    let (claim, result) = append(claim, &mut body, budget).await;
    match result {
        Ok(_) => claim.ok_or_else(|| ApiError::internal("upload writer lost its claim")),
        Err(PumpError::TooLarge { .. }) => {
            ctx.uploads.close(&session.id);
            Err(too_large(ctx.max_upload))
        }
        Err(PumpError::Gone) => Err(ApiError::not_found(
            Code::BlobUploadUnknown,
            "the upload was closed",
        )),
        Err(PumpError::Body(e)) => Err(ApiError::bad_request(
            Code::BlobUploadInvalid,
            format!("reading the chunk: {e}"),
        )),
        Err(e @ PumpError::Write(_)) => Err(ApiError::internal(e)),
    }
}

fn check_range(
    s: &Session,
    range: Option<(u64, u64)>,
    length: Option<u64>,
) -> Result<(), ApiError> {
    let Some((start, end)) = range else {
        return Ok(());
    };
    if start != s.offset() {
        return Err(out_of_order(
            s,
            format!(
                "chunk starts at {start}, but the upload is at {}",
                s.offset()
            ),
        ));
    }
    if length.is_some_and(|n| n != end - start + 1) {
        return Err(ApiError::bad_request(
            Code::SizeInvalid,
            "Content-Length does not match Content-Range",
        ));
    }
    Ok(())
}

pub async fn patch(
    ctx: &Arc<Ctx>,
    repo: RepoName,
    id: String,
    range: Option<(u64, u64)>,
    length: Option<u64>,
    body: RequestBody,
) -> Result<Reply, ApiError> {
    let session = ctx.uploads.get(&repo, &id)?;
    let claim = claim(&session)?;
    check_range(&session, range, length)?;
    let before = session.offset();
    drop(feed(ctx, &session, claim, length, body).await?);
    if let Some((start, end)) = range {
        if session.offset() - before != end - start + 1 {
            return Err(ApiError::bad_request(
                Code::SizeInvalid,
                "the chunk is shorter than its Content-Range",
            )
            .with_header("Range", range_value(session.offset())));
        }
    }
    Ok(open_reply(202, &session))
}

pub async fn finish(
    ctx: &Arc<Ctx>,
    repo: RepoName,
    id: String,
    digest: Digest,
    range: Option<(u64, u64)>,
    length: Option<u64>,
    body: RequestBody,
) -> Result<Reply, ApiError> {
    let session = ctx.uploads.get(&repo, &id)?;
    let claim = claim(&session)?;
    check_range(&session, range, length)?;
    let claim = feed(ctx, &session, claim, length, body).await?;
    commit(ctx, &session, claim, digest, None).await
}

/// Closes the session: verify, publish, sync, link. The session is gone afterwards whether
/// or not the content matched.
async fn commit(
    ctx: &Arc<Ctx>,
    session: &Arc<Session>,
    claim: Claim,
    digest: Digest,
    size: Option<u64>,
) -> Result<Reply, ApiError> {
    let ingest = session.take_ingest();
    ctx.uploads.close(&session.id);
    drop(claim);
    let ingest = ingest
        .ok_or_else(|| ApiError::not_found(Code::BlobUploadUnknown, "the upload was closed"))?;
    let repo = session.repo.clone();
    let c = ctx.clone();
    blocking(move || publish(&c, &repo, ingest, digest, size)).await
}

fn publish(
    ctx: &Ctx,
    repo: &RepoName,
    ingest: Box<dyn Ingest>,
    digest: Digest,
    size: Option<u64>,
) -> Result<Reply, ApiError> {
    let storage = &ctx.storage;
    let _lock = storage.writer_lock()?;
    let expected = Expected {
        digest: Some(digest.clone()),
        size,
    };
    ingest.commit(&expected).map_err(|e| match e {
        ContentError::DigestMismatch { expected, actual } => ApiError::bad_request(
            Code::DigestInvalid,
            format!("the upload's digest is {actual}, not {expected}"),
        )
        .with_detail(serde_json::json!({ "digest": expected.to_string() })),
        ContentError::SizeMismatch {
            expected, actual, ..
        } => ApiError::bad_request(
            Code::SizeInvalid,
            format!("the upload is {actual} bytes, not {expected}"),
        ),
        other => ApiError::internal(other),
    })?;
    // The commit may have found the blob already there (and kept that file): either way its
    // grace period for the collector starts now.
    storage.blobs.touch(&digest)?;
    storage.blobs.sync(&digest)?;
    storage.repos.link_blob(repo, &digest)?;
    Ok(Reply::Created {
        location: blob_location(repo, &digest),
        digest,
        headers: Vec::new(),
    })
}

pub fn status(ctx: &Arc<Ctx>, repo: RepoName, id: String) -> Result<Reply, ApiError> {
    let session = ctx.uploads.get(&repo, &id)?;
    Ok(open_reply(204, &session))
}

pub fn cancel(ctx: &Arc<Ctx>, repo: RepoName, id: String) -> Result<Reply, ApiError> {
    let session = ctx.uploads.get(&repo, &id)?;
    ctx.uploads.close(&session.id);
    Ok(Reply::NoContent)
}
