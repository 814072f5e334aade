//! Image commands through the CLI binary against a real daemon.
#![allow(clippy::unwrap_used)]

mod common;

use common::images::{archive_entry, busybox_layer, docker_archive, layer, oci_layout, Image};
use common::{assert_contains, Daemon};

fn busybox(d: &Daemon) -> Image {
    let img = Image::busybox().tagged("busybox:latest");
    d.load(&docker_archive(std::slice::from_ref(&img)));
    img
}

#[test]
fn load_registers_image_with_docker_id_and_lists_it() {
    let d = Daemon::start();
    let img = Image::busybox().tagged("busybox:latest");
    let out = d.load(&docker_archive(std::slice::from_ref(&img)));
    assert_contains(&out, "Loaded image: busybox:latest");
    assert_eq!(d.image_id("busybox"), img.id());
    let list = d.ok(&["images"]);
    let mut lines = list.lines();
    let header = lines.next().unwrap();
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert_contains(header, col);
    }
    let row = lines.next().unwrap();
    assert_contains(row, "busybox");
    assert_contains(row, "latest");
    assert_contains(row, &img.id()[7..19]);
    assert_eq!(d.ok(&["image", "ls", "-q"]).trim(), &img.id()[7..19]);
    assert_eq!(d.ok(&["images", "-q", "--no-trunc"]).trim(), img.id());
}

#[test]
fn images_filters_and_formats() {
    let d = Daemon::start();
    let a = Image::busybox().tagged("busybox:latest").tagged("me/app:1");
    let mut b = Image::new(
        vec![layer(&[("hello.txt", b"hi", 0o644)])],
        &["cat", "/hello.txt"],
    );
    b.config["config"]["Labels"] = serde_json::json!({"tier": "web"});
    b.config["created"] = serde_json::json!("2025-01-01T00:00:00Z");
    let b = b.tagged("other:2");
    d.load(&docker_archive(&[a.clone(), b.clone()]));

    let refs = d.ok(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        "reference=busy*",
    ]);
    assert_eq!(refs.trim(), "busybox:latest");
    let refs = d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}", "me/app"]);
    assert_eq!(refs.trim(), "me/app:1");
    let labelled = d.ok(&["images", "-q", "--filter", "label=tier=web"]);
    assert_eq!(labelled.trim(), &b.id()[7..19]);
    let before = d.ok(&["images", "-q", "--filter", "before=other:2"]);
    assert_eq!(
        before.trim(),
        &a.id()[7..19],
        "busybox was created earlier (2024)"
    );
    let since = d.ok(&["images", "-q", "--filter", "since=busybox"]);
    assert_eq!(since.trim(), &b.id()[7..19]);

    let table = d.ok(&["images", "--format", "table {{.ID}}\t{{.Size}}"]);
    assert!(table.starts_with("IMAGE ID"), "{table}");
    let json = d.ok(&["images", "--format", "json"]);
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["Repository"].is_string());
    }
    let digests = d.ok(&["images", "--digests"]);
    assert_contains(digests.lines().next().unwrap(), "DIGEST");

    let r = d.fails(&["images", "--filter", "bogus=1"]);
    assert_contains(&r.stderr, "bogus");
    let r = d.fails(&["images", "--filter", "dangling=maybe"]);
    assert_contains(&r.stderr, "dangling");
    let r = d.fails(&["images", "--filter", "novalue"]);
    assert_eq!(r.status, 125);
}

#[test]
fn dangling_images_show_as_none() {
    let d = Daemon::start();
    let first = Image::busybox().tagged("app:latest");
    let second = Image::new(
        vec![busybox_layer(), layer(&[("v2", b"2", 0o644)])],
        &["sh"],
    )
    .tagged("app:latest");
    d.load(&docker_archive(std::slice::from_ref(&first)));
    let out = d.load(&docker_archive(std::slice::from_ref(&second)));
    assert_contains(&out, "renaming the old one");
    let dangling = d.ok(&["images", "-q", "--filter", "dangling=true"]);
    assert_eq!(dangling.trim(), &first.id()[7..19]);
    let list = d.ok(&["images"]);
    assert_contains(&list, "<none>");
    let pruned = d.ok(&["image", "prune", "-f"]);
    assert_contains(&pruned, &format!("deleted: {}", first.id()));
    assert_contains(&pruned, "Total reclaimed space:");
    assert!(d
        .ok(&["images", "-q", "--filter", "dangling=true"])
        .trim()
        .is_empty());
    // The shared busybox layer is still there for the tagged image.
    assert_eq!(d.image_id("app"), second.id());
}

