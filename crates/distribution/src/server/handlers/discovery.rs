//! Content discovery: a repository's tags and the registry's catalog (both paginated with
//! `n`/`last` and a `Link` to the next page), and the referrers of a subject as an OCI index.

use std::sync::Arc;

use berth_store::model::media_type;
use berth_store::Digest;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;

use super::{blocking, unknown, Ctx, Reply};
use crate::server::action::Page;
use crate::server::errors::{ApiError, Code};
use crate::server::names::RepoName;

/// One page of `items` (sorted): those after `last`, at most `n`, and the `last` to ask for
/// next when more remain. `n = 0` is an empty page with no next.
fn paginate(items: Vec<String>, page: &Page) -> (Vec<String>, Option<String>) {
    let after: Vec<String> = match &page.last {
        Some(last) => items.into_iter().filter(|i| i > last).collect(),
        None => items,
    };
    match page.n {
        None => (after, None),
        Some(0) => (Vec::new(), None),
        Some(n) if after.len() > n => {
            let page: Vec<String> = after.into_iter().take(n).collect();
            let next = page.last().cloned();
            (page, next)
        }
        Some(_) => (after, None),
    }
}

/// What a tag or repository name needs escaped in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'/');

fn link(path: &str, n: Option<usize>, last: Option<String>) -> Option<String> {
    let last = last?;
    let n = n.map_or(String::new(), |n| format!("n={n}&"));
    Some(format!(
        "<{path}?{n}last={}>; rel=\"next\"",
        utf8_percent_encode(&last, QUERY_VALUE)
    ))
}

fn json_reply(value: serde_json::Value, link: Option<String>) -> Result<Reply, ApiError> {
    Ok(Reply::Json {
        body: serde_json::to_vec(&value).map_err(ApiError::internal)?,
        content_type: "application/json",
        link,
        filters: None,
    })
}

pub async fn tags(ctx: &Arc<Ctx>, repo: RepoName, page: Page) -> Result<Reply, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        if !ctx.storage.repos.exists(&repo) {
            return Err(unknown(&ctx, &repo, Code::NameUnknown, &repo));
        }
        let mut tags = Vec::new();
        for (tag, digest) in ctx.storage.repos.tags(&repo)? {
            // A tag left behind by an interrupted delete names nothing: not listed.
            if ctx.storage.repos.revision(&repo, &digest)?.is_some() {
                tags.push(tag.to_string());
            }
        }
        let (tags, next) = paginate(tags, &page);
        let link = link(&format!("/v2/{repo}/tags/list"), page.n, next);
        json_reply(json!({ "name": repo.as_str(), "tags": tags }), link)
    })
    .await
}

pub async fn catalog(ctx: &Arc<Ctx>, page: Page) -> Result<Reply, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        let names = ctx
            .storage
            .repos
            .list()?
            .iter()
            .map(|r| r.to_string())
            .collect();
        let (repos, next) = paginate(names, &page);
        json_reply(
            json!({ "repositories": repos }),
            link("/v2/_catalog", page.n, next),
        )
    })
    .await
}

pub async fn referrers(
    ctx: &Arc<Ctx>,
    repo: RepoName,
    subject: Digest,
    artifact_type: Option<String>,
) -> Result<Reply, ApiError> {
    let ctx = ctx.clone();
    blocking(move || {
        let repos = &ctx.storage.repos;
        let mut manifests = Vec::new();
        for (digest, descriptor) in repos.referrers(&repo, &subject)? {
            if repos.revision(&repo, &digest)?.is_none() {
                continue;
            }
            let wanted = artifact_type
                .as_deref()
                .is_none_or(|t| descriptor.get("artifactType").and_then(|a| a.as_str()) == Some(t));
            if wanted {
                manifests.push(descriptor);
            }
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": manifests,
        });
        Ok(Reply::Json {
            body: serde_json::to_vec(&index).map_err(ApiError::internal)?,
            content_type: media_type::OCI_INDEX,
            link: None,
            filters: artifact_type.map(|_| "artifactType"),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pages() {
        let all = items(&["a", "b", "c", "d"]);
        let page = |n, last: Option<&str>| Page {
            n,
            last: last.map(str::to_string),
        };
        assert_eq!(
            paginate(all.clone(), &page(None, None)),
            (all.clone(), None)
        );
        assert_eq!(
            paginate(all.clone(), &page(Some(2), None)),
            (items(&["a", "b"]), Some("b".into()))
        );
        assert_eq!(
            paginate(all.clone(), &page(Some(2), Some("b"))),
            (items(&["c", "d"]), None)
        );
        assert_eq!(paginate(all.clone(), &page(Some(0), None)), (vec![], None));
        assert_eq!(
            paginate(all.clone(), &page(None, Some("c"))),
            (items(&["d"]), None)
        );
        assert_eq!(
            link("/v2/a/tags/list", Some(2), Some("b.1".into())).unwrap(),
            "</v2/a/tags/list?n=2&last=b.1>; rel=\"next\""
        );
    }
}
