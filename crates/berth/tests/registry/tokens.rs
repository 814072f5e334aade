//! Docker's bearer tokens (ES256 and RS256, minted here with keys openssl makes): the
//! challenge names the scope each request needed, the `access` claim decides what a valid
//! token may do, bad tokens are refused, and the workflows run with a token for everything.

use serde_json::{json, Value};

use super::common::images::sha256;
use super::common::registry::{es256_key, openssl, tempdir};
use super::*;

/// A token signing key and the registry that trusts its public half.
struct Issuer {
    reg: Registry,
    key: jsonwebtoken::EncodingKey,
    alg: jsonwebtoken::Algorithm,
}

const REALM: &str = "https://auth.example.invalid/token";

/// `kind` is "ec" (ES256, the public key given) or "rsa" (RS256, a certificate given).
fn issuer(kind: &str) -> Issuer {
    let dir = tempdir();
    let d = dir.path();
    let (alg, key, public) = if kind == "ec" {
        let (key, public) = es256_key(d);
        (jsonwebtoken::Algorithm::ES256, key, public)
    } else {
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "private.pem",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "private.pem",
                "-subj",
                "/CN=token-signer",
                "-days",
                "2",
                "-out",
                "cert.pem",
            ],
        );
        let pem = std::fs::read(d.join("private.pem")).unwrap();
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap();
        (jsonwebtoken::Algorithm::RS256, key, d.join("cert.pem"))
    };
    let public = public.to_str().unwrap().to_string();
    let reg = Registry::start_in(
        dir,
        &[
            "--token-realm",
            REALM,
            "--token-issuer",
            "berth-test-issuer",
            "--token-service",
            "berth-test-registry",
            "--token-key",
            &public,
        ],
    );
    Issuer { reg, key, alg }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Issuer {
    fn mint_claims(&self, claims: Value) -> String {
        let token =
            jsonwebtoken::encode(&jsonwebtoken::Header::new(self.alg), &claims, &self.key).unwrap();
        format!("Bearer {token}")
    }

    /// A valid token granting `access`.
    fn mint(&self, access: Value) -> String {
        self.mint_claims(
            json!({"iss": "berth-test-issuer", "aud": "berth-test-registry", "sub": "tester",
            "iat": now(), "nbf": now() - 5, "exp": now() + 300, "access": access}),
        )
    }
}

fn repo_grant(name: &str, actions: &[&str]) -> Value {
    json!({"type": "repository", "name": name, "actions": actions})
}

#[test]
fn tokens_challenge_with_the_scope_the_request_needed() {
    let t = issuer("ec");
    let challenge = |method: &str, path: &str| {
        let r = t.reg.req_as(None, method, path, &[], Body::Bytes(b""));
        assert_eq!(
            (r.status, code(&r)),
            (401, "UNAUTHORIZED".to_string()),
            "{method} {path}"
        );
        r.header("WWW-Authenticate").unwrap().to_string()
    };
    let base = format!("Bearer realm=\"{REALM}\",service=\"berth-test-registry\"");
    assert_eq!(challenge("GET", "/v2/"), base);
    assert_eq!(
        challenge("GET", "/v2/a/b/manifests/latest"),
        format!("{base},scope=\"repository:a/b:pull\"")
    );
    assert_eq!(
        challenge("POST", "/v2/a/b/blobs/uploads/"),
        format!("{base},scope=\"repository:a/b:pull,push\"")
    );
    assert_eq!(
        challenge("DELETE", "/v2/a/b/manifests/latest"),
        format!("{base},scope=\"repository:a/b:delete\"")
    );
    assert_eq!(
        challenge("GET", "/v2/_catalog"),
        format!("{base},scope=\"registry:catalog:*\"")
    );
}

