//! Every form of `-p` and `--expose`, and every refusal, checked against what docker 20.10's
//! CLI sends and prints for the same values.

use serde_json::json;

use super::*;

fn b(ip: &str, port: &str) -> PortBinding {
    PortBinding {
        host_ip: ip.into(),
        host_port: port.into(),
    }
}

fn spec(raw: &str) -> Vec<(String, PortBinding)> {
    parse_port_spec(raw).unwrap()
}

fn one(port: &str, ip: &str, host: &str) -> Vec<(String, PortBinding)> {
    vec![(port.to_string(), b(ip, host))]
}

fn err(raw: &str) -> String {
    parse_port_spec(raw).unwrap_err().to_string()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn container_port_alone() {
    assert_eq!(spec("80"), one("80/tcp", "", ""));
    assert_eq!(spec("53/udp"), one("53/udp", "", ""));
    assert_eq!(spec("132/sctp"), one("132/sctp", "", ""));
    assert_eq!(spec("80/UDP"), one("80/udp", "", ""));
    // An empty protocol is tcp; anything after a second slash is ignored, as in docker.
    assert_eq!(spec("80/"), one("80/tcp", "", ""));
    assert_eq!(spec("80/tcp/x"), one("80/tcp", "", ""));
    assert_eq!(spec("0"), one("0/tcp", "", ""));
}

#[test]
fn host_and_container_ports() {
    assert_eq!(spec("8080:80"), one("80/tcp", "", "8080"));
    assert_eq!(spec(":80"), one("80/tcp", "", ""));
    assert_eq!(spec("0:80/udp"), one("80/udp", "", "0"));
    // Leading zeros are read as Go's ParseUint reads them.
    assert_eq!(spec("080:0081"), one("81/tcp", "", "80"));
}

#[test]
fn host_addresses() {
    assert_eq!(
        spec("127.0.0.1:8080:80"),
        one("80/tcp", "127.0.0.1", "8080")
    );
    assert_eq!(spec("127.0.0.1::53/udp"), one("53/udp", "127.0.0.1", ""));
    assert_eq!(spec("[::1]:80:80"), one("80/tcp", "::1", "80"));
    assert_eq!(spec("[::1]::91"), one("91/tcp", "::1", ""));
    assert_eq!(spec("[fe80::1:2]:80:80"), one("80/tcp", "fe80::1:2", "80"));
    assert_eq!(spec("[1.2.3.4]:80:80"), one("80/tcp", "1.2.3.4", "80"));
}

#[test]
fn ranges() {
    assert_eq!(
        spec("8000-8002:80-82/udp"),
        vec![
            ("80/udp".to_string(), b("", "8000")),
            ("81/udp".to_string(), b("", "8001")),
            ("82/udp".to_string(), b("", "8002")),
        ]
    );
    assert_eq!(
        spec("[::1]:9000-9001:90-91"),
        vec![
            ("90/tcp".to_string(), b("::1", "9000")),
            ("91/tcp".to_string(), b("::1", "9001")),
        ]
    );
    // A host range for one container port: the engine picks one port from it.
    assert_eq!(spec("7000-7010:70"), one("70/tcp", "", "7000-7010"));
    assert_eq!(
        spec("127.0.0.1:7000-7002:70"),
        one("70/tcp", "127.0.0.1", "7000-7002")
    );
    assert_eq!(
        spec("90-91"),
        vec![
            ("90/tcp".to_string(), b("", "")),
            ("91/tcp".to_string(), b("", "")),
        ]
    );
    // A range of one is a single port, on both sides.
    assert_eq!(spec("8080-8080:80-80"), one("80/tcp", "", "8080"));
    // docker reads `1-2-3` as `1-2`.
    assert_eq!(spec("1-2-3").len(), 2);
}

#[test]
fn refusals_are_worded_as_dockers() {
    let cases = [
        ("foo", "Invalid containerPort: foo"),
        ("70000", "Invalid containerPort: 70000"),
        ("90-80", "Invalid containerPort: 90-80"),
        ("80-", "Invalid containerPort: 80-"),
        ("80/foo", "Invalid proto: foo"),
        ("80/Foo", "Invalid proto: Foo"),
        ("x:80", "Invalid hostPort: x"),
        ("8080-:80", "Invalid hostPort: 8080-"),
        ("8080-8070:80", "Invalid hostPort: 8080-8070"),
        ("70000:80", "Invalid hostPort: 70000"),
        ("1.2.3:80:80", "Invalid ip address: 1.2.3"),
        ("localhost:80:80", "Invalid ip address: localhost"),
        ("[::1%lo]:80:80", "Invalid ip address: ::1%lo"),
        (
            "::1:80:80",
            "Invalid ip address ::1: address ::1:: too many colons in address",
        ),
        (
            "fe80::1%eth0:1:2",
            "Invalid ip address fe80::1%eth0: address fe80::1%eth0:: too many colons in address",
        ),
        (
            "[::1:80:80",
            "Invalid ip address [::1: address [::1:: missing ']' in address",
        ),
        (
            "a]b:1:2",
            "Invalid ip address a]b: address a]b:: unexpected ']' in address",
        ),
        (
            "a[b:1:2",
            "Invalid ip address a[b: address a[b:: unexpected '[' in address",
        ),
        (
            "[::1]x:1:2",
            "Invalid ip address [::1]x: address [::1]x:: missing port in address",
        ),
        (
            "[::1]:x:1:2",
            "Invalid ip address [::1]:x: address [::1]:x:: too many colons in address",
        ),
        (
            "[[::1]:1:2",
            "Invalid ip address [[::1]: address [[::1]:: unexpected '[' in address",
        ),
        (
            "8000-8010:80-85",
            "Invalid ranges specified for container and host Ports: 80-85 and 8000-8010",
        ),
        (
            "8080:80-81",
            "Invalid ranges specified for container and host Ports: 80-81 and 8080",
        ),
        ("", "No port specified: <empty>"),
        ("/udp", "No port specified: /udp<empty>"),
        ("80:", "No port specified: 80:<empty>"),
        ("1.2.3.4:80:", "No port specified: 1.2.3.4:80:<empty>"),
    ];
    for (raw, want) in cases {
        assert_eq!(err(raw), want, "spec {raw:?}");
    }
}

#[test]
fn long_form_becomes_the_short_one() {
    assert_eq!(
        standard_notation("target=80,published=8080,mode=host,protocol=udp").unwrap(),
        "8080:80/udp"
    );
    assert_eq!(standard_notation("target=80").unwrap(), ":80/tcp");
    assert_eq!(standard_notation("8080:80").unwrap(), "8080:80");
    assert_eq!(
        standard_notation("target=80,foo").unwrap_err().to_string(),
        "invalid publish opts format (should be name=value but got 'foo')"
    );
    let p = parse(&strings(&["target=80,published=8080,bogus=1"]), &[]).unwrap();
    assert_eq!(p.bindings["80/tcp"], [b("", "8080")]);
    assert_eq!(
        parse(&strings(&["published=90"]), &[])
            .unwrap_err()
            .to_string(),
        "No port specified: 90:/tcp<empty>"
    );
    assert_eq!(
        parse(&strings(&["a=b=c"]), &[]).unwrap_err().to_string(),
        "No port specified: :/tcp<empty>"
    );
}

#[test]
fn publish_and_expose_merge_like_docker() {
    let p = parse(
        &strings(&[
            "8080:80",
            "127.0.0.1::53/udp",
            "[::1]:9000-9001:90-91",
            "7000-7010:70",
            "81",
            "8081:80",
        ]),
        &strings(&["100-102", "80/foo", "81"]),
    )
    .unwrap();
    let exposed: Vec<&str> = p.exposed.keys().map(String::as_str).collect();
    assert_eq!(
        exposed,
        [
            "100/tcp", "101/tcp", "102/tcp", "53/udp", "70/tcp", "80/foo", "80/tcp", "81/tcp",
            "90/tcp", "91/tcp"
        ]
    );
    assert!(p.exposed.values().all(|v| *v == json!({})));
    assert_eq!(
        serde_json::to_value(&p.bindings).unwrap(),
        json!({
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
            "70/tcp": [{"HostIp": "", "HostPort": "7000-7010"}],
            "80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "", "HostPort": "8081"}],
            "81/tcp": [{"HostIp": "", "HostPort": ""}],
            "90/tcp": [{"HostIp": "::1", "HostPort": "9000"}],
            "91/tcp": [{"HostIp": "::1", "HostPort": "9001"}],
        })
    );
    assert_eq!(parse(&[], &[]).unwrap(), Ports::default());
}

#[test]
fn expose_forms() {
    let p = parse(&[], &strings(&["5000-5002/UDP", "6000", "80/"])).unwrap();
    let exposed: Vec<&str> = p.exposed.keys().map(String::as_str).collect();
    assert_eq!(
        exposed,
        ["5000/UDP", "5001/UDP", "5002/UDP", "6000/tcp", "80/tcp"]
    );
    assert!(p.bindings.is_empty());
}

#[test]
fn expose_refusals() {
    let cases = [
        ("80:80", "invalid port format for --expose: 80:80"),
        (
            "x",
            "invalid range format for --expose: x, error: strconv.ParseUint: parsing \"x\": invalid syntax",
        ),
        (
            "90-80",
            "invalid range format for --expose: 90-80, error: Invalid range specified for the Port: 90-80",
        ),
        (
            "1-",
            "invalid range format for --expose: 1-, error: strconv.ParseUint: parsing \"\": invalid syntax",
        ),
        (
            "",
            "invalid range format for --expose: , error: Empty string specified for ports.",
        ),
        (
            "70000",
            "invalid range format for --expose: 70000, error: strconv.ParseUint: parsing \"70000\": value out of range",
        ),
        (
            "70000x",
            "invalid range format for --expose: 70000x, error: strconv.ParseUint: parsing \"70000x\": value out of range",
        ),
        (
            "+80",
            "invalid range format for --expose: +80, error: strconv.ParseUint: parsing \"+80\": invalid syntax",
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(
            parse(&[], &strings(&[raw])).unwrap_err().to_string(),
            want,
            "expose {raw:?}"
        );
    }
}

#[test]
fn port_ranges_and_protocols() {
    assert_eq!(parse_port_range("80"), Ok((80, 80)));
    assert_eq!(parse_port_range("0-65535"), Ok((0, 65535)));
    assert_eq!(parse_port_range(""), Err(RangeError::Empty));
    assert_eq!(
        parse_port_range("-"),
        Err(RangeError::Syntax(String::new()))
    );
    assert_eq!(split_proto_port("80/udp"), ("udp", "80"));
    assert_eq!(split_proto_port("80"), ("tcp", "80"));
    assert_eq!(split_proto_port("/udp"), ("", ""));
    assert_eq!(split_proto_port(""), ("", ""));
}
