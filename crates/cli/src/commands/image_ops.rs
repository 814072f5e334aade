//! `history`, `tag`, `rmi` and `image prune`.

use berth_api::client::RemoveOptions;
use berth_api::filters::Filters;
use berth_api::Client;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::app::{HistoryArgs, ImagePruneArgs, RmiArgs, TagArgs};
use crate::error::{CliError, CliResult};
use crate::format::units::{ellipsis, human_size, time_ago, truncate_id};
use crate::format::{render_list, Format};

const HISTORY_DEFAULT: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

pub async fn history(client: &Client, args: HistoryArgs) -> CliResult {
    let items = client.image_history(&args.image).await?;
    let trunc = !args.no_trunc;
    let rows: Vec<Value> = items
        .iter()
        .map(|h| {
            let created = DateTime::<Utc>::from_timestamp(h.created, 0).unwrap_or_default();
            let created_by = h.created_by.replace('\t', " ");
            json!({
                "ID": if trunc && h.id != "<missing>" { truncate_id(&h.id).to_string() } else { h.id.clone() },
                "CreatedSince": if args.human { time_ago(created) } else { created.to_rfc3339() },
                "CreatedAt": created.to_rfc3339(),
                "CreatedBy": if trunc { ellipsis(&created_by, 45) } else { created_by },
                "Size": if args.human { human_size(h.size as f64) } else { h.size.to_string() },
                "Comment": h.comment,
            })
        })
        .collect();
    let headers = json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    });
    let out = render_list(
        &Format::parse(args.format.as_deref()),
        HISTORY_DEFAULT,
        headers.as_object().unwrap_or(&serde_json::Map::new()),
        &rows,
        args.quiet.then_some("{{.ID}}"),
    )?;
    super::print(&out)
}

pub async fn tag(client: &Client, args: TagArgs) -> CliResult {
    client.image_tag(&args.source, &args.target, "").await?;
    Ok(())
}

/// Removes each image in turn, printing what happened; failures are reported together.
pub async fn remove(client: &Client, args: RmiArgs) -> CliResult {
    let opts = RemoveOptions {
        force: args.force,
        no_prune: args.no_prune,
    };
    let mut errors = Vec::new();
    for name in &args.images {
        match client.image_remove(name, &opts).await {
            Ok(items) => {
                let mut out = String::new();
                for item in items {
                    if let Some(u) = item.untagged {
                        out.push_str(&format!("Untagged: {u}\n"));
                    }
                    if let Some(d) = item.deleted {
                        out.push_str(&format!("Deleted: {d}\n"));
                    }
                }
                super::print(&out)?;
            }
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

pub async fn prune(client: &Client, args: ImagePruneArgs) -> CliResult {
    let mut filters = Filters::new();
    for f in &args.filter {
        filters
            .add_arg(f)
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    let warning = if args.all {
        filters.add("dangling", "false");
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        filters.add("dangling", "true");
        "WARNING! This will remove all dangling images."
    };
    if !args.force && !super::confirm(warning) {
        return Ok(());
    }
    let report = client.images_prune(&filters).await?;
    let mut out = String::new();
    if !report.images_deleted.is_empty() {
        out.push_str("Deleted Images:\n");
        for item in &report.images_deleted {
            if let Some(u) = &item.untagged {
                out.push_str(&format!("untagged: {u}\n"));
            }
            if let Some(d) = &item.deleted {
                out.push_str(&format!("deleted: {d}\n"));
            }
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(report.space_reclaimed as f64)
    ));
    super::print(&out)
}
