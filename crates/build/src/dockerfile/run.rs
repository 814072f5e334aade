//! RUN (mounts, network, security, heredocs) and HEALTHCHECK: the instructions that carry a
//! command to run.

use std::time::Duration;

use crate::instruction::{duration, Command, Healthcheck};

use super::ast::{Network, Run, Security};
use super::flags::Kind;
use super::instructions::{maybe_json, Line};
use super::mount;

pub(super) fn run(line: &Line) -> Result<Run, String> {
    let flags = line.flags(&[
        ("mount", Kind::Strings),
        ("network", Kind::Str),
        ("security", Kind::Str),
    ])?;
    let mounts = flags
        .strings("mount")
        .iter()
        .map(|m| mount::parse(m))
        .collect::<Result<Vec<_>, _>>()?;
    let network = match flags.string("network").as_deref() {
        None => None,
        Some("default") => Some(Network::Default),
        Some("none") => Some(Network::None),
        Some("host") => Some(Network::Host),
        Some(other) => return Err(format!("unsupported network mode {other:?}")),
    };
    let security = match flags.string("security").as_deref() {
        None => None,
        Some("sandbox") => Some(Security::Sandbox),
        Some("insecure") => Some(Security::Insecure),
        Some(other) => return Err(format!("unsupported security mode {other:?}")),
    };
    if line.args.is_empty() {
        return Err("RUN requires at least one argument".into());
    }
    Ok(Run {
        command: maybe_json(&line.args)?,
        heredocs: line.heredocs.to_vec(),
        mounts,
        network,
        security,
    })
}

pub(super) fn healthcheck(line: &Line) -> Result<Healthcheck, String> {
    let args = line.args.as_str();
    let (kind, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    let mut hc = Healthcheck {
        test: None,
        interval: None,
        timeout: None,
        start_period: None,
        start_interval: None,
        retries: None,
    };
    match kind.to_ascii_uppercase().as_str() {
        "" => return Err("HEALTHCHECK requires at least one argument".into()),
        // BuildKit does not look at flags given with NONE; neither do we.
        "NONE" if rest.trim().is_empty() => return Ok(hc),
        "NONE" => return Err("HEALTHCHECK NONE takes no arguments".into()),
        "CMD" => {}
        _ => return Err(format!("Unknown type {kind:?} in HEALTHCHECK (try CMD)")),
    }
    let flags = line.flags(&[
        ("interval", Kind::Str),
        ("timeout", Kind::Str),
        ("start-period", Kind::Str),
        ("start-interval", Kind::Str),
        ("retries", Kind::Str),
    ])?;
    let test = maybe_json(rest.trim())?;
    if matches!(&test, Command::Exec(v) if v.is_empty()) {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    hc.test = Some(test);
    let interval = |name: &str| -> Result<Option<Duration>, String> {
        let Some(v) = flags.string(name).filter(|v: &String| !v.is_empty()) else {
            return Ok(None);
        };
        let d = duration(&v).map_err(|e| format!("time: {e}"))?;
        if d.is_zero() {
            return Ok(None);
        }
        if d < Duration::from_millis(1) {
            return Err(format!("Interval {name:?} cannot be less than 1ms"));
        }
        Ok(Some(d))
    };
    hc.interval = interval("interval")?;
    hc.timeout = interval("timeout")?;
    hc.start_period = interval("start-period")?;
    hc.start_interval = interval("start-interval")?;
    if let Some(r) = flags.string("retries").filter(|v| !v.is_empty()) {
        let n: i32 = r
            .parse()
            .map_err(|_| format!("strconv.ParseInt: parsing {r:?}: invalid syntax"))?;
        if n < 0 {
            return Err(format!("--retries cannot be negative ({n})"));
        }
        hc.retries = Some(n.unsigned_abs());
    }
    Ok(hc)
}
