//! The daemon itself: the API's wire behaviour, its socket, locking, signals and config.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{assert_contains, Daemon};

#[test]
fn ping_answers_head_and_get_with_the_api_version() {
    let d = Daemon::start();
    for method in ["GET", "HEAD"] {
        let r = d.api(method, "/_ping", b"");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Api-Version"), Some("1.41"));
        assert_eq!(r.header("Ostype"), Some("linux"));
        assert_eq!(
            r.header("Cache-Control"),
            Some("no-cache, no-store, must-revalidate")
        );
        if method == "GET" {
            assert_eq!(r.text(), "OK");
        }
    }
    let v = d.api("GET", "/v1.41/version", b"").json();
    assert_eq!(v["ApiVersion"], "1.41");
    assert_eq!(v["MinAPIVersion"], "1.24");
    assert_eq!(v["Os"], "linux");
    let unversioned = d.api("GET", "/version", b"").json();
    assert_eq!(unversioned["Version"], v["Version"]);
    let info = d.api("GET", "/v1.30/info", b"").json();
    assert_eq!(info["DockerRootDir"], d.data_root().to_str().unwrap());
}

#[test]
fn errors_are_docker_json_bodies_with_the_right_status() {
    let d = Daemon::start();
    let r = d.api("GET", "/v1.41/nope", b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "page not found");
    let r = d.api("GET", "/v1.41/images/missing/json", b"");
    assert_eq!(r.status, 404);
    assert_contains(
        r.json()["message"].as_str().unwrap(),
        "No such image: missing:latest",
    );
    let r = d.api("GET", "/v1.99/version", b"");
    assert_eq!(r.status, 400);
    assert_contains(r.json()["message"].as_str().unwrap(), "too new");
    let r = d.api("GET", "/v1.41/images/json?filters=%7Bbroken", b"");
    assert_eq!(r.status, 400);
    assert_contains(r.json()["message"].as_str().unwrap(), "filters");
    let r = d.api("POST", "/v1.41/images/busybox/tag?repo=Bad%20Name", b"");
    assert_eq!(r.status, 404, "the source image is looked up first");
    let r = d.api("POST", "/v1.41/version", b"");
    assert_eq!(r.status, 405);
    let r = d.api("POST", "/v1.41/images/create", b"");
    assert_eq!(r.status, 400);
    // A quiet load of garbage fails before any output: an ordinary error response.
    let r = d.api("POST", "/v1.41/images/load?quiet=1", b"garbage");
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].is_string());
}

#[test]
fn socket_is_0660_and_a_second_daemon_is_refused() {
    let d = Daemon::start();
    let meta = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.uid(), 0);
    // The data root is not world-writable.
    let root = std::fs::metadata(d.data_root()).unwrap();
    assert_eq!(root.permissions().mode() & 0o002, 0);

    let other_exec = d.dir.path().join("exec2");
    let out = std::process::Command::new(common::BERTH)
        .args(["daemon", "--data-root"])
        .arg(d.data_root())
        .arg("--exec-root")
        .arg(&other_exec)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_contains(&err, "another berth daemon");
    assert_contains(&err, &d.pid().to_string());
    // The running daemon is unaffected.
    assert_eq!(d.api("GET", "/_ping", b"").status, 200);
}

#[test]
fn sigterm_shuts_down_cleanly_and_removes_socket_and_pidfile() {
    let mut d = Daemon::start();
    let pidfile = d.exec_root().join("berth.pid");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        d.pid().to_string()
    );
    let status = d.stop().unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(!d.socket.exists());
    assert!(!pidfile.exists());
    assert_contains(&d.log(), "engine stopped");
    // A restart finds the state it left.
    d.relaunch();
    assert_eq!(d.api("GET", "/_ping", b"").status, 200);
}

#[test]
fn sighup_reloads_the_configuration_file() {
    let d = Daemon::start();
    std::fs::write(
        d.dir.path().join("daemon.json"),
        r#"{"labels": ["env=test"], "debug": true}"#,
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info = d.api("GET", "/info", b"").json();
        if info["Labels"][0] == "env=test" {
            assert_eq!(info["Debug"], true);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "labels not reloaded: {}",
            info["Labels"]
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A broken file keeps the running configuration.
    std::fs::write(d.dir.path().join("daemon.json"), "{").unwrap();
    d.signal(libc::SIGHUP);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(d.api("GET", "/info", b"").json()["Labels"][0], "env=test");
    assert_contains(&d.log(), "reload failed");
}

#[test]
fn bad_configuration_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("daemon.json");
    std::fs::write(&config, r#"{"storage-driver": "zfs"}"#).unwrap();
    let out = std::process::Command::new(common::BERTH)
        .args(["daemon", "--config-file"])
        .arg(&config)
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_contains(&String::from_utf8_lossy(&out.stderr), "storage-driver");
    std::fs::write(&config, r#"{"data-root": "/elsewhere"}"#).unwrap();
    let out = std::process::Command::new(common::BERTH)
        .args(["daemon", "--config-file"])
        .arg(&config)
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_contains(
        &String::from_utf8_lossy(&out.stderr),
        "both as a flag and in the configuration file",
    );
    let out = std::process::Command::new(common::BERTH)
        .args(["daemon", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn listens_on_tcp_too() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let tcp = format!("tcp://127.0.0.1:{port}");
    let d = Daemon::start_with(&["-H", &tcp]);
    let unix = d.host();
    let out = std::process::Command::new(common::BERTH)
        .args(["-H", &tcp, "version", "--format", "{{.Server.Version}}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    let out = std::process::Command::new(common::BERTH)
        .args(["-H", &unix, "info", "--format", "{{len .Warnings}}"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1",
        "the TCP listener is warned about"
    );
}
