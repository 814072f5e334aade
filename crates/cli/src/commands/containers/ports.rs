//! `-p/--publish` and `--expose`, parsed as docker's CLI parses them (go-connections'
//! `nat.ParsePortSpecs`, the long `target=…,published=…` form, and `--expose` ranges), with
//! the same results and the same error messages, so a script sees what docker would show.
//!
//! The forms of a publish spec: `containerPort`, `hostPort:containerPort`,
//! `ip:hostPort:containerPort`, `ip::containerPort`, where ports may be ranges (`8000-8010`),
//! the container port may end in `/tcp`, `/udp` or `/sctp`, and an IPv6 host address is
//! written in brackets (`[::1]:80:80`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_api::types::PortBinding;
use serde_json::Value;

/// Why a port number or range was refused: Go's `strconv.ParseUint` and `nat.ParsePortRange`
/// messages, which docker shows inside its `--expose` error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("Empty string specified for ports.")]
    Empty,
    #[error("strconv.ParseUint: parsing {0:?}: invalid syntax")]
    Syntax(String),
    #[error("strconv.ParseUint: parsing {0:?}: value out of range")]
    OutOfRange(String),
    #[error("Invalid range specified for the Port: {0}")]
    Reversed(String),
}

/// A refused `-p` or `--expose` value, worded as docker words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortSpecError {
    /// The host address part is not `addr` or `[addr]` (Go's `net.SplitHostPort` refused it).
    #[error("Invalid ip address {raw}: address {raw}:: {reason}")]
    IpSyntax { raw: String, reason: &'static str },
    #[error("Invalid ip address: {0}")]
    Ip(String),
    #[error("No port specified: {0}<empty>")]
    NoPort(String),
    #[error("Invalid containerPort: {0}")]
    ContainerPort(String),
    #[error("Invalid hostPort: {0}")]
    HostPort(String),
    #[error("Invalid ranges specified for container and host Ports: {container} and {host}")]
    Ranges { container: String, host: String },
    #[error("Invalid proto: {0}")]
    Proto(String),
    /// A `name=value` publish spec with a part that has no `=`.
    #[error("invalid publish opts format (should be name=value but got '{0}')")]
    LongForm(String),
    #[error("invalid port format for --expose: {0}")]
    ExposeFormat(String),
    #[error("invalid range format for --expose: {spec}, error: {reason}")]
    ExposeRange { spec: String, reason: RangeError },
}

/// What the port flags give a create request: `Config.ExposedPorts` and
/// `HostConfig.PortBindings`, keyed `"80/tcp"`, in docker's shapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ports {
    pub exposed: BTreeMap<String, Value>,
    pub bindings: BTreeMap<String, Vec<PortBinding>>,
}

/// Go's `strconv.ParseUint(s, 10, 16)`: digits only; a value past 65535 is out of range as
/// soon as it is seen, even if a bad character follows.
fn parse_u16(s: &str) -> Result<u16, RangeError> {
    if s.is_empty() {
        return Err(RangeError::Syntax(s.to_string()));
    }
    let mut n: u32 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(RangeError::Syntax(s.to_string()));
        }
        n = n * 10 + u32::from(b - b'0');
        if n > u32::from(u16::MAX) {
            return Err(RangeError::OutOfRange(s.to_string()));
        }
    }
    u16::try_from(n).map_err(|_| RangeError::OutOfRange(s.to_string()))
}

/// `nat.ParsePortRange`: `80` or `8000-8010` (anything after a second `-` is ignored, as
/// docker ignores it).
pub fn parse_port_range(ports: &str) -> Result<(u16, u16), RangeError> {
    if ports.is_empty() {
        return Err(RangeError::Empty);
    }
    let mut parts = ports.split('-');
    let (Some(first), Some(second)) = (parts.next(), parts.next()) else {
        let p = parse_u16(ports)?;
        return Ok((p, p));
    };
    let start = parse_u16(first)?;
    let end = parse_u16(second)?;
    if end < start {
        return Err(RangeError::Reversed(ports.to_string()));
    }
    Ok((start, end))
}

/// `nat.SplitProtoPort`: `80/udp` is ("udp", "80"); no protocol is tcp.
pub fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or("");
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => ("tcp", port),
        Some(proto) => (proto, port),
    }
}

/// `ip:host:container`, where the address may itself hold colons (all but the last two
/// parts).
fn split_parts(raw: &str) -> (String, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    }
}

