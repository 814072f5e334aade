//! `diff`, `commit`, `export`, and the sizes of `ps -s`, `inspect -s` and `system df`.

use super::common::images::archive_entry;
use super::common::{self, assert_contains};
use super::{eventually, names, ran, running};
use crate::common::Daemon;

#[test]
fn diff_lists_changes_as_docker_does() {
    let d = Daemon::with_busybox();
    // Mount points Berth provides are not the container's changes.
    running(&d, "idle");
    assert_eq!(d.ok(&["diff", "idle"]), "");
    d.ok(&["create", "--name", "created", "busybox"]);
    assert_eq!(d.ok(&["container", "diff", "created"]), "");
    ran(
        &d,
        "changed",
        "echo x > /etc/new; echo y >> /etc/passwd; rm /etc/group; mkdir -p /tmp/d; touch /tmp/d/f",
    );
    assert_eq!(
        d.ok(&["diff", "changed"]),
        "C /etc\nD /etc/group\nA /etc/new\nC /etc/passwd\nC /tmp\nA /tmp/d\nA /tmp/d/f\n"
    );
    let r = d.api("GET", "/v1.41/containers/changed/changes", b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()[1],
        serde_json::json!({"Path": "/etc/group", "Kind": 2})
    );
    assert_eq!(
        r.json()[2],
        serde_json::json!({"Path": "/etc/new", "Kind": 1})
    );
    assert_eq!(r.json()[0], serde_json::json!({"Path": "/etc", "Kind": 0}));
    let r = d.fails(&["diff", "ghost"]);
    assert_eq!(
        r.stderr.trim(),
        "Error response from daemon: No such container: ghost"
    );
}

