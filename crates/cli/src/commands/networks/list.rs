//! `network ls`: docker's network table (NETWORK ID, NAME, DRIVER, SCOPE), its `raw` format
//! and its template fields, sorted by name in docker's natural order.

use std::cmp::Ordering;

use berth_api::types::Network;
use berth_api::Client;
use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use super::flags::filter_flags;
use crate::app::NetworkLsArgs;
use crate::error::CliResult;
use crate::format::units::truncate_id;
use crate::format::{render_list, Format};

const DEFAULT: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const RAW: &str = "network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n";
const RAW_QUIET: &str = "network_id: {{.ID}}";

pub fn headers() -> serde_json::Map<String, Value> {
    let h = json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
    });
    h.as_object().cloned().unwrap_or_default()
}

/// Go's `time.Time.String()` of an RFC 3339 time: `2006-01-02 15:04:05.999999999 -0700 MST`,
/// the fraction without trailing zeros; a time that does not parse is Go's zero time.
pub fn go_time(rfc3339: &str) -> String {
    let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(rfc3339) else {
        return "0001-01-01 00:00:00 +0000 UTC".into();
    };
    let mut out = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let offset = t.format("%z").to_string();
    // Go names a UTC time's zone; any other parsed offset gets a zone named by the offset.
    let zone = if t.offset().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        offset.clone()
    };
    format!("{out} {offset} {zone}")
}

/// One row's fields, as docker's network formatter has them.
pub fn row(n: &Network, trunc: bool) -> Value {
    let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ID": if trunc { truncate_id(&n.id).to_string() } else { n.id.clone() },
        "Name": n.name,
        "Driver": n.driver,
        "Scope": n.scope,
        "IPv6": n.enable_ipv6.to_string(),
        "Internal": n.internal.to_string(),
        "Labels": labels.join(","),
        "CreatedAt": go_time(&n.created),
    })
}

/// `sortorder.NaturalLess`: runs of digits compare as numbers (fewer leading zeros first),
/// digits sort before other bytes, the rest compares bytewise.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let skip_zeros = |s: &[u8], mut k: usize| {
            while k < s.len() && s[k] == b'0' {
                k += 1;
            }
            k
        };
        let end_digits = |s: &[u8], mut k: usize| {
            while k < s.len() && s[k].is_ascii_digit() {
                k += 1;
            }
            k
        };
        let (nz_a, nz_b) = (skip_zeros(a, i), skip_zeros(b, j));
        let (end_a, end_b) = (end_digits(a, nz_a), end_digits(b, nz_b));
        let by_len = (end_a - nz_a).cmp(&(end_b - nz_b));
        let by_digits = a[nz_a..end_a].cmp(&b[nz_b..end_b]);
        let by_zeros = nz_a.cmp(&nz_b);
        match by_len.then(by_digits).then(by_zeros) {
            Ordering::Equal => {}
            other => return other,
        }
        i = end_a;
        j = end_b;
    }
    // Equal so far (and consumed alike): the shorter string sorts first.
    a.len().cmp(&b.len())
}

fn output_format(format: Option<&str>, quiet: bool) -> (Format, Option<&'static str>) {
    match format {
        Some("raw") => (
            Format::Raw(if quiet { RAW_QUIET } else { RAW }.to_string()),
            None,
        ),
        f => (Format::parse(f), quiet.then_some("{{.ID}}")),
    }
}

/// The rendered list; `-q` only shortens the default table, as in docker.
pub fn render(
    mut networks: Vec<Network>,
    format: Option<&str>,
    quiet: bool,
    trunc: bool,
) -> CliResult<String> {
    networks.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let rows: Vec<Value> = networks.iter().map(|n| row(n, trunc)).collect();
    let (format, quiet) = output_format(format, quiet);
    Ok(render_list(&format, DEFAULT, &headers(), &rows, quiet)?)
}

pub async fn list(client: &Client, args: NetworkLsArgs) -> CliResult {
    let filters = filter_flags(&args.filter, "-f, --filter")?;
    let networks = client.network_list(&filters).await?;
    let out = render(networks, args.format.as_deref(), args.quiet, !args.no_trunc)?;
    super::super::print(&out)
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
