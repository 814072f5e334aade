//! The OCI distribution protocol: the pull/push client with registry auth ([`client`]), and
//! the registry server behind `berth registry serve` ([`server`]), both over the content store
//! of `berth-store`.

pub mod client;
pub mod server;
