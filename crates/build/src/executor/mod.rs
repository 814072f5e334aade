//! The executor: a parsed Dockerfile built through a [`Backend`], stage by stage in the
//! order `--target` needs, step by step, each step looked up in the cache first. The output
//! is docker's classic builder's (`Step 2/5 : RUN …`, ` ---> Using cache`, ` ---> 3f2a…`),
//! which the docker CLI prints as it is.

mod cache;
mod copy;
mod glob;
mod hash;
mod sources;
mod steps;

pub use copy::context_path as context_file;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::args::{global_scope, platform_args, Platform, Vars};
use crate::backend::{Backend, Image};
use crate::dockerfile::Dockerfile;
use crate::stages::{Base, StageGraph};

/// What a build is asked for, beyond its Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The extracted context.
    pub context: PathBuf,
    /// When the context is the client's directory shown in place: that directory, whose
    /// files' hashes can be remembered between builds by their identity and change time.
    pub context_origin: Option<PathBuf>,
    /// A directory of the build's own, outside the context, for files the builder makes
    /// (heredoc files, `--exclude` copies).
    pub scratch: PathBuf,
    /// `--build-arg`s: a name alone takes its value from nowhere (docker takes the
    /// client's environment; the client does that) and is left unset.
    pub build_args: BTreeMap<String, Option<String>>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// `--label`s for the final image.
    pub labels: BTreeMap<String, String>,
    /// `-t` names for the final image.
    pub tags: Vec<String>,
    /// `--platform`, `os/arch[/variant]`; the host's when empty.
    pub platform: String,
    /// Where `RUN --mount=type=cache` directories live, one per id.
    pub cache_mounts: PathBuf,
    /// `--secret id=…,src=…`: id to host file.
    pub secrets: BTreeMap<String, PathBuf>,
    /// Raised when the client went away: the build stops at the next step, and a running
    /// step's output is refused so the engine stops it.
    pub cancel: Arc<AtomicBool>,
}

/// Where a build's messages go: the output of its steps and its own lines.
pub trait Progress {
    /// A line (or part of one) of the build's output, as docker's `stream` messages carry.
    fn stream(&mut self, text: &str);
}

impl<F: FnMut(&str)> Progress for F {
    fn stream(&mut self, text: &str) {
        self(text)
    }
}

/// Why a build failed, as the user is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

impl From<crate::backend::BackendError> for BuildError {
    fn from(e: crate::backend::BackendError) -> Self {
        BuildError(e.0)
    }
}

/// What marks a note among a stage's cache entries on their way out.
const NOTE: &str = "note:";

/// Builds `dockerfile` (its text; `name` for error messages); returns the final image's ID.
pub fn build(
    dockerfile: &str,
    name: &str,
    opts: &BuildOptions,
    backend: &dyn Backend,
    progress: &mut dyn Progress,
) -> Result<String, BuildError> {
    let df = crate::dockerfile::parse(dockerfile)
        .map_err(|e| BuildError(e.in_file(name).to_string()))?;
    let build_args: Vars = opts
        .build_args
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    let host = host_platform();
    let target = if opts.platform.is_empty() {
        host.clone()
    } else {
        Platform::parse(&opts.platform).map_err(BuildError)?
    };
    let global = global_scope(
        &df.global_arg_decls(),
        &build_args,
        &platform_args(&host, &target),
        df.escape,
    )
    .map_err(|e| BuildError(e.to_string()))?;
    let run = Build::new(&df, opts, backend, &build_args, &global)?;
    if let Some(check) = &df.directives.check {
        progress.stream(&format!(
            "# check={}: Berth does not lint Dockerfiles; the directive is ignored\n",
            check.value
        ));
    }
    let mut entries = Vec::new();
    let result = run.all(progress, &mut entries);
    // Steps that succeeded are remembered even when a later one failed, so a retry after
    // a fix starts where it failed.
    let (notes, entries): (Vec<_>, Vec<_>) =
        entries.into_iter().partition(|(k, _)| k.starts_with(NOTE));
    let notes: Vec<(String, String)> = notes
        .into_iter()
        .map(|(k, v)| (k[NOTE.len()..].to_string(), v))
        .collect();
    let remembered = backend
        .remember(&entries)
        .and_then(|()| backend.remember_notes(&notes));
    let id = result?;
    remembered?;
    if !opts.tags.is_empty() {
        backend.tag(&id, &opts.tags)?;
    }
    Ok(id)
}

/// A build in progress: what every stage reads, and the stages built so far.
struct Build<'a> {
    df: &'a Dockerfile,
    opts: &'a BuildOptions,
    backend: &'a dyn Backend,
    build_args: &'a Vars,
    global: &'a Vars,
    graph: StageGraph,
    order: Vec<usize>,
    /// The number of each stage's first step, for `Step n/total`.
    first_step: HashMap<usize, usize>,
    total: usize,
    /// The image each built stage ended with.
    stages: Mutex<HashMap<usize, Image>>,
}

