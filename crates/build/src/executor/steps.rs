//! One stage's steps: each instruction expanded against the stage's ARGs and ENVs, looked up
//! in the cache, and otherwise carried out through the backend — config-only steps as
//! changes, RUN in a container with its mounts, COPY and ADD by [`super::copy`].

use crate::args::StageScope;
use crate::backend::{Image, RunOutcome, RunStep, StepMount};
use crate::dockerfile::{Instruction as I, MountType, Run, Step};
use crate::instruction::{Command, Instruction as C};

use super::{cache, short, Build, BuildError, StageOut, StepOutput};

/// What a stage has reached: its image so far and its scope.
pub(super) struct StageState<'a> {
    pub image: Image,
    pub scope: StageScope<'a>,
}

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

impl<'a> StageState<'a> {
    pub fn new(b: &Build<'a>, base: &Image) -> Result<StageState<'a>, BuildError> {
        let env = base.env.iter().filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        });
        Ok(StageState {
            image: base.clone(),
            scope: StageScope::new(b.global, b.build_args, env),
        })
    }

    /// The stage's shell, for shell-form commands.
    pub fn shell(&self) -> Vec<String> {
        if self.image.shell.is_empty() {
            DEFAULT_SHELL.iter().map(|s| s.to_string()).collect()
        } else {
            self.image.shell.clone()
        }
    }

    pub fn execute(
        &mut self,
        b: &Build<'a>,
        out: &mut StageOut,
        step: &Step,
    ) -> Result<(), BuildError> {
        let escape = b.df.escape;
        let at = |e: &dyn std::fmt::Display| BuildError(format!("Dockerfile:{}: {e}", step.line));
        let expanded = crate::expand::expand_instruction(
            &step.instruction,
            &self.scope.expansion_env(),
            escape,
        )
        .map_err(|e| at(&e))?;
        let source = step.source.as_str();
        match expanded {
            I::From(_) => Err(at(&"FROM inside a stage")),
            I::Arg(decls) => {
                for d in &decls {
                    self.scope.declare(d, escape).map_err(|e| at(&e))?;
                }
                out.say(&format!(" ---> {}\n", short(&self.image.id)));
                Ok(())
            }
            I::Env(kvs) => {
                for kv in &kvs {
                    self.scope.set_env(&kv.key, &kv.value);
                }
                let pairs = kvs.into_iter().map(|kv| (kv.key, kv.value)).collect();
                self.change(b, out, C::Env(pairs), source)
            }
            I::Label(kvs) => {
                let pairs = kvs.into_iter().map(|kv| (kv.key, kv.value)).collect();
                self.change(b, out, C::Label(pairs), source)
            }
            I::Expose(ports) => self.change(b, out, C::Expose(ports), source),
            I::Workdir(w) => self.change(b, out, C::Workdir(w), source),
            I::User(u) => self.change(b, out, C::User(u), source),
            I::Volume(v) => self.change(b, out, C::Volume(v), source),
            I::StopSignal(s) => self.change(b, out, C::StopSignal(s), source),
            I::Cmd(c) => self.change(b, out, C::Cmd(c), source),
            I::Entrypoint(c) => self.change(b, out, C::Entrypoint(c), source),
            I::Healthcheck(h) => self.change(b, out, C::Healthcheck(h), source),
            I::Shell(s) => self.change(b, out, C::Shell(s), source),
            I::OnBuild(o) => self.change(b, out, C::OnBuild(o.expression), source),
            // docker records the maintainer as the image's author; a change with nothing to
            // apply keeps the step in the history.
            I::Maintainer(_) => self.change(b, out, C::Env(Vec::new()), source),
            I::Run(run) => self.run(b, out, &run),
            I::Copy(copy) => super::copy::copy(self, b, out, &copy, source),
            I::Add(add) => super::copy::add(self, b, out, &add, source),
        }
    }

    /// A config-only step.
    fn change(
        &mut self,
        b: &Build<'a>,
        out: &mut StageOut,
        change: C,
        source: &str,
    ) -> Result<(), BuildError> {
        self.image = b.config_step(out, &self.image, change, source)?;
        Ok(())
    }

    /// Drops the ONBUILD triggers a stage inherited once they have run.
    pub fn clear_on_build(&mut self, b: &Build<'a>, out: &mut StageOut) -> Result<(), BuildError> {
        if self.image.on_build.is_empty() {
            return Ok(());
        }
        self.image = b.config_step(
            out,
            &self.image,
            C::OnBuild(String::new()),
            "ONBUILD (triggers ran)",
        )?;
        Ok(())
    }

    fn run(&mut self, b: &Build<'a>, out: &mut StageOut, run: &Run) -> Result<(), BuildError> {
        let shell = self.shell();
        let argv = match (&run.command, run.heredoc_script()) {
            (_, Some(script)) => {
                let mut v = shell.clone();
                v.push(script.content.clone());
                v
            }
            (Command::Exec(v), None) => v.clone(),
            (Command::Shell(_), None) => {
                let mut v = shell.clone();
                v.push(run.shell_script().unwrap_or_default());
                v
            }
        };
        let env: Vec<String> = self
            .scope
            .run_env()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mounts = self.mounts(b, run)?;
        let network = match run.network {
            None | Some(crate::dockerfile::Network::Default) => "default",
            Some(crate::dockerfile::Network::None) => "none",
            Some(crate::dockerfile::Network::Host) => "host",
        };
        let what = [
            serde_json::to_string(&argv).unwrap_or_default(),
            env.join("\n"),
            format!("{mounts:?}"),
            network.to_string(),
        ];
        let key = b.step_key(&self.image.id, "RUN", &what);
        if let Some(hit) = b.cached(out, &key) {
            self.image = hit;
            return Ok(());
        }
        let content = b.content_key("RUN", &what);
        if let Some(hit) = b.cached_from(out, &self.image, &content, &key)? {
            self.image = hit;
            return Ok(());
        }
        let step = RunStep {
            parent: self.image.clone(),
            argv: argv.clone(),
            env,
            network: network.into(),
            extra_hosts: Vec::new(),
            mounts,
            created_by: argv.join(" "),
            step: content,
        };
        let outcome = b.backend.run(
            &step,
            &mut StepOutput {
                out: &mut *out,
                cancel: &b.opts.cancel,
            },
        )?;
        b.check_cancelled()?;
        match outcome {
            RunOutcome::Image(image) => {
                b.made(out, key, &image);
                self.image = image;
                Ok(())
            }
            RunOutcome::Failed { code } => Err(BuildError(format!(
                "The command '{}' returned a non-zero code: {code}",
                argv.join(" ")
            ))),
        }
    }

    /// RUN's `--mount`s as the backend takes them.
    fn mounts(&self, b: &Build<'a>, run: &Run) -> Result<Vec<StepMount>, BuildError> {
        let mut out = Vec::new();
        for m in &run.mounts {
            let target = m.target.clone().unwrap_or_default();
            match m.kind {
                MountType::Bind => {
                    if let Some(from) = &m.from {
                        let image = match b.graph.find(from) {
                            Some(i) => b
                                .built(i)
                                .map(|s| s.id)
                                .ok_or_else(|| BuildError(format!("stage {from} was not built")))?,
                            None => b.backend.image(from, None)?.id,
                        };
                        out.push(StepMount::ImageBind {
                            image,
                            source: m.source.clone().unwrap_or_else(|| "/".into()),
                            target,
                            read_only: m.readonly,
                        });
                        continue;
                    }
                    let source = super::copy::context_path(
                        &b.opts.context,
                        m.source.as_deref().unwrap_or("."),
                    )?;
                    out.push(StepMount::Bind {
                        source,
                        target,
                        read_only: m.readonly,
                    });
                }
                MountType::Cache => {
                    let id = m.id.clone().unwrap_or_else(|| target.clone());
                    let dir = cache::mount_dir(&b.opts.cache_mounts, &id)?;
                    out.push(StepMount::Bind {
                        source: dir,
                        target,
                        read_only: m.readonly,
                    });
                }
                MountType::Tmpfs => out.push(StepMount::Tmpfs {
                    target,
                    size: m.size,
                }),
                MountType::Secret => {
                    let id = m.id.clone().unwrap_or_else(|| {
                        target.rsplit('/').next().unwrap_or_default().to_string()
                    });
                    let target = if target.is_empty() {
                        format!("/run/secrets/{id}")
                    } else {
                        target
                    };
                    match b.opts.secrets.get(&id) {
                        Some(src) => out.push(StepMount::Bind {
                            source: src.clone(),
                            target,
                            read_only: true,
                        }),
                        None if m.required => {
                            return Err(BuildError(format!("secret {id} not found")))
                        }
                        None => {}
                    }
                }
                MountType::Ssh => {
                    return Err(BuildError(
                        "RUN --mount=type=ssh is not supported by Berth yet".into(),
                    ))
                }
            }
        }
        Ok(out)
    }
}
