//! The matching rules behind image filters: Go's `path.Match` globs (docker's `reference`
//! filter) and label selectors.

use std::collections::BTreeMap;

use crate::error::{EngineError, EngineResult};

/// Go's `path.Match`: `*` matches any run of non-`/` characters, `?` one non-`/`
/// character, `[...]` a class (ranges, `^` negation), `\` escapes. A malformed pattern is an
/// error, as in Go.
pub fn path_match(pattern: &str, name: &str) -> EngineResult<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    validate(&p)
        .map_err(|_| EngineError::invalid(format!("syntax error in pattern {pattern:?}")))?;
    Ok(match_from(&p, &n))
}

fn validate(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                let (_, next) = class_end(p, i).ok_or(())?;
                i = next;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Finds the end of the class starting at `p[start] == '['`: returns the index of `]` and
/// the index after it.
fn class_end(p: &[char], start: usize) -> Option<(usize, usize)> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let first = i;
    while i < p.len() {
        match p[i] {
            ']' if i > first => return Some((i, i + 1)),
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

fn class_matches(p: &[char], start: usize, end: usize, c: char) -> bool {
    let mut i = start + 1;
    let negate = p.get(i) == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    while i < end {
        let mut lo = p[i];
        if lo == '\\' && i + 1 < end {
            i += 1;
            lo = p[i];
        }
        let mut hi = lo;
        if i + 2 < end && p[i + 1] == '-' {
            hi = p[i + 2];
            if hi == '\\' && i + 3 < end {
                hi = p[i + 3];
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
        i += 1;
    }
    matched != negate
}

fn match_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            // `*` never crosses a `/`.
            let rest = &p[1..];
            for k in 0..=n.len() {
                if match_from(rest, &n[k..]) {
                    return true;
                }
                if k < n.len() && n[k] == '/' {
                    break;
                }
            }
            false
        }
        Some('?') => !n.is_empty() && n[0] != '/' && match_from(&p[1..], &n[1..]),
        Some('[') => {
            let Some((end, next)) = class_end(p, 0) else {
                return false;
            };
            !n.is_empty()
                && n[0] != '/'
                && class_matches(p, 0, end, n[0])
                && match_from(&p[next..], &n[1..])
        }
        Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && match_from(&p[2..], &n[1..]),
        Some(c) => !n.is_empty() && n[0] == *c && match_from(&p[1..], &n[1..]),
    }
}

/// Whether `labels` satisfies every `key` or `key=value` selector.
pub fn labels_match(labels: &BTreeMap<String, String>, selectors: &[String]) -> bool {
    selectors.iter().all(|sel| match sel.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(sel.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_match_semantics() {
        let cases = [
            ("busy*", "busybox", true),
            ("busy*", "library/busybox", false),
            ("*/app", "me/app", true),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("[^a-c]x", "dx", true),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("*", "", true),
            ("localhost:5000/*:*", "localhost:5000/x:1", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(path_match(p, n).unwrap(), want, "{p} vs {n}");
        }
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for p in ["[", "[a", "a\\"] {
            assert!(path_match(p, "a").is_err(), "{p}");
        }
    }

    #[test]
    fn label_selectors() {
        let mut l = BTreeMap::new();
        l.insert("a".to_string(), "1".to_string());
        assert!(labels_match(&l, &["a".into()]));
        assert!(labels_match(&l, &["a=1".into()]));
        assert!(!labels_match(&l, &["a=2".into()]));
        assert!(!labels_match(&l, &["b".into()]));
        assert!(labels_match(&l, &[]));
    }
}
