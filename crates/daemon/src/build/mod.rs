//! The engine's side of `docker build`: the [`berth_build::Backend`] the builder drives. Every
//! step makes an image, as docker's classic builder does: a RUN runs in a container of its
//! parent image and the container's changes are committed; a COPY writes into a snapshot of
//! the parent and the snapshot's changes are committed; a config-only step commits an empty
//! layer. The build cache's index maps step keys to those images.
//!
//! The builder runs on a blocking thread; the container operations it needs are async, so
//! they run on the engine's runtime through a handle.

mod cache_from;
mod context;
mod copy;
mod local;
mod run;

use std::sync::Arc;

use berth_build::backend::{Backend, BackendError, CopyStep, Image, RunOutcome, RunStep};
use berth_build::Instruction as Change;
use berth_store::model::RunConfig;
use berth_store::Digest;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::images::{self, CommitImage};

pub use context::Context;

/// One build's access to the engine.
pub struct EngineBackend {
    engine: Arc<Engine>,
    handle: tokio::runtime::Handle,
    /// The build's `--network` (`default`, `none`, `host`, or a network's name).
    pub network: String,
    /// The build's `--add-host` entries.
    pub extra_hosts: Vec<String>,
    /// Where the context is extracted (for bind mounts from it).
    pub context_dir: std::path::PathBuf,
    /// `SOURCE_DATE_EPOCH` (a build arg): the time of every image the build makes and the
    /// latest time in its layers, so a build gives the same bytes whenever it runs.
    pub epoch: Option<i64>,
    /// `--shm-size` and `--ulimit` for RUN steps.
    pub shm_size: i64,
    pub ulimits: Vec<berth_api::types::Ulimit>,
    /// `--pull`: base images are pulled even when present.
    pub pull: bool,
    /// Registry credentials the client sent, by registry.
    pub credentials: std::collections::HashMap<String, berth_distribution::client::Credentials>,
    /// `--cache-from` images, resolved.
    cache_from: Vec<Digest>,
}

/// docker's empty layer: a tar of two zero blocks.
const EMPTY_TAR: [u8; 1024] = [0; 1024];

fn backend_error(e: EngineError) -> BackendError {
    BackendError(e.message)
}

impl EngineBackend {
    /// Pulls a base image (a FROM missing here, or every FROM with `--pull`).
    fn pull_base(&self, name: &str, platform: Option<&str>) -> Result<Digest, EngineError> {
        let reference = berth_store::Reference::parse_normalized(name)
            .map_err(|e| EngineError::invalid(format!("invalid reference {name:?}: {e}")))?;
        let reference = images::with_default_tag(&reference);
        let request = images::PullRequest {
            credentials: self
                .credentials
                .get(reference.domain())
                .cloned()
                .unwrap_or_default(),
            reference: reference.clone(),
            all_tags: false,
            platform: platform.map(str::to_string),
            cancelled: Default::default(),
        };
        let client = self.engine.registry();
        self.images()
            .pull(&self.handle, &client, &request, &images::no_progress)?;
        self.images().resolve_for_use(&reference.to_string())
    }

    pub fn new(
        engine: Arc<Engine>,
        handle: tokio::runtime::Handle,
        context_dir: std::path::PathBuf,
    ) -> EngineBackend {
        EngineBackend {
            engine,
            handle,
            network: "default".into(),
            extra_hosts: Vec::new(),
            context_dir,
            epoch: None,
            shm_size: 0,
            ulimits: Vec::new(),
            pull: false,
            credentials: Default::default(),
            cache_from: Vec::new(),
        }
    }

    fn images(&self) -> &images::ImageService {
        &self.engine.images
    }

    /// The builder's view of image `id`.
    fn view(&self, id: &Digest) -> Result<Image, BackendError> {
        let config = self.images().config(id).map_err(backend_error)?;
        let run = config.config.unwrap_or_default();
        Ok(Image {
            id: id.to_string(),
            env: run.env.unwrap_or_default(),
            working_dir: run.working_dir,
            user: run.user,
            shell: run.shell.unwrap_or_default(),
            on_build: run.on_build.unwrap_or_default(),
        })
    }

    /// The run config of the builder's `image` (none for scratch).
    fn run_config(&self, image: &Image) -> Result<RunConfig, BackendError> {
        if image.id.is_empty() {
            return Ok(RunConfig::default());
        }
        let id = parse_id(&image.id)?;
        Ok(self
            .images()
            .config(&id)
            .map_err(backend_error)?
            .config
            .unwrap_or_default())
    }

    /// What a step's commit records on `parent`: `config`, a history line (with the step's
    /// key, `step`, for `--cache-from`), the build's time when `SOURCE_DATE_EPOCH` is set.
    fn commit_request(
        &self,
        parent: &Image,
        config: RunConfig,
        container_id: String,
        (created_by, step): (&str, &str),
    ) -> Result<CommitImage, BackendError> {
        let parent_id = if parent.id.is_empty() {
            None
        } else {
            Some(parse_id(&parent.id)?)
        };
        let container_config = RunConfig {
            cmd: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                format!("#(nop) {created_by}"),
            ]),
            image: parent.id.clone(),
            ..config.clone()
        };
        Ok(CommitImage {
            parent: parent_id,
            // Which container made a layer is no part of a reproducible image.
            container_id: if self.epoch.is_some() {
                String::new()
            } else {
                container_id
            },
            config,
            container_config,
            author: String::new(),
            comment: cache_from::step_comment(step),
            created_by: created_by.to_string(),
            created: self
                .epoch
                .and_then(|e| chrono::DateTime::from_timestamp(e, 0)),
            name: None,
        })
    }

    /// Commits snapshot `key`'s changes on `parent` with `config`; `history` is what made
    /// them and the step's key. Returns the new image.
    fn commit_snapshot(
        &self,
        parent: &Image,
        key: &str,
        config: RunConfig,
        container_id: String,
        history: (&str, &str),
    ) -> Result<Image, BackendError> {
        let req = self.commit_request(parent, config, container_id, history)?;
        let id = self
            .images()
            .commit_snapshot(key, self.clamp(), req, || {})
            .map_err(backend_error)?;
        self.view(&id)
    }
}

