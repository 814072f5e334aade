//! Docker Engine API v1.41: the wire types (matching the Swagger definitions field for
//! field) and a typed client over a unix socket, TCP, or SSH.

pub mod base64;
pub mod client;
pub mod detach;
pub mod filters;
pub mod stdcopy;
pub mod types;
pub mod units;

pub use client::{Client, ClientError, Host};

/// The API version Berth speaks.
pub const API_VERSION: &str = "1.41";
/// The oldest API version Berth accepts from clients.
pub const MIN_API_VERSION: &str = "1.24";
