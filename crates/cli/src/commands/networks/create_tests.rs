//! `network create`'s body and IPAM pairing, checked against what docker 20.10's CLI sends
//! and prints for the same flags.

use serde_json::json;

use super::*;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn args(name: &str) -> NetworkCreateArgs {
    NetworkCreateArgs {
        name: name.into(),
        driver: "bridge".into(),
        ipam_driver: "default".into(),
        ..Default::default()
    }
}

fn ipam_err(subnets: &[&str], ranges: &[&str], gateways: &[&str], aux: &[(&str, &str)]) -> String {
    let aux: Vec<(String, String)> = aux
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    consolidate_ipam(
        &strings(subnets),
        &strings(ranges),
        &strings(gateways),
        &aux,
    )
    .unwrap_err()
}

#[test]
fn plain_create_body() {
    let (req, opts) = request(&args("n2")).unwrap();
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["Name"], "n2");
    assert_eq!(v["CheckDuplicate"], true);
    assert_eq!(v["Driver"], "bridge");
    assert_eq!(
        v["IPAM"],
        json!({"Driver": "default", "Config": [], "Options": {}})
    );
    assert_eq!(v["Options"], json!({}));
    assert_eq!(v["Labels"], json!({}));
    assert_eq!(v["EnableIPv6"], false);
    assert_eq!(opts, NetworkCreateOptions::default());
}

#[test]
fn every_flag_lands_where_docker_puts_it() {
    let a = NetworkCreateArgs {
        subnet: strings(&["10.1.0.0/24,10.2.0.0/16"]),
        gateway: strings(&["10.2.0.1"]),
        ip_range: strings(&["10.1.0.128/25"]),
        aux_address: strings(&["a=10.1.0.2", "b=10.2.0.3"]),
        label: strings(&["k=v", "k2"]),
        opt: strings(&["com.x=y", "flag"]),
        ipam_opt: strings(&["io=1"]),
        ipv6: true,
        internal: true,
        attachable: true,
        ingress: true,
        scope: Some("local".into()),
        config_from: Some("other".into()),
        config_only: true,
        driver: "macvlan".into(),
        ipam_driver: "foo".into(),
        name: "n1".into(),
    };
    let (req, opts) = request(&a).unwrap();
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["Driver"], "macvlan");
    assert_eq!(
        v["IPAM"],
        json!({"Driver": "foo", "Options": {"io": "1"}, "Config": [
            {"Subnet": "10.1.0.0/24", "IPRange": "10.1.0.128/25", "AuxiliaryAddresses": {"a": "10.1.0.2"}},
            {"Subnet": "10.2.0.0/16", "Gateway": "10.2.0.1", "AuxiliaryAddresses": {"b": "10.2.0.3"}},
        ]})
    );
    assert_eq!(v["Options"], json!({"com.x": "y", "flag": ""}));
    assert_eq!(v["Labels"], json!({"k": "v", "k2": ""}));
    assert_eq!(
        (
            v["EnableIPv6"].clone(),
            v["Internal"].clone(),
            v["Attachable"].clone(),
            v["Ingress"].clone()
        ),
        (json!(true), json!(true), json!(true), json!(true))
    );
    assert_eq!(
        opts,
        NetworkCreateOptions {
            scope: "local".into(),
            config_only: true,
            config_from: "other".into(),
        }
    );
}

