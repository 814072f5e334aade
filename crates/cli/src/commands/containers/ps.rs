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
        "Ports": ports_text(&c.ports),
        "Names": names.join(","),
        "Size": size_text(c),
        "Labels": labels.join(","),
        "Mounts": "",
        "Networks": networks_text(c),
        "LocalVolumes": "0",
    })
}

/// The networks column: the names of the networks the container is on.
fn networks_text(c: &ContainerSummary) -> String {
    match c
        .network_settings
        .get("Networks")
        .and_then(Value::as_object)
    {
        Some(m) if !m.is_empty() => m.keys().cloned().collect::<Vec<_>>().join(","),
        _ => c
            .host_config
            .get("NetworkMode")
            .cloned()
            .unwrap_or_default(),
    }
}

/// The ports column as docker writes it: `0.0.0.0:8080->80/tcp` for published ports,
/// `80/tcp` for exposed ones, runs of consecutive ports folded into ranges.
pub fn ports_text(ports: &[Value]) -> String {
    struct P {
        ip: String,
        public: u64,
        private: u64,
        kind: String,
    }
    let mut list: Vec<P> = ports
        .iter()
        .map(|p| P {
            ip: p["IP"].as_str().unwrap_or_default().to_string(),
            public: p["PublicPort"].as_u64().unwrap_or(0),
            private: p["PrivatePort"].as_u64().unwrap_or(0),
            kind: p["Type"].as_str().unwrap_or("tcp").to_string(),
        })
        .collect();
    list.sort_by(|a, b| {
        (&a.kind, &a.ip, a.public == 0, a.private, a.public).cmp(&(
            &b.kind,
            &b.ip,
            b.public == 0,
            b.private,
            b.public,
        ))
    });
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < list.len() {
        let first = &list[i];
        let mut j = i;
        while j + 1 < list.len() {
            let (cur, next) = (&list[j], &list[j + 1]);
            let follows = next.kind == cur.kind
                && next.ip == cur.ip
                && next.private == cur.private + 1
                && (cur.public == 0) == (next.public == 0)
                && (cur.public == 0 || next.public == cur.public + 1);
            if !follows {
                break;
            }
            j += 1;
        }
        let last = &list[j];
        let span = |a: u64, b: u64| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        };
        let private = span(first.private, last.private);
        if first.public == 0 {
            out.push(format!("{private}/{}", first.kind));
        } else {
            let ip = if first.ip.contains(':') {
                format!("[{}]", first.ip)
            } else {
                first.ip.clone()
            };
            out.push(format!(
                "{ip}:{}->{private}/{}",
                span(first.public, last.public),
                first.kind
            ));
        }
        i = j + 1;
    }
    out.join(", ")
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
    fn ports_fold_into_dockers_column() {
        let p = |ip: &str, public: u64, private: u64, kind: &str| {
            if public == 0 {
                json!({"PrivatePort": private, "Type": kind})
            } else {
                json!({"IP": ip, "PublicPort": public, "PrivatePort": private, "Type": kind})
            }
        };
        let ports = vec![
            p("0.0.0.0", 8081, 81, "tcp"),
            p("0.0.0.0", 8080, 80, "tcp"),
            p("", 0, 443, "tcp"),
            p("127.0.0.1", 5353, 53, "udp"),
            p("::", 8080, 80, "tcp"),
        ];
        assert_eq!(
            ports_text(&ports),
            "443/tcp, 0.0.0.0:8080-8081->80-81/tcp, [::]:8080->80/tcp, 127.0.0.1:5353->53/udp"
        );
        assert_eq!(ports_text(&[]), "");
    }

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
