//! The `berth` binary: `berth daemon …` runs the engine, `berth shim …` (started by the
//! engine) holds one container; everything else is the CLI.

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "daemon") {
        // The daemon parses its own flags, with "daemon" in the program-name position.
        return berth_daemon::main(args[1..].to_vec());
    }
    if args.get(1).is_some_and(|a| a == "shim") {
        return berth_runtime::shim::main(args[1..].to_vec());
    }
    berth_cli::main(args)
}
