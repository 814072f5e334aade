//! `volume ls`: docker's volume table (DRIVER, VOLUME NAME), its `raw` format and its
//! template fields, sorted by name in docker's natural order.

use berth_api::types::Volume;
use berth_api::Client;
use serde_json::{json, Value};

use crate::app::VolumeLsArgs;
use crate::commands::networks::flags::filter_flags;
use crate::commands::networks::list::natural_cmp;
use crate::error::CliResult;
use crate::format::{render_list, Format};
use berth_api::units::human_size_with_precision;

const DEFAULT: &str = "table {{.Driver}}\t{{.Name}}";
const QUIET: &str = "{{.Name}}";
const RAW: &str = "name: {{.Name}}\ndriver: {{.Driver}}\n";
const RAW_QUIET: &str = "name: {{.Name}}";

pub fn headers() -> serde_json::Map<String, Value> {
    let h = json!({
        "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE",
    });
    h.as_object().cloned().unwrap_or_default()
}

/// One row's fields, as docker's volume formatter has them: `Links` and `Size` are `N/A`
/// unless the engine reported usage (only `system df` does).
pub fn row(v: &Volume) -> Value {
    let labels: Vec<String> = v
        .labels
        .iter()
        .flatten()
        .map(|(k, val)| format!("{k}={val}"))
        .collect();
    let (links, size) = match v.usage_data {
        Some(u) => (
            u.ref_count.to_string(),
            human_size_with_precision(u.size as f64, 4),
        ),
        None => ("N/A".to_string(), "N/A".to_string()),
    };
    // In alphabetical order, as docker marshals the row for `{{json .}}`.
    json!({
        "Driver": v.driver,
        "Labels": labels.join(","),
        "Links": links,
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Scope": v.scope,
        "Size": size,
    })
}

/// The rendered list; `-q` only shortens the default table, as in docker.
pub fn render(mut volumes: Vec<Volume>, format: Option<&str>, quiet: bool) -> CliResult<String> {
    volumes.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let rows: Vec<Value> = volumes.iter().map(row).collect();
    let (format, quiet) = match format {
        Some("raw") => (
            Format::Raw(if quiet { RAW_QUIET } else { RAW }.to_string()),
            None,
        ),
        f => (Format::parse(f), quiet.then_some(QUIET)),
    };
    Ok(render_list(&format, DEFAULT, &headers(), &rows, quiet)?)
}

pub async fn list(client: &Client, args: VolumeLsArgs) -> CliResult {
    let filters = filter_flags(&args.filter, "-f, --filter")?;
    let list = client.volume_list(&filters).await?;
    let out = render(list.volumes, args.format.as_deref(), args.quiet)?;
    super::super::print(&out)
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
