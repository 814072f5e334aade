//! From an HTTP request to what it asks for: the method, path, query and the few headers that
//! matter become one [`Action`], validated (names, digests, ranges), so the handlers below
//! never look at HTTP and the auth layer knows exactly what access each action needs.

mod fields;
mod parse;

use berth_store::Digest;

use super::names::{Reference, RepoName, Tag};

pub use fields::{ByteRange, Page};
pub use parse::parse;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Base,
    Catalog {
        page: Page,
    },
    Tags {
        repo: RepoName,
        page: Page,
    },
    GetManifest {
        repo: RepoName,
        reference: Reference,
        head: bool,
    },
    PutManifest {
        repo: RepoName,
        reference: Reference,
        content_type: Option<String>,
        tags: Vec<Tag>,
        length: Option<u64>,
    },
    DeleteManifest {
        repo: RepoName,
        reference: Reference,
    },
    GetBlob {
        repo: RepoName,
        digest: Digest,
        head: bool,
        range: Option<ByteRange>,
    },
    DeleteBlob {
        repo: RepoName,
        digest: Digest,
    },
    StartUpload {
        repo: RepoName,
        digest: Option<Digest>,
        mount: Option<(Digest, Option<RepoName>)>,
        length: Option<u64>,
    },
    PatchUpload {
        repo: RepoName,
        id: String,
        range: Option<(u64, u64)>,
        length: Option<u64>,
    },
    FinishUpload {
        repo: RepoName,
        id: String,
        digest: Digest,
        range: Option<(u64, u64)>,
        length: Option<u64>,
    },
    UploadStatus {
        repo: RepoName,
        id: String,
    },
    CancelUpload {
        repo: RepoName,
        id: String,
    },
    Referrers {
        repo: RepoName,
        subject: Digest,
        artifact_type: Option<String>,
    },
}

/// What an action needs to be allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access<'a> {
    /// Any authenticated client (`GET /v2/`).
    Login,
    /// `registry:catalog:*`.
    Catalog,
    Repo {
        name: &'a RepoName,
        actions: &'static [&'static str],
    },
}

const PULL: &[&str] = &["pull"];
const PUSH: &[&str] = &["pull", "push"];
const DELETE: &[&str] = &["delete"];

impl Action {
    pub fn access(&self) -> Access<'_> {
        use Action::*;
        match self {
            Base => Access::Login,
            Catalog { .. } => Access::Catalog,
            Tags { repo, .. }
            | GetManifest { repo, .. }
            | GetBlob { repo, .. }
            | Referrers { repo, .. } => Access::Repo {
                name: repo,
                actions: PULL,
            },
            PutManifest { repo, .. }
            | StartUpload { repo, .. }
            | PatchUpload { repo, .. }
            | FinishUpload { repo, .. }
            | UploadStatus { repo, .. }
            | CancelUpload { repo, .. } => Access::Repo {
                name: repo,
                actions: PUSH,
            },
            DeleteManifest { repo, .. } | DeleteBlob { repo, .. } => Access::Repo {
                name: repo,
                actions: DELETE,
            },
        }
    }

    /// Whether the action changes the registry (refused in read-only mode).
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            Action::Base
                | Action::Catalog { .. }
                | Action::Tags { .. }
                | Action::GetManifest { .. }
                | Action::GetBlob { .. }
                | Action::Referrers { .. }
                | Action::UploadStatus { .. }
        )
    }
}

#[cfg(test)]
mod tests;
