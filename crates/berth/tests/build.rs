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

#[test]
fn heredocs_mounts_secrets_and_add() {
    let d = Daemon::with_busybox();
    let secret = d.dir.path().join("token.txt");
    std::fs::write(&secret, "s3cr3t").unwrap();
    let dir = context(
        &d,
        "features",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 RUN <<EOF\n\
                 echo from-heredoc > /h.txt\n\
                 echo second-line >> /h.txt\n\
                 EOF\n\
                 COPY <<EOF /etc/greeting\n\
                 hello heredoc\n\
                 EOF\n\
                 RUN --mount=type=cache,target=/cache echo run >> /cache/runs && cat /cache/runs | wc -l > /runs\n\
                 RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs-seen\n\
                 RUN --mount=type=secret,id=token cat /run/secrets/token > /dev/null && echo used > /secret-used\n\
                 ADD files.tar /unpacked/\n\
                 SHELL [\"/bin/sh\", \"-e\", \"-c\"]\n\
                 RUN echo shell-ok > /shell\n\
                 ONBUILD RUN echo triggered > /triggered\n",
            ),
        ],
    );
    // A tar for ADD to extract.
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    tar.append_data(&mut h, "inside/a.txt", &b"abc"[..])
        .unwrap();
    std::fs::write(dir.join("files.tar"), tar.into_inner().unwrap()).unwrap();
    let secret_arg = format!("id=token,src={}", secret.display());
    let r = build(&d, &dir, &["-t", "feat:1", "--secret", &secret_arg]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let cat = |path: &str| d.ok(&["run", "--rm", "feat:1", "cat", path]);
    assert_eq!(cat("/h.txt"), "from-heredoc\nsecond-line\n");
    assert_eq!(cat("/etc/greeting"), "hello heredoc\n");
    assert_eq!(cat("/tmpfs-seen"), "x\n");
    assert_eq!(cat("/secret-used"), "used\n");
    assert_eq!(cat("/unpacked/inside/a.txt"), "abc");
    assert_eq!(cat("/shell"), "shell-ok\n");
    // The secret's content is in no layer; the cache mount is not in the image.
    let saved = d.dir.path().join("feat.tar");
    d.ok(&["save", "-o", saved.to_str().unwrap(), "feat:1"]);
    let bytes = std::fs::read(&saved).unwrap();
    assert!(
        !bytes.windows(6).any(|w| w == b"s3cr3t"),
        "the secret leaked into the image"
    );
    let r = d.run(&["run", "--rm", "feat:1", "ls", "/cache/runs"]);
    assert_ne!(r.status, 0, "the cache mount's content is in the image");
    // The cache mount persists between builds: the step runs again and finds the first run.
    let r = build(
        &d,
        &dir,
        &["--no-cache", "-t", "feat:2", "--secret", &secret_arg],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(d.ok(&["run", "--rm", "feat:2", "cat", "/runs"]).trim(), "2");
    // ONBUILD runs in a build FROM the image, once.
    let child = context(
        &d,
        "child",
        &[("Dockerfile", "FROM feat:1\nRUN cat /triggered\n")],
    );
    let r = build(&d, &child, &["-t", "child:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_contains(&r.stdout, "Executing 1 build trigger");
    assert_contains(&r.stdout, "triggered");
    let onbuild = d.ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.OnBuild}}",
        "child:1",
    ]);
    assert_eq!(onbuild.trim(), "null");
    // A secret that is required but not given fails the step.
    let dir = context(
        &d,
        "needs",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --mount=type=secret,id=missing,required=true true\n",
        )],
    );
    let r = build(&d, &dir, &[]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "secret missing not found");
}

