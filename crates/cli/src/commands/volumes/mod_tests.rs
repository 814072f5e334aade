//! `volume create`, `rm` and `prune`: the bodies, filters, texts and refusals, as docker
//! 20.10 sends and prints them (and, for `prune --all`, as its later CLIs do).

use berth_api::ClientError;
use serde_json::json;

use super::*;

fn create_args(volume: Option<&str>, name: Option<&str>) -> VolumeCreateArgs {
    VolumeCreateArgs {
        driver: "local".into(),
        volume: volume.map(Into::into),
        name: name.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn create_bodies() {
    let v = serde_json::to_value(create_request(&create_args(None, None)).unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"Driver": "local", "DriverOpts": {}, "Labels": {}, "Name": ""})
    );
    let a = VolumeCreateArgs {
        driver: "drv".into(),
        label: vec!["a=b".into(), "c".into()],
        opt: vec!["o=1".into(), "p".into(), "q=x=y".into()],
        ..create_args(Some("v1"), None)
    };
    let v = serde_json::to_value(create_request(&a).unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"Driver": "drv", "DriverOpts": {"o": "1", "p": "", "q": "x=y"},
               "Labels": {"a": "b", "c": ""}, "Name": "v1"})
    );
    let r = create_request(&create_args(None, Some("v2"))).unwrap();
    assert_eq!(r.name, "v2");
}

#[test]
fn create_refuses_two_names() {
    for (arg, flag) in [("v3", "v2"), ("v2", "v2")] {
        let e = create_request(&create_args(Some(arg), Some(flag))).unwrap_err();
        assert_eq!(
            e.message,
            "conflicting options: either specify --name or provide positional arg, not both"
        );
        assert_eq!(e.status, 1);
    }
}

#[test]
fn create_flags_parse_as_docker_spells_them() {
    use clap::Parser;
    let app = crate::app::App::try_parse_from([
        "berth", "volume", "create", "-d", "drv", "--label", "a=b", "-o", "o=1", "--opt", "p=2",
        "v1",
    ])
    .unwrap();
    let crate::app::Command::Volume(VolumeCommand::Create(a)) = app.command else {
        panic!("not volume create");
    };
    assert_eq!(
        (a.driver.as_str(), a.volume.as_deref()),
        ("drv", Some("v1"))
    );
    assert_eq!(a.opt, ["o=1", "p=2"]);
    let e = crate::app::App::try_parse_from(["berth", "volume", "create", "a", "b"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
    for cmd in [
        &["volume", "list"][..],
        &["volume", "remove", "v"],
        &["volume", "rm", "-f", "a", "b"],
    ] {
        let mut argv = vec!["berth"];
        argv.extend_from_slice(cmd);
        crate::app::App::try_parse_from(argv).unwrap();
    }
}

#[test]
fn remove_errors_in_dockers_words() {
    let missing = ClientError::Api {
        status: 404,
        message: "get missing: no such volume".into(),
    };
    assert_eq!(
        remove_error("missing", missing),
        "Error: No such volume: missing"
    );
    let busy = ClientError::Api {
        status: 409,
        message: "remove busy: volume is in use - [abc]".into(),
    };
    assert_eq!(
        remove_error("busy", busy),
        "Error response from daemon: remove busy: volume is in use - [abc]"
    );
}

#[test]
fn prune_filters_and_all() {
    let a = VolumePruneArgs {
        filter: vec!["label=a".into(), "until=1h".into()],
        ..Default::default()
    };
    assert_eq!(
        prune_filters(&a).unwrap().to_json(),
        r#"{"label":{"a":true},"until":{"1h":true}}"#
    );
    assert!(prune_filters(&VolumePruneArgs::default())
        .unwrap()
        .is_empty());
    let all = VolumePruneArgs {
        all: true,
        filter: vec!["label=a".into()],
        ..Default::default()
    };
    assert_eq!(
        prune_filters(&all).unwrap().to_json(),
        r#"{"all":{"true":true},"label":{"a":true}}"#
    );
    let both = VolumePruneArgs {
        all: true,
        filter: vec!["all=1".into()],
        ..Default::default()
    };
    assert_eq!(
        prune_filters(&both).unwrap_err().message,
        "conflicting options: cannot specify both --all and --filter all=1"
    );
    let bad = VolumePruneArgs {
        filter: vec!["bad".into()],
        ..Default::default()
    };
    let e = prune_filters(&bad).unwrap_err();
    assert_eq!(
        e.message,
        "invalid argument \"bad\" for \"--filter\" flag: bad format of filter (expected name=value)"
    );
    assert_eq!(e.status, 125);
}

#[test]
fn prune_output_and_prompts() {
    assert_eq!(
        prune_report(&["a".into(), "b".into()], 1234567),
        "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 1.235MB\n"
    );
    assert_eq!(prune_report(&[], 0), "Total reclaimed space: 0B\n");
    assert_eq!(
        format!("{PRUNE_ALL_WARNING}\nAre you sure you want to continue? [y/N] "),
        "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(
        PRUNE_ANONYMOUS_WARNING,
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    );
}