#[test]
fn ipv6_pools_and_addresses_not_checked_alone() {
    let pools = consolidate_ipam(
        &strings(&["fd00::/64", "10.5.0.0/16"]),
        &strings(&["10.5.1.0/24"]),
        &strings(&["fd00::1", "10.5.0.1"]),
        &[],
    )
    .unwrap();
    assert_eq!(pools[0].gateway, "fd00::1");
    assert_eq!(pools[1].gateway, "10.5.0.1");
    assert_eq!(pools[1].ip_range, "10.5.1.0/24");
    // As in docker, a lone subnet is not checked on the client, and a range may be a bare
    // address.
    let pools = consolidate_ipam(&strings(&["foo"]), &[], &[], &[]).unwrap();
    assert_eq!(pools[0].subnet, "foo");
    let pools = consolidate_ipam(
        &strings(&["10.1.0.0/24"]),
        &strings(&["10.1.0.5"]),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(pools[0].ip_range, "10.1.0.5");
    // A subnet with host bits set still contains its addresses; an IPv4-mapped gateway is
    // its IPv4 address.
    let pools = consolidate_ipam(
        &strings(&["10.1.0.1/24"]),
        &[],
        &strings(&["::ffff:10.1.0.9"]),
        &[],
    )
    .unwrap();
    assert_eq!(pools[0].gateway, "::ffff:10.1.0.9");
}

#[test]
fn ipam_refusals_are_worded_as_dockers() {
    let e = "every ip-range or gateway must have a corresponding subnet";
    assert_eq!(ipam_err(&[], &[], &["10.0.0.1"], &[]), e);
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &[], &["10.1.0.1", "10.1.0.2"], &[]),
        e
    );
    assert_eq!(
        ipam_err(
            &["10.1.0.0/24"],
            &["10.1.0.0/25", "10.1.0.128/25"],
            &[],
            &[]
        ),
        e
    );
    let overlap = "multiple overlapping subnet configuration is not supported";
    assert_eq!(
        ipam_err(&["10.1.0.0/24", "10.1.0.0/16"], &[], &[], &[]),
        overlap
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/16", "10.1.2.0/24"], &[], &[], &[]),
        overlap
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24", "10.1.0.0/24"], &[], &[], &[]),
        overlap
    );
    assert_eq!(
        ipam_err(&["foo", "10.0.0.0/8"], &[], &[], &[]),
        "invalid subnet: invalid CIDR address: foo"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &[], &["10.2.0.1"], &[]),
        "no matching subnet for gateway 10.2.0.1"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &[], &["foo"], &[]),
        "no matching subnet for gateway foo"
    );
    assert_eq!(
        ipam_err(&["10.1.0.1/24"], &[], &["10.1.0.300"], &[]),
        "no matching subnet for gateway 10.1.0.300"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &["10.2.0.0/25"], &[], &[]),
        "no matching subnet for range 10.2.0.0/25"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &["foo"], &[], &[]),
        "no matching subnet for range foo"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &["10.1.0.0/33"], &[], &[]),
        "invalid CIDR address: 10.1.0.0/33"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &[], &[], &[("a", "foo")]),
        "no matching subnet for aux-address foo"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &[], &[], &[("a", "10.9.0.1")]),
        "no matching subnet for aux-address 10.9.0.1"
    );
    assert_eq!(
        ipam_err(&["10.1.0.0/24"], &[], &[], &[("a", "")]),
        "no matching subnet for aux-address "
    );
    assert_eq!(
        ipam_err(&["foo"], &[], &["10.0.0.1"], &[]),
        "invalid subnet: invalid CIDR address: foo"
    );
}

#[test]
fn two_of_a_kind_on_one_subnet() {
    // Reached when a second subnet gives the count check room.
    assert_eq!(
        ipam_err(
            &["10.1.0.0/24", "10.2.0.0/24"],
            &[],
            &["10.1.0.1", "10.1.0.2"],
            &[]
        ),
        "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/24)"
    );
    assert_eq!(
        ipam_err(
            &["10.1.0.0/24", "10.2.0.0/24"],
            &["10.1.0.0/25", "10.1.0.128/25"],
            &[],
            &[]
        ),
        "cannot configure multiple ranges (10.1.0.128/25, 10.1.0.0/25) on the same subnet (10.1.0.0/24)"
    );
}

#[test]
fn cidr_and_containment_as_go_has_them() {
    assert_eq!(
        parse_cidr("10.1.0.7/024"),
        Ok(("10.1.0.7".parse().unwrap(), 24))
    );
    assert!(parse_cidr("10.1.0.0").is_err());
    assert!(parse_cidr("10.1.0.0/").is_err());
    assert!(parse_cidr("10.1.0.0/+8").is_err());
    assert!(parse_cidr("fd00::/129").is_err());
    assert!(parse_cidr("010.1.0.0/8").is_err());
    assert_eq!(
        parse_cidr("::ffff:10.0.0.0/104"),
        Ok(("10.0.0.0".parse().unwrap(), 8))
    );
    assert_eq!(subnet_matches("0.0.0.0/0", "192.168.1.1"), Ok(true));
    assert_eq!(subnet_matches("10.0.0.0/8", "fd00::1"), Ok(false));
    assert_eq!(subnet_matches("fd00::/8", "fd12::1"), Ok(true));
    assert_eq!(subnet_matches("fd00::/16", "fd01::1"), Ok(false));
    assert_eq!(subnet_matches("10.1.0.0/24", "10.1.0.255"), Ok(true));
    assert_eq!(subnet_matches("10.1.0.0/24", "10.1.1.0"), Ok(false));
}

#[test]
fn slices_are_read_as_csv() {
    let mut a = args("n");
    a.subnet = strings(&["\"10.1.0.0/24"]);
    let e = request(&a).unwrap_err();
    assert!(e
        .message
        .starts_with("invalid argument \"\\\"10.1.0.0/24\" for \"--subnet\" flag"));
    let mut a = args("n");
    a.subnet = strings(&["10.1.0.0/24"]);
    a.gateway = strings(&["10.2.0.1"]);
    let e = request(&a).unwrap_err();
    assert_eq!(e.message, "no matching subnet for gateway 10.2.0.1");
    assert_eq!(e.status, 1);
}
