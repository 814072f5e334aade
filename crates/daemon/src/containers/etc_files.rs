//! The /etc/hostname, /etc/hosts and /etc/resolv.conf a container gets, written in its data
//! directory and bound into it, as docker does.

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

/// `extra` entries (`host:ip`, `--add-host`) after docker's standard lines.
pub fn hosts(extra: &[String]) -> EngineResult<String> {
    let mut out = LOCALHOST.to_string();
    for e in extra {
        let (name, ip) = e.split_once(':').ok_or_else(|| {
            EngineError::invalid(format!("invalid extra host {e:?}: expected host:ip"))
        })?;
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    Ok(out)
}

/// Writes the three files into `dir`.
pub fn write(
    dir: &Path,
    hostname: &str,
    extra_hosts: &[String],
    dns: &[String],
    search: &[String],
    options: &[String],
) -> EngineResult<EtcFiles> {
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
    std::fs::write(&files.hosts, hosts(extra_hosts)?).map_err(|e| io(&files.hosts, e))?;
    std::fs::write(
        &files.resolv_conf,
        resolv_conf(&host_resolv, dns, search, options),
    )
    .map_err(|e| io(&files.resolv_conf, e))?;
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
        let h = hosts(&["db:10.0.0.5".into()]).unwrap();
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.0.0.5\tdb\n"));
        assert!(hosts(&["nocolon".into()]).is_err());
    }
}
