//! The request parser against the endpoint table of the spec.

use super::fields::{byte_range, content_range};
use super::*;
use crate::server::errors::ApiError;
use http::{header, HeaderMap, Method};

fn p(method: Method, path: &str) -> Result<Action, ApiError> {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    parse(&method, path, query, &HeaderMap::new())
}

fn name(s: &str) -> RepoName {
    RepoName::parse(s).unwrap()
}

#[test]
fn every_endpoint_parses() {
    let d = Digest::sha256(b"x");
    assert_eq!(p(Method::GET, "/v2/").unwrap(), Action::Base);
    assert_eq!(p(Method::GET, "/v2").unwrap(), Action::Base);
    assert!(matches!(p(Method::GET, "/v2/_catalog?n=2&last=a").unwrap(),
        Action::Catalog { page } if page.n == Some(2) && page.last.as_deref() == Some("a")));
    assert!(
        matches!(p(Method::GET, "/v2/a/b/c/tags/list").unwrap(), Action::Tags { repo, .. } if repo == name("a/b/c"))
    );
    assert!(matches!(
        p(Method::HEAD, "/v2/a/manifests/latest").unwrap(),
        Action::GetManifest { head: true, .. }
    ));
    assert!(matches!(
        p(Method::GET, &format!("/v2/a/blobs/{d}")).unwrap(),
        Action::GetBlob { head: false, .. }
    ));
    assert!(matches!(
        p(
            Method::GET,
            &format!("/v2/a/blobs/{}", d.to_string().replace(':', "%3A"))
        )
        .unwrap(),
        Action::GetBlob { .. }
    ));
    assert!(matches!(
        p(Method::POST, "/v2/a/blobs/uploads/").unwrap(),
        Action::StartUpload {
            digest: None,
            mount: None,
            ..
        }
    ));
    assert!(matches!(
        p(Method::POST, &format!("/v2/a/blobs/uploads/?digest={d}")).unwrap(),
        Action::StartUpload {
            digest: Some(_),
            ..
        }
    ));
    assert!(
        matches!(p(Method::POST, &format!("/v2/a/blobs/uploads/?mount={d}&from=b/c")).unwrap(),
        Action::StartUpload { mount: Some((_, Some(from))), .. } if from == name("b/c"))
    );
    assert!(
        matches!(p(Method::PATCH, "/v2/a/blobs/uploads/u1").unwrap(), Action::PatchUpload { id, .. } if id == "u1")
    );
    assert!(matches!(
        p(Method::PUT, &format!("/v2/a/blobs/uploads/u1?digest={d}")).unwrap(),
        Action::FinishUpload { .. }
    ));
    assert!(matches!(
        p(Method::GET, "/v2/a/blobs/uploads/u1").unwrap(),
        Action::UploadStatus { .. }
    ));
    assert!(matches!(
        p(Method::DELETE, "/v2/a/blobs/uploads/u1").unwrap(),
        Action::CancelUpload { .. }
    ));
    assert!(
        matches!(p(Method::PUT, &format!("/v2/a/manifests/{d}?tag=1&tag=2")).unwrap(), Action::PutManifest { tags, .. } if tags.len() == 2)
    );
    assert!(matches!(
        p(Method::DELETE, "/v2/a/manifests/v1").unwrap(),
        Action::DeleteManifest { .. }
    ));
    assert!(
        matches!(p(Method::GET, &format!("/v2/a/referrers/{d}?artifactType=x%2Fy")).unwrap(),
        Action::Referrers { artifact_type: Some(t), .. } if t == "x/y")
    );
}

#[test]
fn names_may_contain_endpoint_words() {
    assert!(
        matches!(p(Method::GET, "/v2/blobs/manifests/manifests/latest").unwrap(),
        Action::GetManifest { repo, .. } if repo == name("blobs/manifests"))
    );
    assert!(
        matches!(p(Method::GET, "/v2/tags/list/tags/list").unwrap(), Action::Tags { repo, .. } if repo == name("tags/list"))
    );
}

#[test]
fn bad_requests_get_the_spec_codes() {
    assert_eq!(
        p(Method::GET, "/v2/A/tags/list").unwrap_err().code(),
        "NAME_INVALID"
    );
    assert_eq!(
        p(Method::GET, "/v2/../x/manifests/a").unwrap_err().code(),
        "NAME_INVALID"
    );
    assert_eq!(
        p(Method::GET, "/v2/a/blobs/sha256:zz").unwrap_err().code(),
        "DIGEST_INVALID"
    );
    assert_eq!(
        p(Method::PUT, "/v2/a/blobs/uploads/u1").unwrap_err().code(),
        "DIGEST_INVALID"
    );
    assert_eq!(
        p(Method::POST, "/v2/a/blobs/uploads/?digest-algorithm=sha512")
            .unwrap_err()
            .code(),
        "DIGEST_INVALID"
    );
    assert_eq!(
        p(Method::POST, "/v2/a/manifests/x").unwrap_err().status,
        405
    );
    assert_eq!(p(Method::GET, "/v3/").unwrap_err().status, 404);
    assert_eq!(p(Method::GET, "/v2/a/whatever/x").unwrap_err().status, 404);
}

#[test]
fn ranges() {
    let mut h = HeaderMap::new();
    let mut range = |v: &str| {
        h.insert(header::RANGE, v.parse().unwrap());
        byte_range(&h)
    };
    assert_eq!(
        range("bytes=0-9"),
        Some(ByteRange::From {
            start: 0,
            end: Some(9)
        })
    );
    assert_eq!(
        range("bytes=5-"),
        Some(ByteRange::From {
            start: 5,
            end: None
        })
    );
    assert_eq!(range("bytes=-3"), Some(ByteRange::Suffix(3)));
    assert_eq!(range("bytes=0-1,4-5"), None);
    assert_eq!(range("items=0-1"), None);
    assert_eq!(range("bytes=9-1"), None);
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_RANGE, "0-99".parse().unwrap());
    assert_eq!(content_range(&h).unwrap(), Some((0, 99)));
    h.insert(header::CONTENT_RANGE, "bytes 100-199/*".parse().unwrap());
    assert_eq!(content_range(&h).unwrap(), Some((100, 199)));
    h.insert(header::CONTENT_RANGE, "9-1".parse().unwrap());
    assert_eq!(content_range(&h).unwrap_err().status, 416);
}

#[test]
fn access_and_writes() {
    let a = p(Method::PUT, "/v2/a/manifests/latest").unwrap();
    assert!(a.writes());
    assert_eq!(
        a.access(),
        Access::Repo {
            name: &name("a"),
            actions: &["pull", "push"]
        }
    );
    let a = p(Method::GET, "/v2/a/blobs/uploads/u").unwrap();
    assert!(!a.writes());
    assert_eq!(
        p(Method::GET, "/v2/_catalog").unwrap().access(),
        Access::Catalog
    );
    assert!(p(Method::DELETE, "/v2/a/manifests/latest")
        .unwrap()
        .writes());
}
