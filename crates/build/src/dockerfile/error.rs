//! The Dockerfile parser's error: where (file and line), what was written there, and why.

use std::fmt;

/// A Dockerfile that cannot be parsed. Displays as
/// `Dockerfile:3: unknown instruction: FORM (did you mean FROM?)` followed by the offending
/// line, so the user sees both where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileError {
    /// The Dockerfile's name as the user knows it (`Dockerfile` unless renamed).
    pub file: String,
    /// First line of the offending instruction, 1-based; 0 when the error is about the whole
    /// file (e.g. it has no instructions).
    pub line: usize,
    /// The offending text (the instruction, joined across continuation lines).
    pub text: String,
    /// What is wrong, in docker's words where docker has them.
    pub message: String,
}

impl DockerfileError {
    pub(crate) fn at(line: usize, text: &str, message: impl Into<String>) -> Self {
        DockerfileError {
            file: "Dockerfile".into(),
            line,
            text: text.trim().to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn whole(message: impl Into<String>) -> Self {
        Self::at(0, "", message)
    }

    /// The same error, naming the Dockerfile `file` (e.g. `build/app.Dockerfile`).
    pub fn in_file(mut self, file: &str) -> Self {
        self.file = file.to_string();
        self
    }
}

impl fmt::Display for DockerfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(f, "{}:{}: {}", self.file, self.line, self.message)?;
        if !self.text.is_empty() {
            write!(f, "\n{:>5} | {}", self.line, self.text)?;
        }
        Ok(())
    }
}

impl std::error::Error for DockerfileError {}
