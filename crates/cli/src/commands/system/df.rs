//! `system df`: docker's summary table (images, containers, local volumes, build cache) and
//! its `-v` sections, from one `/system/df` answer. The summary's sizes are go-units'
//! `HumanSize` (four significant digits), as docker's disk-usage formatter prints them.

use berth_api::types::{ContainerSummary, SystemDataUsage, Volume};
use berth_api::units::human_size_with_precision;
use berth_api::Client;
use serde_json::{json, Value};

use crate::app::DfArgs;
use crate::error::CliResult;
use crate::format::{render_list, Format};

const DF_DEFAULT: &str =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS_TABLE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES_TABLE: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const BUILD_CACHE_TABLE: &str = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";
const BUILD_CACHE_HEADER: &str =
    "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n";

/// go-units' `HumanSize`.
fn size(bytes: i64) -> String {
    human_size_with_precision(bytes as f64, 4)
}

/// docker's RECLAIMABLE cell: the size, and its share of the total when there is one.
fn reclaimable(part: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", size(part), part * 100 / total)
    } else {
        size(part)
    }
}

/// A volume's usage; an engine that reports none counts as unknown (`-1`), as docker's.
fn usage(v: &Volume) -> (i64, i64) {
    v.usage_data.map_or((-1, -1), |u| (u.size, u.ref_count))
}

pub(super) fn df_rows(du: &SystemDataUsage) -> Vec<Value> {
    let total = du.layers_size;
    let used: i64 = du
        .images
        .iter()
        .filter(|i| i.containers > 0 && i.virtual_size >= 0 && i.shared_size >= 0)
        .map(|i| i.virtual_size - i.shared_size)
        .sum();
    let active = du.images.iter().filter(|i| i.containers > 0).count();
    let containers = df_containers(du);
    // docker's: a container that runs, is paused or restarting is active; the others'
    // changes are what removing them would reclaim.
    let is_active = |c: &ContainerSummary| {
        ["running", "paused", "restarting"]
            .iter()
            .any(|s| c.state.contains(s))
    };
    let rw = |c: &ContainerSummary| c.size_rw.unwrap_or(0).max(0);
    let c_total: i64 = containers.iter().map(rw).sum();
    let c_reclaimable: i64 = containers.iter().filter(|c| !is_active(c)).map(rw).sum();
    // Volumes of unknown size count for nothing; unused ones are what prune would free.
    let known = du.volumes.iter().map(usage).filter(|(s, _)| *s >= 0);
    let v_total: i64 = known.clone().map(|(s, _)| s).sum();
    let v_reclaimable: i64 = known.filter(|(_, refs)| *refs == 0).map(|(s, _)| s).sum();
    let v_active = du.volumes.iter().filter(|v| usage(v).1 > 0).count();
    let b_total: i64 = du.build_cache.iter().map(|b| b.size).sum();
    let b_active = du.build_cache.iter().filter(|b| b.in_use).count();
    // What `builder prune` would free: records no container and no named image needs.
    let b_reclaimable: i64 = du
        .build_cache
        .iter()
        .filter(|b| !b.in_use && !b.shared)
        .map(|b| b.size)
        .sum();
    vec![
        json!({"Type": "Images", "TotalCount": du.images.len(), "Active": active,
               "Size": size(total), "Reclaimable": reclaimable(total - used, total)}),
        json!({"Type": "Containers", "TotalCount": containers.len(),
               "Active": containers.iter().filter(|c| is_active(c)).count(),
               "Size": size(c_total), "Reclaimable": reclaimable(c_reclaimable, c_total)}),
        json!({"Type": "Local Volumes", "TotalCount": du.volumes.len(), "Active": v_active,
               "Size": size(v_total), "Reclaimable": reclaimable(v_reclaimable, v_total)}),
        json!({"Type": "Build Cache", "TotalCount": du.build_cache.len(), "Active": b_active,
               "Size": size(b_total), "Reclaimable": size(b_reclaimable)}),
    ]
}

