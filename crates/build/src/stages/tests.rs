//! Stage graphs and `--target` selection.

use std::collections::BTreeMap;

use super::*;
use crate::dockerfile::parse;

fn graph(src: &str) -> StageGraph {
    graph_with(src, &[])
}

fn graph_with(src: &str, global: &[(&str, &str)]) -> StageGraph {
    let df = parse(src).unwrap();
    let env: BTreeMap<String, String> = global
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    StageGraph::new(&df, &env).unwrap()
}

fn graph_err(src: &str) -> String {
    let df = parse(src).unwrap();
    StageGraph::new(&df, &BTreeMap::<String, String>::new())
        .unwrap_err()
        .to_string()
}

const MULTI: &str = "\
FROM golang:1.22 AS deps
RUN go mod download

FROM deps AS build
RUN --mount=type=cache,target=/root/.cache,from=cachesrc go build -o /app

FROM alpine AS cachesrc
RUN mkdir /c

FROM build AS test
RUN go test ./...

FROM scratch AS final
COPY --from=build /app /app
COPY --from=busybox:musl /bin/busybox /bin/
";

#[test]
fn bases_and_dependencies() {
    let g = graph(MULTI);
    let summary: Vec<(usize, Option<&str>, &Base, &[usize])> = g
        .nodes
        .iter()
        .map(|n| (n.index, n.name.as_deref(), &n.base, n.deps.as_slice()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, Some("deps"), &Base::Image("golang:1.22".into()), &[][..]),
            (1, Some("build"), &Base::Stage(0), &[0, 2][..]),
            (2, Some("cachesrc"), &Base::Image("alpine".into()), &[][..]),
            (3, Some("test"), &Base::Stage(1), &[1][..]),
            (4, Some("final"), &Base::Scratch, &[1][..]),
        ]
    );
    assert_eq!(g.nodes[4].images, ["busybox:musl"]);
}

#[test]
fn target_selection_builds_only_what_is_needed() {
    let g = graph(MULTI);
    assert_eq!(
        g.build_order(None).unwrap(),
        [0, 2, 1, 4],
        "the last stage by default; test is skipped"
    );
    assert_eq!(g.build_order(Some("test")).unwrap(), [0, 2, 1, 3]);
    assert_eq!(
        g.build_order(Some("DEPS")).unwrap(),
        [0],
        "targets are case-insensitive"
    );
    assert_eq!(g.build_order(Some("cachesrc")).unwrap(), [2]);
    assert_eq!(
        g.build_order(Some("nope")).unwrap_err().to_string(),
        "target stage \"nope\" could not be found"
    );
    assert_eq!(g.target(None).unwrap(), 4);
}

#[test]
fn copy_from_by_index_and_later_stage() {
    let g = graph("FROM alpine\nRUN x\nFROM alpine AS two\nCOPY --from=0 /a /a\nCOPY --from=later /b /b\nFROM scratch AS later\n");
    assert_eq!(g.nodes[1].deps, [0, 2]);
    assert_eq!(g.build_order(Some("two")).unwrap(), [0, 2, 1]);
    assert_eq!(g.find("0"), Some(0));
    assert_eq!(g.find("LATER"), Some(2));
    assert_eq!(g.find("9"), None);
}

#[test]
fn from_refers_only_to_earlier_stages() {
    // `FROM later` before `later` exists is the image "later"; `FROM x AS x` is the image.
    let g = graph(
        "FROM later AS first\nFROM alpine AS later\nFROM later AS third\nFROM node AS node\n",
    );
    assert_eq!(g.nodes[0].base, Base::Image("later".into()));
    assert_eq!(g.nodes[2].base, Base::Stage(1));
    assert_eq!(g.nodes[3].base, Base::Image("node".into()));
}

#[test]
fn duplicate_names_use_the_latest_definition() {
    let g = graph("FROM a AS x\nFROM b AS x\nFROM x\nCOPY --from=x / /\n");
    assert_eq!(g.nodes[2].base, Base::Stage(1));
    assert_eq!(g.nodes[2].deps, [1]);
    assert_eq!(g.build_order(Some("x")).unwrap(), [1]);
}

#[test]
fn global_args_in_from_and_copy_from() {
    let src = "ARG BASE\nARG SRC\nFROM alpine AS builder\nFROM ${BASE}\nCOPY --from=$SRC /x /x\n";
    let g = graph_with(src, &[("BASE", "builder"), ("SRC", "0")]);
    assert_eq!(g.nodes[1].base, Base::Stage(0));
    let g = graph_with(src, &[("BASE", "debian:12"), ("SRC", "nginx")]);
    assert_eq!(
        (&g.nodes[1].base, g.nodes[1].images.as_slice()),
        (&Base::Image("debian:12".into()), &["nginx".to_string()][..])
    );
    assert_eq!(
        graph_err("FROM ${NOTHING}\n"),
        "base name (${NOTHING}) should not be blank"
    );
}

#[test]
fn cycles_and_bad_indices() {
    assert_eq!(
        graph_err("FROM alpine AS a\nCOPY --from=b / /\nFROM alpine AS b\nCOPY --from=a / /\n"),
        "circular dependency detected on stage: a"
    );
    assert_eq!(
        graph_err("FROM alpine AS self\nCOPY --from=self / /\n"),
        "circular dependency detected on stage: self"
    );
    assert_eq!(
        graph_err("FROM alpine\nCOPY --from=0 / /\n"),
        "circular dependency detected on stage: 0"
    );
    assert_eq!(
        graph_err("FROM alpine\nCOPY --from=3 / /\n"),
        "invalid stage index 3"
    );
}

#[test]
fn secret_and_tmpfs_mounts_are_not_dependencies() {
    let g = graph(
        "FROM a AS s\nFROM b\nRUN --mount=type=bind,from=s,target=/s --mount=type=secret,id=s x\n",
    );
    assert_eq!(g.nodes[1].deps, [0]);
}
