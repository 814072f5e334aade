//! The network flags of `run`/`create`, checked against the bodies docker 20.10's CLI sends
//! and the errors it prints for the same flags.

use serde_json::json;

use super::*;

fn flags(network: &[&str]) -> ContainerNetworkFlags {
    ContainerNetworkFlags {
        network: network.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn endpoints_json(f: &ContainerNetworkFlags) -> serde_json::Value {
    serde_json::to_value(networking(f).unwrap().config).unwrap()["EndpointsConfig"].clone()
}

fn error(f: &ContainerNetworkFlags) -> String {
    networking(f).unwrap_err().message
}

#[test]
fn without_network_flag_nothing_is_sent_for_the_endpoint() {
    // docker 20.10 drops --ip, --ip6, --network-alias and --link-local-ip then.
    let mut f = flags(&[]);
    f.ip = Some("10.0.0.5".into());
    f.ip6 = Some("fd00::5".into());
    f.network_alias = vec!["a".into()];
    f.link_local_ip = vec!["169.254.1.1".into()];
    let n = networking(&f).unwrap();
    assert_eq!(n.network_mode, "default");
    assert!(n.config.endpoints_config.is_empty());
    assert_eq!(n.links, None);
    assert_eq!(
        serde_json::to_value(&n.config).unwrap(),
        json!({"EndpointsConfig": {}})
    );
}

#[test]
fn links_go_to_host_config_whatever_the_network() {
    let mut f = flags(&[]);
    f.link = vec!["c1".into(), "c2:al".into()];
    let n = networking(&f).unwrap();
    assert_eq!(n.links, Some(vec!["c1".into(), "c2:al".into()]));
    assert!(n.config.endpoints_config.is_empty());
}

#[test]
fn first_network_gets_the_endpoint_flags() {
    let mut f = flags(&["mynet"]);
    f.ip = Some("10.0.0.5".into());
    f.network_alias = vec!["a".into(), "b,c".into()];
    f.link = vec!["c1".into(), "c2:al".into()];
    let n = networking(&f).unwrap();
    assert_eq!(n.network_mode, "mynet");
    let ep = &endpoints_json(&f)["mynet"];
    assert_eq!(ep["IPAMConfig"], json!({"IPv4Address": "10.0.0.5"}));
    assert_eq!(ep["Aliases"], json!(["a", "b,c"]));
    assert_eq!(ep["Links"], json!(["c1", "c2:al"]));
    assert!(ep["DriverOpts"].is_null());
    assert_eq!(n.links, Some(vec!["c1".into(), "c2:al".into()]));
}

#[test]
fn ipam_config_holds_only_what_was_asked() {
    let mut f = flags(&["mynet"]);
    f.ip6 = Some("fd00::1".into());
    f.link_local_ip = vec!["169.254.1.1".into()];
    let ep = &endpoints_json(&f)["mynet"];
    assert_eq!(
        ep["IPAMConfig"],
        json!({"IPv6Address": "fd00::1", "LinkLocalIPs": ["169.254.1.1"]})
    );
    assert!(ep["Aliases"].is_null());
    assert!(ep["Links"].is_null());
}

#[test]
fn a_single_network_with_nothing_to_say_sends_no_endpoint() {
    assert_eq!(endpoints_json(&flags(&["mynet"])), json!({}));
    assert_eq!(endpoints_json(&flags(&["default"])), json!({}));
    let mut f = flags(&["mynet"]);
    f.link = vec!["c1".into()];
    let ep = &endpoints_json(&f)["mynet"];
    assert!(ep["IPAMConfig"].is_null());
    assert_eq!(ep["Links"], json!(["c1"]));
}

#[test]
fn builtin_networks_take_addresses_but_not_aliases_or_links() {
    let mut f = flags(&["default"]);
    f.ip = Some("10.0.0.5".into());
    assert_eq!(
        endpoints_json(&f)["default"]["IPAMConfig"],
        json!({"IPv4Address": "10.0.0.5"})
    );
    let mut f = flags(&["host"]);
    f.ip = Some("1.2.3.4".into());
    assert!(endpoints_json(&f)["host"].is_object());
    let mut f = flags(&["default"]);
    f.network_alias = vec!["a".into()];
    assert_eq!(
        error(&f),
        "network-scoped aliases are only supported for user-defined networks"
    );
    let mut f = flags(&["container:abc"]);
    f.network_alias = vec!["a".into()];
    assert_eq!(
        error(&f),
        "network-scoped aliases are only supported for user-defined networks"
    );
    let mut f = flags(&["bridge"]);
    f.link = vec!["c1".into()];
    assert_eq!(
        error(&f),
        "links are only supported for user-defined networks"
    );
}

#[test]
fn several_networks() {
    let v = endpoints_json(&flags(&["mynet", "other"]));
    assert!(v["mynet"].is_object() && v["other"].is_object());
    assert_eq!(
        networking(&flags(&["mynet", "other"]))
            .unwrap()
            .network_mode,
        "mynet"
    );
    assert_eq!(
        error(&flags(&["mynet", "mynet"])),
        "network \"mynet\" is specified multiple times"
    );
    assert_eq!(
        error(&flags(&["mynet", "host"])),
        "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
    );
    assert_eq!(error(&flags(&[""])), "no name set for network");
}

#[test]
fn long_network_syntax() {
    let v = endpoints_json(&flags(&["name=MyNet,alias=A,alias=b,driver-opt=K=V"]));
    assert_eq!(v["mynet"]["Aliases"], json!(["a", "b"]));
    assert_eq!(v["mynet"]["DriverOpts"], json!({"k": "v"}));
    assert_eq!(
        parse_network_flag("mynet").unwrap(),
        Attachment {
            target: "mynet".into(),
            ..Default::default()
        }
    );
    // `a-b=c` holds `b=c`, so it is read as the long form, as docker reads it.
    let cases = [
        (
            "name=mynet,foo=bar",
            "invalid argument \"name=mynet,foo=bar\" for \"--network\" flag: invalid field key foo",
        ),
        (
            "alias=x",
            "invalid argument \"alias=x\" for \"--network\" flag: network name/id is not specified",
        ),
        (
            "name=mynet,alias",
            "invalid argument \"name=mynet,alias\" for \"--network\" flag: invalid field alias",
        ),
        (
            "name=mynet,driver-opt=x",
            "invalid argument \"name=mynet,driver-opt=x\" for \"--network\" flag: invalid key value pair format in driver options",
        ),
        (
            "a-b=c",
            "invalid argument \"a-b=c\" for \"--network\" flag: invalid field key a-b",
        ),
    ];
    for (value, want) in cases {
        assert_eq!(error(&flags(&[value])), want, "--network {value}");
    }
    let mut f = flags(&["name=mynet,alias=a"]);
    f.network_alias = vec!["b".into()];
    assert_eq!(
        error(&f),
        "conflicting options: cannot specify both --network-alias and per-network alias"
    );
}

#[test]
fn mac_addresses_as_go_parses_them() {
    for ok in [
        "02:42:ac:11:00:02",
        "02-42-AC-11-00-02",
        "0242.ac11.0002",
        "02:42:ac:11:00:02:03:04",
        "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01",
    ] {
        assert!(valid_mac(ok), "{ok}");
    }
    for bad in [
        "foo",
        "02:42:AC:11:00:2",
        "02:42:ac:11:00:0g",
        "02:42-ac:11:00:02",
        "02:42:ac:11:00:02:03",
        "0242.ac11.000",
        "0242:ac11:0002",
    ] {
        assert!(!valid_mac(bad), "{bad}");
    }
    let mut f = flags(&[]);
    f.mac_address = Some("foo".into());
    assert_eq!(error(&f), "foo is not a valid mac address");
    f.mac_address = Some("02:42:ac:11:00:02".into());
    assert_eq!(networking(&f).unwrap().mac_address, "02:42:ac:11:00:02");
}

#[test]
fn bad_links_are_refused_before_anything_else() {
    let mut f = flags(&["mynet"]);
    f.link = vec!["a:b:c".into()];
    assert_eq!(
        error(&f),
        "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c"
    );
    assert_eq!(networking(&f).unwrap_err().status, 125);
}
