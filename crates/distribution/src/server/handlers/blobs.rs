//! Pulling blobs (whole or a range, served from a memory map) and deleting a repository's
//! link to one (the bytes go when the collector finds nothing else needs them).

use std::sync::Arc;

use berth_store::Digest;

use super::{blocking, unknown, Ctx, Reply};
use crate::server::action::ByteRange;
use crate::server::errors::{ApiError, Code};
use crate::server::names::RepoName;

/// The inclusive bounds `range` selects in a blob of `size` bytes; `None` for the whole.
pub fn resolve(range: Option<ByteRange>, size: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let unsatisfiable = || {
        ApiError::new(
            416,
            Code::SizeInvalid,
            format!("range not satisfiable in a blob of {size} bytes"),
        )
        .with_header("Content-Range", format!("bytes */{size}"))
    };
    match range {
        None => Ok(None),
        Some(ByteRange::From { start, end }) => {
            if start >= size {
                return Err(unsatisfiable());
            }
            let end = end.map_or(size - 1, |e| e.min(size - 1));
            Ok(Some((start, end)))
        }
        Some(ByteRange::Suffix(n)) => {
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            Ok(Some((size.saturating_sub(n), size - 1)))
        }
    }
}

pub async fn get(
    ctx: &Arc<Ctx>,
    repo: RepoName,
    digest: Digest,
    head: bool,
    range: Option<ByteRange>,
) -> Result<Reply, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        let repos = &ctx.storage.repos;
        let linked =
            repos.has_blob_link(&repo, &digest) || repos.revision(&repo, &digest)?.is_some();
        let missing = || unknown(&ctx, &repo, Code::BlobUnknown, &digest);
        if !linked {
            return Err(missing());
        }
        let size = ctx.storage.blobs.size(&digest)?.ok_or_else(missing)?;
        let range = resolve(range, size)?;
        let body = if head {
            None
        } else {
            let (start, len) = match range {
                Some((a, b)) => (a, b - a + 1),
                None => (0, size),
            };
            Some(
                ctx.storage
                    .blobs
                    .map(&digest, start, len)?
                    .ok_or_else(missing)?,
            )
        };
        Ok(Reply::Blob {
            digest,
            size,
            range,
            body,
        })
    })
    .await
}

pub async fn delete(ctx: &Arc<Ctx>, repo: RepoName, digest: Digest) -> Result<Reply, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        if ctx.storage.repos.unlink_blob(&repo, &digest)? {
            Ok(Reply::Accepted)
        } else {
            Err(unknown(&ctx, &repo, Code::BlobUnknown, &digest))
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size() {
        let from = |start, end| Some(ByteRange::From { start, end });
        assert_eq!(resolve(None, 10).unwrap(), None);
        assert_eq!(resolve(from(2, Some(4)), 10).unwrap(), Some((2, 4)));
        assert_eq!(resolve(from(2, Some(40)), 10).unwrap(), Some((2, 9)));
        assert_eq!(resolve(from(7, None), 10).unwrap(), Some((7, 9)));
        assert_eq!(
            resolve(Some(ByteRange::Suffix(3)), 10).unwrap(),
            Some((7, 9))
        );
        assert_eq!(
            resolve(Some(ByteRange::Suffix(30)), 10).unwrap(),
            Some((0, 9))
        );
        let e = resolve(from(10, None), 10).unwrap_err();
        assert_eq!(e.status, 416);
        assert_eq!(e.headers[0].1, "bytes */10");
        assert!(resolve(Some(ByteRange::Suffix(0)), 10).is_err());
        assert!(resolve(from(0, None), 0).is_err());
    }
}
