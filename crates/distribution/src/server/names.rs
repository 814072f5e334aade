//! Repository names, tags and manifest references, validated with the spec's grammar before
//! anything is looked up: a name is also a path under the storage root, so nothing that
//! could climb out of it (`..`, a leading `_`, a `/` at either end) gets through.

use std::fmt;
use std::sync::LazyLock;

use berth_store::Digest;
use regex::Regex;

use super::errors::{ApiError, Code};

static NAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$").ok()
});
static TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$").ok());

/// Longer names break clients that cap `host/name` at 255 characters.
const MAX_NAME: usize = 255;

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

/// A valid repository name (`library/busybox`, `a/b/c`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(s: &str) -> Result<RepoName, ApiError> {
        if s.len() <= MAX_NAME && matches(&NAME, s) {
            Ok(RepoName(s.to_string()))
        } else {
            Err(
                ApiError::bad_request(Code::NameInvalid, format!("invalid repository name {s:?}"))
                    .with_detail(serde_json::json!({ "name": s })),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Option<Tag> {
        matches(&TAG, s).then(|| Tag(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What follows `/manifests/`: a tag or a digest, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference, ApiError> {
        if s.contains(':') {
            return parse_digest(s).map(Reference::Digest);
        }
        Tag::parse(s).map(Reference::Tag).ok_or_else(|| {
            ApiError::bad_request(Code::ManifestInvalid, format!("invalid tag {s:?}"))
                .with_detail(serde_json::json!({ "tag": s }))
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

/// A digest from the client; the store hashes with sha256 only, so another algorithm is
/// refused up front rather than failing every upload's verification.
pub fn parse_digest(s: &str) -> Result<Digest, ApiError> {
    let invalid = |why: String| {
        ApiError::bad_request(Code::DigestInvalid, why)
            .with_detail(serde_json::json!({ "digest": s }))
    };
    let d = Digest::parse(s).map_err(|e| invalid(e.to_string()))?;
    if d.algorithm() != berth_store::digest::Algorithm::Sha256 {
        return Err(invalid(format!(
            "digest {s}: only sha256 is supported by this registry"
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_grammar() {
        for good in ["a", "library/busybox", "a/b/c", "a.b_c__d---e", "x0/y-1"] {
            assert!(RepoName::parse(good).is_ok(), "{good} refused");
        }
        for bad in [
            "",
            "A",
            "a/",
            "/a",
            "a//b",
            "../a",
            "a/../b",
            "_a",
            "a/_layers",
            "a__",
            "a-",
            "a.",
            "a b",
            "a/B",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RepoName::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn references_are_tags_or_digests() {
        assert!(matches!(Reference::parse("latest"), Ok(Reference::Tag(_))));
        assert!(matches!(
            Reference::parse("v1.0_rc-2"),
            Ok(Reference::Tag(_))
        ));
        let d = Digest::sha256(b"x").to_string();
        assert!(matches!(Reference::parse(&d), Ok(Reference::Digest(_))));
        for bad in [".hidden", "-x", "a/b", "..", &"t".repeat(129)] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} accepted");
        }
        let e = Reference::parse("sha256:nothex").unwrap_err();
        assert_eq!(e.code(), "DIGEST_INVALID");
        let sha512 = format!("sha512:{}", "a".repeat(128));
        assert_eq!(parse_digest(&sha512).unwrap_err().code(), "DIGEST_INVALID");
    }
}
