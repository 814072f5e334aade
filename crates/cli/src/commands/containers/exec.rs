//! `exec`: runs a command in a running container the way docker's CLI does — create the
//! exec instance, then start it detached or attached (our terminal raw and its size
//! followed when it has a terminal), and exit with the command's exit code.

use std::io::IsTerminal;
use std::sync::Arc;

use berth_api::types::ExecConfig;
use berth_api::Client;

use super::{request, streams};
use crate::app::ExecArgs;
use crate::error::{CliError, CliResult};

fn config(args: &ExecArgs) -> CliResult<ExecConfig> {
    let mut env = Vec::new();
    for file in &args.env_file {
        env.extend(request::read_kv_file(file, true)?);
    }
    env.extend(args.env.iter().filter_map(|e| request::env_entry(e)));
    let attach = !args.detach;
    Ok(ExecConfig {
        attach_stdin: attach && args.interactive,
        attach_stdout: attach,
        attach_stderr: attach,
        detach_keys: args.detach_keys.clone().unwrap_or_default(),
        tty: args.tty,
        env,
        cmd: args.command.clone(),
        privileged: args.privileged,
        user: args.user.clone().unwrap_or_default(),
        working_dir: args.workdir.clone().unwrap_or_default(),
    })
}

pub async fn exec(client: Client, args: ExecArgs) -> CliResult {
    let config = config(&args)?;
    streams::detach_keys(args.detach_keys.as_deref())?;
    let client = Arc::new(client);
    client.container_inspect(&args.container).await?;
    if !args.detach && config.attach_stdin && config.tty && !std::io::stdin().is_terminal() {
        return Err(CliError::general("the input device is not a TTY"));
    }
    let id = client.exec_create(&args.container, &config).await?;
    if args.detach {
        client.exec_start_detached(&id, config.tty).await?;
        return Ok(());
    }
    let conn = client.exec_start(&id, config.tty).await?;
    let raw = (config.tty && config.attach_stdin).then(streams::RawTerminal::enter);
    if config.tty && std::io::stdin().is_terminal() {
        streams::follow_exec_resizes(client.clone(), id.clone());
    }
    let keys = streams::detach_keys(args.detach_keys.as_deref())?;
    let stdin = config.attach_stdin.then_some(keys.as_slice());
    let streamed = streams::stream(conn, config.tty, stdin).await;
    drop(raw);
    if streamed? == streams::Ended::Detached {
        return Ok(());
    }
    let inspect = client.exec_inspect(&id).await?;
    CliError::exit_code(inspect.exit_code.unwrap_or(0))
}
