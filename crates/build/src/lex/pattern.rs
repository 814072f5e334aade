//! Shell patterns (`*`, `?`, `\` escapes) for `${VAR#pat}`, `${VAR%pat}` and
//! `${VAR/pat/repl}`, turned into regular expressions.

use regex::Regex;

/// Converts a shell pattern to a regex; `anchored` ties it to the start of the text.
fn to_regex(pattern: &str, greedy: bool, anchored: bool) -> Result<Regex, String> {
    let mut out = String::from(if anchored { "^" } else { "" });
    let star = if greedy { ".*" } else { ".*?" };
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(star),
            '?' => out.push('.'),
            '\\' => {
                // `\}` and `\/` were only there to get past the `${…}` parser.
                if matches!(chars.peek(), Some('}' | '/')) {
                    continue;
                }
                match chars.next() {
                    Some(e @ ('*' | '?' | '\\')) => {
                        out.push('\\');
                        out.push(e);
                    }
                    Some(e) => return Err(format!("invalid escape '\\{e}'")),
                    None => return Err("invalid escape '\\'".into()),
                }
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    Regex::new(&out).map_err(|e| e.to_string())
}

fn bad(pattern: &str, e: String) -> String {
    format!("invalid pattern ({pattern}) in substitution: {e}")
}

/// `${VAR#pattern}` (`greedy` for `##`): removes the matching prefix.
pub(super) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let re = to_regex(pattern, greedy, true).map_err(|e| bad(pattern, e))?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_string(),
        None => value.to_string(),
    })
}

/// `${VAR%pattern}` (`greedy` for `%%`): removes the matching suffix. A regex cannot look
/// for the shortest match from the right, so both sides are reversed and the prefix trimmed.
pub(super) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let reversed = reverse_pattern(pattern);
    let value: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reversed, &value, greedy).map_err(|_| {
        // Report the pattern as the user wrote it.
        to_regex(pattern, greedy, true)
            .err()
            .map(|e| bad(pattern, e))
            .unwrap_or_default()
    })?;
    Ok(trimmed.chars().rev().collect())
}

/// Reverses a pattern while keeping each `\x` escape pair in order.
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut units: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            units.push(format!("\\{}", chars[i + 1]));
            i += 2;
        } else {
            units.push(chars[i].to_string());
            i += 1;
        }
    }
    units.into_iter().rev().collect()
}

/// `${VAR/pattern/repl}` replaces the first (longest) match, `${VAR//pattern/repl}` all.
pub(super) fn replace(
    pattern: &str,
    value: &str,
    replacement: &str,
    all: bool,
) -> Result<String, String> {
    let re = to_regex(pattern, true, false).map_err(|e| bad(pattern, e))?;
    let rep = regex::NoExpand(replacement);
    Ok(if all {
        re.replace_all(value, rep).into_owned()
    } else {
        re.replace(value, rep).into_owned()
    })
}