#[test]
fn contexts_from_dockerignore_other_files_and_stdin() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "ignored",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY . /ctx\nRUN find /ctx -type f | sort > /files\n",
            ),
            (".dockerignore", "logs\n*.tmp\n!keep.tmp\n"),
            ("logs/a.log", "x"),
            ("skip.tmp", "x"),
            ("keep.tmp", "x"),
            ("src/main.c", "x"),
        ],
    );
    let r = build(&d, &dir, &["-t", "ign:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let files = d.ok(&["run", "--rm", "ign:1", "cat", "/files"]);
    assert_eq!(
        files,
        "/ctx/.dockerignore\n/ctx/Dockerfile\n/ctx/keep.tmp\n/ctx/src/main.c\n"
    );
    // -f naming a Dockerfile outside the context.
    let outside = d.dir.path().join("Other.Dockerfile");
    std::fs::write(&outside, "FROM busybox\nCOPY src/main.c /main.c\n").unwrap();
    let r = build(
        &d,
        &dir,
        &["-f", outside.to_str().unwrap(), "-t", "other:1"],
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(d.ok(&["run", "--rm", "other:1", "cat", "/main.c"]), "x");
    // A Dockerfile alone on STDIN, and --iidfile.
    let iid = d.dir.path().join("iid");
    let r = d.run_stdin(
        &[
            "build",
            "--iidfile",
            iid.to_str().unwrap(),
            "-t",
            "stdin:1",
            "-",
        ],
        b"FROM busybox\nLABEL from=stdin\n",
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        d.image_id("stdin:1")
    );
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
fn copy_parents_exclude_and_run_network_flags() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "flags",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 COPY --parents a/b/one.txt c/two.txt /p/\n\
                 COPY --exclude=*.log logs /logs\n\
                 COPY <<EOF /gen.txt\n\
                 generated\n\
                 EOF\n\
                 COPY . /all\n\
                 RUN cat /etc/hosts > /hosts && find /all -type f | sort > /all.txt\n",
            ),
            ("a/b/one.txt", "1"),
            ("c/two.txt", "2"),
            ("logs/keep.txt", "k"),
            ("logs/drop.log", "d"),
        ],
    );
    let r = build(
        &d,
        &dir,
        &["-t", "flags:1", "--add-host", "buildhost:10.9.8.7"],
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let cat = |p: &str| d.ok(&["run", "--rm", "flags:1", "cat", p]);
    assert_eq!(cat("/p/a/b/one.txt"), "1");
    assert_eq!(cat("/p/c/two.txt"), "2");
    assert_eq!(cat("/logs/keep.txt"), "k");
    let r = d.run(&["run", "--rm", "flags:1", "cat", "/logs/drop.log"]);
    assert_ne!(r.status, 0, "an excluded file was copied");
    assert_eq!(cat("/gen.txt"), "generated\n");
    assert_contains(&cat("/hosts"), "10.9.8.7\tbuildhost");
    // What the builder makes for itself is not part of the context.
    let all = cat("/all.txt");
    assert!(
        !all.contains("heredoc") && !all.contains("exclude"),
        "{all}"
    );
    // RUN --network=none has no way out, and neither has a build with --network none.
    let dir = context(
        &d,
        "nonet",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --network=none ls /sys/class/net > /nets\n",
        )],
    );
    assert_eq!(build(&d, &dir, &["-t", "nonet:1"]).status, 0);
    assert_eq!(d.ok(&["run", "--rm", "nonet:1", "cat", "/nets"]), "lo\n");
}

#[test]
fn outputs_shm_size_and_ulimits() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "outs",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN ulimit -n > /nofile && df -k /dev/shm | tail -1 | awk '{print $2}' > /shm\n",
        )],
    );
    let out_dir = d.dir.path().join("out-local");
    let out_tar = d.dir.path().join("out.tar");
    let r = build(
        &d,
        &dir,
        &[
            "--ulimit",
            "nofile=512:1024",
            "--shm-size",
            "70m",
            "-o",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("nofile")).unwrap(),
        "512\n"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("shm")).unwrap(),
        "71680\n"
    );
    assert!(out_dir.join("bin/busybox").exists());
    let tar_spec = format!("type=tar,dest={}", out_tar.display());
    let r = build(
        &d,
        &dir,
        &[
            "--ulimit",
            "nofile=512:1024",
            "--shm-size",
            "70m",
            "--output",
            &tar_spec,
        ],
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let mut names = Vec::new();
    for e in tar::Archive::new(std::fs::File::open(&out_tar).unwrap())
        .entries()
        .unwrap()
    {
        names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
    }
    assert!(
        names.iter().any(|n| n.trim_start_matches("./") == "nofile"),
        "{names:?}"
    );
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    let r = build(&d, &dir, &["-o", "type=registry,dest=x"]);
    assert_ne!(r.status, 0);
}

