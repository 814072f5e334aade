//! `berth volume …`: create, ls, inspect, rm and prune, with docker's requests, output and
//! errors (docker 20.10's, except that `prune` takes `-a/--all` as docker's later CLIs do).

mod list;

use berth_api::filters::Filters;
use berth_api::types::VolumeCreateRequest;
use berth_api::Client;

use super::networks::flags::{filter_flags, kv_map};
use crate::app::{VolumeCommand, VolumeCreateArgs, VolumePruneArgs, VolumeRmArgs};
use crate::error::{CliError, CliResult};
use berth_api::units::human_size_with_precision;

/// The prune prompt when named volumes go too (docker 20.10's only prompt: its engine
/// pruned every unused volume).
const PRUNE_ALL_WARNING: &str =
    "WARNING! This will remove all local volumes not used by at least one container.";
/// The prune prompt without `--all`: the engine removes only anonymous volumes, and says
/// so in the words of docker's later CLIs.
const PRUNE_ANONYMOUS_WARNING: &str =
    "WARNING! This will remove anonymous local volumes not used by at least one container.";

pub async fn volume(client: &Client, cmd: VolumeCommand) -> CliResult {
    match cmd {
        VolumeCommand::Create(a) => create(client, a).await,
        VolumeCommand::Ls(a) => list::list(client, a).await,
        VolumeCommand::Inspect(a) => super::inspect::volumes(client, a).await,
        VolumeCommand::Rm(a) => remove(client, a).await,
        VolumeCommand::Prune(a) => prune(client, a).await,
    }
}

/// The body docker's `volume create` sends: the name from the argument or `--name` (not
/// both), the driver, and the maps always present.
fn create_request(args: &VolumeCreateArgs) -> CliResult<VolumeCreateRequest> {
    let name =
        match (&args.volume, &args.name) {
            (Some(_), Some(_)) => return Err(CliError::general(
                "conflicting options: either specify --name or provide positional arg, not both",
            )),
            (Some(n), None) | (None, Some(n)) => n.clone(),
            (None, None) => String::new(),
        };
    Ok(VolumeCreateRequest {
        name,
        driver: args.driver.clone(),
        driver_opts: kv_map(&args.opt),
        labels: kv_map(&args.label),
    })
}

/// Creates the volume and prints its name (the engine's choice when none was given).
async fn create(client: &Client, args: VolumeCreateArgs) -> CliResult {
    let req = create_request(&args)?;
    let vol = client.volume_create(&req).await?;
    super::print(&format!("{}\n", vol.name))
}

/// docker's wording of one failed removal: a missing volume in the client's words, any
/// other refusal in the engine's.
fn remove_error(name: &str, e: berth_api::ClientError) -> String {
    if e.is_not_found() {
        format!("Error: No such volume: {name}")
    } else {
        CliError::from(e).message
    }
}

/// Removes each volume in turn, printing its name once removed; the failures are reported
/// together at the end, as docker does, and make the exit status 1.
async fn remove(client: &Client, args: VolumeRmArgs) -> CliResult {
    let mut errors = Vec::new();
    for name in &args.volumes {
        match client.volume_remove(name, args.force).await {
            Ok(()) => super::print(&format!("{name}\n"))?,
            Err(e) if e.is_connect() => return Err(e.into()),
            Err(e) => errors.push(remove_error(name, e)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::general(errors.join("\n")))
    }
}

/// The prune filters: `--filter` values, and `all=true` for `--all` (how docker's CLI asks
/// an API 1.42 engine for named volumes too).
fn prune_filters(args: &VolumePruneArgs) -> CliResult<Filters> {
    let mut filters = filter_flags(&args.filter, "--filter")?;
    if args.all {
        if !filters.get("all").is_empty() {
            return Err(CliError::general(
                "conflicting options: cannot specify both --all and --filter all=1",
            ));
        }
        filters.add("all", "true");
    }
    Ok(filters)
}

/// What docker prints after a prune: the names, then the space (also when nothing went).
fn prune_report(deleted: &[String], reclaimed: u64) -> String {
    let mut out = String::new();
    if !deleted.is_empty() {
        out.push_str("Deleted Volumes:\n");
        for name in deleted {
            out.push_str(name);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size_with_precision(reclaimed as f64, 4)
    ));
    out
}

async fn prune(client: &Client, args: VolumePruneArgs) -> CliResult {
    let filters = prune_filters(&args)?;
    let warning = if args.all {
        PRUNE_ALL_WARNING
    } else {
        PRUNE_ANONYMOUS_WARNING
    };
    if !args.force && !super::confirm(warning) {
        // docker reports the nothing it reclaimed when the answer is no.
        return super::print(&prune_report(&[], 0));
    }
    let report = client.volume_prune(&filters).await?;
    super::print(&prune_report(
        &report.volumes_deleted,
        report.space_reclaimed,
    ))
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
