//! Layers on disk: unpacking layer archives safely, and stacking them with overlayfs.
//!
//! - [`unpack`]: the confined tar extractor (also used for ADD in builds and `cp` into
//!   containers). Every write is resolved inside the destination root by the kernel.
//! - [`compression`]: sniffs gzip / zstd / plain tar from the first bytes of a stream.
//! - [`layer_gzip`]: the gzip encoder for pushes, storing what does not compress.
//! - [`LayerStore`]: one directory per layer, keyed by diff ID, published atomically, plus
//!   the active (writable) snapshots containers run on.
//! - [`pack`]: the confined tar writer (`cp` out of containers, `export`, and a container's
//!   changes as a layer with OCI whiteouts).
//! - [`overlay`]: overlayfs mounts, using the new mount API when the kernel has it.
//! - [`Snapshotter`]: the small trait the daemon programs against, with a
//!   [`conformance`] suite (feature `conformance`) every implementation must pass.

pub mod compression;
pub mod error;
mod fsutil;
pub mod layer_gzip;
pub mod layer_store;
pub mod overlay;
pub mod pack;
mod snapshotter;
pub mod unpack;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use compression::{decompress, Compression, Decompressor};
pub use error::{ErrorKind, LayerError, OverlayError, PackError, UnpackError};
pub use layer_gzip::LayerGzip;
pub use layer_store::{Change, ChangeKind, InitPath, LayerInfo, LayerStore};
pub use pack::{pack, PackOptions, PackStats, PackWhiteouts};
pub use snapshotter::Snapshotter;
pub use unpack::{unpack_at, unpack_into, UnpackOptions, UnpackStats, WhiteoutMode, OPAQUE_XATTR};
