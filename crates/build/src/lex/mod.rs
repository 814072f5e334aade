//! Variable substitution and quote removal in Dockerfile words, with the semantics of
//! BuildKit's shell lexer: `$VAR`, `${VAR}`, the `-` `+` `?` operators with and without `:`,
//! the `#` `%` `/` pattern operators, single and double quotes, and the escape character.
//!
//! The builder runs this over the words of ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL,
//! USER, VOLUME and WORKDIR (see [`crate::expand`]); RUN, CMD and ENTRYPOINT are left to the
//! container's own shell.
//!
//! This file holds the settings and the entry points; `shell` walks the characters.

mod pattern;
mod shell;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Where the lexer looks variables up: the stage's ARGs and ENVs.
pub trait Env {
    /// The value of `name`, or `None` when it is not set (which differs from set-but-empty).
    fn get_var(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// An environment with nothing set.
pub struct NoEnv;

impl Env for NoEnv {
    fn get_var(&self, _: &str) -> Option<&str> {
        None
    }
}

/// A word the lexer could not process, e.g. `${X:?}` with `X` unset or an unclosed quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {word:?}: {reason}")]
pub struct LexError {
    /// The word as written.
    pub word: String,
    /// What went wrong, in BuildKit's words (`X: is not allowed to be unset`).
    pub reason: String,
}

/// The lexer's settings. [`Lexer::new`] gives the builder's: quotes and escapes removed,
/// unset variables empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    /// The Dockerfile's escape character (`\` or `` ` ``).
    pub escape: char,
    /// Keep quote characters in the output (used to find heredoc words).
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Leave references to unset variables as written instead of expanding them to "".
    pub skip_unset: bool,
    /// Treat quotes as ordinary characters (heredoc bodies: only `$` and escapes count).
    pub skip_quotes: bool,
}

impl Lexer {
    /// The builder's lexer for a Dockerfile whose escape character is `escape`.
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
            skip_quotes: false,
        }
    }

    /// Expands `word` as one word: whitespace, even unquoted, stays in it.
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, LexError> {
        self.run(word, env).map(|(w, _)| w)
    }

    /// Expands `word` and splits the result on unquoted whitespace, including whitespace that
    /// came from a variable's value (EXPOSE uses this, so `EXPOSE $PORTS` can give several).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, LexError> {
        self.run(word, env).map(|(_, ws)| ws)
    }

    fn run(&self, word: &str, env: &dyn Env) -> Result<(String, Vec<String>), LexError> {
        shell::run(self, word, env).map_err(|reason| LexError {
            word: word.to_string(),
            reason,
        })
    }
}
