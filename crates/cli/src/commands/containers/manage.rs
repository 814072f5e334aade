//! `stop`, `restart`, `kill`, `rm`, `wait`, `attach` and `container prune`.

use std::sync::Arc;

use berth_api::client::AttachParams;
use berth_api::filters::Filters;
use berth_api::Client;

use super::streams;
use crate::app::{AttachArgs, ContainersArgs, KillArgs, PruneArgs, RmArgs, StopArgs};
use crate::error::{CliError, CliResult};
use crate::format::units::human_size;

/// Runs `op` on each container, printing its name on success; errors are gathered and
/// reported together, as docker does.
pub(super) async fn each<F, Fut>(names: &[String], op: F) -> CliResult
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), berth_api::ClientError>>,
{
    let mut errors = Vec::new();
    for n in names {
        match op(n.clone()).await {
            Ok(()) => super::super::print(&format!("{n}\n"))?,
            Err(e) if e.is_connect() => return Err(e.into()),
            Err(e) => errors.push(CliError::from(e).message),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::general(errors.join("\n")))
    }
}

pub async fn stop(client: &Client, args: StopArgs) -> CliResult {
    each(&args.containers, |c| async move {
        client.container_stop(&c, args.time).await
    })
    .await
}

pub async fn restart(client: &Client, args: StopArgs) -> CliResult {
    each(&args.containers, |c| async move {
        client.container_restart(&c, args.time).await
    })
    .await
}

pub async fn kill(client: &Client, args: KillArgs) -> CliResult {
    each(&args.containers, |c| {
        let signal = args.signal.clone();
        async move { client.container_kill(&c, &signal).await }
    })
    .await
}

pub async fn rm(client: &Client, args: RmArgs) -> CliResult {
    if args.link {
        return Err(CliError::usage("links are not supported by Berth"));
    }
    each(&args.containers, |c| async move {
        client.container_remove(&c, args.force, args.volumes).await
    })
    .await
}

pub async fn wait(client: &Client, args: ContainersArgs) -> CliResult {
    let mut errors = Vec::new();
    for c in &args.containers {
        let result = async {
            let body = client.container_wait_begin(c, "not-running").await?;
            Client::container_wait_end(body).await
        }
        .await;
        match result {
            Ok(r) => super::super::print(&format!("{}\n", r.status_code))?,
            Err(e) => errors.push(CliError::from(e).message),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::general(errors.join("\n")))
    }
}

pub async fn attach(client: Client, args: AttachArgs) -> CliResult {
    let client = Arc::new(client);
    let info = client.container_inspect(&args.container).await?;
    if info["State"]["Running"].as_bool() != Some(true) {
        return Err(CliError::general(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    let id = info["Id"].as_str().unwrap_or(&args.container).to_string();
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !args.no_stdin && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let params = AttachParams {
        stdin,
        stdout: true,
        stderr: true,
        logs: false,
        detach_keys: args.detach_keys.clone().unwrap_or_default(),
    };
    let keys = streams::detach_keys(args.detach_keys.as_deref())?;
    let conn = client.container_attach(&id, &params).await?;
    // Waiting from before the stream, so an exit is never missed between the two.
    let waiting = client.container_wait_begin(&id, "next-exit").await?;
    let raw = (tty && stdin).then(streams::RawTerminal::enter);
    if tty {
        streams::follow_resizes(client.clone(), id.clone());
    } else if args.sig_proxy {
        streams::proxy_signals(client.clone(), id.clone());
    }
    let ended = streams::stream(conn, tty, stdin.then_some(keys.as_slice())).await?;
    drop(raw);
    if ended == streams::Ended::Detached {
        return Ok(());
    }
    // The output ended: the container exited, and `attach` exits with its code.
    let status = Client::container_wait_end(waiting).await?;
    CliError::exit_code(status.status_code)
}

pub async fn prune(client: &Client, args: PruneArgs) -> CliResult {
    let mut filters = Filters::new();
    for f in &args.filter {
        filters
            .add_arg(f)
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    if !args.force && !super::super::confirm("WARNING! This will remove all stopped containers.") {
        return Ok(());
    }
    let report = client.containers_prune(&filters).await?;
    let mut out = String::new();
    if !report.containers_deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in &report.containers_deleted {
            out.push_str(&format!("{id}\n"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(report.space_reclaimed as f64)
    ));
    super::super::print(&out)
}
