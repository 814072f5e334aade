//! The Dockerfile front end: text to a [`Dockerfile`] of parser directives, global ARGs and
//! stages of typed instructions, each with its line numbers, following BuildKit's
//! dockerfile frontend (syntax 1.7+).
//!
//! Pieces: `lines` cuts the text into logical lines (directives, comments, continuations,
//! heredoc bodies); `instructions` with `run`, `files` and `mount` types each line;
//! this module groups them into stages.

mod ast;
mod directives;
mod error;
mod files;
mod flags;
mod heredoc;
mod instructions;
mod lines;
mod mount;
mod run;
mod split;
mod suggest;
#[cfg(test)]
mod tests;

pub use ast::{
    Add, ArgDecl, Copy, From, Heredoc, Instruction, KeyValue, Mount, MountType, Network, OnBuild,
    Run, Security, Sharing, Source,
};
pub use directives::{Directive, Directives};
pub use error::DockerfileError;

/// One instruction and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// First line, 1-based.
    pub line: usize,
    /// Last line (after continuations and heredoc bodies).
    pub end_line: usize,
    /// The instruction's text, continuation lines joined (heredoc bodies not included).
    pub source: String,
    /// The instruction.
    pub instruction: Instruction,
}

/// A build stage: a FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position among the stages, 0-based (what `COPY --from=0` refers to).
    pub index: usize,
    /// The FROM.
    pub from: From,
    /// The FROM's line, 1-based.
    pub line: usize,
    /// The FROM's text.
    pub source: String,
    /// The stage's instructions after FROM, in order.
    pub steps: Vec<Step>,
}

impl Stage {
    /// The stage's `AS` name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.from.name.as_deref()
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The parser directives at the top.
    pub directives: Directives,
    /// The escape character in effect (`\` unless `# escape=` said otherwise).
    pub escape: char,
    /// The ARGs before the first FROM: usable in FROM lines, and inside a stage that
    /// declares them again.
    pub global_args: Vec<Step>,
    /// The stages, in order; never empty.
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// Every name declared by the ARGs before the first FROM, in order.
    pub fn global_arg_decls(&self) -> Vec<ArgDecl> {
        self.global_args
            .iter()
            .filter_map(|s| match &s.instruction {
                Instruction::Arg(decls) => Some(decls.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

/// Parses a Dockerfile.
pub fn parse(src: &str) -> Result<Dockerfile, DockerfileError> {
    let split = lines::split(src)?;
    if split.lines.is_empty() {
        return Err(DockerfileError::whole("file with no instructions"));
    }
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for l in split.lines {
        let instruction = instructions::parse(&l.text, &l.heredocs, split.escape)
            .map_err(|m| DockerfileError::at(l.start, &l.text, m))?;
        let step = Step {
            line: l.start,
            end_line: l.end,
            source: l.text.trim().to_string(),
            instruction,
        };
        match (step.instruction, stages.last_mut()) {
            (Instruction::From(from), _) => stages.push(Stage {
                index: stages.len(),
                from,
                line: step.line,
                source: step.source,
                steps: Vec::new(),
            }),
            (instruction @ Instruction::Arg(_), None) => global_args.push(Step {
                instruction,
                ..step
            }),
            (_, None) => {
                return Err(DockerfileError::at(
                    step.line,
                    &step.source,
                    "no build stage in current context (only ARG may come before the first FROM)",
                ))
            }
            (instruction, Some(stage)) => stage.steps.push(Step {
                instruction,
                ..step
            }),
        }
    }
    if stages.is_empty() {
        return Err(DockerfileError::whole(
            "dockerfile contains no stages to build",
        ));
    }
    Ok(Dockerfile {
        directives: split.directives,
        escape: split.escape,
        global_args,
        stages,
    })
}
