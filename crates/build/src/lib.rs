//! The image builder: the Dockerfile parser and the build planner/executor, driven through a
//! small trait the daemon implements (run a step, commit a layer, resolve an image).
//!
//! So far it holds the instruction parser that `import -c` and `commit -c` use for their
//! changes; the Dockerfile front end and the executor grow from it.

pub mod args;
pub mod dockerfile;
pub mod expand;
pub mod ignore;
pub mod instruction;
pub mod lex;
pub mod stages;
mod words;

pub use instruction::{parse_change, Command, Healthcheck, Instruction, ParseError};
