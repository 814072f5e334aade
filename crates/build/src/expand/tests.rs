//! Expansion per instruction: which expand, quote removal, EXPOSE splitting and ports.

use std::collections::BTreeMap;

use super::*;
use crate::dockerfile::parse;
use crate::instruction::Command;

fn env() -> BTreeMap<String, String> {
    [
        ("NAME", "app"),
        ("PORTS", "80 443/udp"),
        ("UID", "1000"),
        ("EMPTY", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The single instruction `line` after a FROM, expanded.
fn expanded(line: &str) -> Instruction {
    let df = parse(&format!("FROM scratch\n{line}\n")).unwrap();
    expand_instruction(&df.stages[0].steps[0].instruction, &env(), df.escape).unwrap()
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: v.into(),
    }
}

#[test]
fn which_instructions_expand() {
    for k in [
        "ADD",
        "copy",
        "ENV",
        "EXPOSE",
        "FROM",
        "LABEL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
        "ARG",
    ] {
        assert!(expands(k), "{k}");
    }
    for k in [
        "RUN",
        "CMD",
        "ENTRYPOINT",
        "SHELL",
        "HEALTHCHECK",
        "ONBUILD",
        "MAINTAINER",
    ] {
        assert!(!expands(k), "{k}");
    }
}

#[test]
fn word_lists() {
    let w = |k: &str, words: &[&str]| {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        expand_words(k, &words, &env(), '\\').unwrap()
    };
    assert_eq!(w("WORKDIR", &["/srv/$NAME"]), ["/srv/app"]);
    assert_eq!(
        w("COPY", &["\"a b\"", "'$NAME'", "${NAME}.conf"]),
        ["a b", "$NAME", "app.conf"]
    );
    assert_eq!(w("EXPOSE", &["$PORTS", "8080"]), ["80", "443/udp", "8080"]);
    assert_eq!(
        w("RUN", &["echo $NAME"]),
        ["echo $NAME"],
        "RUN words stay as written"
    );
    assert_eq!(w("cmd", &["\"$NAME\""]), ["\"$NAME\""]);
}

#[test]
fn env_and_label_values_lose_their_quotes() {
    assert_eq!(
        expanded(r#"ENV A="two words" B='$NAME' C=$NAME D=a\ b"#),
        Instruction::Env(vec![
            kv("A", "two words"),
            kv("B", "$NAME"),
            kv("C", "app"),
            kv("D", "a b")
        ])
    );
    assert_eq!(
        expanded("ENV PATH /opt/$NAME/bin"),
        Instruction::Env(vec![kv("PATH", "/opt/app/bin")])
    );
    assert_eq!(
        expanded(r#"LABEL "my key"="$NAME v1""#),
        Instruction::Label(vec![kv("my key", "app v1")])
    );
}

#[test]
fn other_instructions() {
    assert_eq!(
        expanded("WORKDIR \"/srv/${NAME:-x}\""),
        Instruction::Workdir("/srv/app".into())
    );
    assert_eq!(
        expanded("USER ${UID}:${GID:-0}"),
        Instruction::User("1000:0".into())
    );
    assert_eq!(
        expanded("STOPSIGNAL ${SIG:-SIGQUIT}"),
        Instruction::StopSignal("SIGQUIT".into())
    );
    assert_eq!(
        expanded("VOLUME /data/$NAME"),
        Instruction::Volume(vec!["/data/app".into()])
    );
    assert_eq!(
        expanded("EXPOSE $PORTS 8000-8001"),
        Instruction::Expose(vec![
            "80/tcp".into(),
            "443/udp".into(),
            "8000/tcp".into(),
            "8001/tcp".into()
        ])
    );
    let Instruction::Copy(c) =
        expanded("COPY --chown=$UID --from=${NAME}-build --exclude=*.$NAME $NAME/ /srv/$NAME/")
    else {
        panic!()
    };
    assert_eq!(
        (c.chown.as_deref(), c.from.as_deref()),
        (Some("1000"), Some("app-build"))
    );
    assert_eq!(
        (c.sources, c.dest, c.excludes),
        (
            vec![Source::Path("app/".into())],
            "/srv/app/".to_string(),
            vec!["*.app".to_string()]
        )
    );
    let Instruction::Arg(a) = expanded("ARG X=${NAME}-1 Y") else {
        panic!()
    };
    assert_eq!(
        (a[0].default.as_deref(), a[1].default.as_deref()),
        (Some("app-1"), None)
    );
}

#[test]
fn commands_are_left_to_the_shell() {
    assert_eq!(
        expanded("RUN echo $NAME"),
        parse("FROM a\nRUN echo $NAME").unwrap().stages[0].steps[0].instruction
    );
    assert_eq!(
        expanded("CMD [\"$NAME\"]"),
        Instruction::Cmd(Command::Exec(vec!["$NAME".into()]))
    );
    let Instruction::OnBuild(ob) = expanded("ONBUILD WORKDIR $NAME") else {
        panic!()
    };
    assert_eq!(
        *ob.trigger,
        Instruction::Workdir("$NAME".into()),
        "triggers expand when they run"
    );
}

#[test]
fn heredoc_bodies_expand_only_unquoted() {
    let Instruction::Copy(c) = expanded("COPY <<A <<'B' /etc/\nname=\"$NAME\"\nA\nname=$NAME\nB")
    else {
        panic!()
    };
    let bodies: Vec<&str> = c
        .sources
        .iter()
        .map(|s| match s {
            Source::Heredoc(h) => h.content.as_str(),
            Source::Path(p) => p.as_str(),
        })
        .collect();
    assert_eq!(bodies, ["name=\"app\"\n", "name=$NAME\n"]);
}

#[test]
fn escape_directive_applies() {
    let df = parse("# escape=`\nFROM a\nWORKDIR c:\\$NAME`$x\n").unwrap();
    let got = expand_instruction(&df.stages[0].steps[0].instruction, &env(), df.escape).unwrap();
    assert_eq!(got, Instruction::Workdir("c:\\app$x".into()));
}

#[test]
fn expansion_errors() {
    let df = parse("FROM a\nWORKDIR ${MISSING:?set MISSING}\nEXPOSE $NAME\n").unwrap();
    let steps = &df.stages[0].steps;
    let e = expand_instruction(&steps[0].instruction, &env(), '\\').unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"failed to process "${MISSING:?set MISSING}": MISSING: set MISSING"#
    );
    let e = expand_instruction(&steps[1].instruction, &env(), '\\').unwrap_err();
    assert_eq!(e, ExpandError::Invalid("invalid port: \"app\"".into()));
    let from = Instruction::From(From {
        image: "${EMPTY}".into(),
        name: None,
        platform: None,
    });
    assert_eq!(
        expand_instruction(&from, &env(), '\\')
            .unwrap_err()
            .to_string(),
        "base name (${EMPTY}) should not be blank"
    );
}