fn parse_id(id: &str) -> Result<Digest, BackendError> {
    Digest::parse(id).map_err(|e| BackendError(format!("bad image ID {id}: {e}")))
}

impl Backend for EngineBackend {
    fn image(&self, name: &str, platform: Option<&str>) -> Result<Image, BackendError> {
        if !self.pull || images::is_builtin(name) {
            if let Ok(id) = self.images().resolve_for_use(name) {
                // An image here for another platform than the one asked for is not it: the
                // right one is pulled, as docker's builder does.
                let fits = match platform {
                    None => true,
                    Some(want) => self
                        .images()
                        .config(&id)
                        .is_ok_and(|c| platform_matches(&c, want)),
                };
                if fits {
                    return self.view(&id);
                }
            }
        }
        let id = self.pull_base(name, platform).map_err(|e| {
            BackendError(format!(
                "pull access denied for {name}, repository does not exist or may require 'docker login': {}",
                e.message
            ))
        })?;
        self.view(&id)
    }

    fn run(
        &self,
        step: &RunStep,
        output: &mut dyn std::io::Write,
    ) -> Result<RunOutcome, BackendError> {
        let started = std::time::Instant::now();
        let r = run::run(self, step, output);
        tracing::debug!(us = started.elapsed().as_micros() as u64, "build step RUN");
        r
    }

    fn copy(&self, step: &CopyStep) -> Result<Image, BackendError> {
        let started = std::time::Instant::now();
        let r = copy::copy(self, step);
        tracing::debug!(us = started.elapsed().as_micros() as u64, "build step COPY");
        r
    }

    fn change(
        &self,
        parent: &Image,
        changes: &[Change],
        created_by: &str,
    ) -> Result<Image, BackendError> {
        let mut config = self.run_config(parent)?;
        images::apply_changes(&mut config, changes.to_vec());
        let req = self.commit_request(parent, config, String::new(), (created_by, ""))?;
        let id = self
            .images()
            .commit(&EMPTY_TAR[..], req)
            .map_err(backend_error)?;
        self.view(&id)
    }

    fn cached(&self, key: &str) -> Option<Image> {
        let id = self.images().build_cache().get(key).ok()??;
        self.view(&id).ok()
    }

    fn cache_source(&self, parent: &Image, step: &str) -> Result<Option<Image>, BackendError> {
        self.find_in_cache_from(parent, step)
    }

    fn remember(&self, entries: &[(String, String)]) -> Result<(), BackendError> {
        let parsed: Vec<(String, Digest)> = entries
            .iter()
            .filter_map(|(k, id)| Digest::parse(id).ok().map(|d| (k.clone(), d)))
            .collect();
        self.images()
            .build_cache()
            .put_all(&parsed)
            .map_err(|e| BackendError(e.to_string()))
    }

    fn note(&self, key: &str) -> Option<String> {
        self.images().build_cache().note(key).ok().flatten()
    }

    fn remember_notes(&self, notes: &[(String, String)]) -> Result<(), BackendError> {
        self.images()
            .build_cache()
            .put_notes(notes)
            .map_err(|e| BackendError(e.to_string()))
    }

    fn download(&self, url: &str, dest: &std::path::Path) -> Result<(), BackendError> {
        self.fetch_to(url, dest)
    }

    fn tag(&self, id: &str, names: &[String]) -> Result<(), BackendError> {
        for name in names {
            let (repo, tag) = split_name(name);
            self.images().tag(id, repo, tag).map_err(backend_error)?;
        }
        Ok(())
    }
}

impl EngineBackend {
    /// The latest time a layer of this build may hold.
    pub(super) fn clamp(&self) -> Option<u64> {
        self.epoch.and_then(|e| u64::try_from(e).ok())
    }

    fn fetch_to(&self, url: &str, dest: &std::path::Path) -> Result<(), BackendError> {
        let mut body = self
            .handle
            .block_on(crate::fetch::fetch(&self.engine, url))
            .map_err(backend_error)?;
        let mut file = std::fs::File::create(dest)
            .map_err(|e| BackendError(format!("writing {}: {e}", dest.display())))?;
        std::io::copy(&mut body, &mut file)
            .map(drop)
            .map_err(|e| BackendError(format!("downloading {url}: {e}")))
    }
}

/// Whether an image's config is for `want` (`os/arch[/variant]`; the arch as Go names it,
/// `x86_64` and `aarch64` taken as `amd64` and `arm64`).
fn platform_matches(config: &berth_store::model::ImageConfig, want: &str) -> bool {
    let go_arch = |a: &str| match a {
        "x86_64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        a => a.to_ascii_lowercase(),
    };
    let mut parts = want.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    let os_ok = os.is_none_or(|o| {
        o.eq_ignore_ascii_case(if config.os.is_empty() {
            "linux"
        } else {
            &config.os
        })
    });
    let arch_ok = arch.is_none_or(|a| go_arch(a) == go_arch(&config.architecture));
    let variant_ok = variant.is_none_or(|v| v == config.variant);
    os_ok && arch_ok && variant_ok
}

/// `repo[:tag]`, the tag after the last colon that is not part of a registry's port.
fn split_name(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (name, ""),
    }
}
