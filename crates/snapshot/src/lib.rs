//! Layers on disk: unpacking layer archives safely, and stacking them with overlayfs.
