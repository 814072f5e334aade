//! The router: a method and path (and the query and headers that matter) to one [`Action`].
//! Paths are matched from their end, because a repository name may itself contain `blobs`,
//! `manifests` or `tags`.

use http::{header, HeaderMap, Method};
use percent_encoding::percent_decode_str;

use super::fields::{
    byte_range, content_length, content_range, header_str, page, param, query_pairs,
};
use super::Action;
use crate::server::errors::{ApiError, Code};
use crate::server::names::{parse_digest, Reference, RepoName, Tag};

fn unsupported(method: &Method, path: &str) -> ApiError {
    ApiError::new(
        405,
        Code::Unsupported,
        format!("{method} is not supported on {path}"),
    )
}

/// Parses one request.
pub fn parse(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Action, ApiError> {
    let not_found = || ApiError::not_found(Code::Unsupported, format!("no endpoint at {path}"));
    let rest = path.strip_prefix("/v2").ok_or_else(not_found)?;
    let q = query_pairs(query);
    let is = |m: &Method| method == m;
    let read = is(&Method::GET) || is(&Method::HEAD);
    if rest.is_empty() || rest == "/" {
        return if read {
            Ok(Action::Base)
        } else {
            Err(unsupported(method, path))
        };
    }
    if rest == "/_catalog" {
        return if is(&Method::GET) {
            Ok(Action::Catalog { page: page(&q)? })
        } else {
            Err(unsupported(method, path))
        };
    }
    let segs: Vec<String> = rest
        .trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let k = segs.len();
    let name_of = |upto: usize| RepoName::parse(&segs[..upto].join("/"));
    let last = segs[k - 1].as_str();
    if k >= 4 && segs[k - 3] == "blobs" && segs[k - 2] == "uploads" {
        let repo = name_of(k - 3)?;
        if last.is_empty() {
            return start_upload(method, path, repo, &q, headers);
        }
        let id = last.to_string();
        return match *method {
            Method::PATCH => Ok(Action::PatchUpload {
                repo,
                id,
                range: content_range(headers)?,
                length: content_length(headers),
            }),
            Method::PUT => {
                let digest = param(&q, "digest")
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            Code::DigestInvalid,
                            "the digest query parameter is required to close an upload",
                        )
                    })
                    .and_then(parse_digest)?;
                Ok(Action::FinishUpload {
                    repo,
                    id,
                    digest,
                    range: content_range(headers)?,
                    length: content_length(headers),
                })
            }
            Method::GET => Ok(Action::UploadStatus { repo, id }),
            Method::DELETE => Ok(Action::CancelUpload { repo, id }),
            _ => Err(unsupported(method, path)),
        };
    }
    if k >= 3 && segs[k - 2] == "tags" && last == "list" {
        let repo = name_of(k - 2)?;
        return if is(&Method::GET) {
            Ok(Action::Tags {
                repo,
                page: page(&q)?,
            })
        } else {
            Err(unsupported(method, path))
        };
    }
    if k < 3 {
        return Err(not_found());
    }
    let repo = name_of(k - 2)?;
    match segs[k - 2].as_str() {
        "blobs" if last == "uploads" => start_upload(method, path, repo, &q, headers),
        "blobs" => {
            let digest = parse_digest(last)?;
            match *method {
                Method::GET | Method::HEAD => Ok(Action::GetBlob {
                    repo,
                    digest,
                    head: is(&Method::HEAD),
                    range: byte_range(headers),
                }),
                Method::DELETE => Ok(Action::DeleteBlob { repo, digest }),
                _ => Err(unsupported(method, path)),
            }
        }
        "manifests" => {
            let reference = Reference::parse(last)?;
            match *method {
                Method::GET | Method::HEAD => Ok(Action::GetManifest {
                    repo,
                    reference,
                    head: is(&Method::HEAD),
                }),
                Method::PUT => {
                    let tags = q
                        .iter()
                        .filter(|(k, _)| k == "tag")
                        .map(|(_, v)| {
                            Tag::parse(v).ok_or_else(|| {
                                ApiError::bad_request(
                                    Code::ManifestInvalid,
                                    format!("invalid tag {v:?}"),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    let content_type =
                        header_str(headers, header::CONTENT_TYPE).map(str::to_string);
                    Ok(Action::PutManifest {
                        repo,
                        reference,
                        content_type,
                        tags,
                        length: content_length(headers),
                    })
                }
                Method::DELETE => Ok(Action::DeleteManifest { repo, reference }),
                _ => Err(unsupported(method, path)),
            }
        }
        "referrers" => {
            let subject = parse_digest(last)?;
            if !is(&Method::GET) {
                return Err(unsupported(method, path));
            }
            let artifact_type = param(&q, "artifactType")
                .filter(|a| !a.is_empty())
                .map(str::to_string);
            Ok(Action::Referrers {
                repo,
                subject,
                artifact_type,
            })
        }
        _ => Err(not_found()),
    }
}

fn start_upload(
    method: &Method,
    path: &str,
    repo: RepoName,
    q: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Action, ApiError> {
    if method != Method::POST {
        return Err(unsupported(method, path));
    }
    if let Some(alg) = param(q, "digest-algorithm").filter(|a| *a != "sha256") {
        return Err(ApiError::bad_request(
            Code::DigestInvalid,
            format!("digest algorithm {alg:?} is not supported; use sha256"),
        ));
    }
    let digest = param(q, "digest").map(parse_digest).transpose()?;
    let mount = match param(q, "mount") {
        None => None,
        Some(m) => Some((
            parse_digest(m)?,
            param(q, "from").map(RepoName::parse).transpose()?,
        )),
    };
    Ok(Action::StartUpload {
        repo,
        digest,
        mount,
        length: content_length(headers),
    })
}
