//! `system prune`: docker 20.10's sequence of prunes — stopped containers, unused networks,
//! unused volumes with `--volumes`, dangling (or with `-a` unused) images — under one
//! confirmation, each deleted list printed as its own section and the space summed.
//!
//! Then the build cache (dangling records, or with `-a` all of them), as docker 20.10 does;
//! `builder prune` is that last step alone.

use berth_api::filters::Filters;
use berth_api::types::ImageDeleteItem;
use berth_api::units::human_size_with_precision;
use berth_api::Client;

use crate::app::SystemPruneArgs;
use crate::error::{CliError, CliResult};

/// What the prompt lists, in docker's order (its `confirmationMessage`).
pub(super) fn confirmation(all: bool, volumes: bool) -> String {
    let mut warnings = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if volumes {
        warnings.push("all volumes not used by at least one container");
    }
    warnings.push(if all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    });
    warnings.push(if all {
        "all build cache"
    } else {
        "all dangling build cache"
    });
    let mut out = String::from("WARNING! This will remove:\n");
    for w in warnings {
        out += &format!("  - {w}\n");
    }
    out
}

/// The `--filter` values, read as docker's `FilterOpt` reads them.
pub(super) fn parse_filters(args: &SystemPruneArgs) -> CliResult<Filters> {
    let filters = crate::commands::networks::flags::filter_flags(&args.filter, "--filter")?;
    if args.volumes && !filters.get("until").is_empty() {
        return Err(CliError::general(
            "ERROR: The \"until\" filter is not supported with \"--volumes\"",
        ));
    }
    Ok(filters)
}

/// The volume prune's filters: docker 20.10's engine (API below 1.42) prunes every unused
/// volume, named or not, so `all=true` asks Berth's engine for the same.
pub(super) fn volume_filters(filters: &Filters) -> Filters {
    let mut f = filters.clone();
    f.add("all", "true");
    f
}

/// The image prune's filters: docker adds `dangling=false` with `-a`, `true` without.
pub(super) fn image_filters(filters: &Filters, all: bool) -> Filters {
    let mut f = filters.clone();
    f.add("dangling", if all { "false" } else { "true" });
    f
}

/// One section of the output: its title and lines, then the blank line docker's `Fprintln`
/// leaves; nothing when nothing went.
pub(super) fn section(title: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = format!("{title}:\n");
    for l in lines {
        out += l;
        out.push('\n');
    }
    out.push('\n');
    out
}

/// The image prune's lines, as docker writes them (`untagged: `, `deleted: `).
pub(super) fn image_lines(items: &[ImageDeleteItem]) -> Vec<String> {
    items
        .iter()
        .flat_map(|i| {
            let untagged = i.untagged.as_ref().map(|u| format!("untagged: {u}"));
            let deleted = i.deleted.as_ref().map(|d| format!("deleted: {d}"));
            untagged.into_iter().chain(deleted)
        })
        .collect()
}

pub(super) fn total(reclaimed: u64) -> String {
    format!(
        "Total reclaimed space: {}\n",
        human_size_with_precision(reclaimed as f64, 4)
    )
}

pub async fn prune(client: &Client, args: SystemPruneArgs) -> CliResult {
    let filters = parse_filters(&args)?;
    if !args.force && !super::super::confirm(&confirmation(args.all, args.volumes)) {
        return Ok(());
    }
    let print = super::super::print;
    let mut reclaimed = 0u64;
    let containers = client.containers_prune(&filters).await?;
    reclaimed += containers.space_reclaimed;
    print(&section(
        "Deleted Containers",
        &containers.containers_deleted,
    ))?;
    let networks = client.network_prune(&filters).await?;
    print(&section("Deleted Networks", &networks.networks_deleted))?;
    if args.volumes {
        let volumes = client.volume_prune(&volume_filters(&filters)).await?;
        reclaimed += volumes.space_reclaimed;
        print(&section("Deleted Volumes", &volumes.volumes_deleted))?;
    }
    let images = client
        .images_prune(&image_filters(&filters, args.all))
        .await?;
    reclaimed += images.space_reclaimed;
    print(&section(
        "Deleted Images",
        &image_lines(&images.images_deleted),
    ))?;
    let mut cache_filters = Filters::default();
    for v in filters.get("until") {
        cache_filters.add("until", v);
    }
    let cache = client.build_prune(args.all, &cache_filters).await?;
    reclaimed += cache.space_reclaimed;
    print(&section(
        "Deleted build cache objects",
        &cache.caches_deleted,
    ))?;
    print(&total(reclaimed))
}

/// `builder prune`.
pub async fn builder_prune(client: &Client, args: crate::app::BuilderPruneArgs) -> CliResult {
    let filters = crate::commands::networks::flags::filter_flags(&args.filter, "--filter")?;
    let what = if args.all {
        "WARNING! This will remove all build cache."
    } else {
        "WARNING! This will remove all dangling build cache."
    };
    if !args.force && !super::super::confirm(what) {
        return Ok(());
    }
    let report = client.build_prune(args.all, &filters).await?;
    let print = super::super::print;
    print(&section(
        "Deleted build cache objects",
        &report.caches_deleted,
    ))?;
    print(&total(report.space_reclaimed))
}

#[cfg(test)]
#[path = "prune_tests.rs"]
mod tests;