/// Where one stage's messages and cache entries go: straight to the build's progress when
/// it is built alone, into a buffer (shown when it is done) when built beside others.
pub(super) struct StageOut<'p> {
    live: Option<&'p mut dyn Progress>,
    buffer: String,
    entries: Vec<(String, String)>,
    /// Notes for the next build (a COPY's file list, for telling why it missed).
    notes: Vec<(String, String)>,
}

impl<'a> Build<'a> {
    fn check_cancelled(&self) -> Result<(), BuildError> {
        if self.opts.cancel.load(Ordering::SeqCst) {
            return Err(BuildError("the build was cancelled".into()));
        }
        Ok(())
    }
}

impl<'p> StageOut<'p> {
    /// Messages straight to `live`, or kept in a buffer when `None`.
    fn new(live: Option<&'p mut dyn Progress>) -> StageOut<'p> {
        StageOut {
            live,
            buffer: String::new(),
            entries: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn say(&mut self, text: &str) {
        match &mut self.live {
            Some(p) => p.stream(text),
            None => self.buffer.push_str(text),
        }
    }
}

impl<'a> Build<'a> {
    fn new(
        df: &'a Dockerfile,
        opts: &'a BuildOptions,
        backend: &'a dyn Backend,
        build_args: &'a Vars,
        global: &'a Vars,
    ) -> Result<Build<'a>, BuildError> {
        let graph = StageGraph::new(df, global).map_err(|e| BuildError(e.to_string()))?;
        let order = graph
            .build_order(opts.target.as_deref())
            .map_err(|e| BuildError(e.to_string()))?;
        let mut first_step = HashMap::new();
        let mut total = 0;
        for i in &order {
            first_step.insert(*i, total + 1);
            total += 1 + df.stages[*i].steps.len();
        }
        Ok(Build {
            df,
            opts,
            backend,
            build_args,
            global,
            graph,
            order,
            first_step,
            total,
            stages: Mutex::new(HashMap::new()),
        })
    }

    fn built(&self, index: usize) -> Option<Image> {
        self.stages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&index)
            .cloned()
    }

    /// Every stage the target needs, independent ones side by side: each round builds the
    /// stages whose dependencies are all built.
    fn all(
        &self,
        progress: &mut dyn Progress,
        entries: &mut Vec<(String, String)>,
    ) -> Result<String, BuildError> {
        let mut left: Vec<usize> = self.order.clone();
        while !left.is_empty() {
            let ready: Vec<usize> = left
                .iter()
                .copied()
                .filter(|i| {
                    self.graph.nodes[*i]
                        .deps
                        .iter()
                        .all(|d| self.built(*d).is_some())
                })
                .collect();
            if ready.is_empty() {
                return Err(BuildError("the stages depend on each other".into()));
            }
            left.retain(|i| !ready.contains(i));
            if let [only] = ready.as_slice() {
                let mut out = StageOut::new(Some(&mut *progress));
                let built = self.stage(*only, &mut out);
                entries.append(&mut out.entries);
                entries.extend(out.notes.drain(..).map(|(k, v)| (format!("{NOTE}{k}"), v)));
                self.finish_stage(*only, built?);
                continue;
            }
            type Done = (
                usize,
                Result<Image, BuildError>,
                String,
                Vec<(String, String)>,
            );
            let results: Vec<Done> = std::thread::scope(|s| {
                let handles: Vec<_> = ready
                    .iter()
                    .map(|&i| {
                        s.spawn(move || {
                            let mut out = StageOut::new(None);
                            let r = self.stage(i, &mut out);
                            let mut made = out.entries;
                            made.extend(
                                out.notes
                                    .into_iter()
                                    .map(|(k, v)| (format!("{NOTE}{k}"), v)),
                            );
                            (i, r, out.buffer, made)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            let e = BuildError("a stage's thread failed".into());
                            (usize::MAX, Err(e), String::new(), Vec::new())
                        })
                    })
                    .collect()
            });
            let mut failed = None;
            for (i, r, buffer, mut made) in results {
                progress.stream(&buffer);
                entries.append(&mut made);
                match r {
                    Ok(image) => self.finish_stage(i, image),
                    Err(e) => failed = failed.or(Some(e)),
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        let target = self
            .graph
            .target(self.opts.target.as_deref())
            .map_err(|e| BuildError(e.to_string()))?;
        let mut last = self.built(target).unwrap_or_default();
        let mut out = StageOut::new(Some(&mut *progress));
        if !self.opts.labels.is_empty() {
            let labels = self
                .opts
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let change = crate::instruction::Instruction::Label(labels);
            last = self.config_step(&mut out, &last, change, "LABEL (--label)")?;
        }
        if last.id.is_empty() {
            // FROM scratch and nothing else: docker makes an empty image all the same.
            last = self.config_step(
                &mut out,
                &last,
                crate::instruction::Instruction::Env(Vec::new()),
                "FROM scratch",
            )?;
        }
        out.say(&format!("Successfully built {}\n", short(&last.id)));
        entries.append(&mut out.entries);
        Ok(last.id)
    }

    /// A step's cache key. A build with `SOURCE_DATE_EPOCH` makes images of that time, so
    /// its steps are cached apart from others'.
    pub(super) fn step_key(&self, parent: &str, what: &str, extra: &[String]) -> String {
        match self.build_args.get("SOURCE_DATE_EPOCH") {
            Some(epoch) => {
                let mut with = extra.to_vec();
                with.push(format!("SOURCE_DATE_EPOCH={epoch}"));
                cache::key(parent, what, &with)
            }
            None => cache::key(parent, what, extra),
        }
    }

    /// A step's key without its parent: how the step is known in an image's history.
    pub(super) fn content_key(&self, what: &str, extra: &[String]) -> String {
        self.step_key("", what, extra)
    }

    fn finish_stage(&self, index: usize, image: Image) {
        self.stages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(index, image);
    }

    /// One stage: its base, the base's ONBUILD triggers, then its steps.
    fn stage(&self, index: usize, out: &mut StageOut) -> Result<Image, BuildError> {
        let stage = &self.df.stages[index];
        let mut step = self.first_step.get(&index).copied().unwrap_or(1);
        let mut announce = |out: &mut StageOut, source: &str| {
            out.say(&format!("Step {step}/{} : {source}\n", self.total));
            step += 1;
        };
        announce(out, &stage.source);
        let base = match self.graph.nodes[index].base.clone() {
            Base::Scratch => Image::default(),
            Base::Image(name) => {
                // FROM --platform, else the build's --platform, else the host's.
                let platform = self.graph.nodes[index]
                    .platform
                    .clone()
                    .or_else(|| Some(self.opts.platform.clone()).filter(|p| !p.is_empty()));
                self.backend.image(&name, platform.as_deref())?
            }
            Base::Stage(i) => self.built(i).ok_or_else(|| {
                BuildError(format!("stage {i} was not built before stage {index}"))
            })?,
        };
        out.say(&format!(" ---> {}\n", short(&base.id)));
        let mut state = steps::StageState::new(self, &base)?;
        let triggers = base.on_build.clone();
        if !triggers.is_empty() {
            out.say(&format!(
                "# Executing {} build trigger{}\n",
                triggers.len(),
                if triggers.len() == 1 { "" } else { "s" }
            ));
            for trigger in &triggers {
                let parsed = crate::dockerfile::parse(&format!("FROM scratch\n{trigger}\n"))
                    .map_err(|e| BuildError(format!("ONBUILD trigger {trigger:?}: {e}")))?;
                if let Some(step) = parsed.stages.first().and_then(|s| s.steps.first()) {
                    state.execute(self, out, step)?;
                }
            }
            // Triggers run once: the stage's image does not inherit them.
            state.clear_on_build(self, out)?;
        }
        for s in &stage.steps {
            self.check_cancelled()?;
            announce(out, &s.source);
            state.execute(self, out, s)?;
        }
        Ok(state.image)
    }

    /// A config-only step, cached.
    fn config_step(
        &self,
        out: &mut StageOut,
        parent: &Image,
        change: crate::instruction::Instruction,
        created_by: &str,
    ) -> Result<Image, BuildError> {
        let key = self.step_key(&parent.id, &format!("{change:?}"), &[]);
        if let Some(hit) = self.cached(out, &key) {
            return Ok(hit);
        }
        let image = self.backend.change(
            parent,
            &[change],
            &format!("/bin/sh -c #(nop) {created_by}"),
        )?;
        self.made(out, key, &image);
        Ok(image)
    }

    /// A cache hit for `key`, announced as docker does.
    fn cached(&self, out: &mut StageOut, key: &str) -> Option<Image> {
        if self.opts.no_cache {
            return None;
        }
        let hit = self.backend.cached(key)?;
        out.say(" ---> Using cache\n");
        out.say(&format!(" ---> {}\n", short(&hit.id)));
        Some(hit)
    }

    /// A step missing from the cache, found in a `--cache-from` image: its layer stacked on
    /// `parent`, remembered under `key` as if the step had run.
    pub(super) fn cached_from(
        &self,
        out: &mut StageOut,
        parent: &Image,
        step: &str,
        key: &str,
    ) -> Result<Option<Image>, BuildError> {
        if self.opts.no_cache {
            return Ok(None);
        }
        let Some(hit) = self.backend.cache_source(parent, step)? else {
            return Ok(None);
        };
        out.say(" ---> Using cache (from --cache-from)\n");
        self.made(out, key.to_string(), &hit);
        Ok(Some(hit))
    }

    /// A step's new image, announced and remembered under `key`.
    fn made(&self, out: &mut StageOut, key: String, image: &Image) {
        out.say(&format!(" ---> {}\n", short(&image.id)));
        out.entries.push((key, image.id.clone()));
    }
}

/// The host's platform, as the automatic platform args name it.
fn host_platform() -> Platform {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    Platform {
        os: "linux".into(),
        arch: arch.into(),
        variant: None,
    }
}

/// An image ID as docker's build output shows it: 12 hex digits.
pub fn short(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

/// A writer of step output into a stage's messages; refused once the build is cancelled.
struct StepOutput<'o, 'p> {
    out: &'o mut StageOut<'p>,
    cancel: &'o AtomicBool,
}

impl Write for StepOutput<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the build was cancelled"));
        }
        self.out.say(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
