//! The container runtime: turns an image config and a HostConfig into an OCI runtime spec and
//! runs it — namespaces, pivot_root, mounts, cgroups (v1 and v2), capabilities, seccomp — and
//! the per-container shim that owns a container's stdio and exit status.
//!
//! Containers arrive with the containers capability; the crate exists now so that the workspace
//! graph (checked by a test) is the one DESIGN.md lays out.
