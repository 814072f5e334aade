//! HTTPS with a certificate from a test CA (both made by openssl): the harness client over
//! rustls and skopeo both verify it against that CA, and plain HTTP gets no answer.

use std::io::{Read, Write};

use super::common::registry::{tempdir, test_certificate};
use super::skopeo::{busybox_layout, layout_manifest, skopeo};
use super::*;

#[test]
fn the_registry_serves_https() {
    let dir = tempdir();
    let (ca, cert, key) = test_certificate(dir.path());
    let mut reg = Registry::start_in(
        dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(reg.log().contains("(https)"), "{}", reg.log());
    reg.trust(&ca);
    assert_eq!(reg.get("/v2/").status, 200);
    let image = reg.push_image("secure/app", "v1", "tls");
    assert_eq!(reg.get("/v2/secure/app/manifests/v1").body, image.manifest);
    let blob = reg.get(&format!("/v2/secure/app/blobs/{}", image.layers[0]));
    assert_eq!(super::common::images::sha256(&blob.body), image.layers[0]);

    let mut plain = std::net::TcpStream::connect(&reg.addr).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "plain HTTP was served"
    );

    // skopeo, trusting the certificate through a cert dir (no verification switched off).
    let work = tempdir();
    let certs = work.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&ca, certs.join("ca.crt")).unwrap();
    let layout = busybox_layout(work.path());
    let target = format!("docker://{}/secure/busybox:latest", reg.addr);
    let cert_dir = format!("--dest-cert-dir={}", certs.display());
    let src = format!("oci:{}:latest", layout.display());
    skopeo(work.path(), &["copy", &cert_dir, &src, &target])
        .unwrap_or_else(|e| panic!("{e}\n{}", reg.log()));
    let out = work.path().join("out");
    let src_dir = format!("--src-cert-dir={}", certs.display());
    skopeo(
        work.path(),
        &[
            "copy",
            &src_dir,
            &target,
            &format!("oci:{}:latest", out.display()),
        ],
    )
    .unwrap();
    assert_eq!(layout_manifest(&out), layout_manifest(&layout));
    let untrusted = skopeo(work.path(), &["inspect", &target]);
    assert!(untrusted.is_err(), "an unverified certificate was accepted");
}
