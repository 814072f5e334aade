//! `-v` and `--mount` read as docker 20.10 reads them; every expected body and message
//! here is what docker 20.10's CLI sent or printed for the same flag.

use serde_json::json;

use super::*;

fn mount_json(value: &str) -> serde_json::Value {
    serde_json::to_value(parse_mount(value).unwrap()).unwrap()
}

fn flags(volume: &[&str], mount: &[&str]) -> ContainerVolumeFlags {
    ContainerVolumeFlags {
        volume: volume.iter().map(|s| s.to_string()).collect(),
        mount: mount.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn sources_as_docker_finds_them() {
    for spec in [
        "vol:/data",
        "vol:/data:ro",
        "/host:/h:rw,z,rshared,nocopy",
        "./rel:/r",
        "rel/x:/y",
        "~/x:/y",
        "/anon:ro",
        "a:b:c:d",
        "/a::/b",
        "vol:/x:",
        "vol:rel",
        "C:\\x:/y",
        "ab:/x",
    ] {
        assert!(has_source(spec), "{spec}");
    }
    // No source: anonymous volumes (and what docker sends along with them, unchecked).
    for spec in [
        "/anon", "", "ab", "::", ":/x", "c:/c", "Z:/data", "a:", "/a/b/c",
    ] {
        assert!(!has_source(spec), "{spec}");
    }
}

#[test]
fn volume_specs_split_between_binds_and_volumes() {
    let s = storage(&flags(
        &[
            "vol:/data:ro",
            "/anon",
            "/host:/h:rw,z,rshared,nocopy",
            "./rel:/r",
            "vol:/data:ro",
            "/anon",
            "c:/c",
        ],
        &[],
    ))
    .unwrap();
    assert_eq!(
        s.binds.unwrap(),
        ["vol:/data:ro", "/host:/h:rw,z,rshared,nocopy", "./rel:/r"]
    );
    assert_eq!(
        serde_json::to_value(s.volumes.unwrap()).unwrap(),
        json!({"/anon": {}, "c:/c": {}})
    );
    assert!(s.mounts.is_none());
    assert!(s.warnings.is_empty());
    let none = storage(&ContainerVolumeFlags::default()).unwrap();
    assert_eq!(none, Storage::default());
}

#[test]
fn mounts_as_docker_sends_them() {
    assert_eq!(
        mount_json("type=volume,src=v,dst=/x"),
        json!({"Type": "volume", "Source": "v", "Target": "/x"})
    );
    assert_eq!(
        mount_json("src=v,target=/x,volume-nocopy"),
        json!({"Type": "volume", "Source": "v", "Target": "/x",
               "VolumeOptions": {"NoCopy": true, "DriverConfig": {}}})
    );
    // Relative sources go as written.
    assert_eq!(
        mount_json("type=bind,src=./rel,dst=/x"),
        json!({"Type": "bind", "Source": "./rel", "Target": "/x"})
    );
    assert_eq!(
        mount_json("type=bind,source=.,dst=/x,ro"),
        json!({"Type": "bind", "Source": ".", "Target": "/x", "ReadOnly": true})
    );
    assert_eq!(
        mount_json(
            "Type=BIND,SRC=/a,DST=/x,readonly=false,bind-propagation=RSHARED,bind-nonrecursive"
        ),
        json!({"Type": "bind", "Source": "/a", "Target": "/x",
               "BindOptions": {"Propagation": "rshared", "NonRecursive": true}})
    );
    assert_eq!(
        mount_json("dst=/x,bind-nonrecursive=false,type=bind"),
        json!({"Type": "bind", "Target": "/x", "BindOptions": {}})
    );
    assert_eq!(
        mount_json(
            "type=volume,dst=/x,volume-label=a=b,volume-label=c,volume-driver=drv,volume-opt=o=1,volume-opt=p"
        ),
        json!({"Type": "volume", "Target": "/x", "VolumeOptions": {
            "Labels": {"a": "b", "c": ""},
            "DriverConfig": {"Name": "drv", "Options": {"o": "1", "p": ""}}}})
    );
    assert_eq!(
        mount_json("dst=/x,volume-opt=o=1"),
        json!({"Type": "volume", "Target": "/x",
               "VolumeOptions": {"DriverConfig": {"Options": {"o": "1"}}}})
    );
    assert_eq!(
        mount_json("dst=/x,volume-label="),
        json!({"Type": "volume", "Target": "/x",
               "VolumeOptions": {"Labels": {"": ""}, "DriverConfig": {}}})
    );
    assert_eq!(
        mount_json("dst=/x,type=volume,volume-driver="),
        json!({"Type": "volume", "Target": "/x", "VolumeOptions": {"DriverConfig": {}}})
    );
    assert_eq!(
        mount_json("dst=/x,RO"),
        json!({"Type": "volume", "Target": "/x", "ReadOnly": true})
    );
    for yes in ["ro=1", "ro=T", "readonly=true", "ro=True"] {
        assert!(parse_mount(&format!("dst=/x,{yes}")).unwrap().read_only);
    }
    assert_eq!(
        mount_json("dst=/x,consistency=Cached"),
        json!({"Type": "volume", "Target": "/x", "Consistency": "cached"})
    );
    assert_eq!(
        mount_json(r#"dst=/x,"src=a,b""#),
        json!({"Type": "volume", "Source": "a,b", "Target": "/x"})
    );
    assert_eq!(
        mount_json("target=/x,target=/y"),
        json!({"Type": "volume", "Target": "/y"})
    );
    assert_eq!(
        mount_json("type=npipe,dst=/x"),
        json!({"Type": "npipe", "Target": "/x"})
    );
}

#[test]
fn tmpfs_mounts() {
    assert_eq!(
        mount_json("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777"),
        json!({"Type": "tmpfs", "Target": "/t",
               "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1023}})
    );
    assert_eq!(
        mount_json("type=tmpfs,dst=/x,tmpfs-mode=0700,tmpfs-size=1.5g"),
        json!({"Type": "tmpfs", "Target": "/x",
               "TmpfsOptions": {"SizeBytes": 1610612736, "Mode": 448}})
    );
    for size in ["64 m", "64mib", "64MiB"] {
        assert_eq!(
            mount_json(&format!("type=tmpfs,dst=/x,tmpfs-size={size}"))["TmpfsOptions"],
            json!({"SizeBytes": 67108864})
        );
    }
    assert_eq!(
        mount_json("type=tmpfs,dst=/x,tmpfs-size=0"),
        json!({"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {}})
    );
    assert_eq!(
        mount_json("type=tmpfs,dst=/x,tmpfs-mode=37777777777")["TmpfsOptions"],
        json!({"Mode": 4294967295u32})
    );
}

#[test]
fn mount_refusals_in_dockers_words() {
    let cases = [
        ("x", "invalid field 'x' must be a key=value pair"),
        ("type=bind,src=/a", "target is required"),
        ("src=v", "target is required"),
        ("type=,dst=/x", "type is required"),
        ("", "EOF"),
        ("dst=/x,,", "invalid field '' must be a key=value pair"),
        ("dst=/x, ro", "invalid field ' ro' must be a key=value pair"),
        ("dst=/x,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
        ("dst=/x,Bogus=1", "unexpected key 'bogus' in 'Bogus=1'"),
        (" dst=/x", "unexpected key ' dst' in ' dst=/x'"),
        ("dst=/x,=v", "unexpected key '' in '=v'"),
        ("dst=/x,readonly=yes", "invalid value for readonly: yes"),
        ("dst=/x,RO=maybe", "invalid value for ro: maybe"),
        ("dst=/x,ro=", "invalid value for ro: "),
        (
            "dst=/x,volume-nocopy=maybe",
            "invalid value for volume-nocopy: maybe",
        ),
        (
            "type=bind,dst=/x,bind-nonrecursive=2",
            "invalid value for bind-nonrecursive: 2",
        ),
        (
            "type=tmpfs,dst=/x,tmpfs-size=lots",
            "invalid value for tmpfs-size: lots",
        ),
        (
            "type=tmpfs,dst=/x,tmpfs-size=1.5.2m",
            "invalid value for tmpfs-size: 1.5.2m",
        ),
        (
            "type=tmpfs,dst=/x,tmpfs-size=-1",
            "invalid value for tmpfs-size: -1",
        ),
        (
            "type=tmpfs,dst=/x,tmpfs-mode=999",
            "invalid value for tmpfs-mode: 999",
        ),
        (
            "type=tmpfs,dst=/x,tmpfs-mode=+7",
            "invalid value for tmpfs-mode: +7",
        ),
        (
            "type=tmpfs,dst=/x,tmpfs-mode=40000000000",
            "invalid value for tmpfs-mode: 40000000000",
        ),
        (
            "type=bind,dst=/x,volume-nocopy",
            "cannot mix 'volume-*' options with mount type 'bind'",
        ),
        (
            "type=volume,dst=/x,tmpfs-size=1m",
            "cannot mix 'tmpfs-*' options with mount type 'volume'",
        ),
        (
            "type=tmpfs,dst=/x,bind-propagation=shared",
            "cannot mix 'bind-*' options with mount type 'tmpfs'",
        ),
        (
            "dst=/x,src=\"a",
            "parse error on line 1, column 12: bare \" in non-quoted-field",
        ),
    ];
    for (value, want) in cases {
        assert_eq!(parse_mount(value).unwrap_err(), want, "{value:?}");
    }
}

#[test]
fn mount_errors_are_flag_errors() {
    let e = storage(&flags(&[], &["x"])).unwrap_err();
    assert_eq!(
        e.message,
        "invalid argument \"x\" for \"--mount\" flag: invalid field 'x' must be a key=value pair"
    );
    assert_eq!(e.status, 125);
}

#[test]
fn volume_driver_and_volumes_from() {
    let f = ContainerVolumeFlags {
        volume: vec!["/a".into()],
        mount: vec!["dst=/x".into()],
        volume_driver: Some("foo".into()),
        volumes_from: vec!["a".into(), "b:rw".into()],
    };
    let s = storage(&f).unwrap();
    assert_eq!(s.volume_driver, "foo");
    assert_eq!(s.volumes_from.unwrap(), ["a", "b:rw"]);
    assert_eq!(
        s.warnings,
        ["`--volume-driver` is ignored for volumes specified via `--mount`. Use `--mount type=volume,volume-driver=...` instead."]
    );
    // Without --mount, nothing to warn about.
    let s = storage(&ContainerVolumeFlags {
        mount: Vec::new(),
        ..f
    })
    .unwrap();
    assert!(s.warnings.is_empty());
}
