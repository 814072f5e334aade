//! The context paths a COPY or ADD source pattern names: `*`, `?` and `[…]` matched within
//! each path component, as docker's builder matches them.

use std::fs;
use std::path::Path;

use super::copy::{clean, context_path};
use super::BuildError;

/// The context paths `pattern` matches (`*`, `?` and `[…]` within a component), sorted; a
/// pattern without wildcards names at most itself.
pub(super) fn glob(context: &Path, pattern: &str) -> Result<Vec<String>, BuildError> {
    let clean_pattern = clean(pattern).ok_or_else(|| {
        BuildError(format!(
            "forbidden path outside the build context: {pattern}"
        ))
    })?;
    let text = clean_pattern.to_string_lossy().into_owned();
    if !text.contains(['*', '?', '[']) {
        let host = context_path(context, &text)?;
        return Ok(if fs::symlink_metadata(&host).is_ok() {
            vec![if text.is_empty() { ".".into() } else { text }]
        } else {
            Vec::new()
        });
    }
    let parts: Vec<String> = text.split('/').map(String::from).collect();
    let mut found = vec![String::new()];
    for part in &parts {
        let mut next = Vec::new();
        for prefix in &found {
            let dir = if prefix.is_empty() {
                context.to_path_buf()
            } else {
                context.join(prefix)
            };
            if !part.contains(['*', '?', '[']) {
                if fs::symlink_metadata(dir.join(part)).is_ok() {
                    next.push(join(prefix, part));
                }
                continue;
            }
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if wildcard(part.as_bytes(), name.as_bytes()) {
                    next.push(join(prefix, &name));
                }
            }
        }
        found = next;
    }
    found.sort();
    Ok(found)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Shell-style matching of one path component.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| wildcard(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && wildcard(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(end) = p.iter().position(|&c| c == b']') else {
                return s.first() == Some(&b'[') && wildcard(&p[1..], &s[1..]);
            };
            let Some(&c) = s.first() else { return false };
            let (negate, set) = match p.get(1) {
                Some(b'!') | Some(b'^') => (true, &p[2..end]),
                _ => (false, &p[1..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && wildcard(&p[end + 1..], &s[1..])
        }
        Some(&ch) => s.first() == Some(&ch) && wildcard(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*.txt", b"a.txt"));
        assert!(!wildcard(b"*.txt", b"a.txt.bak"));
        assert!(wildcard(b"a?c", b"abc"));
        assert!(wildcard(b"[a-c]x", b"bx"));
        assert!(!wildcard(b"[!a-c]x", b"bx"));
    }

    #[test]
    fn patterns_stay_in_the_context() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("in.txt"), "x").unwrap();
        assert_eq!(glob(dir.path(), "*.txt").unwrap(), vec!["in.txt"]);
        assert!(glob(dir.path(), "none").unwrap().is_empty());
        assert!(glob(dir.path(), "../*").is_err());
    }
}
