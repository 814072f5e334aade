//! The ports and networks of a create request, from the command line to the body: the
//! flags as typed, and the JSON compared with what docker 20.10's CLI sends for them.

use clap::Parser;
use serde_json::{json, Value};

use crate::app::{App, Command};

fn body(args: &[&str]) -> Result<Value, String> {
    let mut argv = vec!["berth", "create"];
    argv.extend_from_slice(args);
    argv.push("busybox");
    let app = App::try_parse_from(argv).map_err(|e| e.to_string())?;
    let Command::Create(c) = app.command else {
        return Err("not a create".into());
    };
    let req = super::build(&c.create, false, true, true, false).map_err(|e| e.message)?;
    Ok(serde_json::to_value(req).expect("serializes"))
}

#[test]
fn no_network_flags_give_dockers_empty_shapes() {
    let v = body(&[]).unwrap();
    assert!(v.get("ExposedPorts").is_none());
    assert!(v.get("MacAddress").is_none());
    assert_eq!(v["HostConfig"]["NetworkMode"], "default");
    assert_eq!(v["HostConfig"]["PortBindings"], json!({}));
    assert_eq!(v["HostConfig"]["PublishAllPorts"], false);
    assert!(v["HostConfig"]["Links"].is_null());
    assert_eq!(v["NetworkingConfig"], json!({"EndpointsConfig": {}}));
}

#[test]
fn publish_and_expose() {
    let v = body(&[
        "-p",
        "8080:80",
        "--publish",
        "127.0.0.1::53/udp",
        "-p",
        "[::1]:9000-9001:90-91",
        "-p=7000-7010:70",
        "-p",
        "81",
        "--expose",
        "100-102",
        "--expose=80/foo",
        "-P",
    ])
    .unwrap();
    assert_eq!(
        v["ExposedPorts"],
        json!({"100/tcp": {}, "101/tcp": {}, "102/tcp": {}, "53/udp": {}, "70/tcp": {},
               "80/foo": {}, "80/tcp": {}, "81/tcp": {}, "90/tcp": {}, "91/tcp": {}})
    );
    assert_eq!(
        v["HostConfig"]["PortBindings"],
        json!({
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
            "70/tcp": [{"HostIp": "", "HostPort": "7000-7010"}],
            "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
            "81/tcp": [{"HostIp": "", "HostPort": ""}],
            "90/tcp": [{"HostIp": "::1", "HostPort": "9000"}],
            "91/tcp": [{"HostIp": "::1", "HostPort": "9001"}],
        })
    );
    assert_eq!(v["HostConfig"]["PublishAllPorts"], true);
}

#[test]
fn bad_ports_are_usage_errors() {
    assert_eq!(body(&["-p", "80/foo"]).unwrap_err(), "Invalid proto: foo");
    assert_eq!(
        body(&["--expose", "80:80"]).unwrap_err(),
        "invalid port format for --expose: 80:80"
    );
}

#[test]
fn endpoint_flags_on_a_user_network() {
    let v = body(&[
        "--network",
        "mynet",
        "--ip",
        "10.0.0.5",
        "--network-alias",
        "a",
        "--link",
        "c1",
        "--link",
        "c2:al",
        "--mac-address",
        "02:42:ac:11:00:02",
    ])
    .unwrap();
    assert_eq!(v["MacAddress"], "02:42:ac:11:00:02");
    assert_eq!(v["HostConfig"]["NetworkMode"], "mynet");
    assert_eq!(v["HostConfig"]["Links"], json!(["c1", "c2:al"]));
    assert_eq!(
        v["NetworkingConfig"],
        json!({"EndpointsConfig": {"mynet": {
            "IPAMConfig": {"IPv4Address": "10.0.0.5"}, "Links": ["c1", "c2:al"],
            "Aliases": ["a"], "NetworkID": "", "EndpointID": "", "Gateway": "",
            "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null}}})
    );
}

#[test]
fn default_network_and_the_net_alias() {
    // Without --network, docker sends no endpoint for --ip; with `--network default` it does.
    let v = body(&["--ip", "10.0.0.5"]).unwrap();
    assert_eq!(v["NetworkingConfig"], json!({"EndpointsConfig": {}}));
    let v = body(&["--net", "default", "--ip", "10.0.0.5"]).unwrap();
    assert_eq!(
        v["NetworkingConfig"]["EndpointsConfig"]["default"]["IPAMConfig"],
        json!({"IPv4Address": "10.0.0.5"})
    );
    assert_eq!(
        body(&["--network", "default", "--network-alias", "a"]).unwrap_err(),
        "network-scoped aliases are only supported for user-defined networks"
    );
    let v = body(&["--network", "host"]).unwrap();
    assert_eq!(v["HostConfig"]["NetworkMode"], "host");
}

#[test]
fn bad_network_flags() {
    assert_eq!(
        body(&["--mac-address", "foo"]).unwrap_err(),
        "foo is not a valid mac address"
    );
    assert_eq!(
        body(&["--link", "a:b:c"]).unwrap_err(),
        "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c"
    );
}
