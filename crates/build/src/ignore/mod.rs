//! `.dockerignore`: which context files are not sent to the builder, with docker's
//! semantics (moby's ignorefile and patternmatcher).
//!
//! - Lines starting with `#` are comments; blank lines are skipped; each pattern is cleaned
//!   (`./a/` → `a`, a leading `/` dropped).
//! - Later patterns win: `!pattern` re-includes what an earlier pattern excluded.
//! - A path is excluded when it or one of its parent directories matches.
//! - An excluded directory is still walked when an exception may re-include something in
//!   it ([`IgnoreMatcher::must_walk`]).
//! - The Dockerfile and `.dockerignore` are always sent ([`keep_build_files`]).
//!
//! `file` picks which ignore file applies.

mod file;
mod pattern;
#[cfg(test)]
mod tests;

pub use file::{ignore_file_candidates, load_ignore_file, pick_ignore_file};

use pattern::{clean, Pattern};

/// A pattern docker would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid .dockerignore pattern {pattern:?}: {reason}")]
pub struct IgnoreError {
    /// The pattern as given.
    pub pattern: String,
    /// Why it is refused.
    pub reason: String,
}

/// Reads a `.dockerignore` file's text into patterns, as moby's `ignorefile.ReadAll`.
pub fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        // Only a `#` in the first column starts a comment.
        if line.starts_with('#') {
            continue;
        }
        let mut p = line.trim();
        if p.is_empty() {
            continue;
        }
        let invert = p.starts_with('!');
        if invert {
            p = p[1..].trim();
        }
        let mut cleaned = if p.is_empty() {
            String::new()
        } else {
            clean(p)
        };
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        out.push(if invert {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    out
}

/// The patterns of a `.dockerignore`, compiled.
#[derive(Debug, Clone)]
pub struct IgnoreMatcher {
    patterns: Vec<Pattern>,
}

impl IgnoreMatcher {
    /// Compiles patterns (as [`read_patterns`] gives them).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, IgnoreError> {
        let mut compiled = Vec::new();
        for raw in patterns {
            let raw = raw.as_ref();
            let p = raw.trim();
            if p.is_empty() {
                continue;
            }
            let bad = |reason: &str| IgnoreError {
                pattern: raw.to_string(),
                reason: reason.to_string(),
            };
            let (exclusion, body) = match clean(p).strip_prefix('!') {
                Some("") => return Err(bad("illegal exclusion pattern: \"!\"")),
                Some(rest) => (true, rest.to_string()),
                None => (false, clean(p)),
            };
            compiled.push(Pattern::new(&body, exclusion).map_err(|e| bad(&e))?);
        }
        Ok(IgnoreMatcher { patterns: compiled })
    }

    /// Reads and compiles a `.dockerignore` file's text.
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        Self::new(&read_patterns(text))
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context.
    /// The context root itself is never excluded.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path.trim_start_matches('/'));
        if path == "." {
            return false;
        }
        let parents: Vec<&str> = match path.rfind('/') {
            Some(i) => path[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut matched = false;
        for p in &self.patterns {
            // An inclusion cannot change an excluded path, nor an exception a kept one.
            if p.exclusion != matched {
                continue;
            }
            let hit =
                p.matches(&path) || (1..=parents.len()).any(|n| p.matches(&parents[..n].join("/")));
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Whether a walk of the context must go into directory `dir`: yes when it is not
    /// excluded, and also when it is but some exception could re-include a path below it.
    pub fn must_walk(&self, dir: &str) -> bool {
        if !self.excludes(dir) {
            return true;
        }
        let dir = clean(dir.trim_start_matches('/'));
        let parts: Vec<&str> = dir.split('/').collect();
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| could_match_below(&p.text, &parts))
    }

    /// Whether any pattern is an exception (`!`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }
}

/// Whether `pattern` could match something inside the directory `dir`: each of its leading
/// components matches the directory's, or a `**` comes first.
fn could_match_below(pattern: &str, dir: &[&str]) -> bool {
    let comps: Vec<&str> = pattern.split('/').collect();
    for (i, part) in dir.iter().enumerate() {
        let Some(c) = comps.get(i) else {
            return false;
        };
        if c.contains("**") {
            return true;
        }
        match Pattern::new(c, false) {
            Ok(p) if p.matches(part) => {}
            _ => return false,
        }
    }
    comps.len() > dir.len()
}

/// The patterns plus the exceptions that keep `.dockerignore` and the Dockerfile (its path
/// relative to the context) in the context, as the docker CLI does, when they would be
/// excluded.
pub fn keep_build_files(patterns: &[String], dockerfile: &str) -> Result<Vec<String>, IgnoreError> {
    let m = IgnoreMatcher::new(patterns)?;
    let mut out = patterns.to_vec();
    if m.excludes(".dockerignore") {
        out.push("!.dockerignore".into());
    }
    let dockerfile = clean(&dockerfile.replace('\\', "/"));
    if m.excludes(&dockerfile) {
        out.push(format!("!{dockerfile}"));
    }
    Ok(out)
}
