//! Published ports: a container's `PortBindings` (and, with `-P`, its exposed ports) turned
//! into concrete host ports — a free one for an empty or ranged host port — checked against
//! the ports other containers publish and against sockets already bound on the host, as
//! docker's proxy would find them taken.

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use berth_api::types::PortBinding;
use berth_network::firewall::Proto;
use berth_network::host_ports::HostPorts;

use crate::error::{EngineError, EngineResult};

pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// One host port forwarded to a container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub proto: Proto,
    /// None: every local address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
}

/// What other containers already publish: (protocol, address, port).
pub type Taken = HashSet<(Proto, Option<Ipv4Addr>, u16)>;

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    }
}

/// `80/tcp`, `53/udp` or `80` (tcp) → (port, protocol).
pub fn parse_key(key: &str) -> EngineResult<(u16, Proto)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "sctp" => {
            return Err(EngineError::invalid(format!(
                "cannot publish {key}: SCTP ports are not supported"
            )))
        }
        other => return Err(EngineError::invalid(format!("invalid proto: {other}"))),
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| EngineError::invalid(format!("invalid containerPort: {port}")))?;
    Ok((port, proto))
}

/// A host port spec: empty (any free port), `8080`, or a range `8000-8010`.
fn parse_host_ports(spec: &str) -> EngineResult<Option<(u16, u16)>> {
    if spec.is_empty() {
        return Ok(None);
    }
    let bad = || EngineError::invalid(format!("invalid hostPort: {spec}"));
    let (a, b) = spec.split_once('-').unwrap_or((spec, spec));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if a == 0 && b == 0 {
        return Ok(None);
    }
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

fn parse_host_ip(ip: &str) -> EngineResult<Option<Ipv4Addr>> {
    match ip {
        "" | "0.0.0.0" => Ok(None),
        "::" | "[::]" => Ok(None),
        other => other.parse().map(Some).map_err(|_| {
            EngineError::invalid(format!(
                "cannot publish on {other}: an IPv4 host address is needed"
            ))
        }),
    }
}

fn conflicts(taken: &Taken, proto: Proto, ip: Option<Ipv4Addr>, port: u16) -> bool {
    taken
        .iter()
        .any(|(p, i, n)| *p == proto && *n == port && (i.is_none() || ip.is_none() || *i == ip))
}

/// Which protocols `requested` names fixed host ports for: the ones whose host sockets a
/// start reads (random ports are the kernel's pick, free by construction).
pub fn fixed_protocols(requested: &PortMap) -> (bool, bool) {
    let (mut tcp, mut udp) = (false, false);
    for (key, bindings) in requested {
        let Ok((_, proto)) = parse_key(key) else {
            continue;
        };
        let fixed = bindings
            .iter()
            .flatten()
            .any(|b| matches!(parse_host_ports(&b.host_port), Ok(Some(_))));
        match proto {
            Proto::Tcp => tcp |= fixed,
            Proto::Udp => udp |= fixed,
        }
    }
    (tcp, udp)
}

/// Whether the host has a socket on that port already (docker's proxy would fail to bind):
/// a bind is tried and undone. The socket is bound only, not listened on, with the address
/// reuse a listener would set (a port only in TIME_WAIT is free).
fn host_free(proto: Proto, ip: Option<Ipv4Addr>, port: u16) -> bool {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let addr = SocketAddrV4::new(ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
    let kind = match proto {
        Proto::Tcp => SocketType::STREAM,
        Proto::Udp => SocketType::DGRAM,
    };
    let Ok(sock) = rustix::net::socket_with(AddressFamily::INET, kind, SocketFlags::CLOEXEC, None)
    else {
        // No socket to try with: let the start go on; a taken port shows up at connect.
        return true;
    };
    if proto == Proto::Tcp {
        let _ = rustix::net::sockopt::set_socket_reuseaddr(&sock, true);
    }
    rustix::net::bind(&sock, &std::net::SocketAddr::V4(addr)).is_ok()
}

/// A free port the kernel picks from its ephemeral range, not published by anyone else.
fn random_port(proto: Proto, ip: Option<Ipv4Addr>, taken: &Taken) -> Option<u16> {
    let addr = SocketAddrV4::new(ip.unwrap_or(Ipv4Addr::UNSPECIFIED), 0);
    for _ in 0..32 {
        let port = match proto {
            Proto::Tcp => TcpListener::bind(addr).ok()?.local_addr().ok()?.port(),
            Proto::Udp => UdpSocket::bind(addr).ok()?.local_addr().ok()?.port(),
        };
        if !conflicts(taken, proto, ip, port) {
            return Some(port);
        }
    }
    None
}

fn display_ip(ip: Option<Ipv4Addr>) -> String {
    ip.map(|i| i.to_string())
        .unwrap_or_else(|| "0.0.0.0".into())
}

/// Resolves what a container asks to publish. `endpoint` names it in errors, as docker's do.
pub fn resolve(
    endpoint: &str,
    requested: &PortMap,
    exposed: &[String],
    publish_all: bool,
    taken: &Taken,
    host: &HostPorts,
) -> EngineResult<(PortMap, Vec<Publish>)> {
    let mut wanted: PortMap = requested.clone();
    if publish_all {
        for key in exposed {
            let entry = wanted.entry(key.clone()).or_insert(None);
            if entry.as_ref().is_none_or(|v| v.is_empty()) {
                *entry = Some(vec![PortBinding::default()]);
            }
        }
    }
    let mut taken = taken.clone();
    let mut out = PortMap::new();
    let mut publishes = Vec::new();
    for (key, bindings) in &wanted {
        let (container_port, proto) = parse_key(key)?;
        let canonical = format!("{container_port}/{}", proto_name(proto));
        let mut resolved = Vec::new();
        for b in bindings.iter().flatten() {
            let ip = parse_host_ip(&b.host_ip)?;
            let port = match parse_host_ports(&b.host_port)? {
                None => random_port(proto, ip, &taken).ok_or_else(|| {
                    EngineError::internal(format!(
                        "driver failed programming external connectivity on endpoint {endpoint}: no free host port for {canonical}"
                    ))
                })?,
                Some((first, last)) => {
                    let free = (first..=last).find(|p| {
                        !conflicts(&taken, proto, ip, *p)
                            && (!host.may_hold(proto, *p) || host_free(proto, ip, *p))
                    });
                    match free {
                        Some(p) => p,
                        None if first == last && conflicts(&taken, proto, ip, first) => {
                            return Err(EngineError::internal(format!(
                                "driver failed programming external connectivity on endpoint {endpoint}: Bind for {}:{first} failed: port is already allocated",
                                display_ip(ip)
                            )))
                        }
                        None if first == last => {
                            return Err(EngineError::internal(format!(
                                "driver failed programming external connectivity on endpoint {endpoint}: Error starting userland proxy: listen {}4 {}:{first}: bind: address already in use",
                                proto_name(proto),
                                display_ip(ip)
                            )))
                        }
                        None => {
                            return Err(EngineError::internal(format!(
                                "driver failed programming external connectivity on endpoint {endpoint}: all ports from {first} to {last} are already allocated"
                            )))
                        }
                    }
                }
            };
            taken.insert((proto, ip, port));
            resolved.push(PortBinding {
                host_ip: display_ip(ip),
                host_port: port.to_string(),
            });
            publishes.push(Publish {
                proto,
                host_ip: ip,
                host_port: port,
                container_port,
            });
        }
        out.insert(canonical, (!resolved.is_empty()).then_some(resolved));
    }
    for key in exposed {
        if let Ok((port, proto)) = parse_key(key) {
            out.entry(format!("{port}/{}", proto_name(proto)))
                .or_insert(None);
        }
    }
    Ok((out, publishes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str, &str)]) -> PortMap {
        let mut m = PortMap::new();
        for (key, ip, port) in entries {
            m.entry(key.to_string())
                .or_insert_with(|| Some(Vec::new()))
                .as_mut()
                .unwrap()
                .push(PortBinding {
                    host_ip: ip.to_string(),
                    host_port: port.to_string(),
                });
        }
        m
    }

    /// The host's TCP and UDP sockets, as a start reads them.
    fn read_host() -> HostPorts {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(HostPorts::read(true, true))
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn fixed_host_ports_name_the_protocols_to_read() {
        let req = map(&[("80/tcp", "", "8080"), ("53/udp", "", "")]);
        assert_eq!(fixed_protocols(&req), (true, false));
        let req = map(&[("80/tcp", "", "0"), ("53/udp", "", "5300-5310")]);
        assert_eq!(fixed_protocols(&req), (false, true));
        assert_eq!(fixed_protocols(&PortMap::new()), (false, false));
    }

    #[test]
    fn keys() {
        assert_eq!(parse_key("80/tcp").unwrap(), (80, Proto::Tcp));
        assert_eq!(parse_key("53/udp").unwrap(), (53, Proto::Udp));
        assert_eq!(parse_key("8080").unwrap(), (8080, Proto::Tcp));
        assert!(parse_key("80/sctp").unwrap_err().message.contains("SCTP"));
        assert_eq!(
            parse_key("x/tcp").unwrap_err().message,
            "invalid containerPort: x"
        );
        assert_eq!(
            parse_key("80/icmp").unwrap_err().message,
            "invalid proto: icmp"
        );
    }

    #[test]
    fn fixed_random_and_exposed_ports() {
        let p = free_port();
        let req = map(&[("80/tcp", "", &p.to_string()), ("53/udp", "127.0.0.1", "")]);
        let exposed = vec!["80/tcp".to_string(), "9000/tcp".to_string()];
        let (out, pubs) = resolve(
            "web",
            &req,
            &exposed,
            false,
            &Taken::new(),
            &HostPorts::unknown(),
        )
        .unwrap();
        assert_eq!(out["80/tcp"].as_ref().unwrap()[0].host_port, p.to_string());
        assert_eq!(out["80/tcp"].as_ref().unwrap()[0].host_ip, "0.0.0.0");
        let udp = &out["53/udp"].as_ref().unwrap()[0];
        assert_eq!(udp.host_ip, "127.0.0.1");
        assert!(udp.host_port.parse::<u16>().unwrap() > 0);
        assert_eq!(out["9000/tcp"], None);
        assert_eq!(pubs.len(), 2);

        let (all, pubs) = resolve(
            "web",
            &PortMap::new(),
            &exposed,
            true,
            &Taken::new(),
            &HostPorts::unknown(),
        )
        .unwrap();
        assert!(all["9000/tcp"].is_some() && all["80/tcp"].is_some());
        assert_eq!(pubs.len(), 2);
    }

    #[test]
    fn taken_ports_are_refused() {
        let p = free_port();
        let taken = Taken::from([(Proto::Tcp, None, p)]);
        let err = resolve(
            "web",
            &map(&[("80/tcp", "", &p.to_string())]),
            &[],
            false,
            &taken,
            &HostPorts::unknown(),
        )
        .unwrap_err();
        assert!(
            err.message.contains("port is already allocated"),
            "{}",
            err.message
        );
        // The same port over UDP is another port.
        assert!(resolve(
            "web",
            &map(&[("80/udp", "", &p.to_string())]),
            &[],
            false,
            &taken,
            &HostPorts::unknown(),
        )
        .is_ok());

        // A host socket is found whether each port is tried or the host's sockets are read.
        let busy = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = busy.local_addr().unwrap().port().to_string();
        for host in [HostPorts::unknown(), read_host()] {
            let err = resolve(
                "web",
                &map(&[("80/tcp", "", &port)]),
                &[],
                false,
                &Taken::new(),
                &host,
            )
            .unwrap_err();
            assert!(
                err.message.contains("address already in use"),
                "{}",
                err.message
            );
        }
        // One on another address holds the port for that address only.
        let local = TcpListener::bind("127.0.0.2:0").unwrap();
        let port = local.local_addr().unwrap().port().to_string();
        let on = |ip: &str| {
            resolve(
                "web",
                &map(&[("80/tcp", ip, &port)]),
                &[],
                false,
                &Taken::new(),
                &read_host(),
            )
        };
        assert!(on("127.0.0.3").is_ok());
        assert!(on("127.0.0.2").is_err());
        assert!(on("").is_err());
    }

    #[test]
    fn ranges_take_the_first_free_port() {
        let busy = TcpListener::bind("0.0.0.0:0").unwrap();
        let first = busy.local_addr().unwrap().port();
        let range = format!("{first}-{}", first + 5);
        let (out, _) = resolve(
            "web",
            &map(&[("80/tcp", "", &range)]),
            &[],
            false,
            &Taken::new(),
            &read_host(),
        )
        .unwrap();
        let got: u16 = out["80/tcp"].as_ref().unwrap()[0]
            .host_port
            .parse()
            .unwrap();
        assert!(got > first && got <= first + 5);
        assert!(resolve(
            "w",
            &map(&[("80/tcp", "", "9-3")]),
            &[],
            false,
            &Taken::new(),
            &HostPorts::unknown(),
        )
        .is_err());
        assert!(resolve(
            "w",
            &map(&[("80/tcp", "::1", "")]),
            &[],
            false,
            &Taken::new(),
            &HostPorts::unknown(),
        )
        .is_err());
    }
}
