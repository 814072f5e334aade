//! IPv6 address management for a network with `--ipv6`: its subnet, gateway and range, with
//! the same rules as the IPv4 pools of [`crate::ipam`] — addresses handed out lowest first and
//! reused once released. The subnet-router anycast address (the subnet's first) is never
//! handed out; IPv6 has no broadcast address to keep back.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ipam6Error {
    #[error("invalid CIDR address: {0}")]
    BadCidr(String),
    #[error("no available IPv6 addresses on this network's address pools: {0}")]
    Exhausted(Subnet6),
    #[error("address {addr} is not in subnet {subnet}")]
    OutsideSubnet { addr: Ipv6Addr, subnet: Subnet6 },
    #[error("address {0} is already in use")]
    InUse(Ipv6Addr),
    #[error(
        "invalid pool request: Pool overlaps with other one on this address space: {0} and {1}"
    )]
    Overlap(Subnet6, Subnet6),
}

/// An IPv6 network in CIDR form, normalised (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet6 {
    pub network: Ipv6Addr,
    pub prefix: u8,
}

fn mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl Subnet6 {
    pub fn new(addr: Ipv6Addr, prefix: u8) -> Result<Subnet6, Ipam6Error> {
        if prefix > 128 {
            return Err(Ipam6Error::BadCidr(format!("{addr}/{prefix}")));
        }
        Ok(Subnet6 {
            network: Ipv6Addr::from(u128::from(addr) & mask(prefix)),
            prefix,
        })
    }

    fn first(&self) -> u128 {
        u128::from(self.network)
    }

    fn last(&self) -> u128 {
        self.first() | !mask(self.prefix)
    }

    /// The subnet's last address.
    pub fn last_address(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.last())
    }

    pub fn contains(&self, addr: Ipv6Addr) -> bool {
        u128::from(addr) & mask(self.prefix) == self.first()
    }

    pub fn overlaps(&self, other: &Subnet6) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The `index`-th subnet of length `prefix` inside this one (`fd00::/48` split in /64s).
    pub fn nth_subnet(&self, prefix: u8, index: u128) -> Option<Subnet6> {
        if prefix < self.prefix || prefix > 128 {
            return None;
        }
        let bits = u32::from(prefix - self.prefix);
        if bits < 128 && index >> bits != 0 {
            return None;
        }
        let shift = 128 - u32::from(prefix);
        let offset = if shift >= 128 { 0 } else { index << shift };
        Subnet6::new(Ipv6Addr::from(self.first() | offset), prefix).ok()
    }
}

impl FromStr for Subnet6 {
    type Err = Ipam6Error;

    fn from_str(s: &str) -> Result<Subnet6, Ipam6Error> {
        parse_cidr6(s).map(|(_, subnet)| subnet)
    }
}

impl fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl serde::Serialize for Subnet6 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Subnet6 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Subnet6, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An address with its prefix (`fd00:1::1/64`): the address itself and its subnet.
pub fn parse_cidr6(s: &str) -> Result<(Ipv6Addr, Subnet6), Ipam6Error> {
    let bad = || Ipam6Error::BadCidr(s.to_string());
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv6Addr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    Ok((addr, Subnet6::new(addr, prefix).map_err(|_| bad())?))
}

/// The IPv6 addresses of one network.
#[derive(Debug, Clone)]
pub struct Pool6 {
    pub subnet: Subnet6,
    pub gateway: Ipv6Addr,
    /// Where container addresses come from (`--ip-range` for the IPv6 subnet).
    pub range: Subnet6,
    taken: BTreeSet<Ipv6Addr>,
}

impl Pool6 {
    /// A pool over `subnet`; the gateway defaults to the subnet's first host address.
    pub fn new(
        subnet: Subnet6,
        gateway: Option<Ipv6Addr>,
        range: Option<Subnet6>,
    ) -> Result<Pool6, Ipam6Error> {
        if subnet.prefix > 126 {
            return Err(Ipam6Error::Exhausted(subnet));
        }
        let gateway = gateway.unwrap_or(Ipv6Addr::from(subnet.first() + 1));
        if !subnet.contains(gateway) {
            return Err(Ipam6Error::OutsideSubnet {
                addr: gateway,
                subnet,
            });
        }
        let range = range.unwrap_or(subnet);
        if !subnet.contains(range.network) || !subnet.contains(range.last_address()) {
            return Err(Ipam6Error::OutsideSubnet {
                addr: range.network,
                subnet,
            });
        }
        Ok(Pool6 {
            subnet,
            gateway,
            range,
            taken: BTreeSet::from([gateway]),
        })
    }

    /// Takes `addr` (`--ip6`), which must be in the subnet and free.
    pub fn take(&mut self, addr: Ipv6Addr) -> Result<Ipv6Addr, Ipam6Error> {
        if !self.subnet.contains(addr) || addr == self.subnet.network {
            return Err(Ipam6Error::OutsideSubnet {
                addr,
                subnet: self.subnet,
            });
        }
        if !self.taken.insert(addr) {
            return Err(Ipam6Error::InUse(addr));
        }
        Ok(addr)
    }

