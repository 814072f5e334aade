//! `berth build` end to end: Dockerfiles built against the engine, with the cache, stages,
//! COPY and RUN checked by what the images then contain and how they run.
#![allow(clippy::unwrap_used)]

mod common;

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
    // No build containers are left.
    assert_eq!(d.ok(&["ps", "-aq"]), "");
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
fn the_build_cache_in_system_df_and_builder_prune() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "cache",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copy\n",
            ),
            ("data.txt", "first\n"),
        ],
    );
    assert_eq!(build(&d, &dir, &["-t", "c:1"]).status, 0);
    let df = d.ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert_contains(&df, "Build Cache 2");
    let verbose = d.ok(&["system", "df", "-v"]);
    assert_contains(&verbose, "regular");
    // A rebuild of changed content leaves the old steps' images dangling: prune takes them.
    std::fs::write(dir.join("data.txt"), "second\n").unwrap();
    assert_eq!(build(&d, &dir, &["-t", "c:1"]).status, 0);
    let pruned = d.ok(&["builder", "prune", "-f"]);
    assert_contains(&pruned, "Deleted build cache objects:");
    assert_contains(&pruned, "Total reclaimed space:");
    assert_eq!(d.ok(&["run", "--rm", "c:1", "cat", "/copy"]), "second\n");
    // What the named image needs stays, and still serves as cache.
    let again = build(&d, &dir, &["-t", "c:1"]);
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        2,
        "{}",
        again.stdout
    );
    // -a forgets every record: the next build runs every step.
    d.ok(&["builder", "prune", "-a", "-f"]);
    let cold = build(&d, &dir, &["-t", "c:1"]);
    assert_eq!(
        cold.stdout.matches("Using cache").count(),
        0,
        "{}",
        cold.stdout
    );
    let r = d.run(&["builder", "prune", "-f", "--filter", "label=x"]);
    assert_ne!(r.status, 0);
}
