//! The attributes docker's log drivers add to every record of a container, from its log
//! options: `labels` and `labels-regex` (the container's labels so named), `env` and
//! `env-regex` (its environment variables), and `tag` (a template over its name and image).
//! `logs --details` shows them.

use std::collections::BTreeMap;

use super::record::ContainerRecord;
use crate::error::{EngineError, EngineResult};

/// The attributes of `rec`'s log records; a bad regular expression is an error.
pub fn log_attributes(rec: &ContainerRecord) -> EngineResult<BTreeMap<String, String>> {
    let opts = &rec.host_config.log_config.config;
    let labels = super::create::labels(&rec.config);
    let env: BTreeMap<String, String> = rec
        .config
        .env
        .iter()
        .flatten()
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut out = BTreeMap::new();
    pick(
        &mut out,
        &labels,
        opts.get("labels"),
        opts.get("labels-regex"),
    )?;
    pick(&mut out, &env, opts.get("env"), opts.get("env-regex"))?;
    if let Some(t) = opts.get("tag") {
        out.insert("tag".to_string(), tag(t, rec));
    }
    Ok(out)
}

/// Checks the options' regular expressions, at create.
pub fn check(opts: &BTreeMap<String, String>) -> EngineResult<()> {
    for key in ["labels-regex", "env-regex"] {
        if let Some(p) = opts.get(key) {
            regex_of(p)?;
        }
    }
    Ok(())
}

fn regex_of(p: &str) -> EngineResult<regex::Regex> {
    regex::Regex::new(p)
        .map_err(|e| EngineError::invalid(format!("invalid log option regex {p:?}: {e}")))
}

/// Copies into `out` the entries of `from` named in the comma list `names` or matching
/// the regular expression `pattern`.
fn pick(
    out: &mut BTreeMap<String, String>,
    from: &BTreeMap<String, String>,
    names: Option<&String>,
    pattern: Option<&String>,
) -> EngineResult<()> {
    for name in names.iter().flat_map(|n| n.split(',')) {
        if let Some(v) = from.get(name) {
            out.insert(name.to_string(), v.clone());
        }
    }
    if let Some(p) = pattern {
        let re = regex_of(p)?;
        for (k, v) in from.iter().filter(|(k, _)| re.is_match(k)) {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

/// docker's log tag template: `{{.ID}}` (12 digits), `{{.FullID}}`, `{{.Name}}`,
/// `{{.ImageName}}`, `{{.ImageID}}`, `{{.ImageFullID}}`, `{{.DaemonName}}`.
fn tag(template: &str, rec: &ContainerRecord) -> String {
    let image_id = rec.image_id.to_string();
    let image_hex = image_id.trim_start_matches("sha256:").to_string();
    let fields = [
        ("{{.ID}}", rec.id.chars().take(12).collect::<String>()),
        ("{{.FullID}}", rec.id.clone()),
        ("{{.Name}}", rec.name.clone()),
        ("{{.ImageName}}", rec.image.clone()),
        ("{{.ImageID}}", image_hex.chars().take(12).collect()),
        ("{{.ImageFullID}}", image_id.clone()),
        ("{{.DaemonName}}", "berth".to_string()),
    ];
    fields
        .iter()
        .fold(template.to_string(), |t, (k, v)| t.replace(k, v))
}
