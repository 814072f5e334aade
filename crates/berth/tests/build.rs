//! `berth build` end to end: Dockerfiles built against the engine, with the cache, stages,
//! COPY and RUN checked by what the images then contain and how they run.
#![allow(clippy::unwrap_used)]

#[path = "build/cache.rs"]
mod cache;
mod common;
#[path = "build/sources.rs"]
mod sources;
#[path = "build/steps.rs"]
mod steps;

use std::path::Path;

use common::{assert_contains, Daemon};

/// A context directory holding `files` (path, content).
fn context(d: &Daemon, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = d.dir.path().join(name);
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn build(d: &Daemon, dir: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec!["build"];
    args.extend_from_slice(extra);
    let dir = dir.to_str().unwrap().to_string();
    args.push(&dir);
    d.run(&args)
}

#[test]
fn a_dockerfile_builds_an_image_that_runs_as_written() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "app",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 ARG GREETING=hello\n\
                 ENV APP_HOME=/srv/app\n\
                 WORKDIR $APP_HOME\n\
                 COPY app.txt ./\n\
                 COPY conf/ /etc/app/\n\
                 RUN echo \"$GREETING from RUN\" > made.txt && cat app.txt\n\
                 LABEL team=core\n\
                 EXPOSE 8080/tcp\n\
                 USER 1000:1000\n\
                 CMD [\"cat\", \"made.txt\", \"app.txt\"]\n",
            ),
            ("app.txt", "the app\n"),
            ("conf/a.conf", "a=1\n"),
        ],
    );
    let r = build(&d, &dir, &["-t", "app:v1", "--build-arg", "GREETING=hi"]);
    assert_eq!(r.status, 0, "{}{}\n{}", r.stdout, r.stderr, d.log());
    assert_contains(&r.stdout, "Step 1/11 : FROM busybox");
    assert_contains(&r.stdout, "the app");
    assert_contains(&r.stdout, "Successfully built ");
    assert_contains(&r.stdout, "Successfully tagged app:v1");
    let out = d.ok(&["run", "--rm", "app:v1"]);
    assert_eq!(out, "hi from RUN\nthe app\n");
    let conf = d.ok(&["run", "--rm", "app:v1", "cat", "/etc/app/a.conf"]);
    assert_eq!(conf, "a=1\n");
    let f = "{{.Config.WorkingDir}} {{.Config.User}} {{.Config.Labels.team}} {{json .Config.ExposedPorts}} {{json .Config.Cmd}}";
    assert_eq!(
        d.ok(&["image", "inspect", "-f", f, "app:v1"]).trim(),
        r#"/srv/app 1000:1000 core {"8080/tcp":{}} ["cat","made.txt","app.txt"]"#
    );
    let history = d.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "app:v1",
    ]);
    assert_contains(&history, "#(nop) COPY app.txt ./");
    assert_contains(&history, "/bin/sh -c echo \"$GREETING from RUN\"");

    // Unchanged: every step from the cache, the same image.
    let id = d.image_id("app:v1");
    let again = build(&d, &dir, &["-t", "app:v1", "--build-arg", "GREETING=hi"]);
    assert_eq!(again.status, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        9,
        "{}",
        again.stdout
    );
    assert_eq!(d.image_id("app:v1"), id);
    // Touched but unchanged still hits; a changed file re-runs it and what follows.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(dir.join("app.txt"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = build(&d, &dir, &["-t", "app:v1", "--build-arg", "GREETING=hi"]);
    assert_eq!(
        touched.stdout.matches("Using cache").count(),
        9,
        "{}",
        touched.stdout
    );
    std::fs::write(dir.join("app.txt"), "changed\n").unwrap();
    let changed = build(&d, &dir, &["-t", "app:v2", "--build-arg", "GREETING=hi"]);
    assert_eq!(changed.status, 0, "{}", changed.stderr);
    assert_eq!(
        changed.stdout.matches("Using cache").count(),
        2,
        "{}",
        changed.stdout
    );
    assert_eq!(d.ok(&["run", "--rm", "app:v2"]), "hi from RUN\nchanged\n");
    // --no-cache runs everything.
    let fresh = build(
        &d,
        &dir,
        &["--no-cache", "-q", "--build-arg", "GREETING=hi"],
    );
    assert_eq!(fresh.status, 0, "{}", fresh.stderr);
    assert!(
        fresh.stdout.trim().starts_with("sha256:"),
        "{}",
        fresh.stdout
    );
    // No build containers are left; the context read in place is as it was, and nothing of
    // the build is still mounted.
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    assert_eq!(
        std::fs::read_to_string(dir.join("conf/a.conf")).unwrap(),
        "a=1\n"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let build_root = d.data_root().join("build");
    assert!(!mounts.contains(build_root.to_str().unwrap()), "{mounts}");
}

