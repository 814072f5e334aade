//! A client nobody here wrote: skopeo copies a busybox image (an OCI layout the test builds)
//! into Berth's registry and back out, inspects it and lists its tags, with and without Basic
//! auth.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::common::images::{oci_layout, Image};
use super::*;

/// An OCI layout directory holding busybox as `latest`.
pub fn busybox_layout(dir: &Path) -> PathBuf {
    let layout = dir.join("layout");
    let tar = oci_layout(&[Image::busybox().tagged("busybox:latest")], true);
    tar::Archive::new(&tar[..]).unpack(&layout).unwrap();
    layout
}

/// The digest of the one manifest an OCI layout's index names.
pub fn layout_manifest(layout: &Path) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs skopeo with its state kept in `home`; returns stdout, panicking with stderr on failure.
pub fn skopeo(home: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .env("REGISTRY_AUTH_FILE", home.join("auth.json"))
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn round_trip(reg: &Registry, creds: Option<&str>) {
    let work = super::common::registry::tempdir();
    let home = work.path();
    let layout = busybox_layout(home);
    let pushed = layout_manifest(&layout);
    let src = format!("oci:{}:latest", layout.display());
    let image = format!("docker://{}/library/busybox:1.36", reg.addr);
    let with_creds = |mut args: Vec<String>, flag: &str| {
        if let Some(c) = creds {
            args.insert(1, format!("--{flag}={c}"));
        }
        args
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        skopeo(home, &args).unwrap_or_else(|e| panic!("skopeo {args:?}: {e}\n{}", reg.log()))
    };
    run(with_creds(
        vec![
            "copy".into(),
            "--dest-tls-verify=false".into(),
            src,
            image.clone(),
        ],
        "dest-creds",
    ));
    let inspect: Value = serde_json::from_str(&run(with_creds(
        vec!["inspect".into(), "--tls-verify=false".into(), image.clone()],
        "creds",
    )))
    .unwrap();
    assert_eq!(inspect["Digest"], pushed);
    assert_eq!(inspect["Os"], "linux");
    let tags: Value = serde_json::from_str(&run(with_creds(
        vec![
            "list-tags".into(),
            "--tls-verify=false".into(),
            format!("docker://{}/library/busybox", reg.addr),
        ],
        "creds",
    )))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["1.36"]));
    let out = home.join("out");
    run(with_creds(
        vec![
            "copy".into(),
            "--src-tls-verify=false".into(),
            image.clone(),
            format!("oci:{}:latest", out.display()),
        ],
        "src-creds",
    ));
    assert_eq!(
        layout_manifest(&out),
        pushed,
        "the image came back as it went in"
    );
    for blob in super::common::list_dir(&layout.join("blobs/sha256")) {
        assert!(
            out.join("blobs/sha256").join(&blob).exists(),
            "{blob} missing from the copy"
        );
    }
    if creds.is_some() {
        let anonymous = skopeo(home, &["inspect", "--tls-verify=false", &image]);
        assert!(anonymous.is_err(), "inspect without credentials succeeded");
    }
}

#[test]
fn skopeo_copies_an_image_in_and_out() {
    let reg = Registry::start(&[]);
    round_trip(&reg, None);
}

#[test]
fn skopeo_copies_with_basic_auth() {
    let reg = super::basic_auth::with_basic_auth();
    round_trip(&reg, Some("alice:s3cret"));
}
