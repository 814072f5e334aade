//! What the builder needs from an engine, as a trait the daemon implements: resolve a base
//! image, run a command on an image, copy files onto one, record a config-only step, and
//! remember steps in the cache. Every step makes an image (as docker's classic builder does),
//! named by its ID; the builder only ever holds IDs and the few config fields it reads.

use std::io::Write;
use std::path::PathBuf;

use crate::instruction::Instruction as Change;

/// The image a step starts from or made: its ID (empty for `scratch`) and what of its config
/// the builder itself reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Image {
    /// `sha256:…`, or empty for `scratch`.
    pub id: String,
    /// `KEY=value`, in order.
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    /// The image's SHELL; empty for the default `["/bin/sh", "-c"]`.
    pub shell: Vec<String>,
    /// The image's ONBUILD triggers, run by the stages built FROM it.
    pub on_build: Vec<String>,
}

/// A RUN step.
#[derive(Debug, Clone)]
pub struct RunStep {
    pub parent: Image,
    /// The process's argv (the shell and its script for the shell form).
    pub argv: Vec<String>,
    /// The environment: the image's and the build args in effect.
    pub env: Vec<String>,
    /// `--network`: `default`, `none` or `host`; the build's `--network` when not given.
    pub network: String,
    /// `--add-host` entries (`name:ip`).
    pub extra_hosts: Vec<String>,
    /// Bind and tmpfs mounts for the step only (`RUN --mount`).
    pub mounts: Vec<StepMount>,
    /// What `history` shows for the step.
    pub created_by: String,
    /// The step's key without its parent, kept in its history entry: what `--cache-from`
    /// matches a step of another image by.
    pub step: String,
}

/// A mount a RUN step gets and its image does not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepMount {
    /// A host directory or file bound at `target`.
    Bind {
        source: PathBuf,
        target: String,
        read_only: bool,
    },
    /// An empty tmpfs at `target`.
    Tmpfs { target: String, size: Option<u64> },
    /// A path of an image's (or a stage's) root filesystem bound at `target`
    /// (`--mount=type=bind,from=…`).
    ImageBind {
        image: String,
        source: String,
        target: String,
        read_only: bool,
    },
}

/// Where a COPY's sources are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyFrom {
    /// The build context, extracted at this directory.
    Context(PathBuf),
    /// The root filesystem of an image (`--from=stage|image`).
    Image(String),
}

/// One file or directory a COPY or ADD writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyItem {
    /// The source, relative to its root (the context, or the `--from` image's root).
    pub source: String,
    /// The absolute destination. A directory source's contents go into it; a file is
    /// written as it, or into it under its own name when `into_dir`.
    pub dest: String,
    /// The destination is a directory (it ends with `/`): files go into it.
    pub into_dir: bool,
    /// ADD of a local tar archive: extracted into `dest` rather than copied.
    pub extract: bool,
    /// Read `source` from this directory instead of the step's `from` (files the builder
    /// made: heredocs, `--exclude` copies).
    pub root: Option<PathBuf>,
}

/// A COPY or ADD step (heredoc files are written into the context first).
#[derive(Debug, Clone)]
pub struct CopyStep {
    pub parent: Image,
    pub from: CopyFrom,
    pub items: Vec<CopyItem>,
    /// `--chown=user:group`, resolved by the engine in the image's /etc/passwd and group.
    pub chown: Option<String>,
    /// `--chmod`, an octal mode.
    pub chmod: Option<u32>,
    /// What `history` shows for the step.
    pub created_by: String,
    /// As [`RunStep::step`].
    pub step: String,
}

/// An engine's failure, told to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// A RUN that ran and failed: docker's message names the command and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    Image(Image),
    Failed { code: i64 },
}

pub trait Backend: Sync {
    /// The image `name` (`FROM name`, `COPY --from=name`), for `platform` when given.
    fn image(&self, name: &str, platform: Option<&str>) -> Result<Image, BackendError>;

    /// Runs `step` in a container of its parent, streaming its output to `output`; a
    /// success is committed as a new image.
    fn run(&self, step: &RunStep, output: &mut dyn Write) -> Result<RunOutcome, BackendError>;

    /// Copies files onto the parent as a new image.
    fn copy(&self, step: &CopyStep) -> Result<Image, BackendError>;

    /// A step that changes only the config (`ENV`, `CMD`, …): `changes` applied to the
    /// parent's config, with an empty layer.
    fn change(
        &self,
        parent: &Image,
        changes: &[Change],
        created_by: &str,
    ) -> Result<Image, BackendError>;

    /// The image cached under `key`, if it still exists.
    fn cached(&self, key: &str) -> Option<Image>;

    /// `--cache-from`: the image `step` (a [`RunStep::step`]) on `parent` makes, when an
    /// image the build may take its cache from has `parent`'s history and layers followed by
    /// that step's layer. `None` when no such image has it.
    fn cache_source(&self, parent: &Image, step: &str) -> Result<Option<Image>, BackendError> {
        let _ = (parent, step);
        Ok(None)
    }

    /// Records cache entries (`key`, image ID) made by a build.
    fn remember(&self, entries: &[(String, String)]) -> Result<(), BackendError>;

    /// A note a build left under `key` (a COPY's file list), for the next build.
    fn note(&self, key: &str) -> Option<String>;

    /// Keeps notes (`key`, text) for later builds.
    fn remember_notes(&self, notes: &[(String, String)]) -> Result<(), BackendError>;

    /// Names the final image.
    fn tag(&self, id: &str, names: &[String]) -> Result<(), BackendError>;

    /// `ADD <url>`: downloads `url` into the file `dest`.
    fn download(&self, url: &str, dest: &std::path::Path) -> Result<(), BackendError>;
}
