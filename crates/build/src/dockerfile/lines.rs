//! From text to logical lines: parser directives at the top, comments and blank lines
//! dropped, continuation lines joined (skipping comment and empty lines inside a
//! continuation, as BuildKit does), and heredoc bodies collected after the line naming them.

use super::ast::Heredoc;
use super::directives::{DirectiveParser, Directives};
use super::error::DockerfileError;
use super::heredoc;

/// One instruction's text with where it came from.
pub(super) struct LogicalLine {
    /// First physical line, 1-based.
    pub start: usize,
    /// Last physical line, heredoc bodies and terminators included.
    pub end: usize,
    /// The instruction, continuation lines joined.
    pub text: String,
    /// Heredocs named on the line, bodies filled in.
    pub heredocs: Vec<Heredoc>,
}

/// The Dockerfile cut into logical lines.
pub(super) struct Split {
    pub directives: Directives,
    pub escape: char,
    pub lines: Vec<LogicalLine>,
}

pub(super) fn split(src: &str) -> Result<Split, DockerfileError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    // Like Go's line scanner: `\n` ends a line, a `\r` before it is dropped, and a final
    // newline does not start another line.
    let phys: Vec<&str> = src
        .strip_suffix('\n')
        .unwrap_or(src)
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let phys: &[&str] = if src.is_empty() { &[] } else { &phys };
    let mut directives = DirectiveParser::default();
    let mut escape = '\\';
    let mut lines = Vec::new();
    let mut i = 0;
    while i < phys.len() {
        let first = phys[i].trim_start();
        i += 1;
        let start = i;
        if let Some(e) = directives.feed(first, start)? {
            escape = e;
        }
        if first.starts_with('#') {
            continue;
        }
        let (part, mut more) = trim_continuation(first, escape);
        if !more && part.trim().is_empty() {
            continue;
        }
        let mut text = part.to_string();
        while more && i < phys.len() {
            let line = phys[i];
            i += 1;
            let trimmed = line.trim_start();
            // Comments and empty lines inside a continuation are skipped, not joined.
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let (part, again) = trim_continuation(line, escape);
            text.push_str(part);
            more = again;
        }
        let mut logical = LogicalLine {
            start,
            end: i,
            text: text.clone(),
            heredocs: Vec::new(),
        };
        if carries_heredocs(&text) {
            let found = heredoc::find(&text).map_err(|e| DockerfileError::at(start, &text, e))?;
            for mut doc in found {
                i = read_body(phys, i, &mut doc)
                    .ok_or_else(|| DockerfileError::at(start, &text, "unterminated heredoc"))?;
                logical.heredocs.push(doc);
            }
            logical.end = i;
        }
        lines.push(logical);
    }
    Ok(Split {
        directives: directives.found,
        escape,
        lines,
    })
}

/// Strips a trailing escape character (and blanks after it); true when the line continues.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (line, false),
    }
}

/// RUN, COPY and ADD lines, directly or as an ONBUILD trigger, may name heredocs.
fn carries_heredocs(text: &str) -> bool {
    let mut words = text.split_whitespace().map(str::to_ascii_uppercase);
    match words.next().as_deref() {
        Some("ONBUILD") => words.next().is_some_and(|w| heredoc::allows_heredocs(&w)),
        Some(w) => heredoc::allows_heredocs(w),
        None => false,
    }
}

/// Reads a heredoc body from line index `i` up to its terminator; returns the index after
/// the terminator, or `None` when the file ends first.
fn read_body(phys: &[&str], mut i: usize, doc: &mut Heredoc) -> Option<usize> {
    while i < phys.len() {
        let line = phys[i];
        i += 1;
        // With `<<-`, the terminator and every body line may be indented with tabs.
        let candidate = if doc.chomp {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if candidate == doc.name {
            return Some(i);
        }
        doc.content.push_str(candidate);
        doc.content.push('\n');
    }
    None
}
