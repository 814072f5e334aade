//! The berth command line: docker's commands, flags, spellings and output, over the Engine API.

pub mod format;
