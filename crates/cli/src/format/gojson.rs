//! JSON text exactly as the Go side of docker writes it: the `json` template
//! function, `--format json` rows and `docker inspect` output.
//!
//! Go differs from `serde_json`'s writer in small, visible ways: floats are
//! spelled `1e+21` rather than `1e21` and `1` rather than `1.0`, U+2028 and
//! U+2029 are always escaped, and the indented form of `json.MarshalIndent`
//! is used by inspect. HTML characters (`<`, `>`, `&`) are *not* escaped:
//! the daemon and the `json` function both turn that escaping off.

use gotmpl::Value;

use super::value::{go_json_float, is_null};

/// Appends a JSON string literal with Go's escaping (HTML escaping off).
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Go escapes the JavaScript line terminators even with HTML
            // escaping off, so the output is safe inside <script>.
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Indentation state: `None` for compact output, else the unit to repeat.
struct Layout<'a> {
    indent: Option<&'a str>,
    sort_keys: bool,
}

impl Layout<'_> {
    fn newline(&self, out: &mut String, depth: usize) {
        if let Some(unit) = self.indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(unit);
            }
        }
    }

    fn colon(&self) -> &'static str {
        if self.indent.is_some() {
            ": "
        } else {
            ":"
        }
    }

    fn write(&self, out: &mut String, v: &serde_json::Value, depth: usize) {
        match v {
            serde_json::Value::Null => out.push_str("null"),
            serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            serde_json::Value::Number(n) => {
                if n.is_f64() {
                    out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0)));
                } else {
                    out.push_str(&n.to_string());
                }
            }
            serde_json::Value::String(s) => write_str(out, s),
            serde_json::Value::Array(items) => {
                out.push('[');
                // Go's Indent keeps empty arrays and objects on one line.
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.newline(out, depth + 1);
                    self.write(out, item, depth + 1);
                }
                if !items.is_empty() {
                    self.newline(out, depth);
                }
                out.push(']');
            }
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                }
                out.push('{');
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.newline(out, depth + 1);
                    write_str(out, k);
                    out.push_str(self.colon());
                    self.write(out, item, depth + 1);
                }
                if !entries.is_empty() {
                    self.newline(out, depth);
                }
                out.push('}');
            }
        }
    }
}

/// Compact JSON in the value's own key order (Go's `json.Compact` over what
/// the daemon sent).
pub fn compact(v: &serde_json::Value) -> String {
    let mut out = String::new();
    Layout {
        indent: None,
        sort_keys: false,
    }
    .write(&mut out, v, 0);
    out
}

/// Compact JSON with object keys sorted, as Go marshals a map.
pub fn compact_sorted(v: &serde_json::Value) -> String {
    let mut out = String::new();
    Layout {
        indent: None,
        sort_keys: true,
    }
    .write(&mut out, v, 0);
    out
}

/// Indented JSON, as `json.Indent(dst, src, "", "    ")`: four spaces per
/// level, `": "` after keys, empty arrays and objects left as `[]` / `{}`.
pub fn indent(v: &serde_json::Value, unit: &str) -> String {
    let mut out = String::new();
    Layout {
        indent: Some(unit),
        sort_keys: false,
    }
    .write(&mut out, v, 0);
    out
}

/// Compact JSON for a template value (the `json` template function).
/// Maps come out sorted, as Go marshals `map[string]any`. Returns `None` for
/// a value JSON cannot hold (a function), where Go's encoder fails.
pub fn template_value(v: &Value) -> Option<String> {
    let mut out = String::new();
    write_template_value(&mut out, v).then_some(out)
}

fn write_template_value(out: &mut String, v: &Value) -> bool {
    match v {
        Value::Nil => out.push_str("null"),
        v if is_null(v) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)),
        Value::String(s) => write_str(out, s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_template_value(out, item) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                if !write_template_value(out, item) {
                    return false;
                }
            }
            out.push('}');
        }
        Value::Function(_) => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_like_go() {
        let v = json!({"b": "<a&b>", "a": [1, 2.5, null, true], "c": {}, "d": []});
        assert_eq!(
            compact_sorted(&v),
            r#"{"a":[1,2.5,null,true],"b":"<a&b>","c":{},"d":[]}"#
        );
        assert_eq!(
            compact(&json!("line\nsep\u{2028}\u{1}\t\"\\")),
            r#""line\nsep\u2028\u0001\t\"\\""#
        );
        assert_eq!(compact(&json!(1e21)), "1e+21");
        assert_eq!(compact(&json!(3.0)), "3");
    }

    #[test]
    fn indent_like_go() {
        let v = json!([{"Id": "abc", "Args": [], "Config": {"Env": ["A=1"], "Labels": {}}}]);
        // Keys keep the order the engine sent them in, as docker prints its structs.
        let want = "[\n    {\n        \"Id\": \"abc\",\n        \"Args\": [],\n        \"Config\": {\n            \"Env\": [\n                \"A=1\"\n            ],\n            \"Labels\": {}\n        }\n    }\n]";
        assert_eq!(indent(&v, "    "), want);
        assert_eq!(indent(&json!([]), "    "), "[]");
    }

    #[test]
    fn template_values() {
        let v = super::super::value::to_value(&json!({"z": null, "a": [1, "x"]}));
        assert_eq!(
            template_value(&v).as_deref(),
            Some(r#"{"a":[1,"x"],"z":null}"#)
        );
        assert_eq!(template_value(&Value::Nil).as_deref(), Some("null"));
        assert_eq!(template_value(&Value::Float(0.5)).as_deref(), Some("0.5"));
    }
}
