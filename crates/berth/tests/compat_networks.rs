//! Clients nobody here wrote, on networks: the docker CLI's network commands, and a
//! docker-compose v1 application of three services on its default network — reaching each
//! other by service name, one port published — brought up and taken down leaving nothing.

mod common;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::Command;

use common::{assert_contains, docker, eventually, images, net, Daemon};

fn engine() -> Daemon {
    let d = Daemon::start();
    d.load(&images::docker_archive(&[
        net::netbox().tagged("netbox:latest")
    ]));
    d
}

#[test]
fn docker_cli_network_commands() {
    let d = engine();
    let id = docker::ok(
        &d,
        &[
            "network",
            "create",
            "--subnet",
            "10.198.3.0/24",
            "--label",
            "team=a",
            "dnet",
        ],
    );
    let id = id.trim();
    assert_eq!(id.len(), 64);
    let ls = docker::ok(&d, &["network", "ls"]);
    assert_contains(&ls, "NETWORK ID");
    assert_contains(&ls, "dnet");
    assert_contains(&ls, "bridge");
    assert_contains(&ls, "host");
    assert_contains(&ls, "none");
    let q = docker::ok(&d, &["network", "ls", "-q", "--filter", "label=team=a"]);
    assert_eq!(q.trim(), &id[..12]);
    let subnet = docker::ok(
        &d,
        &[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Subnet}}",
            "dnet",
        ],
    );
    assert_eq!(subnet.trim(), "10.198.3.0/24");

    docker::ok(
        &d,
        &[
            "run",
            "-d",
            "--name",
            "s1",
            "--network",
            "dnet",
            "netbox",
            "sleep",
            "1000",
        ],
    );
    let ip = docker::ok(
        &d,
        &[
            "inspect",
            "-f",
            "{{.NetworkSettings.Networks.dnet.IPAddress}}",
            "s1",
        ],
    );
    assert!(ip.trim().starts_with("10.198.3."), "{ip}");
    docker::ok(&d, &["network", "connect", "bridge", "s1"]);
    docker::ok(&d, &["network", "disconnect", "bridge", "s1"]);
    let out = docker::output(&d, &["network", "rm", "dnet"]);
    assert!(!out.status.success());
    assert_contains(&String::from_utf8_lossy(&out.stderr), "active endpoints");
    docker::ok(&d, &["rm", "-f", "s1"]);
    docker::ok(&d, &["network", "rm", "dnet"]);
    docker::ok(&d, &["network", "create", "spare"]);
    let pruned = docker::ok(&d, &["network", "prune", "-f"]);
    assert_contains(&pruned, "spare");
    assert!(!docker::ok(&d, &["network", "ls"]).contains("spare"));
}

fn compose(d: &Daemon, dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("docker-compose")
        .current_dir(dir)
        .env("DOCKER_HOST", d.host())
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .args(["-p", "shop"])
        .args(args)
        .output()
        .expect("docker-compose (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "docker-compose {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docker_compose_application_on_its_default_network() {
    let d = engine();
    let port = net::free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        format!(
            r#"version: "3.7"
services:
  web:
    image: netbox
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports:
      - "{port}:80"
  api:
    image: netbox
    command: ["sh", "-c", "mkdir -p /srv && echo api-ok > /srv/index.html && httpd -f -p 8080 -h /srv"]
  client:
    image: netbox
    command: ["sleep", "1000"]
"#
        ),
    )
    .unwrap();
    compose(&d, dir.path(), &["up", "-d"]);
    let names = d.ok(&["ps", "--format", "{{.Names}}"]);
    for s in ["web", "api", "client"] {
        assert_contains(&names, &format!("shop_{s}_1"));
    }
    assert_contains(&d.ok(&["network", "ls"]), "shop_default");
    eventually("the client reaches web and api by service name", || {
        let r = d.run(&[
            "exec",
            "shop_client_1",
            "sh",
            "-c",
            "wget -qO- http://web/ && wget -qO- http://api:8080/",
        ]);
        r.status == 0 && r.stdout.contains("hello") && r.stdout.contains("api-ok")
    });
    let published = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    eventually("web's published port answers", || {
        net::http_get(published).is_some_and(|r| r.contains("hello"))
    });

    let veths_up = net::links_with_prefix("veth").len();
    assert!(veths_up >= 3);
    compose(&d, dir.path(), &["down"]);
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());
    assert!(!d.ok(&["network", "ls"]).contains("shop_default"));
    assert!(net::http_get(published).is_none());
    eventually("no namespace is left but the spare", || {
        d.only_the_spare_netns()
    });
}
