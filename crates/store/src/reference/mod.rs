//! Image references (`[domain/]path[:tag][@digest]`) parsed and normalized exactly as docker
//! does, so that every name a client sends to Berth means what it would mean to dockerd:
//! `busybox` is `docker.io/library/busybox`, `index.docker.io/x` is `docker.io/library/x`, and
//! error messages carry docker's wording because clients and scripts match on them.
//!
//! The grammar is matched by hand rather than with a regex engine; each matcher names the
//! production it implements:
//!
//! ```text
//! reference      := name [ ":" tag ] [ "@" digest ]
//! name           := [ domain "/" ] path
//! domain         := host [ ":" port ]          host := domain-name | "[" ipv6 "]"
//! domain-name    := component ("." component)*  component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! path           := path-comp ("/" path-comp)*   path-comp := [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*
//! tag            := [\w][\w.-]{0,127}
//! digest         := algo-comp ([-_+.] algo-comp)* ":" [0-9a-fA-F]{32,}   algo-comp := [A-Za-z][A-Za-z0-9]*
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::Digest;

/// The domain of Docker Hub, given to names that do not start with one.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The tag a reference gets when it names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// The longest repository path (without the domain) docker accepts.
pub const PATH_MAX_LEN: usize = 255;
/// Docker Hub's former name, still accepted and rewritten to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of official images on Docker Hub.
const OFFICIAL_REPO_PREFIX: &str = "library/";

/// Why a string is not a valid reference. `Display` is docker's message, word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    /// The name is only invalid because of uppercase letters outside the path (in the domain).
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    /// The repository path (as normalized, e.g. `library/Busybox`) has uppercase letters.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    PathContainsUppercase(String),
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    /// A bare 64-hex string is an image ID, never a repository name.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexRepositoryName(String),
    #[error("invalid tag format")]
    InvalidTag,
    #[error("invalid checksum digest format")]
    InvalidDigestFormat,
    #[error("invalid checksum digest length")]
    InvalidDigestLength,
    #[error("unsupported digest algorithm")]
    UnsupportedDigest,
}

/// A named image reference: a repository with an optional tag and an optional digest.
///
/// The domain is empty only in one docker quirk kept for fidelity: a first component with a
/// dot that is not a valid host but is a valid path component (`foo_bar.com/app`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Docker's `ParseNormalizedNamed`: completes a familiar name (`busybox`, `user/app:1`,
    /// `name@sha256:…`) into a fully qualified one without adding a tag.
    pub fn parse_normalized(s: &str) -> Result<Reference, ReferenceError> {
        if is_identifier(s) {
            return Err(ReferenceError::HexRepositoryName(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);
        // Docker checks the case of everything before the first ':' of the remainder, which
        // includes an "@algo" when there is no tag; its message shows exactly that text.
        let remote = remainder.split(':').next().unwrap_or_default();
        if go_lowercase(remote) != remote {
            return Err(ReferenceError::PathContainsUppercase(remote.to_string()));
        }
        parse_strict(&format!("{domain}/{remainder}"))
    }

    /// Docker's `ParseDockerRef`: [`Reference::parse_normalized`], then `latest` when there is
    /// neither tag nor digest; with both, only the digest is kept (it alone decides content).
    pub fn parse_docker_ref(s: &str) -> Result<Reference, ReferenceError> {
        let reference = Reference::parse_normalized(s)?;
        if reference.digest.is_some() {
            return Ok(Reference {
                tag: None,
                ..reference
            });
        }
        Ok(reference.tag_name_only())
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path without the domain, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The fully qualified repository name, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        join_name(&self.domain, &self.path)
    }

    /// The name as docker shows it: `busybox`, `user/app`, `localhost:5000/a/b`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            // Only a single component after "library/" is an official image.
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// The reference as docker shows it: `busybox:latest`, `user/app@sha256:…`.
    pub fn familiar_string(&self) -> String {
        let mut out = self.familiar_name();
        self.write_suffix(&mut out);
        out
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// True when the reference has neither a tag nor a digest.
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// The same repository with `tag` (validated); any digest is dropped, as a tag names
    /// what the repository holds under it, not a pinned content.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        validate_tag(tag)?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.name_only()
        })
    }

    /// The canonical reference `name@digest`; any tag is dropped.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.name_only()
        }
    }

    /// The repository alone, without tag or digest.
    pub fn name_only(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    /// Docker's `TagNameOnly`: adds `latest` when there is neither tag nor digest.
    pub fn tag_name_only(self) -> Reference {
        if !self.is_name_only() {
            return self;
        }
        Reference {
            tag: Some(DEFAULT_TAG.to_string()),
            ..self
        }
    }

    fn write_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form, e.g. `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.write_suffix(&mut out);
        f.write_str(&out)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse_normalized(s)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Reference::parse_normalized(&s).map_err(serde::de::Error::custom)
    }
}

/// Checks a tag against docker's grammar: `[\w][\w.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), ReferenceError> {
    if is_tag(tag) {
        Ok(())
    } else {
        Err(ReferenceError::InvalidTag)
    }
}

/// What a user-supplied image name means to the daemon (docker's `ParseAnyReference`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ImageRef {
    /// A full image ID: 64 hex characters, or a complete digest such as `sha256:<64 hex>`.
    Id(Digest),
    Named(Reference),
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Id(digest) => fmt::Display::fmt(digest, f),
            ImageRef::Named(reference) => fmt::Display::fmt(reference, f),
        }
    }
}

