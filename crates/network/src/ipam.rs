//! IPv4 address management for a network: its subnet (CIDR), gateway and the range
//! containers are given addresses from, with docker's checks (a gateway or a range outside
//! the subnet, overlapping subnets) and addresses handed out lowest first and reused once
//! released.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    #[error("invalid CIDR address: {0}")]
    BadCidr(String),
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    Exhausted(Subnet),
    #[error("address {addr} is not in subnet {subnet}")]
    OutsideSubnet { addr: Ipv4Addr, subnet: Subnet },
    #[error("address {0} is already in use")]
    InUse(Ipv4Addr),
    #[error(
        "invalid pool request: Pool overlaps with other one on this address space: {0} and {1}"
    )]
    Overlap(Subnet, Subnet),
}

/// An IPv4 network in CIDR form, normalised (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Subnet, IpamError> {
        if prefix > 32 {
            return Err(IpamError::BadCidr(format!("{addr}/{prefix}")));
        }
        Ok(Subnet {
            network: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        })
    }

    fn first(&self) -> u32 {
        u32::from(self.network)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix)
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & mask(self.prefix) == self.first()
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The subnet's broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.last())
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl FromStr for Subnet {
    type Err = IpamError;

    fn from_str(s: &str) -> Result<Subnet, IpamError> {
        let bad = || IpamError::BadCidr(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Subnet::new(addr, prefix).map_err(|_| bad())
    }
}

/// Written as its CIDR text (`10.200.0.0/20`) in records and API documents.
impl serde::Serialize for Subnet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Subnet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Subnet, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An address with its prefix, as `--bip` and interface addresses are written
/// (`10.88.0.1/16`): the address itself and the subnet it is in.
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, Subnet), IpamError> {
    let bad = || IpamError::BadCidr(s.to_string());
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    Ok((addr, Subnet::new(addr, prefix).map_err(|_| bad())?))
}

/// The addresses of one network: which are taken, and where new ones come from.
#[derive(Debug, Clone)]
pub struct Pool {
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// Where container addresses are taken from (`--ip-range`); the whole subnet by default.
    pub range: Subnet,
    taken: BTreeSet<Ipv4Addr>,
}

impl Pool {
    /// A pool over `subnet`, with docker's defaults: the gateway is the first address, and
    /// addresses come from the whole subnet.
    pub fn new(
        subnet: Subnet,
        gateway: Option<Ipv4Addr>,
        range: Option<Subnet>,
    ) -> Result<Pool, IpamError> {
        if subnet.prefix > 30 {
            return Err(IpamError::Exhausted(subnet));
        }
        let gateway = gateway.unwrap_or(Ipv4Addr::from(subnet.first() + 1));
        if !subnet.contains(gateway) {
            return Err(IpamError::OutsideSubnet {
                addr: gateway,
                subnet,
            });
        }
        let range = range.unwrap_or(subnet);
        if !subnet.contains(range.network) || !subnet.contains(range.broadcast()) {
            return Err(IpamError::OutsideSubnet {
                addr: range.network,
                subnet,
            });
        }
        Ok(Pool {
            subnet,
            gateway,
            range,
            taken: BTreeSet::from([gateway]),
        })
    }

    /// Takes `addr` (`--ip`), which must be in the subnet and free.
    pub fn take(&mut self, addr: Ipv4Addr) -> Result<Ipv4Addr, IpamError> {
        let usable = self.subnet.contains(addr)
            && addr != self.subnet.network
            && addr != self.subnet.broadcast();
        if !usable {
            return Err(IpamError::OutsideSubnet {
                addr,
                subnet: self.subnet,
            });
        }
        if !self.taken.insert(addr) {
            return Err(IpamError::InUse(addr));
        }
        Ok(addr)
    }

