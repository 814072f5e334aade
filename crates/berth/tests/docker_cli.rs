//! Compatibility: the docker CLI (Debian's docker.io, client only) against Berth's socket
//! gets the same answers as Berth's own CLI. And Docker's own engine, run beside Berth on
//! private paths, loads what Berth saves.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};

use common::docker::{self, DOCKER};
use common::images::{docker_archive, Image};
use common::{assert_contains, Daemon};

#[test]
fn docker_cli_lists_tags_inspects_saves_loads_and_removes() {
    let d = Daemon::start();
    let img = Image::busybox().tagged("busybox:latest");
    let archive = docker_archive(std::slice::from_ref(&img));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.tar");
    std::fs::write(&path, &archive).unwrap();

    assert_contains(
        &docker::ok(&d, &["load", "-i", path.to_str().unwrap()]),
        "Loaded image: busybox:latest",
    );
    assert_eq!(
        docker::ok(&d, &["images", "--format", "{{.ID}}"]),
        d.ok(&["images", "--format", "{{.ID}}"])
    );
    assert_eq!(
        docker::ok(&d, &["images"]).lines().next(),
        d.ok(&["images"]).lines().next()
    );
    docker::ok(&d, &["tag", "busybox", "me/copy:2"]);
    assert_eq!(d.image_id("me/copy:2"), img.id());
    assert_eq!(
        docker::ok(&d, &["image", "inspect", "-f", "{{.Id}}", "me/copy:2"]).trim(),
        img.id()
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&docker::ok(&d, &["image", "inspect", "busybox"])).unwrap();
    assert_eq!(inspect[0]["Config"]["Cmd"][0], "sh");
    assert_contains(&docker::ok(&d, &["history", "busybox"]), "ADD layer0");

    let saved = dir.path().join("saved.tar");
    docker::ok(&d, &["save", "-o", saved.to_str().unwrap(), "me/copy:2"]);
    assert_contains(
        &docker::ok(&d, &["rmi", "me/copy:2"]),
        "Untagged: me/copy:2",
    );
    assert_contains(
        &docker::ok(&d, &["load", "-i", saved.to_str().unwrap()]),
        "Loaded image: me/copy:2",
    );
    assert_eq!(d.image_id("me/copy:2"), img.id());
    let removed = docker::ok(&d, &["rmi", "-f", &img.id()]);
    assert_contains(&removed, &format!("Deleted: {}", img.id()));
    assert!(docker::ok(&d, &["images", "-q"]).trim().is_empty());

    // Errors come back the way the docker CLI expects them.
    let out = Command::new(DOCKER)
        .arg("-H")
        .arg(d.host())
        .args(["rmi", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_contains(&String::from_utf8_lossy(&out.stderr), "No such image: nope");
    let info = docker::ok(&d, &["info", "--format", "{{.Driver}} {{.Images}}"]);
    assert_eq!(info.trim(), "overlayfs 0");
    assert_contains(
        &docker::ok(&d, &["version", "--format", "{{.Server.APIVersion}}"]),
        "1.41",
    );
    assert_contains(&docker::ok(&d, &["system", "df"]), "Images");
}

/// A dockerd on private paths, stopped and removed on drop.
struct Dockerd {
    dir: tempfile::TempDir,
    child: std::process::Child,
    /// Whether containerd's fixed shim directory existed before; if not, it is removed
    /// (when empty) afterwards, so the run leaves the machine as it found it.
    had_containerd_run_dir: bool,
}

const CONTAINERD_RUN_DIR: &str = "/run/containerd";

impl Dockerd {
    fn start() -> Dockerd {
        let had_containerd_run_dir = std::path::Path::new(CONTAINERD_RUN_DIR).exists();
        let dir = tempfile::Builder::new()
            .prefix("berth-dockerd-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        let p = |s: &str| root.join(s);
        let ns = format!("berthtest{}", std::process::id());
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(p("data"))
            .arg("--exec-root")
            .arg(p("exec"))
            .arg("--pidfile")
            .arg(p("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", p("docker.sock").display()))
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args([
                "--containerd-namespace",
                &ns,
                "--containerd-plugins-namespace",
                &format!("{ns}p"),
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(p("dockerd.log")).unwrap())
            .spawn()
            .expect("dockerd (install docker.io: scripts/install-deps)");
        let d = Dockerd {
            dir,
            child,
            had_containerd_run_dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let ok = Command::new(DOCKER)
                .arg("-H")
                .arg(d.host())
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if ok.map(|s| s.success()).unwrap_or(false) {
                return d;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!(
            "dockerd did not start: {}",
            std::fs::read_to_string(p("dockerd.log")).unwrap_or_default()
        );
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the dockerd we spawned.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        common::unmount_under(self.dir.path());
        if !self.had_containerd_run_dir {
            let _ = std::fs::remove_dir(format!("{CONTAINERD_RUN_DIR}/s"));
            let _ = std::fs::remove_dir(CONTAINERD_RUN_DIR);
        }
    }
}

#[test]
fn dockers_engine_loads_what_berth_saves_and_runs_hello_world() {
    let d = Daemon::start();
    let archive = d
        .cli()
        .args(["save", "hello-world"])
        .output()
        .unwrap()
        .stdout;
    let docker_engine = Dockerd::start();
    let mut load = Command::new(DOCKER)
        .arg("-H")
        .arg(docker_engine.host())
        .arg("load")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(load.stdin.as_mut().unwrap(), &archive).unwrap();
    drop(load.stdin.take());
    let out = load.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "docker load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "Loaded image: hello-world:latest",
    );
    let id = Command::new(DOCKER)
        .arg("-H")
        .arg(docker_engine.host())
        .args(["image", "inspect", "-f", "{{.Id}}", "hello-world"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&id.stdout).trim(),
        d.image_id("hello-world")
    );
    let run = Command::new(DOCKER)
        .arg("-H")
        .arg(docker_engine.host())
        .args(["run", "--rm", "--network", "none", "hello-world"])
        .output()
        .unwrap();
    assert_contains(&String::from_utf8_lossy(&run.stdout), "Hello from Berth!");

    // And the other way: Docker's save loads into Berth with the same ID.
    let saved = Command::new(DOCKER)
        .arg("-H")
        .arg(docker_engine.host())
        .args(["save", "hello-world"])
        .output()
        .unwrap();
    d.ok(&["rmi", "hello-world"]);
    let out = d.run_stdin(&["load"], &saved.stdout);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        d.image_id("hello-world"),
        String::from_utf8_lossy(&id.stdout).trim()
    );
}

/// docker-py (Debian's python3-docker) drives images through Berth.
#[test]
fn docker_py_lists_gets_saves_loads_tags_and_prunes() {
    let d = Daemon::start();
    let img = Image::busybox().tagged("busybox:latest");
    d.load(&docker_archive(std::slice::from_ref(&img)));
    let script = r#"
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1], version="auto")
assert c.version()["ApiVersion"] == "1.41"
assert [i.tags for i in c.images.list()] == [["busybox:latest"]], c.images.list()
img = c.images.get("busybox")
assert img.attrs["Config"]["Cmd"] == ["sh"]
data = b"".join(c.api.get_image("busybox:latest"))
c.images.remove("busybox:latest")
assert c.images.list() == []
loaded = c.images.load(data)
assert [i.tags for i in loaded] == [["busybox:latest"]], loaded
assert img.tag("me/box", "v1")
assert c.images.get("me/box:v1").id == img.id
assert c.images.prune(filters={"dangling": True})["ImagesDeleted"] in (None, [])
assert c.df()["LayersSize"] > 0
try:
    c.images.get("missing")
    raise SystemExit("missing image found")
except docker.errors.ImageNotFound:
    pass
print(img.id)
"#;
    assert_eq!(docker::py(&d, script), img.id());
}
