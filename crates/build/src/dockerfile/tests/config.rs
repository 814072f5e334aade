//! FROM, ARG, ENV, LABEL, EXPOSE, WORKDIR, USER, VOLUME, STOPSIGNAL, ONBUILD, MAINTAINER.

use super::*;

fn kv(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect()
}

fn from_of(line: &str) -> From {
    parse_ok(&format!("{line}\n")).stages.remove(0).from
}

#[test]
fn from_forms() {
    assert_eq!(
        from_of("FROM ubuntu:24.04"),
        From {
            image: "ubuntu:24.04".into(),
            name: None,
            platform: None
        }
    );
    assert_eq!(
        from_of("FROM --platform=linux/arm64 golang:1.22 AS Go-Build_1.x"),
        From {
            image: "golang:1.22".into(),
            name: Some("go-build_1.x".into()),
            platform: Some("linux/arm64".into())
        }
    );
    assert_eq!(from_of("FROM img as lower").name.as_deref(), Some("lower"));
    assert_eq!(
        from_of("FROM reg.example:5000/a/b@sha256:abc").image,
        "reg.example:5000/a/b@sha256:abc"
    );
}

#[test]
fn env_both_forms() {
    assert_eq!(
        one("ENV PATH /usr/local/bin:$PATH"),
        Instruction::Env(kv(&[("PATH", "/usr/local/bin:$PATH")]))
    );
    assert_eq!(
        one("ENV MSG  hello   big world"),
        Instruction::Env(kv(&[("MSG", "hello   big world")]))
    );
    // Values are kept as written; quotes go when the builder expands them.
    assert_eq!(
        one(r#"ENV A=1 B="two words" C='x y' D=a\ b E="#),
        Instruction::Env(kv(&[
            ("A", "1"),
            ("B", "\"two words\""),
            ("C", "'x y'"),
            ("D", "a\\ b"),
            ("E", "")
        ]))
    );
    assert_eq!(
        one("ENV A=1 \\\n    B=2"),
        Instruction::Env(kv(&[("A", "1"), ("B", "2")]))
    );
    assert_eq!(
        one(r#"ENV X="a=b""#),
        Instruction::Env(kv(&[("X", "\"a=b\"")]))
    );
}

#[test]
fn env_errors() {
    assert_eq!(one_err("ENV"), "ENV requires at least one argument");
    assert_eq!(one_err("ENV ONLYNAME"), "ENV must have two arguments");
    assert_eq!(one_err("ENV =value"), "ENV names can not be blank");
    assert_eq!(
        one_err("ENV A=1 B"),
        r#"Syntax error - can't find = in "B". Must be of the form: name=value"#
    );
}

#[test]
fn arg_forms() {
    let arg = |name: &str, default: Option<&str>| ArgDecl {
        name: name.into(),
        default: default.map(String::from),
    };
    assert_eq!(
        one("ARG VERSION"),
        Instruction::Arg(vec![arg("VERSION", None)])
    );
    assert_eq!(
        one("ARG VERSION=1.2"),
        Instruction::Arg(vec![arg("VERSION", Some("1.2"))])
    );
    assert_eq!(
        one(r#"ARG A B=2 C="x y" D="#),
        Instruction::Arg(vec![
            arg("A", None),
            arg("B", Some("2")),
            arg("C", Some("\"x y\"")),
            arg("D", Some(""))
        ])
    );
    assert_eq!(one_err("ARG"), "ARG requires at least one argument");
    assert_eq!(one_err("ARG =x"), "ARG names can not be blank");
}

#[test]
fn labels() {
    assert_eq!(
        one(r#"LABEL org.opencontainers.image.title="My App" version=1.0 "quoted key"=v"#),
        Instruction::Label(kv(&[
            ("org.opencontainers.image.title", "\"My App\""),
            ("version", "1.0"),
            ("\"quoted key\"", "v")
        ]))
    );
    assert_eq!(
        one("LABEL legacy value with spaces"),
        Instruction::Label(kv(&[("legacy", "value with spaces")]))
    );
    assert_eq!(one_err("LABEL"), "LABEL requires at least one argument");
}

#[test]
fn expose_words() {
    assert_eq!(
        one("EXPOSE 80 80/tcp 53/udp 8000-8010 $PORT"),
        Instruction::Expose(strings(&["80", "80/tcp", "53/udp", "8000-8010", "$PORT"]))
    );
    assert_eq!(one_err("EXPOSE"), "EXPOSE requires at least one argument");
}

#[test]
fn single_string_instructions() {
    assert_eq!(
        one("WORKDIR /app/$NAME"),
        Instruction::Workdir("/app/$NAME".into())
    );
    assert_eq!(
        one("WORKDIR \"/path with space\""),
        Instruction::Workdir("\"/path with space\"".into())
    );
    assert_eq!(one("USER app:app"), Instruction::User("app:app".into()));
    assert_eq!(
        one("STOPSIGNAL SIGTERM"),
        Instruction::StopSignal("SIGTERM".into())
    );
    assert_eq!(
        one("MAINTAINER Jane <jane@example.com>"),
        Instruction::Maintainer("Jane <jane@example.com>".into())
    );
    for k in ["WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"] {
        assert_eq!(one_err(k), format!("{k} requires exactly one argument"));
    }
}

#[test]
fn volumes() {
    assert_eq!(
        one(r#"VOLUME ["/data", "/var/log"]"#),
        Instruction::Volume(strings(&["/data", "/var/log"]))
    );
    assert_eq!(
        one("VOLUME /data /cache"),
        Instruction::Volume(strings(&["/data", "/cache"]))
    );
    assert_eq!(
        one("VOLUME [/not-json]"),
        Instruction::Volume(strings(&["[/not-json]"]))
    );
    assert_eq!(
        one_err(r#"VOLUME [""]"#),
        "VOLUME specified can not be an empty string"
    );
    assert_eq!(one_err("VOLUME"), "VOLUME requires at least one argument");
}

#[test]
fn onbuild_wraps_an_instruction() {
    assert_eq!(
        one("ONBUILD RUN echo $HOME"),
        Instruction::OnBuild(OnBuild {
            expression: "RUN echo $HOME".into(),
            trigger: Box::new(Instruction::Run(Run {
                command: shell("echo $HOME"),
                heredocs: vec![],
                mounts: vec![],
                network: None,
                security: None
            })),
        })
    );
    let Instruction::OnBuild(ob) = one("onbuild   COPY --chown=app . /src") else {
        panic!()
    };
    assert_eq!(ob.expression, "COPY --chown=app . /src");
    assert!(matches!(*ob.trigger, Instruction::Copy(ref c) if c.chown.as_deref() == Some("app")));
}

#[test]
fn onbuild_refusals() {
    assert_eq!(
        one_err("ONBUILD ONBUILD RUN x"),
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        one_err("ONBUILD FROM alpine"),
        "FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        one_err("ONBUILD maintainer me"),
        "MAINTAINER isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(one_err("ONBUILD"), "ONBUILD requires at least one argument");
    assert_eq!(
        one_err("ONBUILD RUNN x"),
        "unknown instruction: RUNN (did you mean RUN?)"
    );
    assert_eq!(one_err("ONBUILD ENV"), "ENV requires at least one argument");
}
