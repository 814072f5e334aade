//! The image store: content-addressed blobs, image records and tags, image references
//! normalized as docker does, the manifest and config formats (OCI and Docker schema 2), and
//! garbage collection of what no image references.

pub mod build_cache;
pub mod content;
pub mod digest;
pub mod images;
pub mod model;
pub mod reference;

pub use build_cache::BuildCache;
pub use content::{BlobInfo, ContentError, ContentStore, Expected, FsContentStore};
pub use digest::{Digest, DigestError};
pub use images::{BlobRef, Change, ImageRecord, ImageStore, LayerRecord, MetadataError};
pub use reference::Reference;