#[test]
fn tokens_grant_what_their_access_claim_says() {
    let t = issuer("ec");
    let writer = t.mint(json!([repo_grant("team/app", &["pull", "push"])]));
    let reg_as_writer = |method: &str, path: &str, body: &[u8]| {
        t.reg
            .req_as(Some(&writer), method, path, &[], Body::Bytes(body))
    };
    let d = sha256(b"layer");
    assert_eq!(
        reg_as_writer(
            "POST",
            &format!("/v2/team/app/blobs/uploads/?digest={d}"),
            b"layer"
        )
        .status,
        201
    );
    assert_eq!(
        reg_as_writer("GET", &format!("/v2/team/app/blobs/{d}"), b"").status,
        200
    );
    assert_eq!(reg_as_writer("GET", "/v2/", b"").status, 200);

    let reader = t.mint(json!([repo_grant("team/app", &["pull"])]));
    assert_eq!(
        t.reg
            .req_as(
                Some(&reader),
                "GET",
                &format!("/v2/team/app/blobs/{d}"),
                &[],
                Body::Bytes(b"")
            )
            .status,
        200
    );
    let denied = t.reg.req_as(
        Some(&reader),
        "POST",
        "/v2/team/app/blobs/uploads/",
        &[],
        Body::Bytes(b""),
    );
    assert_eq!((denied.status, code(&denied)), (403, "DENIED".to_string()));
    let header = denied.header("WWW-Authenticate").unwrap();
    assert!(
        header.contains("scope=\"repository:team/app:pull,push\"")
            && header.contains("error=\"insufficient_scope\""),
        "{header}"
    );
    let elsewhere = t.reg.req_as(
        Some(&reader),
        "GET",
        &format!("/v2/team/other/blobs/{d}"),
        &[],
        Body::Bytes(b""),
    );
    assert_eq!(elsewhere.status, 403);
    let delete = t.reg.req_as(
        Some(&writer),
        "DELETE",
        &format!("/v2/team/app/blobs/{d}"),
        &[],
        Body::Bytes(b""),
    );
    assert_eq!(delete.status, 403);
    assert_eq!(
        t.reg
            .req_as(Some(&writer), "GET", "/v2/_catalog", &[], Body::Bytes(b""))
            .status,
        403
    );
    let cataloguer = t.mint(json!([{"type": "registry", "name": "catalog", "actions": ["*"]}]));
    assert_eq!(
        t.reg
            .req_as(
                Some(&cataloguer),
                "GET",
                "/v2/_catalog",
                &[],
                Body::Bytes(b"")
            )
            .status,
        200
    );

    // A mount from a repository the token may not read is an ordinary upload instead.
    let other = t.mint(json!([repo_grant("team/copy", &["pull", "push"])]));
    let mount = t.reg.req_as(
        Some(&other),
        "POST",
        &format!("/v2/team/copy/blobs/uploads/?mount={d}&from=team/app"),
        &[],
        Body::Bytes(b""),
    );
    assert_eq!(mount.status, 202);
    let both = t.mint(json!([
        repo_grant("team/copy", &["pull", "push"]),
        repo_grant("team/app", &["pull"])
    ]));
    let mount = t.reg.req_as(
        Some(&both),
        "POST",
        &format!("/v2/team/copy/blobs/uploads/?mount={d}&from=team/app"),
        &[],
        Body::Bytes(b""),
    );
    assert_eq!(mount.status, 201);
}

#[test]
fn bad_tokens_are_refused() {
    let t = issuer("ec");
    let all = json!([repo_grant("a", &["*"])]);
    let good = json!({"iss": "berth-test-issuer", "aud": "berth-test-registry", "exp": now() + 300, "access": all});
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        t.mint_claims(c)
    };
    let other_key = issuer("ec").mint_claims(good.clone());
    for (token, what) in [
        (with("exp", json!(now() - 3600)), "expired"),
        (with("iss", json!("someone-else")), "another issuer"),
        (with("aud", json!("another-registry")), "another audience"),
        (with("nbf", json!(now() + 3600)), "not yet valid"),
        (other_key, "signed by another key"),
        ("Bearer not.a.token".to_string(), "garbage"),
    ] {
        let r = t.reg.req_as(
            Some(&token),
            "GET",
            "/v2/a/tags/list",
            &[],
            Body::Bytes(b""),
        );
        assert_eq!(r.status, 401, "{what}");
        assert!(
            r.header("WWW-Authenticate")
                .unwrap()
                .contains("error=\"invalid_token\""),
            "{what}"
        );
    }
    assert_eq!(
        t.reg
            .req_as(
                Some(&t.mint_claims(good)),
                "GET",
                "/v2/",
                &[],
                Body::Bytes(b"")
            )
            .status,
        200
    );
}

fn workflows_with_token(kind: &str) {
    let mut t = issuer(kind);
    let everything = json!([
        repo_grant("pull/app", &["*"]), repo_grant("pull/none", &["*"]), repo_grant("disco/none", &["*"]), repo_grant("push/app", &["*"]), repo_grant("push/other", &["*"]),
        repo_grant("disco/one/two", &["*"]), repo_grant("disco/x", &["*"]), repo_grant("manage/app", &["*"]),
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]);
    t.reg.auth = Some(t.mint(everything));
    super::workflows::all(&t.reg);
}

#[test]
fn the_four_workflows_with_es256_tokens() {
    workflows_with_token("ec");
}

#[test]
fn the_four_workflows_with_rs256_tokens_verified_by_a_certificate() {
    workflows_with_token("rsa");
}
