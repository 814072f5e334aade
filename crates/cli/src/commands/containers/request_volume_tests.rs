//! The volumes and mounts of a create request, from the command line to the body: the
//! flags as typed, and the JSON compared with what docker 20.10's CLI sent for them.

use clap::Parser;
use serde_json::{json, Value};

use crate::app::{App, Command};

fn body(cmd: &str, args: &[&str]) -> Result<Value, (String, u8)> {
    let mut argv = vec!["berth", cmd];
    argv.extend_from_slice(args);
    argv.push("busybox");
    let app = App::try_parse_from(argv).map_err(|e| (e.to_string(), 125))?;
    let flags = match app.command {
        Command::Create(c) => c.create,
        Command::Run(r) => r.create,
        _ => return Err(("not a create".into(), 0)),
    };
    let req = super::build(&flags, false, true, true, false).map_err(|e| (e.message, e.status))?;
    Ok(serde_json::to_value(req).expect("serializes"))
}

#[test]
fn no_volume_flags_send_nothing() {
    let v = body("create", &[]).unwrap();
    let h = &v["HostConfig"];
    assert!(v["Volumes"].is_null());
    assert!(h["Binds"].is_null());
    assert!(h["Mounts"].is_null());
    assert!(h["VolumesFrom"].is_null());
    assert_eq!(h["VolumeDriver"], "");
}

#[test]
fn every_volume_flag_of_run() {
    let v = body(
        "run",
        &[
            "-v",
            "vol:/data:ro",
            "--volume",
            "/anon",
            "-v=/host:/h:rw,z,rshared,nocopy",
            "-v",
            "./rel:/r",
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777",
            "--mount",
            "type=bind,src=/srv,target=/srv,readonly",
            "--volumes-from",
            "c1:ro",
            "--volume-driver",
            "foo",
        ],
    )
    .unwrap();
    let h = &v["HostConfig"];
    assert_eq!(v["Volumes"], json!({"/anon": {}}));
    assert_eq!(
        h["Binds"],
        json!(["vol:/data:ro", "/host:/h:rw,z,rshared,nocopy", "./rel:/r"])
    );
    assert_eq!(
        h["Mounts"],
        json!([
            {"Type": "tmpfs", "Target": "/t",
             "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1023}},
            {"Type": "bind", "Source": "/srv", "Target": "/srv", "ReadOnly": true}
        ])
    );
    assert_eq!(h["VolumesFrom"], json!(["c1:ro"]));
    assert_eq!(h["VolumeDriver"], "foo");
}

#[test]
fn tmpfs_flag_is_unchanged() {
    let v = body("create", &["--tmpfs", "/run:rw,size=64m", "--tmpfs", "/x"]).unwrap();
    assert_eq!(
        v["HostConfig"]["Tmpfs"],
        json!({"/run": "rw,size=64m", "/x": ""})
    );
}

#[test]
fn a_bad_mount_is_refused_before_anything_else() {
    let (msg, status) =
        body("create", &["--mount", "type=bind,src=/a", "-p", "bad:port"]).unwrap_err();
    assert_eq!(
        msg,
        "invalid argument \"type=bind,src=/a\" for \"--mount\" flag: target is required"
    );
    assert_eq!(status, 125);
}

#[test]
fn rm_keeps_its_volumes_flag() {
    let app = App::try_parse_from(["berth", "rm", "-v", "c1"]).unwrap();
    let Command::Rm(rm) = app.command else {
        panic!("not rm");
    };
    assert!(rm.volumes);
}
