//! The parser corpus: whole-file structure here (directives, comments, continuations, line
//! numbers, stages); each instruction family and the error cases in the sibling files.

mod commands;
mod config;
mod errors;
mod files;
mod heredocs;

use super::*;
use crate::instruction::Command;

/// Parses `src`, panicking with the error's text when it fails.
pub(super) fn parse_ok(src: &str) -> Dockerfile {
    parse(src).unwrap_or_else(|e| panic!("{e}"))
}

/// The single instruction `line` after a `FROM scratch`.
pub(super) fn one(line: &str) -> Instruction {
    let df = parse_ok(&format!("FROM scratch\n{line}\n"));
    assert_eq!(df.stages[0].steps.len(), 1, "{line:?} gave several steps");
    df.stages[0].steps[0].instruction.clone()
}

/// The error message (without location) for `line` after a `FROM scratch`.
pub(super) fn one_err(line: &str) -> String {
    parse(&format!("FROM scratch\n{line}\n"))
        .expect_err(line)
        .message
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub(super) fn shell(s: &str) -> Command {
    Command::Shell(s.into())
}

pub(super) fn exec(v: &[&str]) -> Command {
    Command::Exec(strings(v))
}

/// Each step's (first line, last line, keyword).
fn layout(df: &Dockerfile) -> Vec<(usize, usize, &'static str)> {
    let mut out = Vec::new();
    for a in &df.global_args {
        out.push((a.line, a.end_line, a.instruction.keyword()));
    }
    for s in &df.stages {
        out.push((s.line, s.line, "FROM"));
        for st in &s.steps {
            out.push((st.line, st.end_line, st.instruction.keyword()));
        }
    }
    out
}

#[test]
fn directives_at_the_top() {
    let df =
        parse_ok("# syntax=docker/dockerfile:1.7\n#  ESCAPE = `\n# check=skip=all\nFROM scratch\n");
    let d = &df.directives;
    assert_eq!(
        d.syntax.as_ref().map(|d| (d.value.as_str(), d.line)),
        Some(("docker/dockerfile:1.7", 1))
    );
    assert_eq!(d.escape.as_ref().map(|d| d.value.as_str()), Some("`"));
    assert_eq!(
        d.check.as_ref().map(|d| (d.value.as_str(), d.line)),
        Some(("skip=all", 3))
    );
    assert_eq!(df.escape, '`');
}

#[test]
fn directives_stop_at_the_first_other_line() {
    // After a blank line, a plain comment or an unknown directive, `# escape=` is a comment.
    for src in [
        "\n# escape=`\nFROM scratch\n",
        "# hello\n# escape=`\nFROM scratch\n",
        "# unknown=1\n# escape=`\nFROM scratch\n",
        "FROM scratch\n# escape=`\n",
    ] {
        let df = parse_ok(src);
        assert_eq!(df.escape, '\\', "{src:?}");
        assert_eq!(df.directives, Directives::default(), "{src:?}");
    }
    // A BOM before the first directive is fine; leading blanks before `#` too.
    let df = parse_ok("\u{feff}  #escape=`\nFROM scratch\n");
    assert_eq!(df.escape, '`');
}

#[test]
fn escape_directive_changes_continuations() {
    let df = parse_ok("# escape=`\nFROM scratch\nRUN dir c:\\ `\n  /w\n");
    assert_eq!(
        df.stages[0].steps[0].instruction,
        Instruction::Run(Run {
            command: shell("dir c:\\   /w"),
            heredocs: vec![],
            mounts: vec![],
            network: None,
            security: None,
        })
    );
    // With the default escape, the same trailing backslash continues the line.
    let df = parse_ok("FROM scratch\nRUN echo a \\\n b\n");
    assert_eq!(df.stages[0].steps[0].source, "RUN echo a  b");
}

#[test]
fn comments_blank_lines_and_indentation() {
    let df = parse_ok(
        "# leading comment\n\n   FROM alpine AS base\n\t# indented comment\n  RUN echo # not a comment\n\n",
    );
    assert_eq!(layout(&df), [(3, 3, "FROM"), (5, 5, "RUN")]);
    assert_eq!(df.stages[0].steps[0].source, "RUN echo # not a comment");
    assert_eq!(df.stages[0].from.image, "alpine");
}

#[test]
fn continuations_skip_comments_and_empty_lines() {
    let src = "FROM scratch\nRUN apt-get update && \\\n# a comment inside\n\n    apt-get install -y \\\n      curl\nUSER nobody\n";
    let df = parse_ok(src);
    assert_eq!(layout(&df), [(1, 1, "FROM"), (2, 6, "RUN"), (7, 7, "USER")]);
    assert_eq!(
        df.stages[0].steps[0].instruction,
        Instruction::Run(Run {
            command: shell("apt-get update &&     apt-get install -y       curl"),
            heredocs: vec![],
            mounts: vec![],
            network: None,
            security: None,
        })
    );
}

#[test]
fn continuation_details() {
    // Blanks after the escape still continue; CRLF line ends are fine; a continuation at
    // the end of the file just ends.
    let df = parse_ok("FROM scratch\r\nENV A=1 \\  \r\n    B=2\r\nUSER x \\");
    let steps = &df.stages[0].steps;
    assert_eq!(steps[0].source, "ENV A=1     B=2");
    assert_eq!(steps[1].instruction, Instruction::User("x".into()));
}

#[test]
fn stages_and_global_args() {
    let df = parse_ok(
        "ARG BASE=alpine\nARG TAG\nFROM ${BASE}:${TAG} AS Build\nRUN make\nFROM --platform=$BUILDPLATFORM scratch\nCOPY --from=build /out /\n",
    );
    assert_eq!(
        layout(&df),
        [
            (1, 1, "ARG"),
            (2, 2, "ARG"),
            (3, 3, "FROM"),
            (4, 4, "RUN"),
            (5, 5, "FROM"),
            (6, 6, "COPY")
        ]
    );
    let s0 = &df.stages[0];
    assert_eq!(
        (s0.index, s0.name()),
        (0, Some("build")),
        "stage names are lower-cased"
    );
    assert_eq!(s0.from.image, "${BASE}:${TAG}");
    let s1 = &df.stages[1];
    assert_eq!(
        s1.from,
        From {
            image: "scratch".into(),
            name: None,
            platform: Some("$BUILDPLATFORM".into())
        }
    );
    assert_eq!(s1.source, "FROM --platform=$BUILDPLATFORM scratch");
    assert_eq!(
        df.global_args[0].instruction,
        Instruction::Arg(vec![ArgDecl {
            name: "BASE".into(),
            default: Some("alpine".into())
        }])
    );
}

#[test]
fn keywords_are_case_insensitive() {
    let df = parse_ok("from alpine as x\nrun echo\nWorkDir /a\n");
    assert_eq!(df.stages[0].name(), Some("x"));
    assert_eq!(
        layout(&df),
        [(1, 1, "FROM"), (2, 2, "RUN"), (3, 3, "WORKDIR")]
    );
}

#[test]
fn a_realistic_multi_stage_file() {
    let src = r#"# syntax=docker/dockerfile:1.7
# check=error=true
ARG GO_VERSION=1.22
ARG ALPINE=3.20

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# dependencies first, for the cache
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM alpine:${ALPINE}
RUN <<EOF
apk add --no-cache ca-certificates
adduser -D app
EOF
COPY --from=build --chown=app:app /out/app /usr/local/bin/app
USER app
EXPOSE 8080
HEALTHCHECK --interval=10s CMD ["app", "health"]
ENTRYPOINT ["app"]
CMD ["serve"]
"#;
    let df = parse_ok(src);
    assert_eq!(
        df.directives.check.as_ref().map(|d| d.value.as_str()),
        Some("error=true")
    );
    assert_eq!(
        layout(&df),
        [
            (3, 3, "ARG"),
            (4, 4, "ARG"),
            (6, 6, "FROM"),
            (7, 7, "WORKDIR"),
            (9, 9, "COPY"),
            (10, 11, "RUN"),
            (12, 12, "COPY"),
            (13, 13, "ARG"),
            (14, 15, "RUN"),
            (17, 17, "FROM"),
            (18, 21, "RUN"),
            (22, 22, "COPY"),
            (23, 23, "USER"),
            (24, 24, "EXPOSE"),
            (25, 25, "HEALTHCHECK"),
            (26, 26, "ENTRYPOINT"),
            (27, 27, "CMD"),
        ]
    );
    let names: Vec<Option<&str>> = df.stages.iter().map(Stage::name).collect();
    assert_eq!(names, [Some("build"), None]);
    let Instruction::Run(r) = &df.stages[0].steps[5].instruction else {
        panic!()
    };
    assert_eq!(
        r.command,
        shell("CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app")
    );
    assert_eq!(r.mounts[0].target.as_deref(), Some("/root/.cache/go-build"));
    let Instruction::Run(r) = &df.stages[1].steps[0].instruction else {
        panic!()
    };
    assert_eq!(
        r.heredoc_script().map(|h| h.content.as_str()),
        Some("apk add --no-cache ca-certificates\nadduser -D app\n")
    );
    assert_eq!(
        df.stages[1].steps[6].instruction,
        Instruction::Cmd(exec(&["serve"]))
    );
}
