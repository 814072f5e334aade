//! Output formatting.
