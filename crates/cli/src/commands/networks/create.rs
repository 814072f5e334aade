//! `network create`: the flags into docker's create body, with docker 20.10's pairing of
//! `--subnet`, `--ip-range`, `--gateway` and `--aux-address` into IPAM pools (each range,
//! gateway and auxiliary address goes to the subnet that contains it) and its refusals.

use std::net::IpAddr;

use berth_api::client::NetworkCreateOptions;
use berth_api::types::{Ipam, IpamConfig, NetworkCreateRequest};
use berth_api::Client;

use super::flags::{kv_map, string_slice};
use crate::app::NetworkCreateArgs;
use crate::error::{CliError, CliResult};

/// Go's `net.ParseIP`, with an IPv4-mapped IPv6 address read as the IPv4 one (as Go's
/// `To4` makes it for containment).
fn parse_ip(s: &str) -> Option<IpAddr> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

/// Go's `net.ParseCIDR`: the address as written and the prefix length.
fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let err = || format!("invalid CIDR address: {s}");
    let (addr, len) = s.split_once('/').ok_or_else(err)?;
    let written: IpAddr = addr.parse().map_err(|_| err())?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let bits = if written.is_ipv4() { 32 } else { 128 };
    let len = len
        .parse::<u32>()
        .ok()
        .filter(|l| *l <= bits)
        .and_then(|l| u8::try_from(l).ok())
        .ok_or_else(err)?;
    // Go keeps an IPv4-mapped network as an IPv4 one with the low 32 bits of its mask.
    Ok(match parse_ip(addr) {
        Some(ip @ IpAddr::V4(_)) if written.is_ipv6() => (ip, len.saturating_sub(96)),
        _ => (written, len),
    })
}

fn contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let mask = |bits: u32, width: u32| -> u128 {
        if bits == 0 {
            0
        } else {
            (u128::MAX << (width - bits)) & (u128::MAX >> (128 - width))
        }
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let m = mask(u32::from(prefix), 32);
            u128::from(u32::from(n)) & m == u128::from(u32::from(i)) & m
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let m = mask(u32::from(prefix), 128);
            u128::from(n) & m == u128::from(i) & m
        }
        _ => false,
    }
}

/// docker's `subnetMatches`: whether `data` (an address, or the address of a CIDR) lies in
/// `subnet`. A `data` that is not an address matches nothing.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let (net, prefix) = parse_cidr(subnet).map_err(|e| format!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') {
        let (addr, _) = data.split_once('/').unwrap_or((data, ""));
        parse_cidr(data)?;
        parse_ip(addr)
    } else {
        parse_ip(data)
    };
    Ok(ip.is_some_and(|ip| contains(net, prefix, ip)))
}

/// docker's `consolidateIpam`: one pool per subnet, in the order given, with the ranges,
/// gateways and auxiliary addresses that belong to it.
pub fn consolidate_ipam(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &[(String, String)],
) -> Result<Vec<IpamConfig>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    let mut pools: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for k in &pools {
            if subnet_matches(s, &k.subnet)? || subnet_matches(&k.subnet, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
        pools.push(IpamConfig {
            subnet: s.clone(),
            ..Default::default()
        });
    }
    for r in ranges {
        let mut matched = false;
        for pool in &mut pools {
            if !subnet_matches(&pool.subnet, r)? {
                continue;
            }
            if !pool.ip_range.is_empty() {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    pool.ip_range, pool.subnet
                ));
            }
            pool.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in gateways {
        let mut matched = false;
        for pool in &mut pools {
            if !subnet_matches(&pool.subnet, g)? {
                continue;
            }
            if !pool.gateway.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    pool.gateway, pool.subnet
                ));
            }
            pool.gateway = g.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    for (key, addr) in aux {
        let mut matched = false;
        for pool in &mut pools {
            if subnet_matches(&pool.subnet, addr)? {
                pool.aux_addresses.insert(key.clone(), addr.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {addr}"));
        }
    }
    Ok(pools)
}

/// The body docker's `network create` sends for these flags.
pub fn request(
    args: &NetworkCreateArgs,
) -> CliResult<(NetworkCreateRequest, NetworkCreateOptions)> {
    let subnets = string_slice("--subnet", &args.subnet)?;
    let ranges = string_slice("--ip-range", &args.ip_range)?;
    let gateways = string_slice("--gateway", &args.gateway)?;
    let aux: Vec<(String, String)> = kv_map(&args.aux_address).into_iter().collect();
    let config = consolidate_ipam(&subnets, &ranges, &gateways, &aux).map_err(CliError::general)?;
    let req = NetworkCreateRequest {
        name: args.name.clone(),
        check_duplicate: true,
        driver: args.driver.clone(),
        internal: args.internal,
        attachable: args.attachable,
        ingress: args.ingress,
        ipam: Some(Ipam {
            driver: args.ipam_driver.clone(),
            config,
            options: kv_map(&args.ipam_opt),
        }),
        enable_ipv6: args.ipv6,
        options: kv_map(&args.opt),
        labels: kv_map(&args.label),
    };
    let opts = NetworkCreateOptions {
        scope: args.scope.clone().unwrap_or_default(),
        config_only: args.config_only,
        config_from: args.config_from.clone().unwrap_or_default(),
    };
    Ok((req, opts))
}

/// Creates the network and prints its ID, as docker does.
pub async fn create(client: &Client, args: NetworkCreateArgs) -> CliResult {
    let (req, opts) = request(&args)?;
    let resp = client.network_create(&req, &opts).await?;
    super::super::print(&format!("{}\n", resp.id))
}

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
