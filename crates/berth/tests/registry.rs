//! `berth registry serve` and `berth registry gc` end to end: a real registry process on a
//! free port and a temporary root, driven over HTTP by the harness client and by skopeo.
//! The spec's four workflows run without auth, with Basic auth and with bearer tokens.
#![allow(clippy::unwrap_used)]

#[path = "registry/basic_auth.rs"]
mod basic_auth;
mod common;
#[path = "registry/errors.rs"]
mod errors;
#[path = "registry/gc.rs"]
mod gc;
#[path = "registry/manifests.rs"]
mod manifests;
#[path = "registry/push.rs"]
mod push;
#[path = "registry/referrers.rs"]
mod referrers;
#[path = "registry/skopeo.rs"]
mod skopeo;
#[path = "registry/tls.rs"]
mod tls;
#[path = "registry/tokens.rs"]
mod tokens;
#[path = "registry/workflows.rs"]
mod workflows;

pub use common::registry::{code, Body, Registry, Response};
