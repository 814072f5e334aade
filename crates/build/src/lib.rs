//! The image builder: the Dockerfile parser and the build planner/executor, driven through a
//! small trait the daemon implements (run a step, commit a layer, resolve an image).
//!
//! The builder arrives with the builder capability; the crate exists now so that the workspace
//! graph (checked by a test) is the one DESIGN.md lays out.
