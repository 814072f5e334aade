//! Files docker refuses, with where and why.

use super::*;

fn err(src: &str) -> DockerfileError {
    parse(src).expect_err(src)
}

#[test]
fn empty_and_comment_only_files() {
    for src in [
        "",
        "\n\n",
        "# just a comment\n",
        "# syntax=docker/dockerfile:1\n\n# more\n   \n",
    ] {
        let e = err(src);
        assert_eq!(
            (e.line, e.message.as_str()),
            (0, "file with no instructions"),
            "{src:?}"
        );
        assert_eq!(e.to_string(), "Dockerfile: file with no instructions");
    }
    assert_eq!(
        err("ARG A=1\n").message,
        "dockerfile contains no stages to build"
    );
}

#[test]
fn unknown_instruction_with_line_and_text() {
    let e = err("FROM alpine\nRUN true\n\nFORM ubuntu\n");
    assert_eq!(e.line, 4);
    assert_eq!(e.text, "FORM ubuntu");
    assert_eq!(e.message, "unknown instruction: FORM (did you mean FROM?)");
    assert_eq!(
        e.to_string(),
        "Dockerfile:4: unknown instruction: FORM (did you mean FROM?)\n    4 | FORM ubuntu"
    );
    assert_eq!(
        e.in_file("app.Dockerfile").to_string().lines().next(),
        Some("app.Dockerfile:4: unknown instruction: FORM (did you mean FROM?)")
    );
    assert_eq!(
        err("FROM a\nfrobnicate x\n").message,
        "unknown instruction: frobnicate"
    );
}

#[test]
fn errors_point_at_the_first_line_of_a_continued_instruction() {
    let e = err("FROM a\nENV \\\n  ONLYNAME\n");
    assert_eq!(
        (e.line, e.text.as_str(), e.message.as_str()),
        (2, "ENV   ONLYNAME", "ENV must have two arguments")
    );
}

#[test]
fn instructions_before_from() {
    let e = err("ARG X\nRUN echo\nFROM alpine\n");
    assert_eq!(e.line, 2);
    assert_eq!(
        e.message,
        "no build stage in current context (only ARG may come before the first FROM)"
    );
    assert_eq!(err("ENV A=1\nFROM a\n").line, 1);
}

#[test]
fn from_errors() {
    assert_eq!(
        err("FROM\n").message,
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM a b\n").message,
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM a TO b\n").message,
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM a AS 1st\n").message,
        "invalid name for build stage: \"1st\", name can't start with a number or contain symbols"
    );
    assert_eq!(
        err("FROM --plaform=x a\n").message,
        "unknown flag: plaform (did you mean --platform?)"
    );
}

#[test]
fn json_mistakes() {
    // Valid JSON that is not an array of strings is an error, not the shell form.
    assert_eq!(
        one_err("CMD [\"echo\", 1]"),
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
    assert_eq!(
        one_err("RUN [[\"nested\"]]"),
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
    assert_eq!(
        one_err("ENTRYPOINT [\"a\", {\"b\": 1}]"),
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
    // A JSON mistake (single quotes, trailing comma) is just shell form, as in docker.
    assert_eq!(
        one("CMD ['sh', '-c']"),
        Instruction::Cmd(shell("['sh', '-c']"))
    );
    assert_eq!(one("CMD [\"sh\",]"), Instruction::Cmd(shell("[\"sh\",]")));
    assert_eq!(
        one_err("SHELL ['bash', '-c']"),
        "SHELL requires the arguments to be in JSON form"
    );
}

#[test]
fn bad_directives() {
    let e = err("# escape=x\nFROM a\n");
    assert_eq!(
        (e.line, e.message.as_str()),
        (1, "invalid ESCAPE 'x'. Must be ` or \\")
    );
    let e = err("# escape=\\\n# escape=`\nFROM a\n");
    assert_eq!(
        (e.line, e.message.as_str()),
        (2, "only one escape parser directive can be used")
    );
    assert_eq!(
        err("#syntax=a\n#syntax=b\nFROM a\n").message,
        "only one syntax parser directive can be used"
    );
}
