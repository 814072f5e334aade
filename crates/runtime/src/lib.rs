//! The container runtime: turns an image config and a HostConfig into an OCI runtime spec and
//! runs it — namespaces, pivot_root, mounts, cgroups (v1 and v2), capabilities, seccomp — and
//! the per-container shim that owns a container's stdio and exit status, and the init that
//! `--init` runs as a container's pid 1.

pub mod cgroups;
pub mod init;
pub mod linux;
pub mod logs;
pub mod seccomp;
pub mod shim;
pub mod spec;