#[test]
fn inspect_formats_and_missing_images() {
    let d = Daemon::start();
    let img = busybox(&d);
    let doc: serde_json::Value =
        serde_json::from_str(&d.ok(&["image", "inspect", "busybox"])).unwrap();
    let doc = &doc[0];
    assert_eq!(doc["Id"], img.id());
    assert_eq!(doc["RepoTags"][0], "busybox:latest");
    assert_eq!(doc["Config"]["Cmd"][0], "sh");
    assert_eq!(doc["Os"], "linux");
    assert_eq!(
        doc["RootFS"]["Layers"][0],
        img.config["rootfs"]["diff_ids"][0]
    );
    assert_eq!(doc["Created"], "2024-01-01T00:00:01Z");
    assert!(doc["Size"].as_i64().unwrap() > 500_000);

    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Config.Cmd}}", "busybox"])
            .trim(),
        "[sh]"
    );
    assert_eq!(
        d.ok(&["inspect", "--format", "{{json .Config.Env}}", "busybox"])
            .trim(),
        r#"["PATH=/bin"]"#
    );
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{index .Config.Labels \"org.test\"}}",
            &img.id()[7..13]
        ])
        .trim(),
        "yes"
    );
    // By full ID, with and without the algorithm.
    d.ok(&["image", "inspect", &img.id()]);
    d.ok(&["image", "inspect", &img.id()[7..]]);

    let r = d.fails(&["image", "inspect", "busybox", "nope"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "No such image: nope");
    assert_contains(&r.stdout, &img.id());
    let r = d.fails(&["inspect", "-f", "{{.Nope", "busybox"]);
    assert_contains(&r.stderr, "template");
    let r = d.fails(&["image", "inspect", "UPPER"]);
    assert_contains(&r.stderr, "No such image");
}

#[test]
fn history_lists_instructions() {
    let d = Daemon::start();
    let img = busybox(&d);
    let out = d.ok(&["history", "busybox"]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    for col in ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"] {
        assert_contains(header, col);
    }
    let top = lines.next().unwrap();
    assert!(top.starts_with(&img.id()[7..19]), "{top}");
    assert_contains(top, "CMD");
    assert_contains(top, "0B");
    let bottom = lines.next().unwrap();
    assert!(bottom.starts_with("<missing>"), "{bottom}");
    assert_contains(bottom, "ADD layer0");
    let quiet = d.ok(&["image", "history", "-q", "busybox"]);
    assert_eq!(quiet.lines().count(), 2);
    let raw = d.ok(&["history", "-H=false", "--format", "{{.Size}}", "busybox"]);
    let sizes: Vec<i64> = raw.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(sizes[0], 0);
    assert!(sizes[1] > 500_000);
    d.fails(&["history", "missing"]);
}

#[test]
fn tag_and_rmi_follow_docker_rules() {
    let d = Daemon::start();
    let img = busybox(&d);
    d.ok(&["tag", "busybox", "localhost:5000/team/app:v1"]);
    d.ok(&["image", "tag", &img.id(), "other"]);
    assert_eq!(d.image_id("localhost:5000/team/app:v1"), img.id());
    assert_eq!(d.image_id("other:latest"), img.id());

    let r = d.fails(&["tag", "busybox", "Bad:Name"]);
    assert_contains(&r.stderr, "invalid reference format");
    let r = d.fails(&["tag", "missing", "x"]);
    assert_contains(&r.stderr, "No such image");

    // By ID with names in several repositories: refused without -f.
    let r = d.fails(&["rmi", &img.id()[7..19]]);
    assert_contains(&r.stderr, "must be forced");
    // By name: only untags while other names remain.
    assert_eq!(d.ok(&["rmi", "other"]).trim(), "Untagged: other:latest");
    assert_eq!(d.image_id("busybox"), img.id());
    let out = d.ok(&["image", "rm", "-f", &img.id()]);
    assert_contains(&out, "Untagged: busybox:latest");
    assert_contains(&out, "Untagged: localhost:5000/team/app:v1");
    assert_contains(&out, &format!("Deleted: {}", img.id()));
    assert!(d.ok(&["images", "-qa"]).trim().is_empty());
    assert!(d.layers().is_empty(), "layers left: {:?}", d.layers());
    assert!(d.blobs().is_empty(), "blobs left: {:?}", d.blobs());

    let r = d.fails(&["rmi", "nothing", "neither"]);
    assert_eq!(r.status, 1);
    assert_contains(&r.stderr, "nothing");
    assert_contains(&r.stderr, "neither");
}