#[test]
fn commit_makes_an_image_that_runs_with_the_changes() {
    let d = Daemon::with_busybox();
    let busybox = d.image_id("busybox");
    ran(&d, "cm", "echo committed > /hello; rm /etc/group");
    let id = d.ok(&[
        "commit",
        "-a",
        "A U Thor <a@example.com>",
        "-m",
        "my message",
        "-c",
        "CMD [\"cat\", \"/hello\"]",
        "-c",
        "ENV FOO=bar",
        "cm",
        "me/app:v1",
    ]);
    let id = id.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(d.image_id("me/app:v1"), id);
    assert_eq!(d.ok(&["run", "--rm", "me/app:v1"]), "committed\n");
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "me/app:v1",
            "sh",
            "-c",
            "test -e /etc/group && echo present || echo gone; echo $FOO"
        ]),
        "gone\nbar\n"
    );
    let inspect = |f: &str| {
        d.ok(&["image", "inspect", "-f", f, "me/app:v1"])
            .trim()
            .to_string()
    };
    assert_eq!(inspect("{{.Author}}"), "A U Thor <a@example.com>");
    assert_eq!(inspect("{{.Parent}}"), busybox);
    assert_eq!(inspect("{{json .Config.Cmd}}"), r#"["cat","/hello"]"#);
    assert_eq!(inspect("{{len .RootFS.Layers}}"), "2");
    let history = d.ok(&["history", "--no-trunc", "me/app:v1"]);
    assert_contains(&history, "my message");
    assert_contains(&history, id);

    // A running container is paused for the commit and runs on after it.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo live > /live; sleep 1000",
    ]);
    eventually("the container's write", || {
        d.ok(&["diff", "live"]).contains("A /live")
    });
    let live = d.ok(&["container", "commit", "live"]).trim().to_string();
    assert_contains(&d.log(), "container paused for the commit");
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Paused}}",
            "live"
        ])
        .trim(),
        "running false"
    );
    assert_eq!(d.ok(&["run", "--rm", &live, "cat", "/live"]), "live\n");
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{json .Config.Cmd}}", &live])
            .trim(),
        r#"["sh","-c","echo live > /live; sleep 1000"]"#,
        "the container's command became CMD"
    );
    let no_pause = d.ok(&["commit", "--pause=false", "live"]);
    assert!(no_pause.trim().starts_with("sha256:"));

    // Nothing changed: no new layer, one more history entry.
    d.ok(&["create", "--name", "untouched", "busybox"]);
    let same = d.ok(&["commit", "untouched"]).trim().to_string();
    let layers = d.ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", &same]);
    assert_eq!(layers.trim(), "1");

    let r = d.api(
        "POST",
        "/v1.41/commit?container=cm&repo=api/made&tag=t&comment=via%20api",
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["Id"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(d.image_id("api/made:t"), r.json()["Id"].as_str().unwrap());
}

#[test]
fn export_holds_the_whole_file_system() {
    let d = Daemon::with_busybox();
    ran(&d, "ex", "echo exported > /root-file; rm /etc/group");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("fs.tar");
    d.ok(&["export", "-o", &file.display().to_string(), "ex"]);
    let archive = std::fs::read(&file).unwrap();
    assert_eq!(archive_entry(&archive, "root-file").unwrap(), b"exported\n");
    let listed = names(&archive);
    assert!(listed.contains(&"bin/busybox".to_string()), "{listed:?}");
    assert!(listed.contains(&"bin/".to_string()));
    assert!(!listed
        .iter()
        .any(|n| n.starts_with("./") || n.starts_with('/')));
    assert!(
        !listed.contains(&"etc/group".to_string()),
        "a deleted file was exported"
    );
    let r = d
        .cli()
        .args(["container", "export", "ex"])
        .output()
        .unwrap();
    assert!(r.status.success());
    assert_eq!(names(&r.stdout), listed);
    let r = d.fails(&["export", "-o", "/no/such/dir/fs.tar", "ex"]);
    assert_contains(&r.stderr, "does not exist");
    // Never a tar onto a terminal: `script` gives the command one.
    let cmd = format!("{} -H {} export ex", common::BERTH, d.host());
    let r = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert_contains(
        &String::from_utf8_lossy(&r.stdout),
        "cowardly refusing to save to a terminal. Use the -o flag or redirect",
    );
}

#[test]
fn ps_and_inspect_report_sizes() {
    let d = Daemon::with_busybox();
    let image_size: i64 = d
        .ok(&["image", "inspect", "-f", "{{.Size}}", "busybox"])
        .trim()
        .parse()
        .unwrap();
    ran(
        &d,
        "sz",
        "dd if=/dev/zero of=/big bs=1000 count=100 2>/dev/null",
    );
    let sizes = d.ok(&["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "sz"]);
    assert_eq!(sizes.trim(), format!("100000 {}", 100_000 + image_size));
    let sizes = d.ok(&["container", "inspect", "--size", "-f", "{{.SizeRw}}", "sz"]);
    assert_eq!(sizes.trim(), "100000");
    let plain = d.api("GET", "/v1.41/containers/sz/json", b"").json();
    assert!(plain.get("SizeRw").is_none());
    let table = d.ok(&["ps", "-a", "-s"]);
    let header = table.lines().next().unwrap();
    assert!(header.ends_with("SIZE"), "{header}");
    // docker's three significant digits, for a size of a few megabytes.
    let human = |n: f64| {
        let v = n / 1e6;
        let decimals = 2 - v.log10().floor() as usize;
        let text = format!("{v:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        };
        text + "MB"
    };
    let expected = format!("100kB (virtual {})", human((100_000 + image_size) as f64));
    assert_contains(&table, &expected);
    assert_eq!(
        d.ok(&["ps", "-a", "--format", "{{.Size}}"]).trim(),
        expected
    );
    let list = d
        .api("GET", "/v1.41/containers/json?all=1&size=1", b"")
        .json();
    assert_eq!(list[0]["SizeRw"], 100_000);
    assert_eq!(list[0]["SizeRootFs"], 100_000 + image_size);
    let df = d.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}}",
    ]);
    assert_contains(&df, "Containers 1 0 100kB");
}
