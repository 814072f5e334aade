//! The CLI's own behaviour: finding the engine, remote transports, usage errors, completions.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{assert_contains, Daemon, BERTH};

fn berth() -> Command {
    let mut c = Command::new(BERTH);
    c.env_remove("BERTH_HOST").env_remove("DOCKER_HOST");
    c
}

/// Runs `cmd`, asserting it succeeds.
fn succeeds(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn host_comes_from_flag_then_berth_host_then_docker_host() {
    let d = Daemon::start();
    let fmt = ["version", "--format", "{{.Server.Version}}"];
    let via_env = berth()
        .env("BERTH_HOST", d.host())
        .args(fmt)
        .output()
        .unwrap();
    assert!(
        via_env.status.success(),
        "{}",
        String::from_utf8_lossy(&via_env.stderr)
    );
    let via_docker = berth()
        .env("DOCKER_HOST", d.host())
        .args(fmt)
        .output()
        .unwrap();
    assert!(via_docker.status.success());
    // The flag wins over the environment, BERTH_HOST over DOCKER_HOST.
    let missing = "unix:///nonexistent/berth.sock";
    let out = berth()
        .env("BERTH_HOST", missing)
        .args(["-H", &d.host()])
        .args(fmt)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = berth()
        .env("BERTH_HOST", missing)
        .env("DOCKER_HOST", d.host())
        .args(fmt)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_contains(
        &String::from_utf8_lossy(&out.stderr),
        "Cannot connect to the Berth daemon at unix:///nonexistent/berth.sock",
    );
}

#[test]
fn no_daemon_is_a_clear_error() {
    let out = berth()
        .args(["-H", "unix:///nonexistent/x.sock", "images"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_contains(
        &String::from_utf8_lossy(&out.stderr),
        "Is the berth daemon running?",
    );
    let out = berth()
        .args(["-H", "tcp://127.0.0.1:1", "images"])
        .output()
        .unwrap();
    assert_contains(&String::from_utf8_lossy(&out.stderr), "tcp://127.0.0.1:1");
    let out = berth().args(["-H", "ftp://x", "images"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
}

/// `ssh://` runs `ssh host berth system dial-stdio`; a stand-in `ssh` that runs the command
/// locally exercises the whole transport without an ssh server.
#[test]
fn ssh_host_goes_through_dial_stdio() {
    let d = Daemon::start();
    let bin = tempfile::tempdir().unwrap();
    let bindir = bin.path().join("bin");
    std::fs::create_dir(&bindir).unwrap();
    std::os::unix::fs::symlink(BERTH, bindir.join("berth")).unwrap();
    let fake_ssh = bindir.join("ssh");
    std::fs::write(
        &fake_ssh,
        format!(
            "#!/bin/sh\n# ssh [-l user] [-p port] -- host command...\necho \"$@\" > {log}\nwhile [ \"$1\" != -- ]; do shift; done\nshift 2\nexport BERTH_HOST={host}\nexec \"$@\"\n",
            log = bin.path().join("args").display(),
            host = d.host()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake_ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    succeeds(
        berth()
            .env("PATH", &path)
            .args(["-H", "ssh://me@remote:2222", "images", "-q"]),
    );
    let args = std::fs::read_to_string(bin.path().join("args")).unwrap();
    assert_eq!(
        args.trim(),
        "-l me -p 2222 -- remote berth system dial-stdio"
    );
    // Several requests over one ssh connection.
    let out = succeeds(berth().env("PATH", &path).args([
        "-H",
        "ssh://remote",
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        "hello-world",
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sha256:"));
}

#[test]
fn usage_errors_exit_125_and_help_exits_0() {
    let out = berth().args(["images", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_contains(&String::from_utf8_lossy(&out.stderr), "--bogus");
    let out = berth().args(["images", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_contains(&String::from_utf8_lossy(&out.stdout), "--digests");
    let out = berth().args(["rmi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let out = berth().arg("--version").output().unwrap();
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        env!("CARGO_PKG_VERSION"),
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = berth().args(["completion", shell]).output().unwrap();
        assert!(out.status.success());
        let script = String::from_utf8_lossy(&out.stdout);
        assert_contains(&script, "images");
        assert_contains(&script, "no-trunc");
    }
}

#[test]
fn save_refuses_to_write_to_a_terminal_and_load_from_one() {
    // Run through `script` so that stdout is a terminal, as a user typing it would have.
    let d = Daemon::start();
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (bsdutils) is needed for this test");
    }
    let cmd = format!("{BERTH} -H {} save hello-world", d.host());
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "cowardly refusing to save to a terminal",
    );
    let cmd = format!("{BERTH} -H {} load", d.host());
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "requested load from stdin, but stdin is empty",
    );
}

/// Run as root against the default socket with no engine there, the CLI starts one in the
/// background and says so, once. The test runs in a private mount namespace with empty
/// /run, /var/lib and /var/log, so the defaults it exercises are its own.
#[test]
fn starts_an_engine_on_the_default_socket_when_none_runs() {
    let script = format!(
        "set -e
         mount -t tmpfs berth-test /run
         mount -t tmpfs berth-test /var/lib
         mount -t tmpfs berth-test /var/log
         {BERTH} images --format '{{{{.ID}}}}'
         echo first-done >&2
         {BERTH} image inspect -f '{{{{.RepoTags}}}}' hello-world
         cat /run/berth/berth.pid >&2
         ls /var/lib/berth/metadata.redb /var/log/berth/daemon.log >&2"
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_remove("BERTH_HOST")
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // Stop the engine it started (it holds the namespace; killing it tears that down).
    let pid = stderr
        .split("(pid ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|p| p.trim().parse::<i32>().ok());
    if let Some(pid) = pid {
        // SAFETY: kill(2) on the engine this test started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    assert!(out.status.success(), "{stderr}");
    let pid = pid.expect("the CLI said which engine it started");
    assert_eq!(
        stderr.matches("Started the Berth daemon").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.find("Started").unwrap() < stderr.find("first-done").unwrap());
    assert_contains(&stderr, &format!("{pid}\n"));
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "[hello-world:latest]",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // SAFETY: kill(pid, 0) only checks that the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