#[test]
fn shared_layers_survive_until_the_last_image_goes() {
    let d = Daemon::start();
    let base = busybox_layer();
    let a = Image::new(vec![base.clone(), layer(&[("a", b"a", 0o644)])], &["sh"]).tagged("a:1");
    let b = Image::new(vec![base, layer(&[("b", b"b", 0o644)])], &["sh"]).tagged("b:1");
    d.load(&docker_archive(&[a, b]));
    assert_eq!(d.layers().len(), 3, "the shared layer is stored once");
    d.ok(&["rmi", "a:1"]);
    assert_eq!(d.layers().len(), 2);
    d.ok(&["rmi", "b:1"]);
    assert!(d.layers().is_empty());
}

#[test]
fn save_load_round_trip_keeps_ids() {
    let d = Daemon::start();
    let a = busybox(&d);
    let b = Image::new(vec![layer(&[("x", b"x", 0o644)])], &["x"]).tagged("x:1");
    d.load(&docker_archive(std::slice::from_ref(&b)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("both.tar");
    d.ok(&["save", "-o", out.to_str().unwrap(), "busybox", "x:1"]);
    d.ok(&["rmi", "busybox", "x:1"]);
    assert!(d.blobs().is_empty());
    let loaded = d.ok(&["load", "-i", out.to_str().unwrap()]);
    assert_contains(&loaded, "Loaded image: busybox:latest");
    assert_contains(&loaded, "Loaded image: x:1");
    assert_eq!(d.image_id("busybox"), a.id());
    assert_eq!(d.image_id("x:1"), b.id());
    // Saving to stdout gives the same bytes: archives are deterministic.
    let again = d.cli().args(["save", "busybox", "x:1"]).output().unwrap();
    assert_eq!(again.stdout, std::fs::read(&out).unwrap());
    // The archive is also a valid OCI layout.
    let mut ar = tar::Archive::new(std::fs::File::open(&out).unwrap());
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    for n in ["index.json", "oci-layout", "manifest.json"] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }
}

#[test]
fn save_by_repository_takes_all_its_tags_and_refuses_a_terminalless_mistake() {
    let d = Daemon::start();
    busybox(&d);
    d.ok(&["tag", "busybox", "busybox:other"]);
    let out = d.cli().args(["save", "busybox"]).output().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&archive_entry(&out.stdout, "manifest.json").unwrap()).unwrap();
    let mut tags: Vec<String> = manifest[0]["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, ["busybox:latest", "busybox:other"]);
    let r = d.fails(&[
        "save",
        "-o",
        "/tmp/never-written.tar",
        "busybox",
        "missing:1",
    ]);
    assert_contains(&r.stderr, "missing");
    assert!(!std::path::Path::new("/tmp/never-written.tar").exists());
}

#[test]
fn loads_oci_layouts_plain_and_gzipped() {
    let d = Daemon::start();
    let plain = Image::busybox().tagged("plain:1");
    let zipped =
        Image::new(vec![busybox_layer(), layer(&[("z", b"z", 0o644)])], &["sh"]).tagged("zipped:1");
    let out = d.load(&oci_layout(std::slice::from_ref(&plain), false));
    assert_contains(&out, "Loaded image: plain:1");
    let out = d.load(&oci_layout(std::slice::from_ref(&zipped), true));
    assert_contains(&out, "Loaded image: zipped:1");
    assert_eq!(d.image_id("plain:1"), plain.id());
    assert_eq!(d.image_id("zipped:1"), zipped.id());
    // Saving a gzip-layered image writes uncompressed layers whose digests are diff IDs.
    let saved = d.cli().args(["save", "zipped:1"]).output().unwrap().stdout;
    d.ok(&["rmi", "zipped:1"]);
    d.load(&saved);
    assert_eq!(d.image_id("zipped:1"), zipped.id());
    let untagged = Image::new(vec![layer(&[("u", b"u", 0o644)])], &["u"]);
    let out = d.load(&oci_layout(std::slice::from_ref(&untagged), false));
    assert_contains(&out, &format!("Loaded image ID: {}", untagged.id()));
}

#[test]
fn import_with_changes_and_message() {
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("rootfs.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &busybox_layer()).unwrap();
    std::fs::write(&tarball, gz.finish().unwrap()).unwrap();
    let out = d.ok(&[
        "import",
        "-c",
        "CMD [\"sh\", \"-c\", \"echo hi\"]",
        "-c",
        "ENV A=1",
        "-c",
        "EXPOSE 80",
        "-c",
        "WORKDIR /srv",
        "-c",
        "LABEL team=core",
        "-m",
        "from a test",
        tarball.to_str().unwrap(),
        "imported:v1",
    ]);
    let id = out.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{out}");
    assert_eq!(d.image_id("imported:v1"), id);
    let f = "{{json .Config.Cmd}} {{.Config.Env}} {{json .Config.ExposedPorts}} {{.Config.WorkingDir}} {{.Config.Labels.team}} {{.Comment}}";
    assert_eq!(
        d.ok(&["image", "inspect", "-f", f, "imported:v1"]).trim(),
        r#"["sh","-c","echo hi"] [A=1] {"80/tcp":{}} /srv core from a test"#
    );
    let history = d.ok(&["history", "--format", "{{.Comment}}", "imported:v1"]);
    assert_eq!(history.trim(), "from a test");
    // From stdin, untagged.
    let r = d.run_stdin(&["import", "-"], &busybox_layer());
    assert_eq!(r.status, 0, "{}", r.stderr);
    // Bad changes are refused before anything is created.
    let before = d.blobs();
    let r = d.fails(&["import", "-c", "RUN rm -rf /", tarball.to_str().unwrap()]);
    assert_contains(&r.stderr, "RUN is not a valid change command");
    assert_eq!(d.blobs(), before);
    let r = d.fails(&["import", tarball.to_str().unwrap(), "Not:Valid"]);
    assert_contains(&r.stderr, "invalid reference format");
    let r = d.fails(&["import", "/does/not/exist.tar"]);
    assert_contains(&r.stderr, "/does/not/exist.tar");
}

#[test]
fn import_from_a_url() {
    let d = Daemon::start();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = busybox_layer();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(2) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            if req.starts_with("GET /redirect") {
                write!(
                    s,
                    "HTTP/1.1 302 Found\r\nLocation: /rootfs.tar\r\nContent-Length: 0\r\n\r\n"
                )
                .unwrap();
            } else {
                write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .unwrap();
                s.write_all(&body).unwrap();
            }
        }
    });
    let url = format!("http://127.0.0.1:{port}/redirect");
    let id = d.ok(&["import", &url, "fromurl:1"]);
    server.join().unwrap();
    assert_eq!(d.image_id("fromurl:1"), id.trim());
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Comment}}", "fromurl:1"])
            .trim(),
        format!("Imported from {url}")
    );
}