/// Docker's `ParseAnyReference`: an image ID when `s` is 64 lowercase hex characters or a
/// valid digest, a normalized reference otherwise. Short IDs parse as names (`dbcc1` is
/// `docker.io/library/dbcc1`); see [`id_prefix`] for resolving them.
pub fn parse_any(s: &str) -> Result<ImageRef, ReferenceError> {
    if is_identifier(s) {
        if let Ok(digest) = Digest::from_sha256_hex(s) {
            return Ok(ImageRef::Id(digest));
        }
    }
    if let Ok(digest) = Digest::parse(s) {
        return Ok(ImageRef::Id(digest));
    }
    Reference::parse_normalized(s).map(ImageRef::Named)
}

/// The hex part when `s` could be a (possibly truncated) image ID, i.e. matches
/// `^(sha256:)?[a-f0-9]{4,64}$`. Docker tries such strings as ID prefixes when no image has
/// that name.
pub fn id_prefix(s: &str) -> Option<&str> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    let valid = (4..=64).contains(&hex.len())
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    valid.then_some(hex)
}

/// Whether `s` could be a (possibly truncated) image ID; see [`id_prefix`].
pub fn is_id_prefix_candidate(s: &str) -> bool {
    id_prefix(s).is_some()
}

/// Docker's `splitDockerDomain`: decides whether the first component is a registry.
fn split_docker_domain(name: &str) -> (&str, Cow<'_, str>) {
    let Some((first, rest)) = name.split_once('/') else {
        // A single component is never a domain, not even "localhost" or "example.com".
        return (
            DEFAULT_DOMAIN,
            Cow::Owned(format!("{OFFICIAL_REPO_PREFIX}{name}")),
        );
    };
    let (domain, remote) = if first == "localhost" {
        (first, rest)
    } else if first == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN, rest)
    } else if first.contains(['.', ':']) || go_lowercase(first) != first {
        // A dot or port marks a host; uppercase cannot be a path, so it is taken as a host.
        (first, rest)
    } else {
        (DEFAULT_DOMAIN, name)
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        return (
            domain,
            Cow::Owned(format!("{OFFICIAL_REPO_PREFIX}{remote}")),
        );
    }
    (domain, Cow::Borrowed(remote))
}

