//! Heredocs on RUN, COPY, ADD and ONBUILD triggers.

use super::*;

fn doc(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
    Heredoc {
        name: name.into(),
        content: content.into(),
        expand,
        chomp,
        fd: None,
    }
}

fn steps(src: &str) -> Vec<Step> {
    parse_ok(&format!("FROM scratch\n{src}"))
        .stages
        .remove(0)
        .steps
}

#[test]
fn run_heredoc_as_script() {
    let s = steps("RUN <<EOF\napt-get update\napt-get install -y vim\nEOF\nUSER x\n");
    assert_eq!((s[0].line, s[0].end_line, s[1].line), (2, 5, 6));
    let Instruction::Run(r) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(r.command, shell("<<EOF"));
    assert_eq!(
        r.heredocs,
        [doc(
            "EOF",
            "apt-get update\napt-get install -y vim\n",
            true,
            false
        )]
    );
    assert_eq!(r.heredoc_script(), Some(&r.heredocs[0]));
    assert_eq!(
        s[0].source, "RUN <<EOF",
        "the source is the instruction line alone"
    );
}

#[test]
fn run_heredoc_as_stdin() {
    let s = steps("RUN python3 <<PY > /out\nprint('hi')\nPY\n");
    let Instruction::Run(r) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(r.command, shell("python3 <<PY > /out"));
    assert_eq!(
        r.heredoc_script(),
        None,
        "the heredoc feeds python3, it is not the script"
    );
    assert_eq!(
        r.shell_script().as_deref(),
        Some("python3 <<PY > /out\nprint('hi')\nPY")
    );
}

#[test]
fn chomp_strips_leading_tabs() {
    let s = steps("RUN <<-EOT\n\techo one\n\t\techo two\n    echo spaces stay\n\tEOT\n");
    let Instruction::Run(r) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(
        r.heredocs,
        [doc(
            "EOT",
            "echo one\necho two\n    echo spaces stay\n",
            true,
            true
        )]
    );
    assert_eq!(r.heredoc_script(), Some(&r.heredocs[0]));
}

#[test]
fn quoted_delimiters_disable_expansion() {
    for (line, name) in [
        ("RUN <<\"EOF\"", "EOF"),
        ("RUN <<'END'", "END"),
        ("RUN <<E\"O\"F", "EOF"),
    ] {
        let s = steps(&format!("{line}\necho $HOME\n{name}\n"));
        let Instruction::Run(r) = &s[0].instruction else {
            panic!()
        };
        assert_eq!(
            r.heredocs,
            [doc(name, "echo $HOME\n", false, false)],
            "{line}"
        );
    }
    // Inside a quoted word, `<<` is not a heredoc.
    let s = steps("RUN echo \"<<EOF\"\nUSER x\n");
    let Instruction::Run(r) = &s[0].instruction else {
        panic!()
    };
    assert!(r.heredocs.is_empty());
    assert_eq!(s.len(), 2);
}

#[test]
fn several_heredocs_on_one_line() {
    let s = steps("RUN <<A 3<<B cat /dev/stdin /dev/fd/3\nfirst\nA\nsecond\nB\n");
    let Instruction::Run(r) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(
        r.heredocs,
        [
            doc("A", "first\n", true, false),
            Heredoc {
                fd: Some(3),
                ..doc("B", "second\n", true, false)
            }
        ]
    );
    assert_eq!(s[0].end_line, 6);
}

#[test]
fn copy_heredocs_become_files() {
    let s = steps("COPY <<conf.ini <<-'run.sh' plain.txt /etc/app/\n[core]\nx=$X\nconf.ini\n\t#!/bin/sh\n\trun.sh\n");
    let Instruction::Copy(c) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(
        c.sources,
        [
            Source::Heredoc(doc("conf.ini", "[core]\nx=$X\n", true, false)),
            Source::Heredoc(doc("run.sh", "#!/bin/sh\n", false, true)),
            Source::Path("plain.txt".into()),
        ]
    );
    assert_eq!(c.dest, "/etc/app/");
    let s = steps("ADD <<EOF /hello\nhi\nEOF\n");
    let Instruction::Add(a) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(
        a.sources,
        [Source::Heredoc(doc("EOF", "hi\n", true, false))]
    );
}

#[test]
fn heredoc_body_lines_are_not_instructions_or_comments() {
    let s = steps("RUN <<EOF\n# not a comment\nFROM not-a-stage\n\nEOF\n");
    let Instruction::Run(r) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(
        r.heredocs[0].content,
        "# not a comment\nFROM not-a-stage\n\n"
    );
}

#[test]
fn heredocs_only_where_allowed() {
    // On other instructions `<<` is text, and the next lines are instructions again.
    let s = steps("ENV X=<<EOF\nUSER a\n");
    assert_eq!(s.len(), 2);
    let s = steps("ONBUILD RUN <<EOF\necho later\nEOF\n");
    let Instruction::OnBuild(ob) = &s[0].instruction else {
        panic!()
    };
    assert_eq!(ob.expression, "RUN <<EOF\necho later\nEOF");
}

#[test]
fn heredoc_errors() {
    let e = parse("FROM scratch\nRUN <<EOF\necho never closed\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "unterminated heredoc"));
    let e = parse("FROM scratch\nRUN <<-EOF\n  EOF\n").unwrap_err();
    assert_eq!(
        e.message, "unterminated heredoc",
        "only tabs may indent the terminator"
    );
    assert_eq!(
        one_err("COPY a <<EOF\nx\nEOF"),
        "COPY cannot accept a heredoc as a destination"
    );
}
