//! The stage graph: which stage each stage is built on (`FROM <stage>`) and which it reads
//! from (`COPY --from=<stage|index>`, `RUN --mount=from=<stage>`), and the stages a
//! `--target` needs, dependencies first. Stages nothing needs are not built.
//!
//! As in BuildKit: FROM refers to an earlier stage by name (otherwise it names an image);
//! `--from` may name any stage or give its index (otherwise it names an image); a stage
//! name used twice refers to the latest definition seen; cycles are errors.

#[cfg(test)]
mod tests;

use crate::dockerfile::{Dockerfile, Instruction, MountType, Stage};
use crate::lex::{Env, LexError, Lexer};

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `FROM scratch`: an empty filesystem.
    Scratch,
    /// An image reference, global ARGs expanded.
    Image(String),
    /// An earlier stage, by index.
    Stage(usize),
}

/// One stage's place in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageNode {
    /// The stage's index.
    pub index: usize,
    /// Its `AS` name.
    pub name: Option<String>,
    /// What it is built on.
    pub base: Base,
    /// Stages it needs (its base stage and every `--from` stage), ascending, no repeats.
    pub deps: Vec<usize>,
    /// Images it reads from with `--from` (not its base), in order, no repeats.
    pub images: Vec<String>,
    /// `FROM --platform`, global ARGs expanded.
    pub platform: Option<String>,
}

/// A Dockerfile whose stage references cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    /// `--target` names no stage.
    #[error("target stage {0:?} could not be found")]
    TargetNotFound(String),
    /// Stages that need each other.
    #[error("circular dependency detected on stage: {0}")]
    Cycle(String),
    /// A bad reference (an index out of range, an empty base name).
    #[error("{0}")]
    Invalid(String),
    /// A FROM or `--from` that cannot be expanded.
    #[error(transparent)]
    Lex(#[from] LexError),
}

/// The stages of a Dockerfile and how they depend on each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageGraph {
    /// One node per stage, by index.
    pub nodes: Vec<StageNode>,
}

impl StageGraph {
    /// Resolves every stage's base and `--from` references; `global` is the global ARG
    /// scope (see [`crate::args::global_scope`]), which FROM and `--from` expand against.
    pub fn new(df: &Dockerfile, global: &dyn Env) -> Result<Self, StageError> {
        let lx = Lexer::new(df.escape);
        let mut nodes: Vec<StageNode> = Vec::new();
        for stage in &df.stages {
            let image = lx.process_word(&stage.from.image, global)?;
            let base = if image.is_empty() {
                return Err(StageError::Invalid(format!(
                    "base name ({}) should not be blank",
                    stage.from.image
                )));
            } else if image == "scratch" {
                Base::Scratch
            } else {
                // Only stages defined before this one count, the latest first.
                match find_name(&df.stages[..stage.index], &image) {
                    Some(i) => Base::Stage(i),
                    None => Base::Image(image),
                }
            };
            let mut node = StageNode {
                index: stage.index,
                name: stage.from.name.clone(),
                base,
                deps: Vec::new(),
                images: Vec::new(),
                platform: match &stage.from.platform {
                    Some(p) => Some(lx.process_word(p, global)?).filter(|p| !p.is_empty()),
                    None => None,
                },
            };
            if let Base::Stage(i) = node.base {
                node.deps.push(i);
            }
            for from in from_references(stage) {
                let from = lx.process_word(&from, global)?;
                match resolve(df, &from)? {
                    Some(i) => node.deps.push(i),
                    None if !node.images.contains(&from) => node.images.push(from),
                    None => {}
                }
            }
            node.deps.sort_unstable();
            node.deps.dedup();
            nodes.push(node);
        }
        let graph = StageGraph { nodes };
        for i in 0..graph.nodes.len() {
            graph.order_from(i)?;
        }
        Ok(graph)
    }

    /// The stage `name_or_index` names: a stage name (case-insensitive, the last one
    /// defined) or an index.
    pub fn find(&self, name_or_index: &str) -> Option<usize> {
        if let Ok(i) = name_or_index.parse::<usize>() {
            return (i < self.nodes.len()).then_some(i);
        }
        let lower = name_or_index.to_ascii_lowercase();
        self.nodes
            .iter()
            .rev()
            .find(|n| n.name.as_deref() == Some(lower.as_str()))
            .map(|n| n.index)
    }

    /// The stage a build produces: the named `--target`, or the last stage.
    pub fn target(&self, target: Option<&str>) -> Result<usize, StageError> {
        match target {
            None => Ok(self.nodes.len().saturating_sub(1)),
            Some(t) => {
                let lower = t.to_ascii_lowercase();
                self.nodes
                    .iter()
                    .rev()
                    .find(|n| n.name.as_deref() == Some(lower.as_str()))
                    .map(|n| n.index)
                    .ok_or_else(|| StageError::TargetNotFound(t.to_string()))
            }
        }
    }

    /// The stages to build for `target` (see [`StageGraph::target`]), each after the
    /// stages it needs, ending with the target. Stages nothing needs are left out.
    pub fn build_order(&self, target: Option<&str>) -> Result<Vec<usize>, StageError> {
        self.order_from(self.target(target)?)
    }

    fn order_from(&self, target: usize) -> Result<Vec<usize>, StageError> {
        let mut order = Vec::new();
        let mut state = vec![Mark::New; self.nodes.len()];
        self.visit(target, &mut state, &mut order)?;
        Ok(order)
    }

    /// Depth-first, dependencies before the stage; a stage met again while its own
    /// dependencies are being visited closes a cycle.
    fn visit(
        &self,
        i: usize,
        state: &mut [Mark],
        order: &mut Vec<usize>,
    ) -> Result<(), StageError> {
        match state[i] {
            Mark::Done => return Ok(()),
            Mark::Visiting => return Err(StageError::Cycle(self.label(i))),
            Mark::New => {}
        }
        state[i] = Mark::Visiting;
        for &d in &self.nodes[i].deps {
            self.visit(d, state, order)?;
        }
        state[i] = Mark::Done;
        order.push(i);
        Ok(())
    }

    fn label(&self, i: usize) -> String {
        self.nodes[i].name.clone().unwrap_or_else(|| i.to_string())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Visiting,
    Done,
}

/// The latest stage among `stages` named `name` (case-insensitive).
fn find_name(stages: &[Stage], name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    stages
        .iter()
        .rev()
        .find(|s| s.name() == Some(lower.as_str()))
        .map(|s| s.index)
}

/// A `--from` value: a stage index, a stage name, or else an image (`None`).
/// A stage reading from itself is caught later, as a cycle.
fn resolve(df: &Dockerfile, from: &str) -> Result<Option<usize>, StageError> {
    if let Ok(i) = from.parse::<usize>() {
        if i >= df.stages.len() {
            return Err(StageError::Invalid(format!("invalid stage index {i}")));
        }
        return Ok(Some(i));
    }
    Ok(find_name(&df.stages, from))
}

/// The `--from` values of a stage's COPY and bind/cache mounts, as written.
fn from_references(stage: &Stage) -> Vec<String> {
    let mut out = Vec::new();
    for step in &stage.steps {
        match &step.instruction {
            Instruction::Copy(c) => out.extend(c.from.clone()),
            Instruction::Run(r) => out.extend(
                r.mounts
                    .iter()
                    .filter(|m| matches!(m.kind, MountType::Bind | MountType::Cache))
                    .filter_map(|m| m.from.clone()),
            ),
            _ => {}
        }
    }
    out
}
