//! Tests for `template.rs`: Go value printing, docker's functions, header
//! rendering and Go-compatible error messages.

use super::*;
use serde_json::json;

fn render(src: &str, data: serde_json::Value) -> String {
    match Template::parse(src).and_then(|t| t.render(&data)) {
        Ok(s) => s,
        Err(e) => format!("ERR {e}"),
    }
}

fn strict(src: &str, data: serde_json::Value) -> String {
    match Template::parse_strict(src).and_then(|t| t.render(&data)) {
        Ok(s) => s,
        Err(e) => format!("ERR {}", e.go_message()),
    }
}

fn container() -> serde_json::Value {
    json!({
        "Id": "4f2a9e0c1b7d3e5f",
        "Config": {"Cmd": ["sh", "-c", "echo"], "Env": null, "Labels": {"b": "2", "a": "1"},
                   "Entrypoint": [], "Tty": false, "StopTimeout": 10, "Ratio": 0.25},
        "State": {"Health": null, "Pid": 0},
        "Names": ["/web", "/alias"]
    })
}

#[test]
fn go_value_printing() {
    let c = container();
    assert_eq!(render("{{.Config.Cmd}}", c.clone()), "[sh -c echo]");
    assert_eq!(render("{{.Config.Labels}}", c.clone()), "map[a:1 b:2]");
    assert_eq!(render("{{.Config.Env}}", c.clone()), "<nil>");
    assert_eq!(render("{{.State.Health}}", c.clone()), "<nil>");
    assert_eq!(render("{{.Config.Missing}}", c.clone()), "<no value>");
    assert_eq!(render("{{.Nope.Deeper}}", c.clone()), "<no value>");
    assert_eq!(render("{{.Config.Entrypoint}}", c.clone()), "[]");
    assert_eq!(
        render(
            "{{.Config.Tty}} {{.Config.StopTimeout}} {{.Config.Ratio}}",
            c.clone()
        ),
        "false 10 0.25"
    );
    assert_eq!(render("{{.State}}", c.clone()), "map[Health:<nil> Pid:0]");
    assert_eq!(
        render("{{.}}", json!([1, [2, {"x": null}], "s"])),
        "[1 [2 map[x:<nil>]] s]"
    );
    assert_eq!(render("{{.N}}", json!({"N": 2.0e6})), "2000000");
    assert_eq!(render("{{.N}}", json!({"N": 1234567.5})), "1.2345675e+06");
    assert_eq!(render("{{index .Names 1}}", c.clone()), "/alias");
    assert_eq!(
        render("{{range .Names}}[{{.}}]{{end}}", c.clone()),
        "[/web][/alias]"
    );
    assert_eq!(
        render(
            "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
            c.clone()
        ),
        "a=1;b=2;"
    );
    assert_eq!(
        render("{{if .State.Health}}yes{{else}}no{{end}}", c.clone()),
        "no"
    );
    assert_eq!(
        render("{{with .Config.Env}}x{{else}}none{{end}}", c.clone()),
        "none"
    );
    assert_eq!(render("{{range .Config.Env}}x{{end}}.", c.clone()), ".");
    assert_eq!(
        render("{{len .Names}} {{eq .State.Pid 0}}", c.clone()),
        "2 true"
    );
    assert_eq!(
        render("{{printf \"%s-%d\" .Id .Config.StopTimeout}}", c.clone()),
        "4f2a9e0c1b7d3e5f-10"
    );
    assert_eq!(render("{{$n := .Names}}{{$n}}", c.clone()), "[/web /alias]");
    assert_eq!(
        render("{{define \"t\"}}<{{.}}>{{end}}{{template \"t\" .Id}}", c),
        "<4f2a9e0c1b7d3e5f>"
    );
}

