//! The executor: a parsed Dockerfile built through a [`Backend`], stage by stage in the
//! order `--target` needs, step by step, each step looked up in the cache first. The output
//! is docker's classic builder's (`Step 2/5 : RUN …`, ` ---> Using cache`, ` ---> 3f2a…`),
//! which the docker CLI prints as it is.

mod cache;
mod copy;
mod steps;

pub use copy::context_path as context_file;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use crate::args::{global_scope, platform_args, Platform, Vars};
use crate::backend::{Backend, Image};
use crate::dockerfile::Dockerfile;
use crate::stages::{Base, StageGraph};

/// What a build is asked for, beyond its Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The extracted context.
    pub context: PathBuf,
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
    let mut run = Build::new(&df, opts, backend, progress, &build_args, &global)?;
    let result = run.all();
    // Steps that succeeded are remembered even when a later one failed, so a retry after
    // a fix starts where it failed.
    let remembered = backend.remember(&run.cache_entries);
    let id = result?;
    remembered?;
    if !opts.tags.is_empty() {
        backend.tag(&id, &opts.tags)?;
    }
    Ok(id)
}

/// A build in progress.
struct Build<'a> {
    df: &'a Dockerfile,
    opts: &'a BuildOptions,
    backend: &'a dyn Backend,
    progress: &'a mut dyn Progress,
    build_args: &'a Vars,
    global: &'a Vars,
    graph: StageGraph,
    /// The steps of the stages to build, for `Step n/total`.
    total: usize,
    step: usize,
    /// The image each built stage ended with.
    stages: HashMap<usize, Image>,
    cache_entries: Vec<(String, String)>,
}

impl<'a> Build<'a> {
    fn new(
        df: &'a Dockerfile,
        opts: &'a BuildOptions,
        backend: &'a dyn Backend,
        progress: &'a mut dyn Progress,
        build_args: &'a Vars,
        global: &'a Vars,
    ) -> Result<Build<'a>, BuildError> {
        let graph = StageGraph::new(df, global).map_err(|e| BuildError(e.to_string()))?;
        let order = graph
            .build_order(opts.target.as_deref())
            .map_err(|e| BuildError(e.to_string()))?;
        let total = order.iter().map(|i| 1 + df.stages[*i].steps.len()).sum();
        Ok(Build {
            df,
            opts,
            backend,
            progress,
            build_args,
            global,
            graph,
            total,
            step: 0,
            stages: HashMap::new(),
            cache_entries: Vec::new(),
        })
    }

    fn all(&mut self) -> Result<String, BuildError> {
        let order = self
            .graph
            .build_order(self.opts.target.as_deref())
            .map_err(|e| BuildError(e.to_string()))?;
        let mut last = Image::default();
        for index in order {
            last = self.stage(index)?;
            self.stages.insert(index, last.clone());
        }
        if !self.opts.labels.is_empty() {
            let labels = self
                .opts
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let change = crate::instruction::Instruction::Label(labels);
            last = self.config_step(&last, change, "LABEL (--label)")?;
        }
        if last.id.is_empty() {
            // FROM scratch and nothing else: docker makes an empty image all the same.
            last = self.config_step(
                &last,
                crate::instruction::Instruction::Env(Vec::new()),
                "FROM scratch",
            )?;
        }
        self.say(&format!("Successfully built {}\n", short(&last.id)));
        Ok(last.id)
    }

    fn say(&mut self, text: &str) {
        self.progress.stream(text);
    }

    fn announce_step(&mut self, source: &str) {
        self.step += 1;
        let line = format!("Step {}/{} : {source}\n", self.step, self.total);
        self.say(&line);
    }

    /// One stage: its base, the base's ONBUILD triggers, then its steps.
    fn stage(&mut self, index: usize) -> Result<Image, BuildError> {
        let stage = &self.df.stages[index];
        self.announce_step(&stage.source);
        let base = match self.graph.nodes[index].base.clone() {
            Base::Scratch => Image::default(),
            Base::Image(name) => self.backend.image(&name, None)?,
            Base::Stage(i) => self.stages.get(&i).cloned().ok_or_else(|| {
                BuildError(format!("stage {i} was not built before stage {index}"))
            })?,
        };
        self.say(&format!(" ---> {}\n", short(&base.id)));
        let mut state = steps::StageState::new(self, &base)?;
        let triggers = base.on_build.clone();
        if !triggers.is_empty() {
            self.say(&format!(
                "# Executing {} build trigger{}\n",
                triggers.len(),
                if triggers.len() == 1 { "" } else { "s" }
            ));
            for trigger in &triggers {
                let parsed = crate::dockerfile::parse(&format!("FROM scratch\n{trigger}\n"))
                    .map_err(|e| BuildError(format!("ONBUILD trigger {trigger:?}: {e}")))?;
                if let Some(step) = parsed.stages.first().and_then(|s| s.steps.first()) {
                    state.execute(self, step)?;
                }
            }
            // Triggers run once: the stage's image does not inherit them.
            state.clear_on_build(self)?;
        }
        for step in &stage.steps {
            self.announce_step(&step.source);
            state.execute(self, step)?;
        }
        Ok(state.image)
    }

    /// A config-only step, cached.
    fn config_step(
        &mut self,
        parent: &Image,
        change: crate::instruction::Instruction,
        created_by: &str,
    ) -> Result<Image, BuildError> {
        let key = cache::key(&parent.id, &format!("{change:?}"), &[]);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let image = self.backend.change(
            parent,
            &[change],
            &format!("/bin/sh -c #(nop) {created_by}"),
        )?;
        self.made(key, &image);
        Ok(image)
    }

    /// A cache hit for `key`, announced as docker does.
    fn cached(&mut self, key: &str) -> Option<Image> {
        if self.opts.no_cache {
            return None;
        }
        let hit = self.backend.cached(key)?;
        self.say(" ---> Using cache\n");
        self.say(&format!(" ---> {}\n", short(&hit.id)));
        Some(hit)
    }

    /// A step's new image, announced and remembered under `key`.
    fn made(&mut self, key: String, image: &Image) {
        self.say(&format!(" ---> {}\n", short(&image.id)));
        self.cache_entries.push((key, image.id.clone()));
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

/// A writer of step output into the build's progress.
struct StepOutput<'p> {
    progress: &'p mut dyn Progress,
}

impl Write for StepOutput<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.progress.stream(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
