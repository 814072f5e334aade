//! Build steps in detail: heredocs, RUN mounts (cache, tmpfs, secret, bind from a stage),
//! ADD of archives (and ones that try to escape), COPY's flags, outputs and RUN limits, and
//! the config and history a build gives its image.

use super::*;

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