#[test]
fn stages_targets_and_copy_from() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "multi",
        &[(
            "Dockerfile",
            "FROM busybox AS base\n\
             RUN echo base > /base.txt\n\
             FROM base AS tools\n\
             RUN echo tools > /tools.txt\n\
             FROM busybox AS unused\n\
             RUN echo should-not-run && exit 1\n\
             FROM scratch AS final\n\
             COPY --from=tools /tools.txt /base.txt /out/\n\
             COPY --from=0 /bin/busybox /bin/busybox\n\
             CMD [\"/bin/busybox\", \"cat\", \"/out/tools.txt\", \"/out/base.txt\"]\n",
        )],
    );
    let r = build(&d, &dir, &["-t", "multi:final"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("should-not-run"), "{}", r.stdout);
    assert_eq!(d.ok(&["run", "--rm", "multi:final"]), "tools\nbase\n");
    let r = build(&d, &dir, &["-t", "multi:tools", "--target", "tools"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(
        d.ok(&["run", "--rm", "multi:tools", "cat", "/tools.txt"]),
        "tools\n"
    );
    let r = build(&d, &dir, &["--target", "nope"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "nope");
}

#[test]
fn independent_stages_are_built_side_by_side_and_shown_whole() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "parallel",
        &[(
            "Dockerfile",
            "FROM busybox AS a\n\
             RUN echo made-a > /a\n\
             FROM busybox AS b\n\
             RUN echo made-b > /b\n\
             FROM busybox\n\
             COPY --from=a /a /a\n\
             COPY --from=b /b /b\n\
             CMD [\"cat\", \"/a\", \"/b\"]\n",
        )],
    );
    let r = build(&d, &dir, &["-t", "par:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    // Each stage's lines together, in the Dockerfile's order and numbering.
    let steps: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("Step "))
        .collect();
    assert_eq!(steps.len(), 8, "{}", r.stdout);
    assert!(
        steps[0].starts_with("Step 1/8 : FROM busybox AS a"),
        "{}",
        r.stdout
    );
    assert!(
        steps[1].starts_with("Step 2/8 : RUN echo made-a"),
        "{}",
        r.stdout
    );
    assert!(
        steps[2].starts_with("Step 3/8 : FROM busybox AS b"),
        "{}",
        r.stdout
    );
    assert_eq!(d.ok(&["run", "--rm", "par:1"]), "made-a\nmade-b\n");
}

#[test]
fn bad_dockerfiles_and_failing_steps_are_reported() {
    let d = Daemon::with_busybox();
    let dir = context(&d, "bad", &[("Dockerfile", "FROM busybox\nFORM x\n")]);
    let r = build(&d, &dir, &[]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "Dockerfile:2");
    assert_contains(&r.stderr, "unknown instruction");
    let dir = context(
        &d,
        "fails",
        &[("Dockerfile", "FROM busybox\nRUN echo before; exit 3\n")],
    );
    let r = build(&d, &dir, &[]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stdout, "before");
    assert_contains(&r.stderr, "returned a non-zero code: 3");
    let dir = context(
        &d,
        "missing",
        &[("Dockerfile", "FROM busybox\nCOPY nothere.txt /\n")],
    );
    let r = build(&d, &dir, &[]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "nothere.txt");
    assert_eq!(d.ok(&["ps", "-aq"]), "");
}

#[test]
fn a_build_whose_client_goes_away_stops_and_leaves_nothing() {
    use std::io::{BufRead, BufReader};
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "cancel",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo started && sleep 60\nRUN echo never\n",
        )],
    );
    let mut child = d
        .cli()
        .args(["build", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("started")));
    child.kill().unwrap();
    child.wait().unwrap();
    common::eventually("the step's container to go", || {
        d.ok(&["ps", "-aq"]).is_empty()
    });
    let active = d.dir.path().join("data/layers/active");
    common::eventually("the build's snapshots to go", || {
        std::fs::read_dir(&active)
            .map(|e| e.count() == 0)
            .unwrap_or(true)
    });
    // The engine goes on building.
    let ok = context(&d, "after", &[("Dockerfile", "FROM busybox\nRUN true\n")]);
    assert_eq!(build(&d, &ok, &[]).status, 0);
}

#[test]
fn on_a_terminal_each_step_is_one_line() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "tty",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo step-output-here\nENV A=1\n",
        )],
    );
    for expect_cached in [false, true] {
        let mut cmd = d.cli();
        cmd.args(["build", "-t", "tty:1", dir.to_str().unwrap()]);
        let mut t = common::pty::Terminal::spawn(cmd, 30, 120);
        t.expect("=> [2/3] RUN echo step-output-here");
        t.expect("=> built ");
        t.expect("=> tagged tty:1");
        assert_eq!(t.wait(), 0);
        let seen = String::from_utf8_lossy(&t.seen).into_owned();
        assert_eq!(seen.contains("CACHED"), expect_cached, "{seen}");
        assert!(!seen.contains("Step 2/3"), "{seen}");
    }
    // --progress=plain on a terminal keeps docker's classic lines.
    let mut cmd = d.cli();
    cmd.args(["build", "--progress=plain", dir.to_str().unwrap()]);
    let mut t = common::pty::Terminal::spawn(cmd, 30, 120);
    t.expect("Step 2/3 : RUN echo step-output-here");
    assert_eq!(t.wait(), 0);
}
