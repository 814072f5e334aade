//! COPY and ADD with their flags.

use super::*;

fn copy_of(line: &str) -> Copy {
    match one(line) {
        Instruction::Copy(c) => c,
        other => panic!("not a COPY: {other:?}"),
    }
}

fn add_of(line: &str) -> Add {
    match one(line) {
        Instruction::Add(a) => a,
        other => panic!("not an ADD: {other:?}"),
    }
}

fn paths(v: &[&str]) -> Vec<Source> {
    v.iter().map(|p| Source::Path(p.to_string())).collect()
}

#[test]
fn copy_plain_and_json() {
    assert_eq!(
        copy_of("COPY . /app"),
        Copy {
            sources: paths(&["."]),
            dest: "/app".into(),
            from: None,
            chown: None,
            chmod: None,
            link: false,
            parents: false,
            excludes: vec![],
        }
    );
    let c = copy_of(r#"COPY ["my file.txt", "other", "/dest dir/"]"#);
    assert_eq!(
        (c.sources, c.dest),
        (paths(&["my file.txt", "other"]), "/dest dir/".to_string())
    );
    let c = copy_of("COPY a b c/ /to/");
    assert_eq!(
        (c.sources, c.dest),
        (paths(&["a", "b", "c/"]), "/to/".to_string())
    );
}

#[test]
fn copy_flags() {
    let c = copy_of("COPY --from=build --chown=1000:1000 --chmod=0755 --link --parents --exclude=*.md --exclude=test/ ./src/ /app/");
    assert_eq!(
        c,
        Copy {
            sources: paths(&["./src/"]),
            dest: "/app/".into(),
            from: Some("build".into()),
            chown: Some("1000:1000".into()),
            chmod: Some("0755".into()),
            link: true,
            parents: true,
            excludes: strings(&["*.md", "test/"]),
        }
    );
    assert_eq!(copy_of("COPY --from=0 /x /y").from.as_deref(), Some("0"));
    assert_eq!(
        copy_of("COPY --from=nginx:latest /etc/nginx /n")
            .from
            .as_deref(),
        Some("nginx:latest")
    );
    assert!(!copy_of("COPY --link=false a b").link);
    assert_eq!(
        copy_of("COPY --chown=\"app user\" a b").chown.as_deref(),
        Some("app user")
    );
}

#[test]
fn add_flags() {
    let a = add_of("ADD --checksum=sha256:24454f830c --chown=app --chmod=644 --link --exclude=.git https://example.com/a.tar.gz /opt/");
    assert_eq!(
        a,
        Add {
            sources: paths(&["https://example.com/a.tar.gz"]),
            dest: "/opt/".into(),
            chown: Some("app".into()),
            chmod: Some("644".into()),
            link: true,
            keep_git_dir: false,
            checksum: Some("sha256:24454f830c".into()),
            excludes: strings(&[".git"]),
        }
    );
    assert!(
        add_of("ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.10.1 /bk")
            .keep_git_dir
    );
}

#[test]
fn copy_add_errors() {
    let two = "requires at least two arguments, but only one was provided. Destination could not be determined.";
    assert_eq!(one_err("COPY onlyone"), format!("COPY {two}"));
    assert_eq!(one_err("ADD"), format!("ADD {two}"));
    assert_eq!(
        one_err("COPY --keep-git-dir a b"),
        "unknown flag: keep-git-dir"
    );
    assert_eq!(one_err("ADD --from=x a b"), "unknown flag: from");
    assert_eq!(one_err("ADD --parents a b"), "unknown flag: parents");
    assert_eq!(
        one_err("COPY --lnk a b"),
        "unknown flag: lnk (did you mean --link?)"
    );
    assert_eq!(
        one_err("COPY --from=a --from=b x y"),
        "duplicate flag specified: from"
    );
    assert_eq!(one_err("COPY --from x y"), "missing a value on flag: from");
    assert_eq!(
        one_err("COPY --link=yes x y"),
        "expecting boolean value for flag link, not: yes"
    );
    assert_eq!(one_err("COPY --link= x y"), "missing a value on flag: link");
    assert_eq!(
        one_err(r#"COPY ["a", ["b"], "/c"]"#),
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
}

#[test]
fn flags_on_instructions_without_any() {
    assert_eq!(one_err("WORKDIR --foo=bar /x"), "unknown flag: foo");
    assert_eq!(one_err("ENV --x A=1"), "unknown flag: x");
    assert_eq!(one_err("CMD --help"), "unknown flag: help");
    // After `--`, words are arguments even if they look like flags.
    assert_eq!(one("USER -- --weird"), Instruction::User("--weird".into()));
}

#[test]
fn odd_source_words_are_paths() {
    let c = copy_of("COPY <<\"odd /dst");
    assert_eq!(c.sources, paths(&["<<\"odd"]));
}