#[test]
fn system_df_and_info_count_images() {
    let d = Daemon::start();
    busybox(&d);
    let df = d.ok(&["system", "df"]);
    let images_row = df.lines().find(|l| l.starts_with("Images")).unwrap();
    assert!(images_row.split_whitespace().nth(1) == Some("1"), "{df}");
    assert_contains(&df, "Build Cache");
    let verbose = d.ok(&["system", "df", "-v"]);
    assert_contains(&verbose, "Images space usage:");
    assert_contains(&verbose, "busybox");
    assert_eq!(d.ok(&["info", "--format", "{{.Images}}"]).trim(), "1");
    let info = d.ok(&["system", "info"]);
    assert_contains(&info, "Images: 1");
    assert_contains(
        &info,
        &format!("Berth Root Dir: {}", d.data_root().display()),
    );
    let v = d.ok(&["version", "--format", "{{.Server.ApiVersion}}"]);
    assert_eq!(v.trim(), "1.41");
}

#[test]
fn hello_world_is_built_in() {
    let d = Daemon::start();
    assert!(d.ok(&["images", "-q"]).trim().is_empty());
    let id = d.image_id("hello-world");
    assert_eq!(
        d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .trim(),
        "hello-world:latest"
    );
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.Config.Cmd}}", "hello-world"])
            .trim(),
        "[/hello]"
    );
    // The same bytes everywhere: a second engine computes the same ID.
    let other = Daemon::start();
    assert_eq!(other.image_id("hello-world:latest"), id);
    // The program in it runs and greets.
    let saved = d
        .cli()
        .args(["save", "hello-world"])
        .output()
        .unwrap()
        .stdout;
    let manifest: serde_json::Value =
        serde_json::from_slice(&archive_entry(&saved, "manifest.json").unwrap()).unwrap();
    let layer = archive_entry(&saved, manifest[0]["Layers"][0].as_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(layer.as_slice())
        .unpack(dir.path())
        .unwrap();
    let out = std::process::Command::new(dir.path().join("hello"))
        .output()
        .unwrap();
    assert_contains(&String::from_utf8_lossy(&out.stdout), "Hello from Berth!");
}

