//! One `.dockerignore` pattern, matched like moby's patternmatcher: `*` and `?` stay within
//! a path component, `**` spans any number of them, `[...]` is a character class and `\`
//! escapes. Literal patterns and simple `**` forms skip the regex.

use regex::Regex;

/// How a pattern is matched; the cheap forms avoid building a regex.
#[derive(Debug, Clone)]
enum Matcher {
    /// No wildcards: the path must equal the pattern.
    Exact,
    /// `prefix/**`: anything under the prefix.
    Prefix(String),
    /// `**/suffix` with no other wildcard.
    Suffix(String),
    /// Anything else.
    Regex(Regex),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// The pattern, cleaned, without its `!`.
    pub(super) text: String,
    /// Whether it was an exception (`!pattern`).
    pub(super) exclusion: bool,
    matcher: Matcher,
}

impl Pattern {
    /// Compiles `text` (already cleaned).
    pub(super) fn new(text: &str, exclusion: bool) -> Result<Pattern, String> {
        Ok(Pattern {
            text: text.to_string(),
            exclusion,
            matcher: compile(text)?,
        })
    }

    /// Whether `path` (cleaned, `/`-separated, relative) matches.
    pub(super) fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            // `**/foo` matches `foo` itself as well as `a/b/foo`.
            Matcher::Suffix(s) => {
                path.ends_with(s.as_str()) || s.strip_prefix('/').is_some_and(|s| path == s)
            }
            Matcher::Regex(re) => re.is_match(path),
        }
    }
}

/// Translates the pattern as patternmatcher does, character by character.
fn compile(pattern: &str) -> Result<Matcher, String> {
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let mut chars = pattern.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`: the slash is swallowed.
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(c);
            }
            '\\' => match chars.next() {
                Some(n) => {
                    re.push('\\');
                    re.push(n);
                    kind = Kind::Regex;
                }
                None => return Err("syntax error in pattern".into()),
            },
            '[' | ']' => {
                re.push(c);
                kind = Kind::Regex;
            }
            _ => re.push(c),
        }
        first = false;
    }
    Ok(match kind {
        Kind::Exact => Matcher::Exact,
        Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_string()),
        Kind::Suffix => Matcher::Suffix(pattern[2..].to_string()),
        Kind::Regex => {
            re.push('$');
            Matcher::Regex(Regex::new(&re).map_err(|_| "syntax error in pattern".to_string())?)
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// Go's `filepath.Clean` for `/` paths: no `.`, no `x/..`, no repeated or trailing `/`;
/// "" becomes ".".
pub(super) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}
