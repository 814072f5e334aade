//! `system df` and `system prune` end to end: volumes counted with their sizes and the
//! containers naming them (also fast with a thousand of them), the `-v` sections, and
//! prune's order and rules — stopped containers, unused networks and dangling images go,
//! volumes only with `--volumes`, unused tagged images only with `-a`.

mod common;

use std::time::{Duration, Instant};

use common::{assert_contains, images, Daemon};

fn engine() -> Daemon {
    let d = Daemon::start();
    d.load(&images::docker_archive(&[
        common::net::netbox().tagged("netbox:latest")
    ]));
    d
}

fn lines(out: &str) -> Vec<String> {
    out.split_whitespace().map(str::to_string).collect()
}

fn volumes(d: &Daemon) -> Vec<String> {
    lines(&d.ok(&["volume", "ls", "-q"]))
}

fn row<'a>(out: &'a str, kind: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(kind))
        .unwrap_or_else(|| panic!("no {kind} row in:\n{out}"))
}

/// `used`, named by an exited container, holds 5000 bytes; `spare`, named by none, 2000.
fn two_volumes(d: &Daemon) {
    d.ok(&[
        "run",
        "--name",
        "writer",
        "-v",
        "used:/data",
        "netbox",
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /data/f",
    ]);
    d.ok(&["volume", "create", "spare"]);
    let mountpoint = d.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "spare"]);
    let dir = std::path::Path::new(mountpoint.trim()).join("sub");
    std::fs::create_dir(&dir).expect("making a directory in the volume");
    std::fs::write(dir.join("g"), vec![1u8; 2000]).expect("writing into the volume");
}

#[test]
fn df_reports_volume_sizes_and_links() {
    let d = engine();
    two_volumes(&d);
    let body = d.api("GET", "/v1.41/system/df", b"").json();
    assert_eq!(body["BuildCache"], serde_json::json!([]));
    let vols = body["Volumes"].as_array().unwrap();
    let usage = |name: &str| {
        let v = vols.iter().find(|v| v["Name"] == name).unwrap();
        (
            v["UsageData"]["Size"].clone(),
            v["UsageData"]["RefCount"].clone(),
        )
    };
    assert_eq!(usage("used"), (5000.into(), 1.into()));
    assert_eq!(usage("spare"), (2000.into(), 0.into()));
    assert_eq!(vols[0]["Driver"], "local");
    assert_eq!(vols[0]["Scope"], "local");

    let df = d.ok(&["system", "df"]);
    assert!(df.starts_with("TYPE "), "{df}");
    assert_eq!(
        row(&df, "Local Volumes")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Local", "Volumes", "2", "1", "7kB", "2kB", "(28%)"],
        "{df}"
    );
    assert_eq!(
        row(&df, "Build Cache")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Build", "Cache", "0", "0", "0B", "0B"]
    );
    let f = d.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}",
    ]);
    assert_contains(&f, "Local Volumes|2|1|7kB|2kB (28%)\n");

    let v = d.ok(&["system", "df", "-v"]);
    let section = v.split("Local Volumes space usage:\n\n").nth(1).unwrap();
    let mut rows = section.lines();
    assert_eq!(
        rows.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["VOLUME", "NAME", "LINKS", "SIZE"]
    );
    let mut vrows: Vec<Vec<&str>> = rows
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    vrows.sort();
    assert_eq!(vrows, [["spare", "0", "2kB"], ["used", "1", "5kB"]]);
    assert_contains(&v, "\nBuild cache usage: 0B\n\nCACHE ID ");
    assert_contains(&v, "Containers space usage:");
    assert_contains(&v, "writer");
}