/// The containers of a `/system/df` answer; entries that do not parse are left out.
fn df_containers(du: &SystemDataUsage) -> Vec<ContainerSummary> {
    du.containers
        .iter()
        .filter_map(|c| serde_json::from_value(c.clone()).ok())
        .collect()
}

pub async fn df(client: &Client, args: DfArgs) -> CliResult {
    let du = client.system_df().await?;
    let out = if args.verbose && args.format.is_none() {
        df_verbose(&du)?
    } else {
        df_summary(&du, args.format.as_deref())?
    };
    super::super::print(&out)
}

pub(super) fn df_summary(du: &SystemDataUsage, format: Option<&str>) -> CliResult<String> {
    let headers = json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE",
                         "Size": "SIZE", "Reclaimable": "RECLAIMABLE"});
    Ok(render_list(
        &Format::parse(format),
        DF_DEFAULT,
        headers.as_object().unwrap_or(&serde_json::Map::new()),
        &df_rows(du),
        None,
    )?)
}

/// A volume's row in `-v`: its name whole, the containers naming it, its size (`N/A` when
/// the engine did not say).
fn volume_row(v: &Volume) -> Value {
    let (links, bytes) = match v.usage_data {
        Some(u) => (u.ref_count.to_string(), size(u.size)),
        None => ("N/A".to_string(), "N/A".to_string()),
    };
    json!({"Name": v.name, "Links": links, "Size": bytes})
}

pub(super) fn df_verbose(du: &SystemDataUsage) -> CliResult<String> {
    let mut out = String::from("Images space usage:\n\n");
    let rows = super::super::images::rows(&du.images, false, true);
    out += &render_list(
        &Format::Table(None),
        IMAGES_TABLE,
        &super::super::images::headers(),
        &rows,
        None,
    )?;
    out += "\nContainers space usage:\n\n";
    // Only what each container wrote: docker leaves the virtual size out here.
    let rows: Vec<Value> = df_containers(du)
        .into_iter()
        .map(|mut c| {
            c.size_root_fs = None;
            super::super::containers::ps_row(&c, true)
        })
        .collect();
    out += &render_list(
        &Format::Table(None),
        CONTAINERS_TABLE,
        &super::super::containers::ps_headers(),
        &rows,
        None,
    )?;
    out += "\nLocal Volumes space usage:\n\n";
    let headers = json!({"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"});
    let rows: Vec<Value> = du.volumes.iter().map(volume_row).collect();
    out += &render_list(
        &Format::Table(None),
        VOLUMES_TABLE,
        headers.as_object().unwrap_or(&serde_json::Map::new()),
        &rows,
        None,
    )?;
    let b_total: i64 = du.build_cache.iter().map(|b| b.size).sum();
    out += &format!("\nBuild cache usage: {}\n\n", size(b_total));
    if du.build_cache.is_empty() {
        out += BUILD_CACHE_HEADER;
        return Ok(out);
    }
    let headers = json!({"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE",
                         "CreatedSince": "CREATED", "LastUsedSince": "LAST USED",
                         "UsageCount": "USAGE", "Shared": "SHARED"});
    let rows: Vec<Value> = du
        .build_cache
        .iter()
        .map(|b| {
            let created = chrono::DateTime::parse_from_rfc3339(&b.created_at)
                .map(|t| crate::format::units::time_ago(t.with_timezone(&chrono::Utc)))
                .unwrap_or_default();
            json!({"ID": b.id.chars().take(12).collect::<String>(), "CacheType": b.kind,
                   "Size": size(b.size), "CreatedSince": created, "LastUsedSince": "",
                   "UsageCount": b.usage_count, "Shared": b.shared})
        })
        .collect();
    out += &render_list(
        &Format::Table(None),
        BUILD_CACHE_TABLE,
        headers.as_object().unwrap_or(&serde_json::Map::new()),
        &rows,
        None,
    )?;
    Ok(out)
}

#[cfg(test)]
#[path = "df_tests.rs"]
mod tests;
