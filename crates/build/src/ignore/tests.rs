//! `.dockerignore` cases, mostly the examples of docker's documentation.

use std::path::{Path, PathBuf};

use super::*;

fn m(text: &str) -> IgnoreMatcher {
    IgnoreMatcher::parse(text).unwrap()
}

/// Asserts which of `paths` are excluded (`true`) and which are kept.
fn check(text: &str, cases: &[(&str, bool)]) {
    let matcher = m(text);
    for (path, excluded) in cases {
        assert_eq!(matcher.excludes(path), *excluded, "{path} with {text:?}");
    }
}

#[test]
fn reading_the_file() {
    let text = "\u{feff}# comment\n  # not a comment: a pattern\n\n  *.log  \n./build/\n/abs/path\n!  ./keep//me/\nsub/../top\n/\n!\r\n";
    assert_eq!(
        read_patterns(text),
        [
            "# not a comment: a pattern",
            "*.log",
            "build",
            "abs/path",
            "!keep/me",
            "top",
            "/",
            "!"
        ]
    );
}

#[test]
fn docs_example_wildcards() {
    check(
        "# comment\n*/temp*\n*/*/temp*\ntemp?\n",
        &[
            ("somedir/temporary.txt", true),
            ("somedir/temp", true),
            ("somedir/temp/inside.txt", true),
            ("somedir/subdir/temporary.txt", true),
            ("tempa", true),
            ("tempb", true),
            ("temp", false),
            ("tempab", false),
            ("temporary.txt", false),
            ("a/b/c/temp.txt", false),
        ],
    );
}

#[test]
fn double_star() {
    check(
        "**/*.go\n",
        &[
            ("main.go", true),
            ("cmd/x/main.go", true),
            ("main.go.txt", false),
            ("go", false),
        ],
    );
    check(
        "**/node_modules\n",
        &[
            ("node_modules", true),
            ("a/node_modules/x.js", true),
            ("node_modulesx", false),
        ],
    );
    check(
        "build/**\n",
        &[
            ("build/a", true),
            ("build/a/b", true),
            ("build", false),
            ("buildx/a", false),
        ],
    );
    check(
        "a/**/z\n",
        &[
            ("a/z", true),
            ("a/b/z", true),
            ("a/b/c/z", true),
            ("b/a/z", false),
        ],
    );
    check("**\n", &[("anything", true), ("deep/er/path", true)]);
}

#[test]
fn classes_question_marks_and_escapes() {
    check(
        "file[0-9].txt\n",
        &[("file1.txt", true), ("filex.txt", false)],
    );
    check("[^a]*.txt\n", &[("b.txt", true), ("a.txt", false)]);
    check("?.c\n", &[("a.c", true), ("ab.c", false), ("d/a.c", false)]);
    check("\\*literal\n", &[("*literal", true), ("xliteral", false)]);
    check("a.b\n", &[("a.b", true), ("axb", false)]);
    check("*.txt\n", &[("a.txt", true), ("dir/a.txt", false)]);
}

#[test]
fn docs_example_exceptions() {
    check(
        "*.md\n!README.md\n",
        &[
            ("CHANGES.md", true),
            ("README.md", false),
            ("docs/x.md", false),
        ],
    );
    check(
        "*.md\n!README*.md\nREADME-secret.md\n",
        &[
            ("CHANGES.md", true),
            ("README.md", false),
            ("README-extra.md", false),
            ("README-secret.md", true),
        ],
    );
    check(
        "*.md\nREADME-secret.md\n!README*.md\n",
        &[
            ("CHANGES.md", true),
            ("README-secret.md", false),
            ("README.md", false),
        ],
    );
}

#[test]
fn a_directory_excludes_its_contents() {
    check(
        "node_modules\n.git/\n/dist\n./tmp\n",
        &[
            ("node_modules", true),
            ("node_modules/a/b.js", true),
            (".git/HEAD", true),
            ("dist/app.js", true),
            ("tmp/x", true),
            ("src/node_modules", false),
            ("node_modules_old", false),
            (".", false),
            ("", false),
        ],
    );
}

