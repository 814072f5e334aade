//! The OCI distribution protocol: the pull/push client with registry auth, and the registry
//! server (`berth registry serve`), both over the content store of `berth-store`.
//!
//! Distribution arrives with the registry capability; the crate exists now so that the
//! workspace graph (checked by a test) is the one DESIGN.md lays out.