/// The host of Go's `net.SplitHostPort(raw + ":")`: strips the brackets of an IPv6 address
/// and refuses what Go refuses, with Go's reason.
fn strip_brackets(raw: &str) -> Result<&str, &'static str> {
    if let Some(rest) = raw.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err("missing ']' in address");
        };
        let host = &rest[..end];
        let after = &rest[end + 1..];
        if !after.is_empty() {
            // `]` is not followed by the last colon (the one appended).
            return Err(if after.starts_with(':') {
                "too many colons in address"
            } else {
                "missing port in address"
            });
        }
        if host.contains('[') {
            return Err("unexpected '[' in address");
        }
        return Ok(host);
    }
    if raw.contains(':') {
        return Err("too many colons in address");
    }
    if raw.contains('[') {
        return Err("unexpected '[' in address");
    }
    if raw.contains(']') {
        return Err("unexpected ']' in address");
    }
    Ok(raw)
}

fn valid_proto(proto: &str) -> bool {
    matches!(proto, "tcp" | "udp" | "sctp")
}

/// `nat.ParsePortSpec`: one spec, as (`"80/tcp"`, binding) pairs, one per container port.
pub fn parse_port_spec(raw: &str) -> Result<Vec<(String, PortBinding)>, PortSpecError> {
    let (raw_ip, host_port, container) = split_parts(raw);
    let (proto, container) = split_proto_port(container);
    let ip = strip_brackets(&raw_ip).map_err(|reason| PortSpecError::IpSyntax {
        raw: raw_ip.clone(),
        reason,
    })?;
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(PortSpecError::Ip(ip.to_string()));
    }
    if container.is_empty() {
        return Err(PortSpecError::NoPort(raw.to_string()));
    }
    let (start, end) = parse_port_range(container)
        .map_err(|_| PortSpecError::ContainerPort(container.to_string()))?;
    let (host_start, host_end) = if host_port.is_empty() {
        (0, 0)
    } else {
        parse_port_range(host_port).map_err(|_| PortSpecError::HostPort(host_port.to_string()))?
    };
    // A host range with a single container port is the range to pick one host port from.
    if !host_port.is_empty() && end - start != host_end - host_start && end != start {
        return Err(PortSpecError::Ranges {
            container: container.to_string(),
            host: host_port.to_string(),
        });
    }
    let proto_lower = proto.to_ascii_lowercase();
    if !valid_proto(&proto_lower) {
        return Err(PortSpecError::Proto(proto.to_string()));
    }
    let mut out = Vec::new();
    for i in 0..=u32::from(end - start) {
        let mut host = if host_port.is_empty() {
            String::new()
        } else {
            (u32::from(host_start) + i).to_string()
        };
        if start == end && host_start != host_end {
            host = format!("{host}-{host_end}");
        }
        out.push((
            format!("{}/{proto_lower}", u32::from(start) + i),
            PortBinding {
                host_ip: ip.to_string(),
                host_port: host,
            },
        ));
    }
    Ok(out)
}

/// docker's `convertToStandardNotation`: `target=80,published=8080,protocol=udp` becomes
/// `8080:80/udp` (other keys, such as `mode`, are ignored); other specs are kept.
pub fn standard_notation(spec: &str) -> Result<String, PortSpecError> {
    if !spec.contains('=') {
        return Ok(spec.to_string());
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::from([("protocol", "tcp")]);
    for param in spec.split(',') {
        let mut opt = param.split('=');
        match (opt.next(), opt.next()) {
            (Some(k), Some(v)) => {
                params.insert(k, v);
            }
            _ => return Err(PortSpecError::LongForm(param.to_string())),
        }
    }
    let get = |k: &str| params.get(k).copied().unwrap_or("");
    Ok(format!(
        "{}:{}/{}",
        get("published"),
        get("target"),
        get("protocol")
    ))
}

/// `-p` and `--expose` together, as docker's `parse` merges them: each published container
/// port is exposed and gets its bindings (in the order given), then every exposed port or
/// range is added. `--expose` keeps its protocol as typed, as docker does.
pub fn parse(publish: &[String], expose: &[String]) -> Result<Ports, PortSpecError> {
    let mut ports = Ports::default();
    for spec in publish {
        for (port, binding) in parse_port_spec(&standard_notation(spec)?)? {
            ports
                .exposed
                .entry(port.clone())
                .or_insert_with(|| Value::Object(Default::default()));
            ports.bindings.entry(port).or_default().push(binding);
        }
    }
    for e in expose {
        if e.contains(':') {
            return Err(PortSpecError::ExposeFormat(e.clone()));
        }
        let (proto, port) = split_proto_port(e);
        let (start, end) = parse_port_range(port).map_err(|reason| PortSpecError::ExposeRange {
            spec: e.clone(),
            reason,
        })?;
        for p in start..=end {
            ports
                .exposed
                .entry(format!("{p}/{proto}"))
                .or_insert_with(|| Value::Object(Default::default()));
        }
    }
    Ok(ports)
}

#[cfg(test)]
#[path = "ports_tests.rs"]
mod tests;