/// Docker's non-normalizing `Parse`, for the already-qualified string `parse_normalized` builds.
fn parse_strict(s: &str) -> Result<Reference, ReferenceError> {
    let Some(parts) = match_reference(s) else {
        let lower = go_lowercase(s);
        if lower != s && match_reference(&lower).is_some() {
            return Err(ReferenceError::NameContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    // Only the path counts: the limit comes from registry storage, not from the host name.
    if parts.path.len() > PATH_MAX_LEN {
        return Err(ReferenceError::NameTooLong);
    }
    let digest = parts.digest.map(parse_digest).transpose()?;
    Ok(Reference {
        domain: parts.domain.to_string(),
        path: parts.path.to_string(),
        tag: parts.tag.map(str::to_string),
        digest,
    })
}

/// The pieces of a string matching the `reference` production.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    domain: &'a str,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn match_reference(s: &str) -> Option<Parts<'_>> {
    // '@' appears nowhere but before the digest, so the first one splits it off.
    let (left, digest) = match s.split_once('@') {
        Some((left, digest)) if is_digest_pattern(digest) => (left, Some(digest)),
        Some(_) => return None,
        None => (s, None),
    };
    // A ':' after the last '/' cannot be a port (a domain is always followed by '/'), so
    // it starts the tag.
    let last_start = left.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match left[last_start..].find(':') {
        Some(i) => {
            let tag = &left[last_start + i + 1..];
            if !is_tag(tag) {
                return None;
            }
            (&left[..last_start + i], Some(tag))
        }
        None => (left, None),
    };
    let (domain, path) = split_name(name)?;
    Some(Parts {
        domain,
        path,
        tag,
        digest,
    })
}

/// `[domain "/"] path`, preferring a domain when the first component can be one (as the
/// greedy optional group of docker's expression does).
fn split_name(name: &str) -> Option<(&str, &str)> {
    if let Some((first, rest)) = name.split_once('/') {
        if is_domain_and_port(first) && is_path(rest) {
            return Some((first, rest));
        }
    }
    is_path(name).then_some(("", name))
}

fn is_domain_and_port(s: &str) -> bool {
    if let Some(bracketed) = s.strip_prefix('[') {
        // IPv6 in brackets; zone identifiers and embedded IPv4 are deliberately excluded.
        let Some((inner, after)) = bracketed.split_once(']') else {
            return false;
        };
        let inner_ok =
            !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        return inner_ok && (after.is_empty() || after.strip_prefix(':').is_some_and(is_port));
    }
    let (host, port) = match s.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (s, None),
    };
    host.split('.').all(is_domain_component) && port.is_none_or(is_port)
}

fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        }
        _ => false,
    }
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
}

fn is_path(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

fn is_path_component(c: &str) -> bool {
    let lower_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if !b.first().is_some_and(lower_alnum) || !b.last().is_some_and(lower_alnum) {
        return false;
    }
    // Between alphanumeric runs: one '.', one or two '_', or any number of '-'.
    b.split(lower_alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|x| *x == b'-'))
}

fn is_tag(t: &str) -> bool {
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let b = t.as_bytes();
    (1..=128).contains(&b.len())
        && b.first().is_some_and(word)
        && b.iter().all(|x| word(x) || *x == b'.' || *x == b'-')
}

fn is_digest_pattern(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let component = |c: &str| {
        c.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && c.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    algorithm.split(['-', '_', '+', '.']).all(component)
        && hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Validates a digest already matching the grammar, with go-digest's error for each failure.
fn parse_digest(d: &str) -> Result<Digest, ReferenceError> {
    let (algorithm, hex) = d
        .split_once(':')
        .ok_or(ReferenceError::InvalidDigestFormat)?;
    let expected_len = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        // go-digest only calls an algorithm unsupported when it is lowercase.
        _ if algorithm.bytes().any(|b| b.is_ascii_uppercase()) => {
            return Err(ReferenceError::InvalidDigestFormat)
        }
        _ => return Err(ReferenceError::UnsupportedDigest),
    };
    if hex.len() != expected_len {
        return Err(ReferenceError::InvalidDigestLength);
    }
    Digest::parse(d).map_err(|_| ReferenceError::InvalidDigestFormat)
}

/// `[a-f0-9]{64}`: what an image ID looks like without its algorithm.
fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn join_name(domain: &str, path: &str) -> String {
    if domain.is_empty() {
        path.to_string()
    } else {
        format!("{domain}/{path}")
    }
}

/// Lowercases rune by rune like Go's `strings.ToLower`, which maps 'İ' to a plain 'i'
/// (Rust adds a combining dot); the result decides docker's choice between two messages.
fn go_lowercase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{130}' {
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests;