    /// The lowest free address of the range: the first gap in the taken set, found without
    /// walking the (possibly 2^64-address) range itself.
    pub fn allocate(&mut self) -> Result<Ipv6Addr, Ipam6Error> {
        let first = self.range.first().max(self.subnet.first() + 1);
        let last = self.range.last();
        let mut candidate = first;
        for taken in self.taken.range(Ipv6Addr::from(first)..) {
            let taken = u128::from(*taken);
            if taken != candidate {
                break;
            }
            if candidate == last {
                return Err(Ipam6Error::Exhausted(self.subnet));
            }
            candidate += 1;
        }
        if candidate > last {
            return Err(Ipam6Error::Exhausted(self.subnet));
        }
        let free = Ipv6Addr::from(candidate);
        self.taken.insert(free);
        Ok(free)
    }

    /// Gives `addr` back, to be handed out again.
    pub fn release(&mut self, addr: Ipv6Addr) {
        if addr != self.gateway {
            self.taken.remove(&addr);
        }
    }
}

/// The first of `candidates` that overlaps none of `in_use`.
pub fn free_subnet6(
    candidates: impl IntoIterator<Item = Subnet6>,
    in_use: &[Subnet6],
) -> Option<Subnet6> {
    candidates
        .into_iter()
        .find(|c| !in_use.iter().any(|u| u.overlaps(c)))
}

/// Refuses `wanted` if it overlaps a subnet already in use.
pub fn check_overlap6(wanted: &Subnet6, in_use: &[Subnet6]) -> Result<(), Ipam6Error> {
    match in_use.iter().find(|u| u.overlaps(wanted)) {
        Some(u) => Err(Ipam6Error::Overlap(*wanted, *u)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Subnet6 {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_normalises_and_refuses_garbage() {
        assert_eq!(net("fd00:1::5/64").to_string(), "fd00:1::/64");
        assert_eq!(net("::/0").last_address(), Ipv6Addr::from(u128::MAX));
        for bad in ["fd00::", "fd00::/129", "10.0.0.0/8", "x/64"] {
            assert!(bad.parse::<Subnet6>().is_err(), "{bad}");
        }
        let (addr, subnet) = parse_cidr6("fd00:1::1/64").unwrap();
        assert_eq!((addr, subnet), (ip("fd00:1::1"), net("fd00:1::/64")));
    }

    #[test]
    fn addresses_lowest_first_reused_after_release() {
        let mut p = Pool6::new(net("fd00:5::/64"), None, None).unwrap();
        assert_eq!(p.gateway, ip("fd00:5::1"));
        assert_eq!(p.allocate().unwrap(), ip("fd00:5::2"));
        assert_eq!(p.allocate().unwrap(), ip("fd00:5::3"));
        assert_eq!(p.take(ip("fd00:5::5")).unwrap(), ip("fd00:5::5"));
        assert_eq!(p.allocate().unwrap(), ip("fd00:5::4"));
        assert_eq!(p.allocate().unwrap(), ip("fd00:5::6"));
        p.release(ip("fd00:5::3"));
        assert_eq!(p.allocate().unwrap(), ip("fd00:5::3"));
        assert_eq!(
            p.take(ip("fd00:5::5")),
            Err(Ipam6Error::InUse(ip("fd00:5::5")))
        );
        assert!(p.take(ip("fd00:6::1")).is_err());
        assert!(p.take(ip("fd00:5::")).is_err(), "not the anycast address");
    }

    #[test]
    fn small_ranges_run_out() {
        let mut p = Pool6::new(net("fd00:7::/125"), None, Some(net("fd00:7::4/126"))).unwrap();
        let got: Vec<Ipv6Addr> = (0..4).map(|_| p.allocate().unwrap()).collect();
        assert_eq!(got.first(), Some(&ip("fd00:7::4")));
        assert_eq!(got.last(), Some(&ip("fd00:7::7")));
        assert_eq!(
            p.allocate(),
            Err(Ipam6Error::Exhausted(net("fd00:7::/125")))
        );
        assert!(Pool6::new(net("fd00:7::/64"), Some(ip("fd00:8::1")), None).is_err());
        assert!(Pool6::new(net("fd00:7::/64"), None, Some(net("fd00:8::/80"))).is_err());
    }

    #[test]
    fn subnets_split_and_overlap() {
        let base = net("fd00:be27::/48");
        assert_eq!(base.nth_subnet(64, 0), Some(net("fd00:be27::/64")));
        assert_eq!(base.nth_subnet(64, 3), Some(net("fd00:be27:0:3::/64")));
        assert_eq!(base.nth_subnet(64, 1 << 16), None);
        let used = [net("fd00:be27::/64")];
        let pick = free_subnet6((0..4).filter_map(|i| base.nth_subnet(64, i)), &used);
        assert_eq!(pick, Some(net("fd00:be27:0:1::/64")));
        assert!(check_overlap6(&net("fd00:be27::/56"), &used).is_err());
        assert!(check_overlap6(&net("fd00:be28::/64"), &used).is_ok());
    }
}
