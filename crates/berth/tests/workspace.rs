//! The crate graph of DESIGN.md, checked with `cargo metadata` so it cannot drift: a
//! library crate uses none of its siblings unless the design allows it.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

const ALLOWED: &[(&str, &[&str])] = &[
    ("berth-api", &[]),
    ("berth-store", &[]),
    ("berth-snapshot", &[]),
    ("berth-runtime", &[]),
    ("berth-network", &[]),
    ("berth-build", &[]),
    ("berth-distribution", &["berth-store"]),
    (
        "berth-daemon",
        &[
            "berth-api",
            "berth-store",
            "berth-snapshot",
            "berth-runtime",
            "berth-network",
            "berth-build",
            "berth-distribution",
        ],
    ),
    ("berth-cli", &["berth-api", "berth-build"]),
    (
        "berth",
        &[
            "berth-cli",
            "berth-daemon",
            "berth-distribution",
            "berth-runtime",
        ],
    ),
];

#[test]
fn crate_dependencies_follow_the_design() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    assert_eq!(
        members,
        allowed
            .keys()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        "the workspace's crates differ from the design's"
    );
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        for dep in p["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let is_normal = dep["kind"].is_null();
            if members.contains(dep_name) && is_normal {
                assert!(
                    allowed[name].contains(&dep_name),
                    "{name} depends on {dep_name}, which the design does not allow"
                );
            }
        }
    }
}
