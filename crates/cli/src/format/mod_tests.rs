//! Tests for `mod.rs`: `--format` parsing, list rendering as docker lays it
//! out, and inspect output.

use super::*;
use serde_json::json;

const IMAGES: &str = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";

fn headers() -> serde_json::Map<String, serde_json::Value> {
    let h = json!({"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG",
                   "CreatedSince": "CREATED", "Size": "SIZE", "Labels": "LABELS"});
    h.as_object().cloned().unwrap_or_default()
}

fn rows() -> Vec<serde_json::Value> {
    vec![
        json!({"ID": "4f2a9e0c1b7d", "Repository": "alpine", "Tag": "latest",
               "CreatedSince": "2 weeks ago", "Size": "7.8MB", "Labels": {"a": "b"}}),
        json!({"ID": "9b1c2d3e4f5a", "Repository": "registry.example/team/app", "Tag": "v1.2.3",
               "CreatedSince": "3 days ago", "Size": "120MB", "Labels": {}}),
    ]
}

fn list(flag: Option<&str>, quiet: Option<&str>) -> String {
    render_list(&Format::parse(flag), IMAGES, &headers(), &rows(), quiet)
        .unwrap_or_else(|e| format!("ERR {e}"))
}

#[test]
fn format_flag_parsing() {
    assert_eq!(Format::parse(None), Format::Table(None));
    assert_eq!(Format::parse(Some("")), Format::Table(None));
    assert_eq!(Format::parse(Some("table")), Format::Table(None));
    assert_eq!(Format::parse(Some("json")), Format::Json);
    assert_eq!(
        Format::parse(Some("table {{.ID}}\\t{{.Repository}}")),
        Format::Table(Some("{{.ID}}\t{{.Repository}}".into()))
    );
    assert_eq!(
        Format::parse(Some("table {{.ID}}\t{{.Names}}")),
        Format::Table(Some("{{.ID}}\t{{.Names}}".into()))
    );
    assert_eq!(
        Format::parse(Some("{{.ID}}")),
        Format::Raw("{{.ID}}".into())
    );
    assert_eq!(
        Format::parse(Some("  {{.ID}}: {{.Names}}\\n ")),
        Format::Raw("{{.ID}}: {{.Names}}\n".into())
    );
    assert_eq!(Format::parse(Some("JSON")), Format::Raw("JSON".into()));
    assert_eq!(
        Format::parse(Some("{{json .}}")),
        Format::Raw("{{json .}}".into())
    );
    assert!(Format::parse(Some("table {{.ID}}")).is_table());
    assert!(!Format::Json.is_table());
}

#[test]
fn default_table() {
    let row =
        |a: &str, b: &str, c: &str, d: &str, e: &str| format!("{a:<28}{b:<10}{c:<15}{d:<14}{e}\n");
    let want = row("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")
        + &row("alpine", "latest", "4f2a9e0c1b7d", "2 weeks ago", "7.8MB")
        + &row(
            "registry.example/team/app",
            "v1.2.3",
            "9b1c2d3e4f5a",
            "3 days ago",
            "120MB",
        );
    assert_eq!(list(None, None), want);
    assert_eq!(list(Some("table"), None), want);
    // No rows: the header alone.
    let empty = render_list(&Format::parse(None), IMAGES, &headers(), &[], None);
    assert_eq!(
        empty.as_deref(),
        Ok("REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n")
    );
}

#[test]
fn custom_table_headers() {
    assert_eq!(
        list(Some("table {{.ID}}\\t{{.Tag}}"), None),
        "IMAGE ID       TAG\n4f2a9e0c1b7d   latest\n9b1c2d3e4f5a   v1.2.3\n"
    );
    // Header functions keep the title; pad pads it like the cells.
    assert_eq!(
        list(Some("table {{upper .Repository}}|{{json .Labels}}|{{pad .Tag 1 1}}"), None),
        "REPOSITORY|LABELS| TAG \nALPINE|{\"a\":\"b\"}| latest \nREGISTRY.EXAMPLE/TEAM/APP|{}| v1.2.3 \n"
    );
    // A field without a title has no value in the header.
    assert_eq!(
        list(Some("table {{.ID}}\\t{{.Digest}}"), None),
        "IMAGE ID       <no value>\n4f2a9e0c1b7d   <no value>\n9b1c2d3e4f5a   <no value>\n"
    );
    // Text around the actions stays in the header too.
    assert_eq!(
        list(Some("table id={{.ID}}"), None),
        "id=IMAGE ID\nid=4f2a9e0c1b7d\nid=9b1c2d3e4f5a\n"
    );
}