    /// The lowest free address of the range.
    pub fn allocate(&mut self) -> Result<Ipv4Addr, IpamError> {
        let first = self.range.first().max(self.subnet.first() + 1);
        let last = self.range.last().min(self.subnet.last() - 1);
        let free = (first..=last)
            .map(Ipv4Addr::from)
            .find(|a| !self.taken.contains(a))
            .ok_or(IpamError::Exhausted(self.subnet))?;
        self.taken.insert(free);
        Ok(free)
    }

    /// Gives `addr` back, to be handed out again.
    pub fn release(&mut self, addr: Ipv4Addr) {
        if addr != self.gateway {
            self.taken.remove(&addr);
        }
    }
}

/// The first of `candidates` that overlaps none of `in_use` (docker picks default pools the
/// same way, skipping subnets other networks or the host's routes already have).
pub fn free_subnet(candidates: &[Subnet], in_use: &[Subnet]) -> Option<Subnet> {
    candidates
        .iter()
        .find(|c| !in_use.iter().any(|u| u.overlaps(c)))
        .copied()
}

/// Refuses `wanted` if it overlaps a subnet already in use.
pub fn check_overlap(wanted: &Subnet, in_use: &[Subnet]) -> Result<(), IpamError> {
    match in_use.iter().find(|u| u.overlaps(wanted)) {
        Some(u) => Err(IpamError::Overlap(*wanted, *u)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Subnet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_normalises_and_refuses_garbage() {
        assert_eq!(net("10.1.2.3/24").to_string(), "10.1.2.0/24");
        assert_eq!(net("0.0.0.0/0").broadcast(), ip("255.255.255.255"));
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/24", "x/8", "10.0.0.0/-1"] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_lowest_first_reused_after_release() {
        let mut p = Pool::new(net("10.5.0.0/29"), None, None).unwrap();
        assert_eq!(p.gateway, ip("10.5.0.1"));
        let a: Vec<Ipv4Addr> = (0..5).map(|_| p.allocate().unwrap()).collect();
        assert_eq!(a.first(), Some(&ip("10.5.0.2")));
        assert_eq!(a.last(), Some(&ip("10.5.0.6")));
        assert_eq!(p.allocate(), Err(IpamError::Exhausted(net("10.5.0.0/29"))));
        p.release(ip("10.5.0.4"));
        assert_eq!(p.allocate().unwrap(), ip("10.5.0.4"));
        p.release(p.gateway);
        assert!(p.allocate().is_err(), "the gateway is never handed out");
    }

    #[test]
    fn fixed_addresses_ranges_and_gateways_are_checked() {
        let mut p = Pool::new(
            net("10.6.0.0/24"),
            Some(ip("10.6.0.254")),
            Some(net("10.6.0.128/25")),
        )
        .unwrap();
        assert_eq!(p.allocate().unwrap(), ip("10.6.0.128"));
        assert_eq!(p.take(ip("10.6.0.10")).unwrap(), ip("10.6.0.10"));
        assert_eq!(
            p.take(ip("10.6.0.10")),
            Err(IpamError::InUse(ip("10.6.0.10")))
        );
        assert!(p.take(ip("10.7.0.1")).is_err());
        assert!(
            p.take(ip("10.6.0.255")).is_err(),
            "not the broadcast address"
        );
        assert!(Pool::new(net("10.6.0.0/24"), Some(ip("10.9.0.1")), None).is_err());
        assert!(Pool::new(net("10.6.0.0/24"), None, Some(net("10.6.1.0/25"))).is_err());
    }

    #[test]
    fn overlapping_subnets_are_found() {
        let used = [net("10.1.0.0/16"), net("192.0.2.0/24")];
        assert!(check_overlap(&net("10.1.200.0/24"), &used).is_err());
        assert!(check_overlap(&net("10.0.0.0/8"), &used).is_err());
        assert!(check_overlap(&net("10.2.0.0/16"), &used).is_ok());
        let pools = [net("10.1.0.0/16"), net("10.2.0.0/16")];
        assert_eq!(free_subnet(&pools, &used), Some(net("10.2.0.0/16")));
        assert_eq!(free_subnet(&pools[..1], &used), None);
    }
}
