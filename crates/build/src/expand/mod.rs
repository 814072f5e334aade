//! Which instructions the builder expands, and expanding them: variable substitution and
//! quote removal over the words docker expands, with the ARGs and ENVs in effect at that
//! step. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and MAINTAINER are left as written (the
//! container's shell does its own expansion), and so is an ONBUILD trigger, which expands
//! when a later build runs it.

#[cfg(test)]
mod tests;

use crate::dockerfile::{Add, Copy, From, Heredoc, Instruction, KeyValue, Source};
use crate::instruction::expand_port;
use crate::lex::{Env, LexError, Lexer};

/// Keywords whose arguments the builder expands (ARG's defaults included, as BuildKit does).
pub const EXPANDED: [&str; 11] = [
    "ADD",
    "ARG",
    "COPY",
    "ENV",
    "EXPOSE",
    "FROM",
    "LABEL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Whether the builder expands variables in `keyword`'s arguments (case-insensitive).
pub fn expands(keyword: &str) -> bool {
    EXPANDED.iter().any(|k| k.eq_ignore_ascii_case(keyword))
}

/// An instruction whose words cannot be expanded, or whose expanded words are invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A bad substitution or quote.
    #[error(transparent)]
    Lex(#[from] LexError),
    /// The expanded value is not acceptable (an empty FROM, a bad port).
    #[error("{0}")]
    Invalid(String),
}

/// Expands `words` of instruction `keyword` as docker does: each word separately, quotes
/// removed; EXPOSE words may split into several (`EXPOSE $PORTS`); words of instructions
/// that do not expand come back unchanged.
pub fn expand_words(
    keyword: &str,
    words: &[String],
    env: &dyn Env,
    escape: char,
) -> Result<Vec<String>, LexError> {
    let lx = Lexer::new(escape);
    if keyword.eq_ignore_ascii_case("EXPOSE") {
        let mut out = Vec::new();
        for w in words {
            out.extend(lx.process_words(w, env)?);
        }
        return Ok(out);
    }
    if !expands(keyword) {
        return Ok(words.to_vec());
    }
    words.iter().map(|w| lx.process_word(w, env)).collect()
}

/// `instruction` with its words expanded against `env`: final values, ready to apply. EXPOSE
/// ports are normalized to `port/proto` with ranges spelled out.
pub fn expand_instruction(
    instruction: &Instruction,
    env: &dyn Env,
    escape: char,
) -> Result<Instruction, ExpandError> {
    let lx = Lexer::new(escape);
    let word = |w: &str| lx.process_word(w, env);
    let opt = |w: &Option<String>| w.as_deref().map(word).transpose();
    let pairs = |kvs: &[KeyValue]| -> Result<Vec<KeyValue>, LexError> {
        kvs.iter()
            .map(|kv| {
                Ok(KeyValue {
                    key: word(&kv.key)?,
                    value: word(&kv.value)?,
                })
            })
            .collect()
    };
    Ok(match instruction {
        Instruction::From(f) => {
            let image = word(&f.image)?;
            if image.is_empty() {
                return Err(ExpandError::Invalid(format!(
                    "base name ({}) should not be blank",
                    f.image
                )));
            }
            Instruction::From(From {
                image,
                name: f.name.clone(),
                platform: opt(&f.platform)?,
            })
        }
        Instruction::Arg(decls) => {
            let mut out = decls.clone();
            for d in &mut out {
                d.default = opt(&d.default)?;
            }
            Instruction::Arg(out)
        }
        Instruction::Env(kvs) => Instruction::Env(pairs(kvs)?),
        Instruction::Label(kvs) => Instruction::Label(pairs(kvs)?),
        Instruction::Expose(words) => {
            let mut ports = Vec::new();
            for spec in expand_words("EXPOSE", words, env, escape)? {
                ports.extend(expand_port(&spec).map_err(ExpandError::Invalid)?);
            }
            Instruction::Expose(ports)
        }
        Instruction::Copy(c) => Instruction::Copy(Copy {
            sources: sources(&c.sources, &lx, env)?,
            dest: word(&c.dest)?,
            from: opt(&c.from)?,
            chown: opt(&c.chown)?,
            chmod: opt(&c.chmod)?,
            excludes: c
                .excludes
                .iter()
                .map(|e| word(e))
                .collect::<Result<_, _>>()?,
            ..c.clone()
        }),
        Instruction::Add(a) => Instruction::Add(Add {
            sources: sources(&a.sources, &lx, env)?,
            dest: word(&a.dest)?,
            chown: opt(&a.chown)?,
            chmod: opt(&a.chmod)?,
            checksum: opt(&a.checksum)?,
            excludes: a
                .excludes
                .iter()
                .map(|e| word(e))
                .collect::<Result<_, _>>()?,
            ..a.clone()
        }),
        Instruction::Workdir(w) => Instruction::Workdir(word(w)?),
        Instruction::User(u) => Instruction::User(word(u)?),
        Instruction::StopSignal(s) => Instruction::StopSignal(word(s)?),
        Instruction::Volume(v) => {
            let vols = v.iter().map(|w| word(w)).collect::<Result<Vec<_>, _>>()?;
            if vols.iter().any(|v| v.trim().is_empty()) {
                return Err(ExpandError::Invalid(
                    "VOLUME specified can not be an empty string".into(),
                ));
            }
            Instruction::Volume(vols)
        }
        other => other.clone(),
    })
}

/// COPY/ADD sources: paths expanded like other words; a heredoc body with an unquoted
/// delimiter has its `$` references expanded but its quotes kept, as BuildKit does.
fn sources(srcs: &[Source], lx: &Lexer, env: &dyn Env) -> Result<Vec<Source>, LexError> {
    let body = Lexer {
        skip_quotes: true,
        ..Lexer::new('\\')
    };
    srcs.iter()
        .map(|s| {
            Ok(match s {
                Source::Path(p) => Source::Path(lx.process_word(p, env)?),
                Source::Heredoc(h) if h.expand => Source::Heredoc(Heredoc {
                    content: body.process_word(&h.content, env)?,
                    ..h.clone()
                }),
                Source::Heredoc(h) => Source::Heredoc(h.clone()),
            })
        })
        .collect()
}