#[test]
fn raw_json_and_quiet() {
    assert_eq!(
        list(Some("{{.ID}}\\t{{.Tag}}"), None),
        "4f2a9e0c1b7d\tlatest\n9b1c2d3e4f5a\tv1.2.3\n"
    );
    assert_eq!(
        list(Some("{{.Repository}}:{{.Tag}}"), Some("{{.ID}}")),
        "alpine:latest\nregistry.example/team/app:v1.2.3\n"
    );
    assert_eq!(list(None, Some("{{.ID}}")), "4f2a9e0c1b7d\n9b1c2d3e4f5a\n");
    assert_eq!(
        list(Some("table"), Some("{{.ID}}")),
        "4f2a9e0c1b7d\n9b1c2d3e4f5a\n"
    );
    // A custom table wins over -q.
    assert_eq!(
        list(Some("table {{.Tag}}"), Some("{{.ID}}")),
        "TAG\nlatest\nv1.2.3\n"
    );
    assert_eq!(
        list(Some("json"), None),
        "{\"CreatedSince\":\"2 weeks ago\",\"ID\":\"4f2a9e0c1b7d\",\"Labels\":{\"a\":\"b\"},\"Repository\":\"alpine\",\"Size\":\"7.8MB\",\"Tag\":\"latest\"}\n\
         {\"CreatedSince\":\"3 days ago\",\"ID\":\"9b1c2d3e4f5a\",\"Labels\":{},\"Repository\":\"registry.example/team/app\",\"Size\":\"120MB\",\"Tag\":\"v1.2.3\"}\n"
    );
    assert_eq!(
        render_list(&Format::Json, IMAGES, &headers(), &[], None).as_deref(),
        Ok("")
    );
    assert_eq!(
        render_list(
            &Format::parse(Some("{{.ID}}")),
            IMAGES,
            &headers(),
            &[],
            None
        )
        .as_deref(),
        Ok("")
    );
}

#[test]
fn list_errors() {
    assert_eq!(
        list(Some("{{nope .ID}}"), None),
        "ERR template parsing error: template: :1: function \"nope\" not defined"
    );
    assert_eq!(
        list(Some("table {{.ID.X}}"), None),
        "ERR template parsing error: template: :1:2: executing \"\" at <.ID.X>: can't evaluate field X in type string"
    );
}

#[test]
fn each_and_inspect() {
    let values = [json!({"Id": "a1", "Name": "/web"}), json!({"Id": "b2"})];
    let t = Template::parse("{{.Id}} {{.Name}}");
    let r = t.map(|t| render_each(&t, &values));
    assert_eq!(r.map(|r| r.out), Ok("a1 /web\nb2 <no value>\n".into()));
    let r = render_inspect(Some("{{.Id}}={{.Name}}"), &values).unwrap_or_default();
    assert_eq!(r.out, "a1=/web\n");
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        r.errors[0].to_string(),
        "template parsing error: template: :1:10: executing \"\" at <.Name>: map has no entry for key \"Name\""
    );
    // Inspect does not expand \t.
    assert_eq!(
        render_inspect(Some("{{.Id}}\\t"), &values[..1]).map(|r| r.out),
        Ok("a1\\t\n".into())
    );
    // Nothing rendered still prints a newline.
    assert_eq!(
        render_inspect(Some("{{.Id}}"), &[]).map(|r| r.out),
        Ok("\n".into())
    );
    assert!(render_inspect(Some("{{.Id"), &values).is_err());
}

#[test]
fn inspect_json_layout() {
    let v = [
        json!({"Id": "abc", "Config": {"Cmd": ["sh", "-c", "a && b > c"], "Labels": {}, "Env": null}, "Args": []}),
    ];
    let want = "[\n    {\n        \"Id\": \"abc\",\n        \"Config\": {\n            \"Cmd\": [\n                \"sh\",\n                \"-c\",\n                \"a && b > c\"\n            ],\n            \"Labels\": {},\n            \"Env\": null\n        },\n        \"Args\": []\n    }\n]\n";
    assert_eq!(inspect_json(&v), want);
    assert_eq!(inspect_json(&[]), "[]\n");
    assert_eq!(render_inspect(None, &v).map(|r| r.out), Ok(want.into()));
    assert_eq!(
        render_inspect(Some("json"), &[json!({"a": 1}), json!(2)]).map(|r| r.out),
        Ok("[{\"a\":1},2]\n".into())
    );
    assert_eq!(inspect_json_compact(&[]), "[]\n");
}
