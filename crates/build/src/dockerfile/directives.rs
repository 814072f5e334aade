//! Parser directives: `# syntax=`, `# escape=` and `# check=` comments at the very top of a
//! Dockerfile. As in BuildKit, they are looked for only until the first line that is not a
//! known directive (a comment, a blank line, an instruction, or an unknown directive, which
//! is then just a comment); a directive may appear once.

use super::error::DockerfileError;

/// One parser directive as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The value after `=`, surrounding whitespace removed.
    pub value: String,
    /// Its line, 1-based.
    pub line: usize,
}

/// The directives a Dockerfile declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=docker/dockerfile:1`: the frontend image BuildKit would use. Berth has its
    /// own front end, so callers can only note it.
    pub syntax: Option<Directive>,
    /// `# escape=` with `\` or `` ` ``.
    pub escape: Option<Directive>,
    /// `# check=skip=…;error=true`: BuildKit's lint settings, recorded so callers can say they
    /// are not applied.
    pub check: Option<Directive>,
}

/// Reads directives line by line until the first line that is not one.
#[derive(Default)]
pub(super) struct DirectiveParser {
    pub(super) found: Directives,
    done: bool,
}

impl DirectiveParser {
    /// Looks at one physical line (leading whitespace already removed). Returns the escape
    /// character when this line set it.
    pub(super) fn feed(&mut self, line: &str, no: usize) -> Result<Option<char>, DockerfileError> {
        if self.done {
            return Ok(None);
        }
        let Some((name, value)) = split_directive(line) else {
            self.done = true;
            return Ok(None);
        };
        let found = &mut self.found;
        let slot = match name.as_str() {
            "syntax" => &mut found.syntax,
            "escape" => &mut found.escape,
            "check" => &mut found.check,
            _ => {
                self.done = true;
                return Ok(None);
            }
        };
        if slot.is_some() {
            return Err(DockerfileError::at(
                no,
                line,
                format!("only one {name} parser directive can be used"),
            ));
        }
        *slot = Some(Directive {
            value: value.to_string(),
            line: no,
        });
        if name != "escape" {
            return Ok(None);
        }
        match value {
            "\\" => Ok(Some('\\')),
            "`" => Ok(Some('`')),
            _ => Err(DockerfileError::at(
                no,
                line,
                format!("invalid ESCAPE '{value}'. Must be ` or \\"),
            )),
        }
    }
}

/// `#\s*name\s*=\s*value` with a name of a letter then letters or digits; the name is
/// lower-cased (directives are case-insensitive).
fn split_directive(line: &str) -> Option<(String, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[name_len..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value))
}
