//! Basic auth against an `htpasswd -B` file: the challenge an unauthenticated client gets,
//! wrong credentials refused, and the workflows with the right ones.

use std::process::Command;

use base64::Engine as _;

use super::common::registry::tempdir;
use super::*;

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// A registry requiring the password `s3cret` for `alice`.
pub fn with_basic_auth() -> Registry {
    let dir = tempdir();
    let file = dir.path().join("htpasswd");
    let out = Command::new("htpasswd")
        .args(["-B", "-b", "-c"])
        .arg(&file)
        .args(["alice", "s3cret"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reg = Registry::start_in(dir, &["--htpasswd", file.to_str().unwrap()]);
    reg.auth = Some(basic("alice", "s3cret"));
    reg
}

#[test]
fn basic_auth_challenges_refuses_and_admits() {
    let reg = with_basic_auth();
    for (auth, what) in [
        (None, "no credentials"),
        (Some(basic("alice", "wrong")), "a wrong password"),
        (Some(basic("bob", "s3cret")), "an unknown user"),
    ] {
        let r = reg.req_as(auth.as_deref(), "GET", "/v2/", &[], Body::Bytes(b""));
        assert_eq!(r.status, 401, "{what}");
        assert_eq!(code(&r), "UNAUTHORIZED");
        assert!(
            r.header("WWW-Authenticate")
                .unwrap()
                .starts_with("Basic realm=\""),
            "{what}"
        );
    }
    assert_eq!(reg.get("/v2/").status, 200);
    assert!(!reg.log().contains("s3cret"), "a password reached the log");
}

#[test]
fn the_four_workflows_with_basic_auth() {
    let reg = with_basic_auth();
    super::workflows::all(&reg);
}
