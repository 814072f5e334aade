//! The volume bodies read from, and written as, docker's JSON: the Swagger examples of
//! Engine API v1.41 and the bodies docker 20.10's CLI sends.

use serde_json::{json, Value};

use super::*;

/// Reads `text`, writes it back, and checks the writing is `want` and reads back the same.
fn round_trip<T>(text: &str, want: Value) -> T
where
    T: serde::de::DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let read: T = serde_json::from_str(text).unwrap();
    let written = serde_json::to_value(&read).unwrap();
    assert_eq!(written, want);
    let again: T = serde_json::from_value(written).unwrap();
    assert_eq!(again, read);
    read
}

#[test]
fn volume_from_the_swagger_example() {
    let text = r#"{"Name": "tardis", "Driver": "custom",
        "Mountpoint": "/var/lib/docker/volumes/tardis", "Status": {"hello": "world"},
        "Labels": {"com.example.some-label": "some-value",
                   "com.example.some-other-label": "some-other-value"},
        "Scope": "local", "CreatedAt": "2016-06-07T20:31:11.853781916Z"}"#;
    let v: Volume = round_trip(
        text,
        json!({"CreatedAt": "2016-06-07T20:31:11.853781916Z", "Driver": "custom",
               "Labels": {"com.example.some-label": "some-value",
                          "com.example.some-other-label": "some-other-value"},
               "Mountpoint": "/var/lib/docker/volumes/tardis", "Name": "tardis",
               "Options": null, "Scope": "local", "Status": {"hello": "world"}}),
    );
    assert_eq!(v.name, "tardis");
    assert_eq!(v.status.unwrap()["hello"], "world");
    assert!(v.usage_data.is_none());
    assert!(v.options.is_none());
}

#[test]
fn volume_keys_come_out_in_dockers_order() {
    let v = Volume {
        name: "v".into(),
        driver: "local".into(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"Driver":"local","Labels":null,"Mountpoint":"","Name":"v","Options":null,"Scope":""}"#
    );
}

#[test]
fn list_from_the_swagger_example() {
    let text = r#"{"Volumes": [{"CreatedAt": "2017-07-19T12:00:26Z", "Name": "tardis",
        "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/tardis",
        "Labels": {"com.example.some-label": "some-value"}, "Scope": "local",
        "Options": {"device": "tmpfs", "o": "size=100m,uid=1000", "type": "tmpfs"}}],
        "Warnings": []}"#;
    let l: VolumeListResponse = round_trip(
        text,
        json!({"Volumes": [{"CreatedAt": "2017-07-19T12:00:26Z", "Driver": "local",
            "Labels": {"com.example.some-label": "some-value"},
            "Mountpoint": "/var/lib/docker/volumes/tardis", "Name": "tardis",
            "Options": {"device": "tmpfs", "o": "size=100m,uid=1000", "type": "tmpfs"},
            "Scope": "local"}], "Warnings": []}),
    );
    assert_eq!(
        l.volumes[0].options.as_ref().unwrap()["o"],
        "size=100m,uid=1000"
    );
    // Go sends nil slices as null.
    let empty: VolumeListResponse =
        serde_json::from_str(r#"{"Volumes": null, "Warnings": null}"#).unwrap();
    assert_eq!(empty, VolumeListResponse::default());
}

#[test]
fn usage_data_as_system_df_reports_it() {
    let v: Volume = serde_json::from_value(json!({"Name": "a", "Driver": "local",
        "Mountpoint": "/m", "Labels": null, "Options": null, "Scope": "local",
        "UsageData": {"Size": 4096, "RefCount": 2}}))
    .unwrap();
    assert_eq!(
        v.usage_data,
        Some(VolumeUsageData {
            size: 4096,
            ref_count: 2
        })
    );
    assert!(v.labels.is_none());
    assert_eq!(
        serde_json::to_value(&v).unwrap()["UsageData"],
        json!({"Size": 4096, "RefCount": 2})
    );
    assert_eq!(
        VolumeUsageData::default(),
        VolumeUsageData {
            size: -1,
            ref_count: -1
        }
    );
}

