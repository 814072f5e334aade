//! The OCI distribution protocol: the registry server behind `berth registry serve`, over
//! the content store of `berth-store`.

pub mod server;
