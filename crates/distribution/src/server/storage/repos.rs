//! Repository metadata, one file per fact: which blobs and manifests a repository holds, its
//! tags, and the referrers of each subject. Every name and digest reaching here has been
//! validated, so each maps to a path inside the repository's directory.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use berth_store::Digest;
use serde::{Deserialize, Serialize};

use super::fsutil::{self, list_dir, read_opt, write_atomic};
use super::StorageError;
use crate::server::names::{RepoName, Tag};

#[derive(Debug, Clone)]
pub struct Repos {
    dir: PathBuf,
}

/// What a repository records about one of its manifests (the bytes are a blob).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub size: u64,
}

pub(super) fn corrupt(path: &Path, reason: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

pub(super) fn digest_file(d: &Digest) -> PathBuf {
    Path::new(d.algorithm().as_str()).join(d.hex())
}

/// Digests named `<hex>` in `<dir>/sha256/`, with when each was written.
fn digests_in(dir: &Path) -> Result<Vec<(Digest, SystemTime)>, StorageError> {
    let mut out = Vec::new();
    for entry in list_dir(&dir.join("sha256"))? {
        let Some(d) = entry
            .file_name()
            .to_str()
            .and_then(|n| Digest::from_sha256_hex(n).ok())
        else {
            continue;
        };
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        out.push((d, modified));
    }
    out.sort();
    Ok(out)
}

impl Repos {
    pub fn new(dir: &Path) -> Repos {
        Repos {
            dir: dir.to_path_buf(),
        }
    }

    fn repo(&self, name: &RepoName) -> PathBuf {
        self.dir.join(name.as_str())
    }

    fn layers(&self, name: &RepoName) -> PathBuf {
        self.repo(name).join("_layers")
    }

    fn revisions_dir(&self, name: &RepoName) -> PathBuf {
        self.repo(name).join("_manifests").join("revisions")
    }

    fn tags_dir(&self, name: &RepoName) -> PathBuf {
        self.repo(name).join("_manifests").join("tags")
    }

    pub(super) fn referrers_dir(&self, name: &RepoName, subject: &Digest) -> PathBuf {
        self.repo(name)
            .join("_referrers")
            .join(digest_file(subject))
    }

    /// A repository exists once anything was pushed to it.
    pub fn exists(&self, name: &RepoName) -> bool {
        let repo = self.repo(name);
        repo.join("_layers").is_dir() || repo.join("_manifests").is_dir()
    }

    pub fn link_blob(&self, name: &RepoName, d: &Digest) -> Result<(), StorageError> {
        write_atomic(
            &self.layers(name).join(digest_file(d)),
            d.to_string().as_bytes(),
        )
    }

    pub fn has_blob_link(&self, name: &RepoName, d: &Digest) -> bool {
        self.layers(name).join(digest_file(d)).is_file()
    }

    pub fn unlink_blob(&self, name: &RepoName, d: &Digest) -> Result<bool, StorageError> {
        fsutil::remove(&self.layers(name).join(digest_file(d)))
    }

    pub fn layer_links(&self, name: &RepoName) -> Result<Vec<(Digest, SystemTime)>, StorageError> {
        digests_in(&self.layers(name))
    }

    pub fn put_revision(
        &self,
        name: &RepoName,
        d: &Digest,
        rev: &Revision,
    ) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(rev).map_err(|e| corrupt(&self.repo(name), e))?;
        write_atomic(&self.revisions_dir(name).join(digest_file(d)), &bytes)
    }

    pub fn revision(&self, name: &RepoName, d: &Digest) -> Result<Option<Revision>, StorageError> {
        let path = self.revisions_dir(name).join(digest_file(d));
        match read_opt(&path)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| corrupt(&path, e)),
        }
    }

    pub fn remove_revision(&self, name: &RepoName, d: &Digest) -> Result<bool, StorageError> {
        fsutil::remove(&self.revisions_dir(name).join(digest_file(d)))
    }

    /// When a revision was last written; `None` when it does not exist.
    pub fn revision_modified(
        &self,
        name: &RepoName,
        d: &Digest,
    ) -> Result<Option<SystemTime>, StorageError> {
        let path = self.revisions_dir(name).join(digest_file(d));
        match std::fs::metadata(&path).and_then(|m| m.modified()) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io("stat", path, e)),
        }
    }

    pub fn revisions(&self, name: &RepoName) -> Result<Vec<(Digest, SystemTime)>, StorageError> {
        digests_in(&self.revisions_dir(name))
    }

    pub fn set_tag(&self, name: &RepoName, tag: &Tag, d: &Digest) -> Result<(), StorageError> {
        write_atomic(
            &self.tags_dir(name).join(tag.as_str()),
            format!("{d}\n").as_bytes(),
        )
    }

    pub fn tag(&self, name: &RepoName, tag: &Tag) -> Result<Option<Digest>, StorageError> {
        let path = self.tags_dir(name).join(tag.as_str());
        match read_opt(&path)? {
            None => Ok(None),
            Some(b) => Digest::parse(String::from_utf8_lossy(&b).trim())
                .map(Some)
                .map_err(|e| corrupt(&path, e)),
        }
    }

    pub fn remove_tag(&self, name: &RepoName, tag: &Tag) -> Result<bool, StorageError> {
        fsutil::remove(&self.tags_dir(name).join(tag.as_str()))
    }

    /// Every tag and its digest, in ASCII order.
    pub fn tags(&self, name: &RepoName) -> Result<Vec<(Tag, Digest)>, StorageError> {
        let mut out = Vec::new();
        for entry in list_dir(&self.tags_dir(name))? {
            let Some(tag) = entry.file_name().to_str().and_then(Tag::parse) else {
                continue;
            };
            if let Some(d) = self.tag(name, &tag)? {
                out.push((tag, d));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every repository holding a manifest (the catalog), in ASCII order.
    pub fn list(&self) -> Result<Vec<RepoName>, StorageError> {
        let mut out = Vec::new();
        self.walk(&self.dir, "", false, &mut out)?;
        out.sort();
        Ok(out)
    }

    /// Every repository, including those holding only blobs.
    pub fn list_all(&self) -> Result<Vec<RepoName>, StorageError> {
        let mut out = Vec::new();
        self.walk(&self.dir, "", true, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn walk(
        &self,
        dir: &Path,
        prefix: &str,
        all: bool,
        out: &mut Vec<RepoName>,
    ) -> Result<(), StorageError> {
        for entry in list_dir(dir)? {
            let Some(part) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if part.starts_with('_') || !entry.path().is_dir() {
                continue;
            }
            let name = if prefix.is_empty() {
                part
            } else {
                format!("{prefix}/{part}")
            };
            let path = entry.path();
            if path.join("_manifests").is_dir() || (all && path.join("_layers").is_dir()) {
                if let Ok(n) = RepoName::parse(&name) {
                    out.push(n);
                }
            }
            self.walk(&path, &name, all, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepoName {
        RepoName::parse(s).unwrap()
    }

    #[test]
    fn facts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(dir.path());
        let (r, d) = (name("a/b"), Digest::sha256(b"m"));
        assert!(!repos.exists(&r));
        repos.link_blob(&r, &d).unwrap();
        assert!(repos.exists(&r) && repos.has_blob_link(&r, &d));
        let rev = Revision {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: 1,
        };
        repos.put_revision(&r, &d, &rev).unwrap();
        assert_eq!(repos.revision(&r, &d).unwrap(), Some(rev));
        let t = Tag::parse("v1").unwrap();
        repos.set_tag(&r, &t, &d).unwrap();
        assert_eq!(repos.tags(&r).unwrap(), vec![(t.clone(), d.clone())]);
        repos
            .add_referrer(&r, &d, &d, &serde_json::json!({"x": 1}))
            .unwrap();
        assert_eq!(repos.referrers(&r, &d).unwrap().len(), 1);
        repos
            .put_revision(&name("a"), &d, &repos.revision(&r, &d).unwrap().unwrap())
            .unwrap();
        assert_eq!(repos.list().unwrap(), vec![name("a"), name("a/b")]);
        assert!(repos.remove_tag(&r, &t).unwrap());
        assert!(repos.remove_revision(&r, &d).unwrap());
        assert!(repos.remove_referrer(&r, &d, &d).unwrap());
        assert_eq!(repos.revision(&r, &d).unwrap(), None);
    }
}