#[test]
fn create_request_as_docker_cli_sends_it() {
    let text = r#"{"Driver":"drv","DriverOpts":{"o":"1","p":""},"Labels":{"a":"b"},"Name":"v1"}"#;
    let r: VolumeCreateRequest = round_trip(text, serde_json::from_str(text).unwrap());
    assert_eq!(r.driver, "drv");
    assert_eq!(r.driver_opts["p"], "");
    // The Swagger example leaves out DriverOpts; docker-py may send nulls.
    let r: VolumeCreateRequest = serde_json::from_str(
        r#"{"Name": "tardis", "Labels": {"com.example.some-label": "some-value"}, "Driver": "custom"}"#,
    )
    .unwrap();
    assert!(r.driver_opts.is_empty());
    let r: VolumeCreateRequest =
        serde_json::from_str(r#"{"Name": "", "DriverOpts": null, "Labels": null}"#).unwrap();
    assert_eq!(r, VolumeCreateRequest::default());
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"Driver": "", "DriverOpts": {}, "Labels": {}, "Name": ""})
    );
}

#[test]
fn prune_response() {
    let p: VolumePruneResponse = round_trip(
        r#"{"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 1234567}"#,
        json!({"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 1234567}),
    );
    assert_eq!(p.volumes_deleted, ["a", "b"]);
    let p: VolumePruneResponse =
        serde_json::from_str(r#"{"VolumesDeleted": null, "SpaceReclaimed": 0}"#).unwrap();
    assert!(p.volumes_deleted.is_empty());
}

#[test]
fn mount_points_of_container_inspect() {
    // What docker 20.10 reports for `-v data:/data`, `-v /srv:/srv:ro,rslave` and a tmpfs.
    let text = r#"[
        {"Type": "volume", "Name": "data", "Source": "/var/lib/docker/volumes/data/_data",
         "Destination": "/data", "Driver": "local", "Mode": "z", "RW": true, "Propagation": ""},
        {"Type": "bind", "Source": "/srv", "Destination": "/srv", "Mode": "ro,rslave",
         "RW": false, "Propagation": "rslave"},
        {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": true,
         "Propagation": ""}]"#;
    let want: Value = serde_json::from_str(text).unwrap();
    let m: Vec<MountPoint> = round_trip(text, want);
    assert_eq!(m[0].kind, "volume");
    assert_eq!(m[0].name, "data");
    assert!(m[0].rw);
    assert_eq!(m[1].propagation, "rslave");
    assert!(m[1].name.is_empty() && m[1].driver.is_empty());
}

#[test]
fn mounts_as_docker_cli_sends_them() {
    // `docker run --mount` bodies, as captured from docker 20.10.
    for text in [
        r#"{"Type":"volume","Source":"v","Target":"/x"}"#,
        r#"{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"NoCopy":true,"DriverConfig":{}}}"#,
        r#"{"Type":"bind","Source":"/a","Target":"/x","BindOptions":{"Propagation":"rshared","NonRecursive":true}}"#,
        r#"{"Type":"bind","Source":".","Target":"/x","ReadOnly":true}"#,
        r#"{"Type":"bind","Target":"/x","BindOptions":{}}"#,
        r#"{"Type":"volume","Target":"/x","VolumeOptions":{"Labels":{"a":"b","c":""},"DriverConfig":{"Name":"drv","Options":{"o":"1","p":""}}}}"#,
        r#"{"Type":"volume","Target":"/x","Consistency":"cached"}"#,
        r#"{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":67108864,"Mode":1023}}"#,
    ] {
        let m: Mount = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), text);
    }
    let m: Mount = serde_json::from_str(
        r#"{"Type":"volume","Target":"/x","VolumeOptions":{"Labels":null,"DriverConfig":{"Options":null}}}"#,
    )
    .unwrap();
    let opts = m.volume_options.unwrap();
    assert!(opts.labels.is_empty());
    assert_eq!(opts.driver_config, Some(DriverConfig::default()));
}

#[test]
fn host_config_mounts_are_typed() {
    let h: crate::types::HostConfig = serde_json::from_value(json!({
        "Binds": ["vol:/data:ro", "/host:/h:rw,z,rshared,nocopy"],
        "VolumeDriver": "foo", "VolumesFrom": ["c1:ro"],
        "Mounts": [{"Type": "tmpfs", "Target": "/t",
                    "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1023}}]}))
    .unwrap();
    let mounts = h.mounts.as_deref().unwrap();
    assert_eq!(mounts[0].kind, "tmpfs");
    assert_eq!(mounts[0].tmpfs_options.unwrap().mode, 0o1777);
    let v = serde_json::to_value(&h).unwrap();
    assert_eq!(
        v["Mounts"],
        json!([{"Type": "tmpfs", "Target": "/t",
                "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1023}}])
    );
    assert_eq!(v["Binds"][1], "/host:/h:rw,z,rshared,nocopy");
    assert_eq!(v["VolumesFrom"], json!(["c1:ro"]));
    let none: crate::types::HostConfig = serde_json::from_value(json!({"Mounts": null})).unwrap();
    assert!(none.mounts.is_none());
}
