//! ARG scoping: global scope, re-declaration in a stage, build-arg overrides, ENV over ARG,
//! predefined proxy args, platform args.

use super::*;
use crate::dockerfile::{parse, Instruction};
use crate::lex::Lexer;

fn vars(pairs: &[(&str, &str)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn decl(name: &str, default: Option<&str>) -> ArgDecl {
    ArgDecl {
        name: name.into(),
        default: default.map(String::from),
    }
}

fn amd64() -> Platform {
    Platform::parse("linux/amd64").unwrap()
}

#[test]
fn platforms() {
    let arm = Platform::parse("Linux/ARM64/v8").unwrap();
    assert_eq!(
        arm,
        Platform {
            os: "linux".into(),
            arch: "arm64".into(),
            variant: Some("v8".into())
        }
    );
    assert_eq!(arm.to_string(), "linux/arm64/v8");
    assert!(Platform::parse("linux").is_err());
    assert!(Platform::parse("linux//v7").is_err());
    assert!(Platform::parse("a/b/c/d").is_err());
    assert_eq!(
        platform_args(&amd64(), &arm),
        vars(&[
            ("BUILDARCH", "amd64"),
            ("BUILDOS", "linux"),
            ("BUILDPLATFORM", "linux/amd64"),
            ("BUILDVARIANT", ""),
            ("TARGETARCH", "arm64"),
            ("TARGETOS", "linux"),
            ("TARGETPLATFORM", "linux/arm64/v8"),
            ("TARGETVARIANT", "v8"),
        ])
    );
    assert_eq!(PLATFORM_ARGS.len(), 8);
}

#[test]
fn predefined_args() {
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "FTP_PROXY",
        "ftp_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        assert!(is_predefined(name), "{name}");
    }
    assert!(!is_predefined("Http_Proxy"));
    assert!(!is_predefined("TARGETARCH"));
}

#[test]
fn global_scope_for_from_lines() {
    let df = parse("ARG REG=docker.io\nARG IMAGE=${REG}/library/alpine VERSION\nFROM ${IMAGE}:${VERSION:-latest}\n").unwrap();
    let platform = platform_args(&amd64(), &amd64());
    let scope = global_scope(&df.global_arg_decls(), &Vars::new(), &platform, '\\').unwrap();
    assert_eq!(
        scope.get("IMAGE").map(String::as_str),
        Some("docker.io/library/alpine")
    );
    assert!(
        !scope.contains_key("VERSION"),
        "declared without a value: unset"
    );
    assert_eq!(scope.get("TARGETARCH").map(String::as_str), Some("amd64"));
    let from = Lexer::new('\\')
        .process_word(&df.stages[0].from.image, &scope)
        .unwrap();
    assert_eq!(from, "docker.io/library/alpine:latest");
    // A build arg overrides a default, and later defaults see it.
    let scope = global_scope(
        &df.global_arg_decls(),
        &vars(&[("REG", "mirror:5000"), ("VERSION", "3.20")]),
        &platform,
        '\\',
    )
    .unwrap();
    assert_eq!(
        scope.get("IMAGE").map(String::as_str),
        Some("mirror:5000/library/alpine")
    );
    assert_eq!(scope.get("VERSION").map(String::as_str), Some("3.20"));
}

#[test]
fn build_args_only_reach_declared_args() {
    let scope = global_scope(
        &[decl("A", None)],
        &vars(&[("A", "1"), ("B", "2")]),
        &Vars::new(),
        '\\',
    )
    .unwrap();
    assert_eq!(scope, vars(&[("A", "1")]));
}

#[test]
fn stage_sees_a_global_arg_only_after_declaring_it() {
    let global = vars(&[("VERSION", "1.0"), ("TARGETOS", "linux")]);
    let build_args = Vars::new();
    let mut st = StageScope::new(
        &global,
        &build_args,
        vec![("PATH".to_string(), "/bin".to_string())],
    );
    assert_eq!(
        st.expansion_env(),
        vars(&[("PATH", "/bin")]),
        "global ARGs are not visible in a stage"
    );
    st.declare(&decl("VERSION", None), '\\').unwrap();
    st.declare(&decl("TARGETOS", None), '\\').unwrap();
    assert_eq!(
        st.args(),
        &vars(&[("TARGETOS", "linux"), ("VERSION", "1.0")])
    );
    // A default in the stage wins over the global value; a build arg wins over both.
    let build_args = vars(&[("B", "from-cli")]);
    let mut st = StageScope::new(&global, &build_args, Vec::new());
    st.declare(&decl("VERSION", Some("2.0")), '\\').unwrap();
    st.declare(&decl("B", Some("default")), '\\').unwrap();
    st.declare(&decl("C", Some("${VERSION}-${B}")), '\\')
        .unwrap();
    st.declare(&decl("UNSET", None), '\\').unwrap();
    assert_eq!(
        st.args(),
        &vars(&[("B", "from-cli"), ("C", "2.0-from-cli"), ("VERSION", "2.0")])
    );
}

#[test]
fn env_overrides_arg() {
    let (global, build_args) = (Vars::new(), vars(&[("V", "cli")]));
    let mut st = StageScope::new(&global, &build_args, Vec::new());
    st.declare(&decl("V", None), '\\').unwrap();
    st.set_env("V", "v1.0.0");
    assert_eq!(st.expansion_env(), vars(&[("V", "v1.0.0")]));
    assert_eq!(st.env(), &vars(&[("V", "v1.0.0")]));
    assert_eq!(
        st.args(),
        &vars(&[("V", "cli")]),
        "the ARG is still there, only hidden"
    );
}

#[test]
fn proxy_args_reach_run_without_declaration() {
    let global = Vars::new();
    let build_args = vars(&[
        ("HTTP_PROXY", "http://proxy:3128"),
        ("OTHER", "x"),
        ("no_proxy", "localhost"),
    ]);
    let mut st = StageScope::new(&global, &build_args, Vec::new());
    st.set_env("no_proxy", "example.com");
    assert_eq!(
        st.expansion_env(),
        vars(&[("no_proxy", "example.com")]),
        "not for expansion"
    );
    assert_eq!(
        st.run_env(),
        vars(&[
            ("HTTP_PROXY", "http://proxy:3128"),
            ("no_proxy", "example.com")
        ])
    );
}

#[test]
fn walking_a_stage() {
    // The way an executor uses the scope: ARG declares, ENV sets (after expanding).
    let df = parse(
        "ARG BASE=alpine\nFROM $BASE\nARG BASE\nARG DIR=/srv\nENV HOME=$DIR/home APP=$BASE\n",
    )
    .unwrap();
    let global = global_scope(&df.global_arg_decls(), &Vars::new(), &Vars::new(), '\\').unwrap();
    let build_args = Vars::new();
    let mut st = StageScope::new(&global, &build_args, Vec::new());
    for step in &df.stages[0].steps {
        match &step.instruction {
            // `declare` expands defaults itself, in the stage's scope.
            Instruction::Arg(decls) => decls.iter().for_each(|d| st.declare(d, df.escape).unwrap()),
            env @ Instruction::Env(_) => {
                let Instruction::Env(kvs) =
                    crate::expand::expand_instruction(env, &st.expansion_env(), df.escape).unwrap()
                else {
                    unreachable!()
                };
                kvs.iter().for_each(|kv| st.set_env(&kv.key, &kv.value));
            }
            _ => {}
        }
    }
    assert_eq!(st.env(), &vars(&[("APP", "alpine"), ("HOME", "/srv/home")]));
}