#[test]
fn docker_functions() {
    let c = container();
    assert_eq!(
        render("{{json .Config.Labels}}", c.clone()),
        r#"{"a":"1","b":"2"}"#
    );
    assert_eq!(render("{{json .Config.Env}}", c.clone()), "null");
    assert_eq!(
        render("{{json .}}", json!({"a": "<b>&"})),
        r#"{"a":"<b>&"}"#
    );
    assert_eq!(
        render("{{json .Config.Cmd}}", c.clone()),
        r#"["sh","-c","echo"]"#
    );
    assert_eq!(render("{{join .Names \", \"}}", c.clone()), "/web, /alias");
    assert_eq!(render("{{join .Config.Env \",\"}}", c.clone()), "");
    assert_eq!(
        render("{{split .Id \"e\"}}", c.clone()),
        "[4f2a9 0c1b7d3 5f]"
    );
    assert_eq!(render("{{index (split \"a:b\" \":\") 1}}", c.clone()), "b");
    assert_eq!(
        render(
            "{{title \"hello world\"}} {{upper .Id}} {{lower \"ABC\"}}",
            c.clone()
        ),
        "Hello World 4F2A9E0C1B7D3E5F abc"
    );
    assert_eq!(
        render("[{{pad .Id 1 2}}]", c.clone()),
        "[ 4f2a9e0c1b7d3e5f  ]"
    );
    assert_eq!(render("{{truncate .Id 4}}", c.clone()), "4f2a");
    assert_eq!(render("{{.Id | truncate 4}}", json!({"Id": "x"})), "ERR template parsing error: template: :1:17: executing \"\" at <4>: wrong type for value; expected string; got int");
    assert_eq!(
        render("{{println .Id \"x\"}}", c.clone()),
        "4f2a9e0c1b7d3e5f x\n"
    );
    assert_eq!(
        render("{{print 1 2 \"a\" .State.Health}}", c.clone()),
        "1 2a<nil>"
    );
    assert_eq!(render("{{upper .Id | lower}}", c), "4f2a9e0c1b7d3e5f");
}

#[test]
fn parse_errors_like_go() {
    let err = |src: &str| Template::parse(src).err().map(|e| e.to_string());
    assert_eq!(
        err("{{foo .}}"),
        Some("template parsing error: template: :1: function \"foo\" not defined".into())
    );
    assert_eq!(
        err("a\nb {{.X | bar}}"),
        Some("template parsing error: template: :2: function \"bar\" not defined".into())
    );
    assert_eq!(
        err("{{$x}}"),
        Some("template parsing error: template: :1: undefined variable \"$x\"".into())
    );
    assert_eq!(
        err("{{.X"),
        Some("template parsing error: template: :1: unclosed action".into())
    );
    assert_eq!(
        err("{{if .X}}\n"),
        Some("template parsing error: template: :2: unexpected EOF".into())
    );
    assert_eq!(
        err("{{.A}}{{end}}"),
        Some("template parsing error: template: :1: unexpected {{end}}".into())
    );
    assert_eq!(
        err("{{if .X}}{{nope}}"),
        Some("template parsing error: template: :1: function \"nope\" not defined".into())
    );
    assert!(err("{{range}}").is_some());
    assert_eq!(err("{{.X}} {{json .}} {{pad .A 1 1}}"), None);
}

