//! `berth images` / `berth image ls`.

use std::collections::BTreeMap;

use berth_api::filters::Filters;
use berth_api::types::ImageSummary;
use berth_api::Client;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::app::ImagesArgs;
use crate::error::{CliError, CliResult};
use crate::format::units::{human_size, time_ago, truncate_id};
use crate::format::{render_list, Format};

const DEFAULT: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const DEFAULT_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

pub fn headers() -> serde_json::Map<String, Value> {
    let h = json!({
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
        "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
        "VirtualSize": "VIRTUAL SIZE",
    });
    h.as_object().cloned().unwrap_or_default()
}

/// Splits `name:tag` / `name@digest` at the right separator (a port's colon is not a tag).
fn split_ref(s: &str) -> (String, String) {
    if let Some((name, digest)) = s.split_once('@') {
        return (name.to_string(), digest.to_string());
    }
    match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => (s[..i].to_string(), s[i + 1..].to_string()),
        _ => (s.to_string(), String::new()),
    }
}

fn is_dangling(img: &ImageSummary) -> bool {
    img.repo_tags.iter().all(|t| t == "<none>:<none>")
        && img.repo_digests.iter().all(|d| d == "<none>@<none>")
}

/// One row per repository and tag of each image, as docker's image formatter makes them.
pub fn rows(images: &[ImageSummary], show_digests: bool, trunc: bool) -> Vec<Value> {
    let mut rows = Vec::new();
    for img in images {
        let mut pairs: Vec<(String, String, String)> = Vec::new();
        if is_dangling(img) {
            pairs.push(("<none>".into(), "<none>".into(), "<none>".into()));
        } else {
            let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut digests: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for t in img.repo_tags.iter().filter(|t| *t != "<none>:<none>") {
                let (repo, tag) = split_ref(t);
                tags.entry(repo).or_default().push(tag);
            }
            for d in img.repo_digests.iter().filter(|d| *d != "<none>@<none>") {
                let (repo, digest) = split_ref(d);
                digests.entry(repo).or_default().push(digest);
            }
            for (repo, repo_tags) in &tags {
                let ds = digests
                    .remove(repo)
                    .filter(|_| show_digests)
                    .unwrap_or_default();
                for tag in repo_tags {
                    if ds.is_empty() {
                        pairs.push((repo.clone(), tag.clone(), "<none>".into()));
                    }
                    for d in &ds {
                        pairs.push((repo.clone(), tag.clone(), d.clone()));
                    }
                }
            }
            for (repo, ds) in digests {
                if show_digests {
                    for d in ds {
                        pairs.push((repo.clone(), "<none>".into(), d));
                    }
                } else {
                    pairs.push((repo, "<none>".into(), "<none>".into()));
                }
            }
        }
        let created = DateTime::<Utc>::from_timestamp(img.created, 0).unwrap_or_default();
        let id = if trunc {
            truncate_id(&img.id).to_string()
        } else {
            img.id.clone()
        };
        let na_or =
            |v: i64, f: &dyn Fn(i64) -> String| if v < 0 { "N/A".to_string() } else { f(v) };
        let size = |v: i64| human_size(v as f64);
        for (repo, tag, digest) in pairs {
            rows.push(json!({
                "ID": id,
                "Repository": repo,
                "Tag": tag,
                "Digest": digest,
                "CreatedSince": time_ago(created),
                "CreatedAt": created.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S %z %Z").to_string(),
                "Size": human_size(img.size as f64),
                "VirtualSize": human_size(img.virtual_size as f64),
                "SharedSize": na_or(img.shared_size, &size),
                "UniqueSize": na_or(img.shared_size, &|s| human_size((img.size - s) as f64)),
                "Containers": na_or(img.containers, &|c| c.to_string()),
            }));
        }
    }
    rows
}

pub async fn list(client: &Client, args: ImagesArgs) -> CliResult {
    let mut filters = Filters::new();
    for f in &args.filter {
        filters
            .add_arg(f)
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    if let Some(r) = &args.reference {
        filters.add("reference", r);
    }
    let images = client.images(args.all, args.digests, &filters).await?;
    let mut rows = rows(
        &images,
        args.digests || format_mentions_digest(&args.format),
        !args.no_trunc,
    );
    if args.quiet && args.format.is_none() {
        // -q lists each image once.
        let mut seen = std::collections::HashSet::new();
        rows.retain(|r| seen.insert(r["ID"].as_str().unwrap_or_default().to_string()));
    }
    let format = Format::parse(args.format.as_deref());
    let default = if args.digests {
        DEFAULT_DIGESTS
    } else {
        DEFAULT
    };
    let quiet = args.quiet.then_some("{{.ID}}");
    let out = render_list(&format, default, &headers(), &rows, quiet)?;
    super::print(&out)
}

fn format_mentions_digest(format: &Option<String>) -> bool {
    format
        .as_deref()
        .is_some_and(|f| f.contains("{{.Digest}}") || f.contains(".Digest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tags: &[&str], digests: &[&str]) -> ImageSummary {
        ImageSummary {
            id: format!("sha256:{}", "a".repeat(64)),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            repo_digests: digests.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rows_follow_dockers_image_formatter() {
        let d = format!("sha256:{}", "b".repeat(64));
        let imgs = [
            image(
                &["busybox:latest", "busybox:1", "localhost:5000/x:2"],
                &[&format!("busybox@{d}")],
            ),
            image(&["<none>:<none>"], &["<none>@<none>"]),
            image(&[], &[&format!("only@{d}")]),
        ];
        let r = rows(&imgs, false, true);
        let pairs: Vec<(String, String)> = r
            .iter()
            .map(|v| {
                (
                    v["Repository"].as_str().unwrap().into(),
                    v["Tag"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("busybox".into(), "latest".into()),
                ("busybox".into(), "1".into()),
                ("localhost:5000/x".into(), "2".into()),
                ("<none>".into(), "<none>".into()),
                ("only".into(), "<none>".into()),
            ]
        );
        assert_eq!(r[0]["ID"], "aaaaaaaaaaaa");
        let with_digests = rows(&imgs[..1], true, false);
        assert_eq!(with_digests[0]["Digest"], d.as_str());
        assert!(with_digests[0]["ID"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
    }
}