#[test]
fn df_stays_fast_with_a_thousand_empty_volumes() {
    let d = Daemon::start();
    for i in 0..1000 {
        let body = format!(r#"{{"Name":"v{i:04}"}}"#);
        let r = d.api("POST", "/v1.41/volumes/create", body.as_bytes());
        assert_eq!(r.status, 201);
    }
    let start = Instant::now();
    let body = d.api("GET", "/v1.41/system/df", b"").json();
    let took = start.elapsed();
    assert_eq!(body["Volumes"].as_array().unwrap().len(), 1000);
    assert!(took < Duration::from_secs(2), "/system/df took {took:?}");
    let df = d.ok(&["system", "df"]);
    assert_eq!(
        row(&df, "Local Volumes")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Local", "Volumes", "1000", "0", "0B", "0B"]
    );
}

#[test]
fn prune_removes_stopped_containers_unused_networks_and_dangling_images_not_volumes() {
    let d = engine();
    two_volumes(&d);
    let writer = d.ok(&["inspect", "-f", "{{.Id}}", "writer"]);
    d.ok(&["run", "-d", "--name", "web", "netbox", "sleep", "100"]);
    d.ok(&["network", "create", "pruneme"]);
    // A commit without a name is a dangling image.
    d.ok(&["run", "--name", "base", "netbox", "sh", "-c", "echo x > /x"]);
    let dangling = d.ok(&["commit", "base"]);
    d.ok(&["rm", "base"]);

    // Answering no leaves everything.
    let r = d.run_stdin(&["system", "prune"], b"n\n");
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_contains(
        &r.stderr,
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - all dangling build cache\n\nAre you sure you want to continue? [y/N] ",
    );
    assert!(!r.stdout.contains("Deleted"), "{}", r.stdout);
    assert_contains(&d.ok(&["ps", "-aq", "--no-trunc"]), writer.trim());

    let out = d.ok(&["system", "prune", "-f"]);
    assert_contains(&out, &format!("Deleted Containers:\n{}\n\n", writer.trim()));
    assert_contains(&out, "Deleted Networks:\npruneme\n\n");
    assert_contains(
        &out,
        &format!("Deleted Images:\ndeleted: {}", dangling.trim()),
    );
    assert!(!out.contains("Deleted Volumes"), "{out}");
    assert!(
        out.ends_with('\n') && out.contains("Total reclaimed space: "),
        "{out}"
    );
    let order = [
        "Deleted Containers",
        "Deleted Networks",
        "Deleted Images",
        "Total",
    ];
    let at: Vec<usize> = order.iter().map(|s| out.find(s).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");

    let ps = d.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(lines(&ps), ["web"]);
    assert!(!d.ok(&["network", "ls"]).contains("pruneme"));
    assert_eq!(d.ok(&["images", "-q"]).lines().count(), 1);
    let mut vols = volumes(&d);
    vols.sort();
    assert_eq!(vols, ["spare", "used"]);
    // Nothing left: only the total.
    assert_eq!(
        d.ok(&["system", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
}

#[test]
fn prune_with_volumes_removes_the_unused_ones_named_or_not() {
    let d = engine();
    two_volumes(&d);
    d.ok(&[
        "run", "-d", "--name", "web", "-v", "kept:/k", "-v", "/anon", "netbox", "sleep", "100",
    ]);
    d.ok(&["run", "--name", "gone", "-v", "/scratch", "netbox", "true"]);
    let r = d.run_stdin(&["system", "prune", "--volumes"], b"\n");
    assert_contains(
        &r.stderr,
        "  - all networks not used by at least one container\n  - all volumes not used by at least one container\n  - all dangling images\n",
    );
    assert_eq!(volumes(&d).len(), 5);
    let r = d.fails(&["system", "prune", "-f", "--volumes", "--filter", "until=1h"]);
    assert_contains(
        &r.stderr,
        "The \"until\" filter is not supported with \"--volumes\"",
    );

    let out = d.ok(&["system", "prune", "-f", "--volumes"]);
    let section = out.split("Deleted Volumes:\n").nth(1).unwrap();
    let mut deleted: Vec<&str> = section.lines().take_while(|l| !l.is_empty()).collect();
    deleted.sort();
    // The two containers that had stopped went first, so all their volumes are unused:
    // `used`, `spare` and gone's anonymous one; web's two stay.
    assert_eq!(deleted.len(), 3, "{out}");
    assert!(
        deleted.contains(&"used") && deleted.contains(&"spare"),
        "{out}"
    );
    let left = volumes(&d);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"kept".to_string()));
    // The volumes' 7000 bytes, and whatever the two containers had written.
    let total = out.lines().last().unwrap();
    assert!(total.starts_with("Total reclaimed space: 7"), "{out}");
    assert!(total.ends_with("kB"), "{out}");
}

#[test]
fn prune_all_removes_images_no_container_uses() {
    let d = engine();
    d.ok(&["tag", "netbox", "spare:1"]);
    d.ok(&["run", "--name", "base", "netbox", "sh", "-c", "echo x > /x"]);
    d.ok(&["commit", "base", "saved:1"]);
    let r = d.run_stdin(&["system", "prune", "-a"], b"no\n");
    assert_contains(
        &r.stderr,
        "  - all images without at least one container associated to them\n  - all build cache\n\nAre you sure you want to continue? [y/N] ",
    );
    // Without -a a tagged image stays.
    d.ok(&["system", "prune", "-f"]);
    assert_contains(&d.ok(&["images"]), "saved");
    let out = d.ok(&["system", "prune", "-af"]);
    assert_contains(&out, "Deleted Images:\n");
    assert_contains(&out, "untagged: saved:1\n");
    assert_contains(&out, "untagged: netbox:latest\n");
    assert_contains(&out, "untagged: spare:1\n");
    assert!(d.ok(&["images", "-q"]).trim().is_empty());
}