#[test]
fn exec_errors_like_go() {
    let c = container();
    assert_eq!(
        strict("{{.Foo.Bar}}", c.clone()),
        "ERR template: :1:2: executing \"\" at <.Foo.Bar>: map has no entry for key \"Foo\""
    );
    assert_eq!(
        strict("x\n  {{.Config.Nope}}", c.clone()),
        "ERR template: :2:4: executing \"\" at <.Config.Nope>: map has no entry for key \"Nope\""
    );
    assert_eq!(render("{{.Id.X}}", c.clone()), "ERR template parsing error: template: :1:2: executing \"\" at <.Id.X>: can't evaluate field X in type string");
    assert_eq!(render("{{.State.Health.Status}}", c.clone()), "ERR template parsing error: template: :1:2: executing \"\" at <.State.Health.Status>: nil pointer evaluating interface {}.Status");
    assert_eq!(strict("{{upper .Config.StopTimeout}}", c.clone()), "ERR template: :1:8: executing \"\" at <.Config.StopTimeout>: wrong type for value; expected string; got int");
    assert_eq!(
        strict("{{join .Names}}", c.clone()),
        "ERR template: :1:2: executing \"\" at <join>: wrong number of args for join: want 2 got 1"
    );
    assert_eq!(strict("{{pad .Id -1 0}}", c.clone()), "ERR template: :1:2: executing \"\" at <pad .Id -1 0>: error calling pad: strings: negative Repeat count");
    assert_eq!(strict("{{index .Names 5}}", c.clone()), "ERR template: :1:2: executing \"\" at <index .Names 5>: error calling index: index out of range: 5");
    assert_eq!(strict("{{template \"nope\" .}}", c.clone()), "ERR template: :1:2: executing \"\" at <{{template \"nope\" .}...>: template \"nope\" not defined");
    assert_eq!(
        strict(
            "{{define \"t\"}}{{.Zip}}{{end}}{{template \"t\" .}}",
            c.clone()
        ),
        "ERR template: :1:16: executing \"t\" at <.Zip>: map has no entry for key \"Zip\""
    );
    assert_eq!(strict("{{len .Config.Tty}}", c.clone()), "ERR template: :1:2: executing \"\" at <len .Config.Tty>: error calling len: len of type bool");
    // The second call of the same function is the one that fails.
    assert_eq!(strict("{{upper .Id}} {{upper .State.Pid}}", c), "ERR template: :1:22: executing \"\" at <.State.Pid>: wrong type for value; expected string; got int");
}

#[test]
fn header_rendering() {
    let headers =
        json!({"ID": "CONTAINER ID", "Names": "NAMES", "Labels": "LABELS", "Size": "SIZE"});
    let headers = headers.as_object().cloned().unwrap_or_default();
    let h = |src: &str| {
        Template::parse(src)
            .map(|t| t.render_header(&headers))
            .unwrap_or_else(|e| e.to_string())
    };
    assert_eq!(h("{{.ID}}\t{{.Names}}"), "CONTAINER ID\tNAMES");
    assert_eq!(
        h("{{json .Labels}}|{{join .Names \",\"}}|{{upper .ID}}|{{truncate .ID 3}}"),
        "LABELS|NAMES|CONTAINER ID|CONTAINER ID"
    );
    assert_eq!(h("{{pad .Size 1 1}}"), " SIZE ");
    assert_eq!(h("{{.Unknown}}"), "<no value>");
    // An error stops the header where it happened, as docker ignores it.
    assert_eq!(
        h("{{.ID}}\t{{upper .Unknown}}\t{{.Names}}"),
        "CONTAINER ID\t"
    );
}

/// Bad input is an error, never a panic: random token soup through parsing,
/// rendering, header rendering and the structure scan.
#[test]
fn random_templates_never_panic() {
    let toks = [
        "{{", "}}", ".", "A", "B", "Id", " ", "\"", "`", "'", "|", "(", ")", "$", "x", ":=", "=",
        "if", "end", "else", "range", "with", "define", "template", "block", "json", "split",
        "join", "pad", "truncate", "title", "upper", "println", "printf", "index", "slice", "len",
        "1", "-1", "2.5", "nil", "\\", "-", "/*", "*/", "\n", "\t", "日", "}", "{", ",", "\"t\"",
        "eq", "break",
    ];
    let data =
        json!({"A": {"B": [1, null, "x"]}, "Id": "abc", "L": [], "M": {"k": null}, "F": 1.5});
    let mut seed: u64 = 0x1234_5678;
    for _ in 0..5_000 {
        let mut src = String::new();
        for _ in 0..(seed % 12) + 1 {
            // xorshift64: a fixed, reproducible sequence.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push_str(toks[(seed % toks.len() as u64) as usize]);
        }
        if let Ok(t) = Template::parse(&src) {
            let _ = t.render(&data);
            let _ = t.render_header(&serde_json::Map::new());
        }
    }
}
