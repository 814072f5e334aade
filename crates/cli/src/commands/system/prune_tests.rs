use berth_api::types::ImageDeleteItem;

use super::*;

fn args(all: bool, volumes: bool, filter: &[&str]) -> SystemPruneArgs {
    SystemPruneArgs {
        all,
        filter: filter.iter().map(|s| s.to_string()).collect(),
        force: true,
        volumes,
    }
}

/// The prompt as the user sees it: the list, then what `confirm` adds.
fn prompt(all: bool, volumes: bool) -> String {
    format!(
        "{}\nAre you sure you want to continue? [y/N] ",
        confirmation(all, volumes)
    )
}

#[test]
fn prompts_are_dockers() {
    assert_eq!(
        prompt(false, false),
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - all dangling build cache\n\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(
        prompt(true, false),
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(
        prompt(false, true),
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all volumes not used by at least one container\n  - all dangling images\n  - all dangling build cache\n\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(
        prompt(true, true),
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all volumes not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\nAre you sure you want to continue? [y/N] "
    );
}

#[test]
fn filters_go_to_every_prune_with_dockers_additions() {
    let f = parse_filters(&args(false, true, &["label=a=b"])).unwrap();
    assert_eq!(f.get("label"), ["a=b"]);
    let v = volume_filters(&f);
    assert_eq!(
        (v.get("label"), v.get("all")),
        (&["a=b".to_string()][..], &["true".to_string()][..])
    );
    assert_eq!(image_filters(&f, false).get("dangling"), ["true"]);
    assert_eq!(image_filters(&f, true).get("dangling"), ["false"]);
    // The shared filters are not changed by the additions.
    assert!(f.get("all").is_empty() && f.get("dangling").is_empty());
}

#[test]
fn bad_filters_are_refused() {
    let err = parse_filters(&args(false, false, &["nope"])).unwrap_err();
    assert_eq!(
        err.message,
        "invalid argument \"nope\" for \"--filter\" flag: bad format of filter (expected name=value)"
    );
    let err = parse_filters(&args(false, true, &["until=24h"])).unwrap_err();
    assert_eq!(
        err.message,
        "ERROR: The \"until\" filter is not supported with \"--volumes\""
    );
    assert!(parse_filters(&args(true, false, &["until=24h"])).is_ok());
}

#[test]
fn sections_and_total_are_dockers() {
    assert_eq!(section("Deleted Networks", &[]), "");
    assert_eq!(
        section("Deleted Volumes", &["a".into(), "b".into()]),
        "Deleted Volumes:\na\nb\n\n"
    );
    let items = [
        ImageDeleteItem {
            untagged: Some("netbox:latest".into()),
            deleted: None,
        },
        ImageDeleteItem {
            untagged: None,
            deleted: Some("sha256:abc".into()),
        },
    ];
    assert_eq!(
        section("Deleted Images", &image_lines(&items)),
        "Deleted Images:\nuntagged: netbox:latest\ndeleted: sha256:abc\n\n"
    );
    assert_eq!(total(0), "Total reclaimed space: 0B\n");
    assert_eq!(total(1_234_567), "Total reclaimed space: 1.235MB\n");
}
