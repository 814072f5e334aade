//! The referrers of a subject, one descriptor file per referrer under the subject's
//! directory: what `GET /v2/<name>/referrers/<digest>` lists.

use berth_store::Digest;

use super::fsutil::{self, list_dir, read_opt, write_atomic};
use super::repos::{corrupt, Repos};
use super::StorageError;
use crate::server::names::RepoName;

impl Repos {
    pub fn add_referrer(
        &self,
        name: &RepoName,
        subject: &Digest,
        referrer: &Digest,
        descriptor: &serde_json::Value,
    ) -> Result<(), StorageError> {
        let path = self
            .referrers_dir(name, subject)
            .join(referrer_file(referrer));
        let bytes = serde_json::to_vec(descriptor).map_err(|e| corrupt(&path, e))?;
        write_atomic(&path, &bytes)
    }

    pub fn remove_referrer(
        &self,
        name: &RepoName,
        subject: &Digest,
        referrer: &Digest,
    ) -> Result<bool, StorageError> {
        fsutil::remove(
            &self
                .referrers_dir(name, subject)
                .join(referrer_file(referrer)),
        )
    }

    /// The descriptors of `subject`'s referrers, by digest.
    pub fn referrers(
        &self,
        name: &RepoName,
        subject: &Digest,
    ) -> Result<Vec<(Digest, serde_json::Value)>, StorageError> {
        let mut out = Vec::new();
        for entry in list_dir(&self.referrers_dir(name, subject))? {
            let Some(d) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("sha256-"))
                .and_then(|h| Digest::from_sha256_hex(h).ok())
            else {
                continue;
            };
            let path = entry.path();
            let Some(bytes) = read_opt(&path)? else {
                continue;
            };
            let value = serde_json::from_slice(&bytes).map_err(|e| corrupt(&path, e))?;
            out.push((d, value));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

fn referrer_file(d: &Digest) -> String {
    format!("{}-{}", d.algorithm().as_str(), d.hex())
}
