//! Engine API v1.41 wire types, field for field with the Swagger definitions.

pub mod archive;
pub mod container;
pub mod container_ops;
pub mod event;
pub mod exec;
pub mod image;
pub mod message;
pub mod network;
pub mod registry;
pub mod stats;
pub mod system;
pub mod volume;

use serde::{Deserialize, Deserializer, Serialize};

pub use archive::*;
pub use container::*;
pub use container_ops::*;
pub use event::*;
pub use exec::*;
pub use image::*;
pub use message::*;
pub use network::*;
pub use registry::*;
pub use stats::*;
pub use system::*;
pub use volume::*;

/// Docker's error body: `{"message": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub message: String,
}

/// `{"Id": "..."}`, returned by creating endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdResponse {
    #[serde(rename = "Id")]
    pub id: String,
}

/// Deserializes `null` as the type's default: Go encodes empty slices and maps as `null`.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
