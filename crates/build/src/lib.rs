//! The image builder: the Dockerfile parser and the build planner/executor, driven through a
//! small trait the daemon implements (run a step, commit a layer, resolve an image).
//!
//! So far it holds the Dockerfile front end, following BuildKit's dockerfile frontend:
//!
//! - [`dockerfile`]: text to directives, global ARGs and stages of typed instructions;
//! - [`lex`]: variable substitution and quote removal in words, and [`expand`]: which
//!   instructions are expanded and their final values;
//! - [`args`]: ARG scopes, the predefined proxy args and the platform args;
//! - [`stages`]: the stage graph and the stages a `--target` needs;
//! - [`ignore`]: `.dockerignore` matching and which ignore file applies;
//! - [`instruction`]: the single-line changes of `import -c` and `commit -c`;
//! - [`backend`]: what the builder asks of an engine, and [`executor`]: the build itself.

pub mod args;
pub mod backend;
pub mod dockerfile;
pub mod executor;
pub mod expand;
pub mod ignore;
pub mod instruction;
pub mod lex;
pub mod stages;
mod words;

pub use dockerfile::{parse as parse_dockerfile, Dockerfile, DockerfileError};
pub use executor::{build, BuildError, BuildOptions, Progress};
pub use instruction::{parse_change, Command, Healthcheck, Instruction, ParseError};
