//! The volume methods against a stand-in engine on a private unix socket: which method,
//! path, query and body each sends, and how each answer is read.

use serde_json::{json, Value};

use super::*;
use crate::client::stand_in::{decode_query, engine, v};

#[tokio::test]
async fn list_sends_filters_and_reads_volumes() {
    let (e, c) = engine(|_, _| {
        (
            200,
            json!({"Volumes": [
                {"Name": "data", "Driver": "local", "Mountpoint": "/var/lib/berth/volumes/data/_data",
                 "Labels": {"a": "b"}, "Scope": "local", "Options": null,
                 "CreatedAt": "2024-01-02T03:04:05Z"}],
                "Warnings": null}),
        )
    })
    .await;
    let list = c.volume_list(&Filters::new()).await.unwrap();
    assert_eq!(list.volumes.len(), 1);
    assert_eq!(list.volumes[0].name, "data");
    assert_eq!(list.volumes[0].labels.as_ref().unwrap()["a"], "b");
    assert!(list.volumes[0].options.is_none());
    assert!(list.warnings.is_empty());
    let mut f = Filters::new();
    f.add_arg("dangling=true").unwrap();
    f.add_arg("name=da").unwrap();
    c.volume_list(&f).await.unwrap();
    let s = e.seen();
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str()),
        ("GET", v("/volumes").as_str())
    );
    assert_eq!(s[1].1.split('?').next(), Some(v("/volumes").as_str()));
    assert_eq!(
        decode_query(&s[1].1)["filters"],
        r#"{"dangling":{"true":true},"name":{"da":true}}"#
    );
}

#[tokio::test]
async fn inspect_typed_and_raw() {
    let (e, c) = engine(|_, path| {
        if path.ends_with("/missing") {
            (404, json!({"message": "get missing: no such volume"}))
        } else {
            (
                200,
                json!({"Name": "data", "Driver": "local", "Mountpoint": "/m", "Scope": "local",
                       "Labels": {}, "Options": {}, "Extra": 1}),
            )
        }
    })
    .await;
    let vol = c.volume_inspect("data").await.unwrap();
    assert_eq!(vol.mountpoint, "/m");
    assert_eq!(vol.labels, Some(Default::default()));
    let raw = c.volume_inspect_raw("data").await.unwrap();
    assert_eq!(raw["Extra"], 1);
    // The raw document keeps the engine's order.
    let keys: Vec<&String> = raw.as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "Name");
    let err = c.volume_inspect("missing").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.to_string(), "get missing: no such volume");
    let s = e.seen();
    assert_eq!(s[0].1, v("/volumes/data"));
    assert_eq!(s[1].1, v("/volumes/data"));
    assert_eq!(s[2].1, v("/volumes/missing"));
}

#[tokio::test]
async fn create_sends_dockers_body_and_reads_the_volume() {
    let (e, c) = engine(|_, _| {
        (
            201,
            json!({"Name": "4f2a", "Driver": "local", "Mountpoint": "/m/4f2a/_data",
                   "Labels": {}, "Options": {}, "Scope": "local",
                   "CreatedAt": "2024-01-02T03:04:05Z"}),
        )
    })
    .await;
    let req = VolumeCreateRequest {
        driver: "local".into(),
        ..Default::default()
    };
    let vol = c.volume_create(&req).await.unwrap();
    assert_eq!(vol.name, "4f2a");
    let req = VolumeCreateRequest {
        name: "v1".into(),
        driver: "drv".into(),
        driver_opts: [("o".to_string(), "1".to_string())].into(),
        labels: [("a".to_string(), String::new())].into(),
    };
    c.volume_create(&req).await.unwrap();
    let s = e.seen();
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str()),
        ("POST", v("/volumes/create").as_str())
    );
    assert_eq!(
        serde_json::from_str::<Value>(&s[0].2).unwrap(),
        json!({"Driver": "local", "DriverOpts": {}, "Labels": {}, "Name": ""})
    );
    assert_eq!(
        s[1].2,
        r#"{"Driver":"drv","DriverOpts":{"o":"1"},"Labels":{"a":""},"Name":"v1"}"#
    );
}

#[tokio::test]
async fn remove_with_and_without_force() {
    let (e, c) = engine(|_, path| {
        if path.contains("/busy") {
            (
                409,
                json!({"message": "remove busy: volume is in use - [4f2a9e0c1b7d]"}),
            )
        } else {
            (204, Value::Null)
        }
    })
    .await;
    c.volume_remove("v1", false).await.unwrap();
    c.volume_remove("v1", true).await.unwrap();
    let err = c.volume_remove("busy", false).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        err.to_string(),
        "remove busy: volume is in use - [4f2a9e0c1b7d]"
    );
    let s = e.seen();
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str()),
        ("DELETE", v("/volumes/v1").as_str())
    );
    assert_eq!(s[1].1, v("/volumes/v1?force=1"));
    assert_eq!(s[2].1, v("/volumes/busy"));
}

#[tokio::test]
async fn prune_sends_filters_and_reads_the_report() {
    let (e, c) = engine(|_, _| {
        (
            200,
            json!({"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 1234567}),
        )
    })
    .await;
    let report = c.volume_prune(&Filters::new()).await.unwrap();
    assert_eq!(report.volumes_deleted, ["a", "b"]);
    assert_eq!(report.space_reclaimed, 1234567);
    let mut f = Filters::new();
    f.add("all", "true");
    f.add_arg("label=a=b").unwrap();
    c.volume_prune(&f).await.unwrap();
    let s = e.seen();
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str()),
        ("POST", v("/volumes/prune").as_str())
    );
    assert_eq!(
        decode_query(&s[1].1)["filters"],
        r#"{"all":{"true":true},"label":{"a=b":true}}"#
    );
}

#[tokio::test]
async fn prune_reads_a_null_list() {
    let (_e, c) = engine(|_, _| (200, json!({"VolumesDeleted": null, "SpaceReclaimed": 0}))).await;
    let report = c.volume_prune(&Filters::new()).await.unwrap();
    assert!(report.volumes_deleted.is_empty());
}