/// Serves `body` to every GET on 127.0.0.1 until the test ends; returns the port.
fn serve(body: &'static [u8]) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
        }
    });
    port
}

#[test]
fn add_downloads_urls_and_checks_their_digest() {
    let d = Daemon::with_busybox();
    let port = serve(b"downloaded content\n");
    // sha256 of "downloaded content\n".
    let sum = {
        use std::process::Command;
        let out = Command::new("sh")
            .args(["-c", "printf 'downloaded content\\n' | sha256sum"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    let url = format!("http://127.0.0.1:{port}/files/data.txt");
    let dir = context(
        &d,
        "url",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nADD --checksum=sha256:{sum} {url} /fetched/\nRUN stat -c %a /fetched/data.txt > /mode\n"),
        )],
    );
    let r = build(&d, &dir, &["-t", "url:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        d.ok(&["run", "--rm", "url:1", "cat", "/fetched/data.txt"]),
        "downloaded content\n"
    );
    assert_eq!(d.ok(&["run", "--rm", "url:1", "cat", "/mode"]), "600\n");
    let bad = context(
        &d,
        "badsum",
        &[(
            "Dockerfile",
            &format!(
                "FROM busybox\nADD --checksum=sha256:{} {url} /x\n",
                "0".repeat(64)
            ),
        )],
    );
    let r = build(&d, &bad, &[]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "digest mismatch");
}

#[test]
fn a_context_tar_from_a_url_and_the_check_directive() {
    let d = Daemon::with_busybox();
    let mut tar = tar::Builder::new(Vec::new());
    let dockerfile = b"# check=skip=all\nFROM busybox\nCOPY hello.txt /\n";
    for (name, data) in [
        ("Dockerfile", &dockerfile[..]),
        ("hello.txt", &b"from a url\n"[..]),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, data).unwrap();
    }
    let body: &'static [u8] = Box::leak(tar.into_inner().unwrap().into_boxed_slice());
    let port = serve(body);
    let r = d.run(&[
        "build",
        "-t",
        "remote:1",
        &format!("http://127.0.0.1:{port}/ctx.tar"),
    ]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_contains(&r.stdout, "check=skip=all");
    assert_eq!(
        d.ok(&["run", "--rm", "remote:1", "cat", "/hello.txt"]),
        "from a url\n"
    );
    let r = d.run(&["build", "https://example.invalid/repo.git"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "git");
}

#[test]
fn run_binds_a_stage_read_only() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "bindfrom",
        &[(
            "Dockerfile",
            "FROM busybox AS tools\nRUN mkdir /tools && echo tool-data > /tools/data\n\
             FROM busybox\nRUN --mount=type=bind,from=tools,source=/tools,target=/mnt cat /mnt/data > /out && ! touch /mnt/new 2>/dev/null\n",
        )],
    );
    let r = build(&d, &dir, &["-t", "bindfrom:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        d.ok(&["run", "--rm", "bindfrom:1", "cat", "/out"]),
        "tool-data\n"
    );
    let r = d.run(&["run", "--rm", "bindfrom:1", "ls", "/mnt/data"]);
    assert_ne!(r.status, 0, "the bound stage is in the image");
}

#[test]
fn an_added_tar_cannot_write_outside_the_image() {
    let d = Daemon::with_busybox();
    let dir = d.dir.path().join("evil");
    std::fs::create_dir_all(&dir).unwrap();
    let marker = d.dir.path().join("escaped");
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        // Raw names, as a hostile archive would carry them.
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, data).unwrap();
    };
    let up = format!("../../../../../../..{}", marker.display());
    add(&up, b"up");
    add(&marker.display().to_string(), b"abs");
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_mode(0o777);
    tar.append_link(&mut link, "lnk", marker.parent().unwrap())
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.as_gnu_mut().unwrap().name[..12].copy_from_slice(b"lnk/escaped2");
    h.set_cksum();
    tar.append(&h, &b"link"[..]).unwrap();
    std::fs::write(dir.join("evil.tar"), tar.into_inner().unwrap()).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nADD evil.tar /x/\n").unwrap();
    let r = build(&d, &dir, &["-t", "evil:1"]);
    // Whether refused or kept inside, nothing lands outside the image.
    assert!(!marker.exists(), "{}{}", r.stdout, r.stderr);
    assert!(
        !d.dir.path().join("escaped2").exists(),
        "{}{}",
        r.stdout,
        r.stderr
    );
    if r.status == 0 {
        let inside = d.ok(&["run", "--rm", "evil:1", "find", "/x"]);
        assert_contains(&inside, "/x");
    }
}

