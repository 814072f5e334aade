//! The berth command line: docker's commands, flags, spellings and output, over the Engine
//! API. It parses arguments, calls the API and renders the answer; it holds no state.

pub mod app;
mod app_container_fs;
mod app_containers;
mod app_networks;
mod app_ops;
mod app_registry;
mod app_volumes;
mod commands;
mod context;
mod credentials;
mod error;
pub mod format;
mod image_names;
mod progress;
mod transfer;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

pub use error::{CliError, CliResult};

/// Runs the CLI with `args` (the first being the program name).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let app = match app::App::try_parse_from(args) {
        Ok(app) => app,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(125)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(app));
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("{}", e.message);
            }
            ExitCode::from(e.status)
        }
    }
}
