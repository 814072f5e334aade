//! The `berth` binary: `berth daemon …` runs the engine, `berth shim …` (started by the
//! engine) holds one container, `berth registry …` runs the registry server (or its garbage
//! collector), `berth init …` (or the binary run as `/dev/init`, as `--init` binds it into a
//! container) is a container's pid 1; everything else is the CLI.

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
    if args.get(1).is_some_and(|a| a == "registry") {
        return berth_distribution::server::main(args[1..].to_vec());
    }
    if args.get(1).is_some_and(|a| a == "init") {
        return berth_runtime::init::main(args[1..].to_vec());
    }
    let name = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name());
    if name.is_some_and(|n| n == "init") {
        return berth_runtime::init::main(args);
    }
    berth_cli::main(args)
}
