//! Build arguments and their scopes, as docker defines them:
//!
//! - ARGs before the first FROM form the global scope, usable in FROM lines only; a stage
//!   sees one only after declaring it again (`ARG NAME` without a value takes the global
//!   value).
//! - `--build-arg` values override defaults, but only for declared ARGs.
//! - The proxy args are predefined: they reach RUN without being declared.
//! - The platform args (`TARGETPLATFORM`, `BUILDOS`, …) are set automatically in the
//!   global scope.
//! - ENV always overrides an ARG of the same name.

mod platform;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use platform::{platform_args, Platform, PLATFORM_ARGS};

use crate::dockerfile::ArgDecl;
use crate::lex::{LexError, Lexer};

/// The predefined args: usable without an ARG instruction, passed to RUN when given as
/// build args, and kept out of the image's history unless declared.
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Whether `name` is one of the predefined proxy args (case-sensitive, as docker).
pub fn is_predefined(name: &str) -> bool {
    PROXY_ARGS.contains(&name)
}

/// Variables by name, as the lexer reads them.
pub type Vars = BTreeMap<String, String>;

/// The value an `ARG` gets: a build arg if given, else its default expanded in `scope`,
/// else `fallback` (the global value, for a stage re-declaring a global ARG).
fn arg_value(
    decl: &ArgDecl,
    build_args: &Vars,
    scope: &Vars,
    fallback: Option<&String>,
    escape: char,
) -> Result<Option<String>, LexError> {
    if let Some(v) = build_args.get(&decl.name) {
        return Ok(Some(v.clone()));
    }
    match &decl.default {
        Some(d) => Lexer::new(escape).process_word(d, scope).map(Some),
        None => Ok(fallback.cloned()),
    }
}

/// The global scope: the automatic platform args, then each ARG before the first FROM in
/// order (a default may use the ones before it). What FROM lines expand against.
pub fn global_scope(
    global_args: &[ArgDecl],
    build_args: &Vars,
    platform: &Vars,
    escape: char,
) -> Result<Vars, LexError> {
    let mut scope = platform.clone();
    for decl in global_args {
        let fallback = scope.get(&decl.name).cloned();
        if let Some(v) = arg_value(decl, build_args, &scope, fallback.as_ref(), escape)? {
            scope.insert(decl.name.clone(), v);
        }
    }
    Ok(scope)
}

/// What one stage sees while it is built: its declared ARGs and its ENVs (the base image's
/// and its own).
#[derive(Debug, Clone)]
pub struct StageScope<'a> {
    global: &'a Vars,
    build_args: &'a Vars,
    args: Vars,
    env: Vars,
}

impl<'a> StageScope<'a> {
    /// A stage starting from a base image whose config has `base_env`.
    pub fn new(
        global: &'a Vars,
        build_args: &'a Vars,
        base_env: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        StageScope {
            global,
            build_args,
            args: Vars::new(),
            env: base_env.into_iter().collect(),
        }
    }

    /// Applies an `ARG` of this stage.
    pub fn declare(&mut self, decl: &ArgDecl, escape: char) -> Result<(), LexError> {
        let scope = self.expansion_env();
        let global = self.global.get(&decl.name);
        if let Some(v) = arg_value(decl, self.build_args, &scope, global, escape)? {
            self.args.insert(decl.name.clone(), v);
        }
        Ok(())
    }

    /// Applies an `ENV` (already expanded).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.insert(key.to_string(), value.to_string());
    }

    /// The ENVs: what goes into the image config.
    pub fn env(&self) -> &Vars {
        &self.env
    }

    /// The declared ARGs that have values.
    pub fn args(&self) -> &Vars {
        &self.args
    }

    /// What the stage's instructions expand against: ARGs, then ENVs over them.
    pub fn expansion_env(&self) -> Vars {
        let mut all = self.args.clone();
        all.extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    /// The environment of a RUN: the expansion environment plus the proxy args given as
    /// build args, which need no declaration.
    pub fn run_env(&self) -> Vars {
        let mut all = self.expansion_env();
        for (k, v) in self.build_args {
            if is_predefined(k) {
                all.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        all
    }
}
