//! Berth's client against Berth's registry (`berth registry serve`): a round trip, over
//! HTTPS, and the bearer-token dance with a token service (played here by a thread that
//! checks basic credentials and mints ES256 tokens for the scopes asked).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use serde_json::json;

use crate::common::registry::{
    es256_key, tempdir, test_certificate, test_certificate_for, Registry,
};
use crate::common::{assert_contains, docker, Daemon};

#[test]
fn berth_pushes_to_and_pulls_from_its_own_registry() {
    let reg = Registry::start(&[]);
    let d = Daemon::with_busybox();
    let name = format!("{}/own/bb:1", reg.addr);
    d.ok(&["tag", "busybox", &name]);
    assert_contains(&d.ok(&["push", &name]), "Pushed");
    let fresh = Daemon::start();
    assert_contains(&fresh.ok(&["pull", &name]), "Pull complete");
    assert_eq!(
        fresh.ok(&["run", "--rm", &name, "echo", "own"]).trim(),
        "own"
    );

    // The docker CLI, through Berth, to Berth's registry.
    let other = format!("{}/own/viadocker:2", reg.addr);
    docker::ok(&d, &["tag", "busybox", &other]);
    assert_contains(&docker::ok(&d, &["push", &other]), "digest: sha256:");
    docker::ok(&fresh, &["pull", &other]);
    docker::ok(&fresh, &["image", "inspect", &other]);
}

#[test]
fn pulls_and_pushes_go_over_https_to_a_tls_registry() {
    let dir = tempdir();
    let (_ca, cert, key) = test_certificate(dir.path());
    let reg = Registry::start_in(
        dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(reg.log().contains("https"), "{}", reg.log());
    let d = Daemon::with_busybox();
    let name = format!("{}/tls/bb:1", reg.addr);
    d.ok(&["tag", "busybox", &name]);
    d.ok(&["push", &name]);
    let fresh = Daemon::start();
    fresh.ok(&["pull", &name]);
    assert_eq!(
        fresh.ok(&["run", "--rm", &name, "echo", "tls"]).trim(),
        "tls"
    );
}

#[test]
fn a_tls_registry_off_loopback_is_trusted_through_its_certs_d_directory() {
    let ip = crate::common::net::host_address()
        .expect("this machine has no non-loopback IPv4 address for the test")
        .to_string();
    let dir = tempdir();
    let (ca, cert, key) = test_certificate_for(dir.path(), &ip);
    let tls = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let reg = Registry::start_on_in(&ip, dir, &tls);
    let name = format!("{}/certs/bb:1", reg.addr);

    // Off loopback and not declared insecure, a certificate from an unknown CA is refused.
    let untrusting = Daemon::with_busybox();
    untrusting.ok(&["tag", "busybox", &name]);
    let refused = untrusting.fails(&["push", &name]);
    assert_contains(&refused.stderr, "certificate");

    // Its CA in `certs.d/<host:port>/` beside the daemon's configuration file makes it
    // trusted.
    let trusting = Daemon::start();
    let certs = trusting.dir.path().join("certs.d").join(&reg.addr);
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&ca, certs.join("ca.crt")).unwrap();
    trusting.load(&crate::common::images::docker_archive(&[
        crate::common::images::Image::busybox().tagged(&name),
    ]));
    trusting.ok(&["push", &name]);
    trusting.ok(&["rmi", &name]);
    trusting.ok(&["pull", &name]);
    assert_eq!(
        trusting
            .ok(&["run", "--rm", &name, "echo", "trusted"])
            .trim(),
        "trusted"
    );
}

/// A token service: `GET /token` with basic `alice:pw` gets a token for the scopes asked.
fn token_service(key: jsonwebtoken::EncodingKey) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut authorized = false;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
                let good = format!(
                    "Basic {}",
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "alice:pw")
                );
                if h.to_ascii_lowercase().starts_with("authorization:")
                    && h.trim_end().ends_with(&good)
                {
                    authorized = true;
                }
            }
            let target = line.split(' ').nth(1).unwrap_or("");
            let query = target.split_once('?').map_or("", |(_, q)| q);
            let access: Vec<_> = form_pairs(query)
                .into_iter()
                .filter(|(k, _)| k == "scope")
                .filter_map(|(_, v)| {
                    let mut parts = v.split(':');
                    let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                    Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
                })
                .collect();
            let (status, body) = if authorized {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let claims = json!({"iss": "test-issuer", "aud": "test-registry", "sub": "alice",
                    "iat": now, "nbf": now - 5, "exp": now + 300, "access": access});
                let token = jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
                    &claims,
                    &key,
                )
                .unwrap();
                (
                    "200 OK",
                    json!({"token": token, "expires_in": 300}).to_string(),
                )
            } else {
                ("401 Unauthorized", "{}".to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn the_token_dance_gets_a_token_for_the_repository_and_uses_it() {
    let dir = tempdir();
    let d_ = dir.path();
    let (key, public) = es256_key(d_);
    let public = public.to_str().unwrap().to_string();
    let service = token_service(key);
    let realm = format!("http://{service}/token");
    let reg = Registry::start_in(
        dir,
        &[
            "--token-realm",
            &realm,
            "--token-issuer",
            "test-issuer",
            "--token-service",
            "test-registry",
            "--token-key",
            &public,
        ],
    );
    let d = Daemon::with_busybox();
    let config = d.dir.path().join("client-config");
    let cli = |args: &[&str]| {
        let out = d
            .cli()
            .env("BERTH_CONFIG", &config)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let name = format!("{}/team/app:1", reg.addr);
    d.ok(&["tag", "busybox", &name]);
    let (ok, out) = cli(&["push", &name]);
    assert!(!ok, "an anonymous token does not allow a push:\n{out}");
    let (ok, out) = cli(&["login", "-u", "alice", "-p", "wrong", &reg.addr]);
    assert!(!ok);
    assert_contains(&out, "incorrect username or password");
    let (ok, out) = cli(&["login", "-u", "alice", "-p", "pw", &reg.addr]);
    assert!(ok, "{out}");
    assert_contains(&out, "Using --password via the CLI is insecure");
    let (ok, out) = cli(&["push", &name]);
    assert!(ok, "{out}");
    d.ok(&["rmi", &name]);
    let (ok, out) = cli(&["pull", &name]);
    assert!(ok, "{out}");
    assert_eq!(
        d.ok(&["run", "--rm", &name, "echo", "token"]).trim(),
        "token"
    );
}
