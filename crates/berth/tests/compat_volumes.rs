//! Clients nobody here wrote, on volumes: the docker CLI's volume commands and `-v`, and a
//! docker-compose v1 application with a named volume that outlives `down` but not `down -v`.

mod common;

use std::process::Command;

use common::{assert_contains, docker, images, net, Daemon};

fn engine() -> Daemon {
    let d = Daemon::start();
    d.load(&images::docker_archive(&[
        net::netbox().tagged("netbox:latest")
    ]));
    d
}

#[test]
fn docker_cli_volume_commands() {
    let d = engine();
    assert_eq!(
        docker::ok(&d, &["volume", "create", "--label", "a=b", "dvol"]).trim(),
        "dvol"
    );
    assert_contains(&docker::ok(&d, &["volume", "ls"]), "dvol");
    let driver = docker::ok(
        &d,
        &[
            "volume",
            "inspect",
            "-f",
            "{{.Driver}} {{.Labels.a}}",
            "dvol",
        ],
    );
    assert_eq!(driver.trim(), "local b");
    docker::ok(
        &d,
        &[
            "run",
            "--rm",
            "-v",
            "dvol:/d",
            "netbox",
            "sh",
            "-c",
            "echo hi > /d/f",
        ],
    );
    let out = docker::ok(
        &d,
        &["run", "--rm", "-v", "dvol:/d:ro", "netbox", "cat", "/d/f"],
    );
    assert_eq!(out, "hi\n");
    docker::ok(&d, &["volume", "rm", "dvol"]);
    let out = docker::output(&d, &["volume", "inspect", "dvol"]);
    assert!(!out.status.success());
}

fn compose(d: &Daemon, dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("docker-compose")
        .current_dir(dir)
        .env("DOCKER_HOST", d.host())
        .args(["-p", "notes"])
        .args(args)
        .output()
        .expect("docker-compose (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "docker-compose {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docker_compose_named_volume() {
    let d = engine();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        r#"version: "3.7"
services:
  writer:
    image: netbox
    command: ["sh", "-c", "echo saved > /store/note; sleep 1000"]
    volumes:
      - store:/store
volumes:
  store:
"#,
    )
    .unwrap();
    compose(&d, dir.path(), &["up", "-d"]);
    common::eventually("the note is written", || {
        d.run(&["exec", "notes_writer_1", "cat", "/store/note"])
            .stdout
            == "saved\n"
    });
    compose(&d, dir.path(), &["down"]);
    assert_contains(&d.ok(&["volume", "ls", "-q"]), "notes_store");
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "notes_store:/s",
        "netbox",
        "cat",
        "/s/note",
    ]);
    assert_eq!(out, "saved\n");
    compose(&d, dir.path(), &["down", "-v"]);
    assert!(!d.ok(&["volume", "ls", "-q"]).contains("notes_store"));
}