/// `import https://…`: TLS with the trusted roots (here a test CA given by SSL_CERT_FILE),
/// against an `openssl s_server` serving the tarball.
#[test]
fn import_from_an_https_url() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (ca, cert, key) = (p("ca.pem"), p("cert.pem"), p("key.pem"));
    std::fs::write(
        p("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .stderr(Stdio::null())
            .status()
            .expect("openssl (scripts/install-deps installs it)");
        assert!(ok.success(), "openssl {args:?}");
    };
    let days = ["-days", "1"];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=berth-test-ca",
                "-keyout",
                &p("ca.key"),
                "-out",
                &ca,
            ][..],
            &days,
        ]
        .concat(),
    );
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &key,
        "-out",
        &p("leaf.csr"),
    ]);
    openssl(
        &[
            &[
                "x509",
                "-req",
                "-in",
                &p("leaf.csr"),
                "-CA",
                &ca,
                "-CAkey",
                &p("ca.key"),
                "-CAcreateserial",
                "-extfile",
                &p("leaf.ext"),
                "-out",
                &cert,
            ][..],
            &days,
        ]
        .concat(),
    );
    std::fs::write(dir.path().join("rootfs.tar"), busybox_layer()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-WWW",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let d = Daemon::start_with_env(&[], &[("SSL_CERT_FILE", &ca)]);
    let url = format!("https://127.0.0.1:{port}/rootfs.tar");
    let r = d.run(&["import", &url, "overtls:1"]);
    // An engine without the test CA refuses the server's certificate.
    let strict = Daemon::start();
    let refused = strict.run(&["import", &url, "overtls:1"]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(d.image_id("overtls:1"), r.stdout.trim());
    assert_ne!(refused.status, 0);
    assert_contains(&refused.stderr, "TLS");
}

#[test]
fn prune_all_and_its_filters() {
    let d = Daemon::start();
    let mut old = Image::new(vec![layer(&[("o", b"o", 0o644)])], &["o"]);
    old.config["config"]["Labels"] = serde_json::json!({"keep": "no"});
    let old = old.tagged("old:1");
    let mut kept = Image::new(vec![layer(&[("k", b"k", 0o644)])], &["k"]);
    kept.config["config"]["Labels"] = serde_json::json!({"keep": "yes"});
    let kept = kept.tagged("kept:1");
    d.load(&docker_archive(&[old.clone(), kept.clone()]));
    // Without -a only dangling images go: these are tagged.
    assert_contains(
        &d.ok(&["image", "prune", "-f"]),
        "Total reclaimed space: 0B",
    );
    // label!=… protects, label=… selects.
    let out = d.ok(&["image", "prune", "-a", "-f", "--filter", "label!=keep=yes"]);
    assert_contains(&out, "untagged: old:1");
    assert_contains(&out, &format!("deleted: {}", old.id()));
    assert_eq!(d.image_id("kept:1"), kept.id());
    // `until` compares with the image's creation time (2024 here).
    let out = d.ok(&[
        "image",
        "prune",
        "-a",
        "-f",
        "--filter",
        "until=2020-01-01T00:00:00Z",
    ]);
    assert_contains(&out, "Total reclaimed space: 0B");
    let out = d.ok(&["image", "prune", "-a", "-f", "--filter", "until=1h"]);
    assert_contains(&out, "untagged: kept:1");
    assert!(d.ok(&["images", "-qa"]).trim().is_empty());
    let r = d.fails(&["image", "prune", "-f", "--filter", "until=whenever"]);
    assert_contains(&r.stderr, "until");
    // Without -f the prompt decides; "n" keeps everything.
    d.load(&docker_archive(std::slice::from_ref(&kept)));
    let r = d.run_stdin(&["image", "prune", "-a"], b"n\n");
    assert_eq!(r.status, 0);
    assert_contains(&r.stderr, "Are you sure you want to continue?");
    assert_eq!(d.image_id("kept:1"), kept.id());
}
