//! The image store: content-addressed blobs, image records and tags, image references
//! normalized as docker does, the manifest and config formats (OCI and Docker schema 2), and
//! garbage collection of what no image references.

pub mod digest;
pub mod reference;

pub use digest::{Digest, DigestError};