#[test]
fn the_config_and_history_are_docker_s() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "config",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             ENV PATH=/usr/local/bin:/bin A=\"one two\"\n\
             VOLUME [\"/data\", \"/logs\"]\n\
             STOPSIGNAL SIGUSR1\n\
             HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD [\"true\"]\n\
             SHELL [\"/bin/sh\", \"-x\", \"-c\"]\n\
             ONBUILD RUN echo child\n\
             ENTRYPOINT [\"/bin/echo\"]\n\
             CMD hello\n\
             RUN echo layered > /l\n",
        )],
    );
    let r = build(&d, &dir, &["-t", "cfg:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let f = "{{json .Config.Env}}|{{json .Config.Volumes}}|{{.Config.StopSignal}}|{{json .Config.Shell}}|{{json .Config.OnBuild}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}";
    let got = d.ok(&["image", "inspect", "-f", f, "cfg:1"]);
    assert_eq!(
        got.trim(),
        r#"["PATH=/usr/local/bin:/bin","A=one two"]|{"/data":{},"/logs":{}}|SIGUSR1|["/bin/sh","-x","-c"]|["RUN echo child"]|["/bin/echo"]|["/bin/sh","-x","-c","hello"]"#
    );
    let hc = "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Timeout}} {{.Config.Healthcheck.Retries}}";
    assert_eq!(
        d.ok(&["image", "inspect", "-f", hc, "cfg:1"]).trim(),
        r#"["CMD","true"] 5000000000 2000000000 4"#
    );
    // Metadata steps add empty layers; the RUN adds one with content.
    let history = d.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.Size}}|{{.CreatedBy}}",
        "cfg:1",
    ]);
    let lines: Vec<&str> = history.lines().collect();
    assert!(lines[0].contains("echo layered"), "{history}");
    assert!(!lines[0].starts_with("0B"), "{history}");
    assert!(
        lines[1].starts_with("0B|/bin/sh -c #(nop) CMD hello"),
        "{history}"
    );
    // ENTRYPOINT's exec form gets CMD's shell form as its arguments, as with docker.
    assert_eq!(d.ok(&["run", "--rm", "cfg:1"]), "/bin/sh -x -c hello\n");
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

#[test]
fn source_date_epoch_makes_the_same_image_every_time() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "repro",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY f.txt /f.txt\nRUN echo made > /made && touch /made\n",
            ),
            ("f.txt", "same\n"),
        ],
    );
    let args = [
        "--no-cache",
        "-q",
        "--build-arg",
        "SOURCE_DATE_EPOCH=1700000000",
    ];
    let first = build(&d, &dir, &args);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let later = std::time::SystemTime::now();
    std::fs::File::options()
        .write(true)
        .open(dir.join("f.txt"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let second = build(&d, &dir, &args);
    assert_eq!(second.status, 0, "{}", second.stderr);
    assert_eq!(
        first.stdout.trim(),
        second.stdout.trim(),
        "two builds gave two images"
    );
    let created = d.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Created}}",
        first.stdout.trim(),
    ]);
    assert!(created.starts_with("2023-11-14T22:13:20"), "{created}");
    let r = build(&d, &dir, &["--build-arg", "SOURCE_DATE_EPOCH=soon"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "SOURCE_DATE_EPOCH");
}
