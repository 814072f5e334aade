//! What networking needs from the host: forwarding switched on, the resolvers names are
//! forwarded to, the subnets the host already routes (never given to a network), and a
//! host-wide lock so two engines choosing subnets at once never pick the same one.

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use berth_network::ipam::Subnet;
use berth_network::ipam6::Subnet6;

use crate::error::{EngineError, EngineResult};

/// Where engines on this host take turns choosing subnets and creating bridges. Not under
/// the engine's roots: it orders every engine on the host.
const SUBNET_LOCK: &str = "/run/berth-networks.lock";

/// IPv4 forwarding on, and `route_localnet` on the bridge so published ports answer on
/// 127.0.0.1 (the DNAT-ed packets keep their loopback source until masqueraded).
pub fn enable_forwarding(bridge: &str) -> EngineResult<()> {
    let set = |r: Result<(), berth_network::sysctl::SysctlError>, what: &str| {
        r.map_err(|e| EngineError::internal(format!("setting {what}: {e}")))
    };
    if berth_network::sysctl::get("net.ipv4.ip_forward")
        .ok()
        .as_deref()
        != Some("1")
    {
        set(
            berth_network::sysctl::set("net.ipv4.ip_forward", "1"),
            "net.ipv4.ip_forward",
        )?;
    }
    set(
        berth_network::sysctl::set_iface(bridge, "route_localnet", "1"),
        "route_localnet",
    )
}

/// IPv6 forwarding on, for a network with `--ipv6` to reach beyond its bridge (as docker
/// switches it on for such networks).
pub fn enable_forwarding6() -> EngineResult<()> {
    const KEY: &str = "net.ipv6.conf.all.forwarding";
    if berth_network::sysctl::get(KEY).ok().as_deref() == Some("1") {
        return Ok(());
    }
    berth_network::sysctl::set(KEY, "1")
        .map_err(|e| EngineError::internal(format!("setting {KEY}: {e}")))
}

/// The host's nameservers, loopback ones included: the engine runs in the host's network
/// namespace, so it can reach a local resolver the containers cannot.
pub fn upstream_resolvers() -> Vec<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    berth_network::dns::upstreams_from_resolv_conf(&text)
}

/// The subnets of the host's IPv4 routes, default route excepted.
pub fn routed_subnets() -> Vec<Subnet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_routes(&text)
}

fn parse_routes(text: &str) -> Vec<Subnet> {
    let hex_addr = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| Ipv4Addr::from(v.swap_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dest = hex_addr(f.get(1)?)?;
            let mask = hex_addr(f.get(7)?)?;
            let prefix = u32::from(mask).count_ones() as u8;
            (prefix > 0)
                .then(|| Subnet::new(dest, prefix).ok())
                .flatten()
        })
        .collect()
}

/// The subnets of the host's IPv6 routes: the default route, link-local and multicast ones
/// excepted (every interface has those; no network could ever be given them).
pub fn routed_subnets6() -> Vec<Subnet6> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    parse_routes6(&text)
}

fn parse_routes6(text: &str) -> Vec<Subnet6> {
    let link_local = Subnet6 {
        network: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        prefix: 10,
    };
    let multicast = Subnet6 {
        network: Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        prefix: 8,
    };
    let mut out: Vec<Subnet6> = text
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dest = u128::from_str_radix(f.first()?, 16).ok()?;
            let prefix = u8::from_str_radix(f.get(1)?, 16).ok()?;
            let subnet = Subnet6::new(Ipv6Addr::from(dest), prefix).ok()?;
            let special = subnet.overlaps(&link_local) || subnet.overlaps(&multicast);
            (prefix > 0 && !special && f.get(9) != Some(&"lo")).then_some(subnet)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The candidates for IPv6 networks without a given subnet: /64s of the unique local prefix
/// fdb3:27e1:9c00::/48, chosen once at random for Berth, as docker's are for it.
pub fn candidate_subnets6() -> impl Iterator<Item = Subnet6> {
    let base = Subnet6 {
        network: Ipv6Addr::new(0xfdb3, 0x27e1, 0x9c00, 0, 0, 0, 0, 0),
        prefix: 48,
    };
    (0..256u128).filter_map(move |i| base.nth_subnet(64, i))
}

/// The candidates for networks without a given subnet: 10.200.0.0/13 in /20 blocks (4094
/// addresses each), away from docker's 172.17.0.0/12 and 192.168.0.0/16 and podman's
/// 10.88.0.0/16.
pub fn candidate_subnets() -> Vec<Subnet> {
    let base = u32::from(Ipv4Addr::new(10, 200, 0, 0));
    (0..128u32)
        .filter_map(|i| Subnet::new(Ipv4Addr::from(base + (i << 12)), 20).ok())
        .collect()
}

/// Held while a subnet is chosen and its bridge created.
pub struct SubnetLock(#[allow(dead_code)] File);

pub fn lock_subnets() -> EngineResult<SubnetLock> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(SUBNET_LOCK)
        .map_err(|e| EngineError::internal(format!("opening {SUBNET_LOCK}: {e}")))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| EngineError::internal(format!("locking {SUBNET_LOCK}: {e}")))?;
    Ok(SubnetLock(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_read_from_proc() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
            docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let routes = parse_routes(text);
        assert_eq!(
            routes,
            vec![
                "192.168.2.0/24".parse().unwrap(),
                "172.17.0.0/16".parse().unwrap()
            ]
        );
    }

    #[test]
    fn ipv6_routes_are_read_from_proc() {
        let text = "\
fdb327e19c0000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 br-1\n\
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n\
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001 lo\n\
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001 eth0\n";
        assert_eq!(
            parse_routes6(text),
            vec!["fdb3:27e1:9c00::/64".parse().unwrap()]
        );
        let first = candidate_subnets6().next().unwrap();
        assert_eq!(first.to_string(), "fdb3:27e1:9c00::/64");
        assert_eq!(candidate_subnets6().count(), 256);
    }

    #[test]
    fn candidates_avoid_docker_and_podman() {
        let c = candidate_subnets();
        assert_eq!(c.len(), 128);
        assert_eq!(c[0].to_string(), "10.200.0.0/20");
        assert_eq!(c[127].to_string(), "10.207.240.0/20");
        let docker: Subnet = "172.16.0.0/12".parse().unwrap();
        let podman: Subnet = "10.88.0.0/16".parse().unwrap();
        assert!(c
            .iter()
            .all(|s| !s.overlaps(&docker) && !s.overlaps(&podman)));
    }
}