#[test]
fn exceptions_inside_excluded_directories() {
    let text = "dir\n!dir/keep.txt\nvendor/\n!**/LICENSE\nbuild\n";
    check(
        text,
        &[
            ("dir/keep.txt", false),
            ("dir/other", true),
            ("dir", true),
            ("vendor/x/LICENSE", false),
            ("vendor/x/y.go", true),
        ],
    );
    let matcher = m(text);
    assert!(
        matcher.must_walk("dir"),
        "dir must be walked to find dir/keep.txt"
    );
    assert!(
        matcher.must_walk("vendor/x"),
        "a ** exception could match anywhere"
    );
    assert!(matcher.must_walk("src"), "not excluded at all");
    assert!(matcher.has_exceptions());
    let matcher = m("dir\nother\n!dir/sub/*.txt\n");
    assert!(matcher.must_walk("dir/sub"));
    assert!(!matcher.must_walk("other"));
    assert!(
        !matcher.must_walk("dir/else"),
        "no exception can match below dir/else"
    );
    assert!(!m("dir\n").must_walk("dir"));
}

#[test]
fn build_files_are_always_sent() {
    let kept = keep_build_files(&read_patterns("*\n"), "Dockerfile").unwrap();
    assert_eq!(kept, ["*", "!.dockerignore", "!Dockerfile"]);
    let kept = keep_build_files(
        &read_patterns("docker/\n.dockerignore\n"),
        "./docker/app.Dockerfile",
    )
    .unwrap();
    let matcher = IgnoreMatcher::new(&kept).unwrap();
    assert!(!matcher.excludes("docker/app.Dockerfile"));
    assert!(!matcher.excludes(".dockerignore"));
    assert!(matcher.excludes("docker/other"));
    assert_eq!(
        keep_build_files(&read_patterns("*.log\n"), "Dockerfile").unwrap(),
        ["*.log"]
    );
}

#[test]
fn bad_patterns() {
    assert_eq!(
        IgnoreMatcher::parse("!\n").unwrap_err().reason,
        "illegal exclusion pattern: \"!\""
    );
    assert!(IgnoreMatcher::parse("[unclosed\n").is_err());
    assert!(IgnoreMatcher::parse("trailing\\\n").is_err());
}

#[test]
fn which_ignore_file() {
    let ctx = Path::new("/ctx");
    let present =
        |files: &'static [&'static str]| move |p: &Path| files.iter().any(|f| Path::new(f) == p);
    let df = Path::new("/ctx/build/app.Dockerfile");
    assert_eq!(
        ignore_file_candidates(ctx, df),
        [
            PathBuf::from("/ctx/build/app.Dockerfile.dockerignore"),
            PathBuf::from("/ctx/.dockerignore")
        ]
    );
    let both = present(&[
        "/ctx/build/app.Dockerfile.dockerignore",
        "/ctx/.dockerignore",
    ]);
    assert_eq!(
        pick_ignore_file(ctx, df, both),
        Some(PathBuf::from("/ctx/build/app.Dockerfile.dockerignore"))
    );
    let root_only = present(&["/ctx/.dockerignore"]);
    assert_eq!(
        pick_ignore_file(ctx, df, root_only),
        Some(PathBuf::from("/ctx/.dockerignore"))
    );
    assert_eq!(
        pick_ignore_file(ctx, Path::new("/ctx/Dockerfile"), present(&[])),
        None
    );
    let plain = present(&["/ctx/Dockerfile.dockerignore", "/ctx/.dockerignore"]);
    assert_eq!(
        pick_ignore_file(ctx, Path::new("/ctx/Dockerfile"), plain),
        Some(PathBuf::from("/ctx/Dockerfile.dockerignore"))
    );
}

#[test]
fn loading_from_disk() {
    let dir = std::env::temp_dir().join(format!("berth-ignore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".dockerignore"), "*.tmp\n").unwrap();
    let df = dir.join("Dockerfile");
    let (path, patterns) = load_ignore_file(&dir, &df).unwrap().unwrap();
    assert_eq!(
        (path, patterns),
        (dir.join(".dockerignore"), vec!["*.tmp".to_string()])
    );
    std::fs::write(dir.join("Dockerfile.dockerignore"), "!x\n").unwrap();
    assert_eq!(load_ignore_file(&dir, &df).unwrap().unwrap().1, ["!x"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(load_ignore_file(&dir, &df).unwrap(), None);
}
