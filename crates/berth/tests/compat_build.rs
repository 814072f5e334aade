//! Builds driven by clients nobody here wrote: the docker CLI's legacy builder
//! (`DOCKER_BUILDKIT=0 docker build`) and docker-py's `images.build`, against the engine.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_contains, docker, Daemon};

#[test]
fn the_docker_cli_builds_through_berth() {
    let d = Daemon::with_busybox();
    let dir = d.dir.path().join("ctx");
    std::fs::create_dir_all(dir.join("keep")).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nCOPY . /ctx/\nRUN ls /ctx > /listing\nCMD [\"cat\", \"/listing\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("keep/a.txt"), "a").unwrap();
    std::fs::write(dir.join("secret.key"), "no").unwrap();
    std::fs::write(dir.join(".dockerignore"), "*.key\n").unwrap();
    let out = docker::command(&d)
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-t", "viadocker:1"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(&stdout, "Step 4/4 : CMD");
    assert_contains(&stdout, "Successfully built");
    assert_contains(&stdout, "Successfully tagged viadocker:1");
    let listing = d.ok(&["run", "--rm", "viadocker:1"]);
    assert_contains(&listing, "keep");
    assert!(!listing.contains("secret.key"), "{listing}");
    // A failing step fails docker's command with the step's message.
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nRUN exit 7\n").unwrap();
    let out = docker::command(&d)
        .env("DOCKER_BUILDKIT", "0")
        .args(["build"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_contains(
        &String::from_utf8_lossy(&out.stderr),
        "returned a non-zero code: 7",
    );
}

#[test]
fn docker_py_builds_through_berth() {
    let d = Daemon::with_busybox();
    let dir = d.dir.path().join("pyctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nARG WHO\nRUN echo hello $WHO > /hi\n",
    )
    .unwrap();
    let script = format!(
        r#"
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1])
image, logs = c.images.build(path={dir:?}, tag="viapy:1", buildargs={{"WHO": "py"}})
print(image.id)
print(c.containers.run("viapy:1", ["cat", "/hi"], remove=True).decode(), end="")
"#,
        dir = dir.to_str().unwrap()
    );
    let out = docker::py(&d, &script);
    assert_contains(&out, "sha256:");
    assert_contains(&out, "hello py");
}
