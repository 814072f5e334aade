//! The build cache beyond one build: `system df`, `builder prune`, and `SOURCE_DATE_EPOCH`'s
//! reproducible images.

use super::*;

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

#[test]
fn cache_from_takes_steps_from_an_image_built_elsewhere() {
    let dockerfile = "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /proc/sys/kernel/random/uuid > /id\nCMD [\"cat\", \"/id\"]\n";
    let files = [("Dockerfile", dockerfile), ("a.txt", "one\n")];
    let first = Daemon::with_busybox();
    let dir = context(&first, "ctx", &files);
    let built = build(&first, &dir, &["-t", "app:1"]);
    assert_eq!(built.status, 0, "{}", built.stderr);
    let id_first = first.ok(&["run", "--rm", "app:1"]);
    let saved = first.dir.path().join("app.tar");
    first.ok(&["save", "-o", saved.to_str().unwrap(), "app:1"]);
    let archive = std::fs::read(&saved).unwrap();

    // Another engine with only the final image (as a pull would leave it) and the context
    // in another place.
    let other = Daemon::with_busybox();
    other.load(&archive);
    let dir = context(&other, "elsewhere", &files);
    let again = build(&other, &dir, &["--cache-from", "app:1", "-t", "app:2"]);
    assert_eq!(again.status, 0, "{}", again.stderr);
    assert_eq!(
        again
            .stdout
            .matches("Using cache (from --cache-from)")
            .count(),
        2,
        "COPY and RUN came from app:1:\n{}",
        again.stdout
    );
    assert_eq!(
        other.ok(&["run", "--rm", "app:2"]),
        id_first,
        "RUN did not run"
    );
    let layers =
        |name: &str| other.ok(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", name]);
    assert_eq!(layers("app:2"), layers("app:1"));

    // A changed file: COPY and what follows it are built again.
    std::fs::write(dir.join("a.txt"), "two\n").unwrap();
    let changed = build(&other, &dir, &["--cache-from", "app:1", "-t", "app:3"]);
    assert_eq!(changed.status, 0, "{}", changed.stderr);
    assert!(
        !changed.stdout.contains("from --cache-from"),
        "{}",
        changed.stdout
    );
    assert_ne!(other.ok(&["run", "--rm", "app:3"]), id_first);
    assert_eq!(
        other.ok(&["run", "--rm", "app:3", "cat", "/a.txt"]),
        "two\n"
    );

    // Without --cache-from, having the image is not having its steps.
    let third = Daemon::with_busybox();
    third.load(&archive);
    let dir = context(&third, "ctx", &files);
    let without = build(&third, &dir, &[]);
    assert_eq!(without.status, 0, "{}", without.stderr);
    assert!(
        !without.stdout.contains("Using cache"),
        "{}",
        without.stdout
    );

    // A name the engine does not have is no cache source and no error.
    let missing = build(&third, &dir, &["--cache-from", "nothing:here", "-q"]);
    assert_eq!(missing.status, 0, "{}", missing.stderr);
}
