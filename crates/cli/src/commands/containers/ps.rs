//! `ps` / `container ls`.

use berth_api::filters::Filters;
use berth_api::types::ContainerSummary;
use berth_api::Client;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::app::PsArgs;
use crate::error::{CliError, CliResult};
use crate::format::units::{ellipsis, human_size, time_ago, truncate_id};
use crate::format::{render_list, Format};

const DEFAULT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

pub fn headers() -> serde_json::Map<String, Value> {
    let h = json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
        "CreatedAt": "CREATED AT", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
        "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
        "State": "STATE", "LocalVolumes": "LOCAL VOLUMES",
    });
    h.as_object().cloned().unwrap_or_default()
}

/// Go's `strconv.Quote` for the command column.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// docker's SIZE column: what the container wrote, and with its image's layers.
fn size_text(c: &ContainerSummary) -> String {
    let rw = human_size(c.size_rw.unwrap_or(0) as f64);
    match c.size_root_fs.filter(|s| *s > 0) {
        Some(root) => format!("{rw} (virtual {})", human_size(root as f64)),
        None => rw,
    }
}

pub fn row(c: &ContainerSummary, trunc: bool) -> Value {
    let created = DateTime::<Utc>::from_timestamp(c.created, 0).unwrap_or_default();
    let image = if c.image.starts_with("sha256:") && trunc {
        truncate_id(&c.image).to_string()
    } else {
        c.image.clone()
    };
    let command = if trunc {
        ellipsis(&c.command, 20)
    } else {
        c.command.clone()
    };
    let names: Vec<String> = c
        .names
        .iter()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !trunc || !n.contains('/'))
        .collect();
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ID": if trunc { truncate_id(&c.id).to_string() } else { c.id.clone() },
        "Image": image,
        "Command": go_quote(&command),
        "RunningFor": time_ago(created),
        "CreatedAt": created.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S %z %Z").to_string(),
        "Status": c.status,
        "State": c.state,
        "Ports": "",
        "Names": names.join(","),
        "Size": size_text(c),
        "Labels": labels.join(","),
        "Mounts": "",
        "Networks": c.host_config.get("NetworkMode").cloned().unwrap_or_default(),
        "LocalVolumes": "0",
    })
}

pub async fn ps(client: &Client, args: PsArgs) -> CliResult {
    let mut filters = Filters::new();
    for f in &args.filter {
        filters
            .add_arg(f)
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    let limit = if args.latest {
        Some(1)
    } else {
        (args.last > 0).then_some(args.last)
    };
    // As docker's, a format that shows sizes asks the engine for them.
    let size = args.size || args.format.as_deref().is_some_and(|f| f.contains(".Size"));
    let list = client.containers(args.all, limit, size, &filters).await?;
    let rows: Vec<Value> = list.iter().map(|c| row(c, !args.no_trunc)).collect();
    let format = Format::parse(args.format.as_deref());
    // -q wins over a custom format for ps, as docker's.
    let (format, quiet) = if args.quiet {
        (Format::Raw("{{.ID}}".into()), None)
    } else {
        (format, None)
    };
    let default = if args.size {
        format!("{DEFAULT}\t{{{{.Size}}}}")
    } else {
        DEFAULT.to_string()
    };
    let out = render_list(&format, &default, &headers(), &rows, quiet)?;
    super::super::print(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_look_like_dockers() {
        let c = ContainerSummary {
            id: "0123456789abcdef".repeat(4),
            names: vec!["/web".into()],
            image: "busybox".into(),
            command: "sh -c 'echo hello world and more'".into(),
            status: "Up 2 seconds".into(),
            ..Default::default()
        };
        let r = row(&c, true);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Command"], "\"sh -c 'echo hello w…\"");
        assert_eq!(r["Names"], "web");
        assert_eq!(go_quote("a\"b"), "\"a\\\"b\"");
        let sized = ContainerSummary {
            size_rw: Some(2),
            size_root_fs: Some(1_980_000),
            ..Default::default()
        };
        assert_eq!(row(&sized, true)["Size"], "2B (virtual 1.98MB)");
        assert_eq!(row(&ContainerSummary::default(), true)["Size"], "0B");
    }
}
