//! `events` / `system events`: the engine's events as docker prints them — a line of time,
//! type, action, actor and sorted attributes, or a `--format` template over the message.

use berth_api::filters::Filters;
use berth_api::types::EventMessage;
use berth_api::Client;
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Value};

use crate::app::EventsArgs;
use crate::error::{CliError, CliResult};
use crate::format::Template;

/// docker's `timetypes.GetTimestamp`: a Go duration (that long before `now`), an RFC 3339
/// time or date (local time without a zone), or Unix seconds as they are; the result is
/// what the engine takes, `seconds[.nanoseconds]`.
pub fn timestamp(value: &str, now: DateTime<Utc>) -> CliResult<String> {
    let bad = || {
        CliError::general(format!(
            "failed to parse value as time or duration: {value:?}"
        ))
    };
    if value != "0" {
        let (neg, rest) = match value.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, value),
        };
        if let Ok(ns) = super::containers::duration_ns(rest) {
            if rest.ends_with(|c: char| c.is_ascii_alphabetic()) {
                let d = chrono::Duration::nanoseconds(if neg { -ns } else { ns });
                return Ok((now - d).timestamp().to_string());
            }
        }
    }
    let stamp = |t: DateTime<Utc>| format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos());
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(stamp(t.with_timezone(&Utc)));
    }
    for layout in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, layout) {
            let local = Local.from_local_datetime(&t).single().ok_or_else(bad)?;
            return Ok(stamp(local.with_timezone(&Utc)));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        let local = Local.from_local_datetime(&t).single().ok_or_else(bad)?;
        return Ok(stamp(local.with_timezone(&Utc)));
    }
    let (secs, frac) = value.split_once('.').unwrap_or((value, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(secs.trim_start_matches('-')) && digits(frac) {
        return Ok(value.to_string());
    }
    Err(bad())
}

/// The message with Go's field names, as docker's templates see `events.Message`.
fn template_data(e: &EventMessage) -> Value {
    json!({
        "Status": e.status, "ID": e.id, "From": e.from, "Type": e.kind, "Action": e.action,
        "Actor": {"ID": e.actor.id, "Attributes": e.actor.attributes},
        "Scope": e.scope, "Time": e.time, "TimeNano": e.time_nano,
    })
}

/// docker's default line: `2006-01-02T15:04:05.000000000Z07:00 type action id (k=v, …)`.
fn pretty(e: &EventMessage) -> String {
    let time = if e.time_nano != 0 {
        Some(DateTime::from_timestamp_nanos(e.time_nano))
    } else if e.time != 0 {
        DateTime::from_timestamp(e.time, 0)
    } else {
        None
    };
    let mut line = String::new();
    if let Some(t) = time {
        let local = t.with_timezone(&Local);
        line.push_str(&local.format("%Y-%m-%dT%H:%M:%S%.9f").to_string());
        let offset = local.format("%:z").to_string();
        line.push_str(if offset == "+00:00" { "Z" } else { &offset });
        line.push(' ');
    }
    line.push_str(&format!("{} {} {}", e.kind, e.action, e.actor.id));
    if !e.actor.attributes.is_empty() {
        let attrs: Vec<String> = e
            .actor
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        line.push_str(&format!(" ({})", attrs.join(", ")));
    }
    line
}

/// How each event is printed.
enum Printer {
    Pretty,
    /// The message as the engine sent it (`json`, `{{json .}}`).
    Json,
    Template(Box<Template>),
}

impl Printer {
    fn new(format: Option<&str>) -> CliResult<Printer> {
        let format = format.unwrap_or("");
        Ok(match format {
            "" => Printer::Pretty,
            "json" | "{{json .}}" => Printer::Json,
            f => {
                let parse_error = |e: crate::format::FormatError| CliError {
                    message: format!("Error parsing format: {}", e.go_message()),
                    status: 64,
                };
                let t = Template::parse(f).map_err(parse_error)?;
                // An empty message shows a bad field at once, as docker checks it.
                t.render(&template_data(&EventMessage::default()))
                    .map_err(parse_error)?;
                Printer::Template(Box::new(t))
            }
        })
    }

    fn line(&self, e: &EventMessage) -> CliResult<String> {
        Ok(match self {
            Printer::Pretty => pretty(e),
            Printer::Json => {
                serde_json::to_string(e).map_err(|e| CliError::general(e.to_string()))?
            }
            Printer::Template(t) => t.render(&template_data(e))?,
        })
    }
}

pub async fn events(client: &Client, args: EventsArgs) -> CliResult {
    let printer = Printer::new(args.format.as_deref())?;
    let mut filters = Filters::new();
    for f in &args.filter {
        filters
            .add_arg(f)
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    let now = Utc::now();
    let time = |v: &Option<String>| match v {
        Some(v) if !v.is_empty() => timestamp(v, now),
        _ => Ok(String::new()),
    };
    let (since, until) = (time(&args.since)?, time(&args.until)?);
    let mut stream = client.events(&since, &until, &filters).await?;
    while let Some(e) = stream.next().await {
        let e = e?;
        super::print(&(printer.line(&e)? + "\n"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use berth_api::types::EventActor;

    use super::*;

    #[test]
    fn timestamps_as_docker_sends_them() {
        let now = DateTime::from_timestamp(10_000, 0).unwrap();
        assert_eq!(timestamp("10m", now).unwrap(), "9400");
        assert_eq!(timestamp("1700000000.5", now).unwrap(), "1700000000.5");
        assert_eq!(timestamp("1700000000", now).unwrap(), "1700000000");
        assert_eq!(
            timestamp("2023-11-14T22:13:20Z", now).unwrap(),
            "1700000000.000000000"
        );
        assert!(timestamp("soon", now).is_err());
    }

    #[test]
    fn lines_and_templates() {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_string(), "web".to_string());
        attributes.insert("image".to_string(), "busybox".to_string());
        let e = EventMessage {
            status: "start".into(),
            kind: "container".into(),
            action: "start".into(),
            actor: EventActor {
                id: "abc".into(),
                attributes,
            },
            time_nano: 1_700_000_000_123_456_789,
            ..Default::default()
        };
        let line = pretty(&e);
        assert!(
            line.ends_with(" container start abc (image=busybox, name=web)"),
            "{line}"
        );
        assert!(line.contains(".123456789"), "{line}");
        let p = Printer::new(Some("{{.Status}} {{.Actor.Attributes.name}}")).unwrap();
        assert_eq!(p.line(&e).unwrap(), "start web");
        let p = Printer::new(Some("json")).unwrap();
        assert!(p
            .line(&e)
            .unwrap()
            .starts_with(r#"{"status":"start","Type":"container""#));
        assert!(Printer::new(Some("{{.Nope")).is_err());
    }
}
