//! The /etc/hostname, /etc/hosts and /etc/resolv.conf a container gets, written in its data
//! directory and bound into it, as docker does.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::error::{EngineError, EngineResult};

pub struct EtcFiles {
    pub hostname: PathBuf,
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
}

const LOCALHOST: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Docker's fallback when the host has no usable nameserver.
const FALLBACK_DNS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// The host's resolv.conf with loopback nameservers dropped (they mean nothing inside the
/// container's network namespace), and `dns`, `search` and `options` overriding, as docker.
pub fn resolv_conf(host: &str, dns: &[String], search: &[String], options: &[String]) -> String {
    let mut nameservers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut opts: Vec<String> = Vec::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ns) = words.next() {
                    let loopback =
                        ns.starts_with("127.") || ns == "::1" || ns.starts_with("0:0:0:0:0:0:0:1");
                    if !loopback {
                        nameservers.push(ns.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => searches = words.map(str::to_string).collect(),
            Some("options") => opts = words.map(str::to_string).collect(),
            _ => {}
        }
    }
    if !dns.is_empty() {
        nameservers = dns.to_vec();
    }
    if nameservers.is_empty() {
        nameservers = FALLBACK_DNS.iter().map(|s| s.to_string()).collect();
    }
    if !search.is_empty() {
        searches = search
            .iter()
            .filter(|s| s.as_str() != ".")
            .cloned()
            .collect();
    }
    if !options.is_empty() {
        opts = options.to_vec();
    }
    let mut out = String::new();
    for ns in &nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    if !opts.is_empty() {
        out.push_str(&format!("options {}\n", opts.join(" ")));
    }
    out
}

/// `extra` entries (`host:ip`, `--add-host`; `host-gateway` is the default bridge's
/// gateway) after docker's standard lines, then the container's own addresses.
pub fn hosts(
    extra: &[String],
    host_gateway: Option<Ipv4Addr>,
    own: &[IpAddr],
    hostname: &str,
) -> EngineResult<String> {
    let mut out = LOCALHOST.to_string();
    for e in extra {
        let (name, ip) = e.split_once(':').ok_or_else(|| {
            EngineError::invalid(format!("invalid extra host {e:?}: expected host:ip"))
        })?;
        if ip == "host-gateway" {
            let gw = host_gateway.ok_or_else(|| {
                EngineError::invalid("unable to derive the IP value for host-gateway")
            })?;
            out.push_str(&format!("{gw}\t{name}\n"));
        } else {
            out.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    for ip in own {
        out.push_str(&format!("{ip}\t{hostname}\n"));
    }
    Ok(out)
}

/// What the three files are made from.
pub struct EtcInput<'a> {
    pub hostname: &'a str,
    pub extra_hosts: &'a [String],
    pub dns: &'a [String],
    pub search: &'a [String],
    pub options: &'a [String],
    /// The container's own addresses, listed under its hostname.
    pub own: Vec<IpAddr>,
    /// The engine's DNS server for the container's user network, which then replaces the
    /// host's nameservers (unless `--dns` names others).
    pub nameserver: Option<Ipv4Addr>,
    pub host_gateway: Option<Ipv4Addr>,
}

/// Writes the three files into `dir`.
pub fn write(dir: &Path, input: &EtcInput<'_>) -> EngineResult<EtcFiles> {
    let EtcInput {
        hostname,
        extra_hosts,
        dns,
        search,
        options,
        ..
    } = *input;
    let files = EtcFiles {
        hostname: dir.join("hostname"),
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
    };
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let io = |p: &Path, e: std::io::Error| {
        EngineError::internal(format!("writing {}: {e}", p.display()))
    };
    std::fs::write(&files.hostname, format!("{hostname}\n")).map_err(|e| io(&files.hostname, e))?;
    std::fs::write(
        &files.hosts,
        hosts(extra_hosts, input.host_gateway, &input.own, hostname)?,
    )
    .map_err(|e| io(&files.hosts, e))?;
    let resolv = match input.nameserver {
        Some(ns) if dns.is_empty() => {
            // As docker's embedded DNS: the engine's server, which forwards what it does not
            // know to the host's resolvers.
            let mut options = options.to_vec();
            if options.is_empty() {
                options.push("ndots:0".into());
            }
            resolv_conf(&host_resolv, &[ns.to_string()], search, &options)
        }
        _ => resolv_conf(&host_resolv, dns, search, options),
    };
    std::fs::write(&files.resolv_conf, resolv).map_err(|e| io(&files.resolv_conf, e))?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n";
        assert_eq!(
            resolv_conf(host, &[], &[], &[]),
            "nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf("nameserver 127.0.0.1\n", &[], &[], &[]),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(
            resolv_conf(
                host,
                &["1.1.1.1".into()],
                &["a.b".into()],
                &["ndots:2".into()]
            ),
            "nameserver 1.1.1.1\nsearch a.b\noptions ndots:2\n"
        );
    }

    #[test]
    fn extra_hosts_are_appended() {
        let h = hosts(&["db:10.0.0.5".into()], None, &[], "c1").unwrap();
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.0.0.5\tdb\n"));
        assert!(hosts(&["nocolon".into()], None, &[], "c1").is_err());
        let gw = Ipv4Addr::new(10, 200, 0, 1);
        let own = [IpAddr::V4(Ipv4Addr::new(10, 200, 0, 2))];
        let h = hosts(
            &["host.docker.internal:host-gateway".into()],
            Some(gw),
            &own,
            "c1",
        )
        .unwrap();
        assert!(
            h.ends_with("10.200.0.1\thost.docker.internal\n10.200.0.2\tc1\n"),
            "{h}"
        );
        assert!(hosts(&["x:host-gateway".into()], None, &[], "c1").is_err());
    }
}
