//! One logical line to a typed [`Instruction`]: the keyword picks the parser, each parser
//! checks its flags and arguments with docker's rules and messages.

use crate::instruction::Command;

use super::ast::{ArgDecl, From, Heredoc, Instruction, KeyValue, OnBuild};
use super::flags::{Flags, Kind};
use super::split::{json_array, json_or_words, raw_words, split_command, whitespace_words, Json};
use super::suggest::did_you_mean;
use super::{files, run};

/// Every instruction keyword, for "did you mean" hints.
const KEYWORDS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// What a parser gets: the line cut up, plus the heredocs read after it.
pub(super) struct Line<'a> {
    pub keyword: String,
    pub flags: Vec<String>,
    pub args: String,
    pub heredocs: &'a [Heredoc],
    pub escape: char,
    pub original: &'a str,
}

impl Line<'_> {
    pub(super) fn flags(&self, spec: &[(&'static str, Kind)]) -> Result<Flags, String> {
        Flags::parse(&self.flags, spec)
    }

    fn no_flags(&self) -> Result<(), String> {
        self.flags(&[]).map(|_| ())
    }
}

/// Parses one instruction line (continuations already joined).
pub(super) fn parse(text: &str, heredocs: &[Heredoc], escape: char) -> Result<Instruction, String> {
    let (word, flags, args) = split_command(text);
    let line = Line {
        keyword: word.to_ascii_uppercase(),
        flags,
        args,
        heredocs,
        escape,
        original: text,
    };
    let need_one = |what: &str| -> Result<String, String> {
        line.no_flags()?;
        if line.args.is_empty() {
            return Err(format!("{what} requires exactly one argument"));
        }
        Ok(line.args.clone())
    };
    Ok(match line.keyword.as_str() {
        "FROM" => Instruction::From(from(&line)?),
        "ARG" => Instruction::Arg(arg(&line)?),
        "RUN" => Instruction::Run(run::run(&line)?),
        "CMD" => Instruction::Cmd(command(&line)?),
        "ENTRYPOINT" => Instruction::Entrypoint(command(&line)?),
        "HEALTHCHECK" => Instruction::Healthcheck(run::healthcheck(&line)?),
        "ENV" => Instruction::Env(pairs(&line, "ENV")?),
        "LABEL" => Instruction::Label(pairs(&line, "LABEL")?),
        "EXPOSE" => {
            line.no_flags()?;
            let ports = whitespace_words(&line.args);
            if ports.is_empty() {
                return Err("EXPOSE requires at least one argument".into());
            }
            Instruction::Expose(ports)
        }
        "COPY" => Instruction::Copy(files::copy(&line)?),
        "ADD" => Instruction::Add(files::add(&line)?),
        "WORKDIR" => Instruction::Workdir(need_one("WORKDIR")?),
        "USER" => Instruction::User(need_one("USER")?),
        "STOPSIGNAL" => Instruction::StopSignal(need_one("STOPSIGNAL")?),
        "MAINTAINER" => Instruction::Maintainer(need_one("MAINTAINER")?),
        "VOLUME" => {
            line.no_flags()?;
            let vols = json_or_words(&line.args)?;
            if vols.is_empty() {
                return Err("VOLUME requires at least one argument".into());
            }
            if vols.iter().any(|v| v.trim().is_empty()) {
                return Err("VOLUME specified can not be an empty string".into());
            }
            Instruction::Volume(vols)
        }
        "SHELL" => {
            line.no_flags()?;
            match json_array(&line.args)? {
                Json::Array(v) if v.is_empty() => {
                    return Err("SHELL requires at least one argument".into())
                }
                Json::Array(v) => Instruction::Shell(v),
                Json::NotJson if line.args.is_empty() => {
                    return Err("SHELL requires at least one argument".into())
                }
                Json::NotJson => {
                    return Err("SHELL requires the arguments to be in JSON form".into())
                }
            }
        }
        "ONBUILD" => Instruction::OnBuild(onbuild(&line)?),
        _ => {
            return Err(format!(
                "unknown instruction: {word}{}",
                did_you_mean(&word, &KEYWORDS, "")
            ))
        }
    })
}

/// Exec form when the arguments are a JSON array of strings, shell form otherwise.
pub(super) fn maybe_json(args: &str) -> Result<Command, String> {
    Ok(match json_array(args)? {
        Json::Array(v) => Command::Exec(v),
        Json::NotJson if args.is_empty() => Command::Exec(Vec::new()),
        Json::NotJson => Command::Shell(args.to_string()),
    })
}

fn command(line: &Line) -> Result<Command, String> {
    line.no_flags()?;
    maybe_json(&line.args)
}

fn from(line: &Line) -> Result<From, String> {
    let flags = line.flags(&[("platform", Kind::Str)])?;
    let args = whitespace_words(&line.args);
    let name = match args.as_slice() {
        [_] => None,
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
            let lower = name.to_ascii_lowercase();
            let valid = lower.starts_with(|c: char| c.is_ascii_lowercase())
                && lower
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err(format!(
                    "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                ));
            }
            Some(lower)
        }
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    Ok(From {
        image: args[0].clone(),
        name,
        platform: flags.string("platform"),
    })
}

fn arg(line: &Line) -> Result<Vec<ArgDecl>, String> {
    line.no_flags()?;
    let words = raw_words(&line.args, line.escape);
    if words.is_empty() {
        return Err("ARG requires at least one argument".into());
    }
    words
        .into_iter()
        .map(|w| {
            let (name, default) = match w.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (w, None),
            };
            if name.is_empty() {
                return Err("ARG names can not be blank".to_string());
            }
            Ok(ArgDecl { name, default })
        })
        .collect()
}

/// ENV and LABEL: `k=v …`, or the legacy `k value…` when the first word has no `=`.
fn pairs(line: &Line, what: &str) -> Result<Vec<KeyValue>, String> {
    line.no_flags()?;
    let words = raw_words(&line.args, line.escape);
    let Some(first) = words.first() else {
        return Err(format!("{what} requires at least one argument"));
    };
    if !first.contains('=') {
        let Some((key, value)) = line.args.split_once(|c: char| c.is_whitespace()) else {
            return Err(format!("{what} must have two arguments"));
        };
        return Ok(vec![KeyValue {
            key: key.to_string(),
            value: value.trim_start().to_string(),
        }]);
    }
    words
        .iter()
        .map(|w| {
            let Some((key, value)) = w.split_once('=') else {
                return Err(format!(
                    "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
                ));
            };
            if key.is_empty() {
                return Err(format!("{what} names can not be blank"));
            }
            Ok(KeyValue {
                key: key.to_string(),
                value: value.to_string(),
            })
        })
        .collect()
}

fn onbuild(line: &Line) -> Result<OnBuild, String> {
    line.no_flags()?;
    if line.args.is_empty() {
        return Err("ONBUILD requires at least one argument".into());
    }
    let trigger = line
        .args
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    match trigger.as_str() {
        "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
        "FROM" | "MAINTAINER" => {
            return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"))
        }
        _ => {}
    }
    let inner = parse(&line.args, line.heredocs, line.escape)?;
    // The image records the trigger's own text, after the ONBUILD keyword.
    let original = line.original.trim_start();
    let mut expression = original
        .get("ONBUILD".len()..)
        .unwrap_or_default()
        .trim_start()
        .to_string();
    for h in line.heredocs {
        expression.push('\n');
        expression.push_str(&h.content);
        expression.push_str(&h.name);
    }
    Ok(OnBuild {
        expression,
        trigger: Box::new(inner),
    })
}
