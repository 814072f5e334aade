//! Checks that control structures are balanced. Go's parser rejects an
//! `{{if}}` without `{{end}}` ("unexpected EOF") and a stray `{{end}}` or
//! `{{else}}`; the template engine accepts both silently (dropping the
//! unterminated body), so Berth scans the actions itself.

/// Returns the byte offset and Go's message for the first structural error.
pub(crate) fn check_structure(src: &str) -> Option<(usize, String)> {
    let mut depth = 0usize;
    let mut rest = 0usize;
    while let Some(open) = src[rest..].find("{{").map(|i| rest + i) {
        let body_start = open + 2;
        let Some((body_end, close_end)) = action_end(src, body_start) else {
            // An unclosed action is the engine's parse error to report.
            return None;
        };
        let body = src[body_start..body_end].trim_start_matches('-').trim();
        match keyword(body) {
            "if" | "range" | "with" | "define" | "block" => depth += 1,
            "end" if depth == 0 => return Some((open, "unexpected {{end}}".into())),
            "else" if depth == 0 => return Some((open, "unexpected {{else}}".into())),
            "end" => depth -= 1,
            _ => {}
        }
        rest = close_end;
    }
    (depth > 0).then(|| (src.len(), "unexpected EOF".into()))
}

/// The first word of an action, empty for comments and expressions.
fn keyword(body: &str) -> &str {
    if body.starts_with("/*") {
        return "";
    }
    let end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    &body[..end]
}

/// Finds the `}}` closing an action whose text starts at `from`, skipping
/// quoted strings and comments. Returns where the action text ends (before
/// a ` -}}` trim marker) and where the closing delimiter ends.
fn action_end(src: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = src.as_bytes();
    let mut i = from;
    // A comment runs to `*/` and must be followed by the closing delimiter.
    let lead = src[from..].trim_start_matches('-').trim_start();
    if lead.starts_with("/*") {
        let start = src.len() - lead.len();
        let end = src[start + 2..].find("*/")? + start + 4;
        let close = src[end..].find("}}")? + end;
        return Some((close, close + 2));
    }
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    // A backslash escapes the next byte inside quotes.
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' => {
                i += 1 + src.get(i + 1..).and_then(|s| s.find('`'))? + 1;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                let text_end = if src[from..i].ends_with(" -") {
                    i - 2
                } else {
                    i
                };
                return Some((text_end.max(from), i + 2));
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_structures() {
        assert_eq!(
            check_structure("{{if .X}}a{{else if .Y}}b{{else}}c{{end}}"),
            None
        );
        assert_eq!(check_structure("{{- range .L -}} {{.}} {{- end -}}"), None);
        assert_eq!(
            check_structure("{{define \"x\"}}{{with .A}}{{end}}{{end}}{{block \"y\" .}}{{end}}"),
            None
        );
        assert_eq!(
            check_structure("{{\"{{if\"}} {{ `}}{{end` }} {{/* {{if */}} {{'}'}}"),
            None
        );
        assert_eq!(check_structure("{{.X}} }} {{"), None);
    }

    #[test]
    fn unbalanced_structures() {
        assert_eq!(
            check_structure("{{if .X}}a"),
            Some((10, "unexpected EOF".into()))
        );
        assert_eq!(
            check_structure("a{{end}}"),
            Some((1, "unexpected {{end}}".into()))
        );
        assert_eq!(
            check_structure("{{else}}"),
            Some((0, "unexpected {{else}}".into()))
        );
        assert_eq!(
            check_structure("{{range .L}}{{end}}{{end}}"),
            Some((19, "unexpected {{end}}".into()))
        );
        assert_eq!(
            check_structure("{{define \"x\"}}"),
            Some((14, "unexpected EOF".into()))
        );
    }
}
