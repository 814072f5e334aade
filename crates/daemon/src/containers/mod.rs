//! The container service: containers as the user sees them, from create to remove. Each
//! running container has a shim (see `berth_runtime::shim`); the service keeps the records,
//! drives the shims, follows each running container until it exits, runs the processes
//! `exec` starts in it, and probes its health.

mod announce;
mod archive;
mod attach;
mod changes;
mod commit;
mod create;
mod etc_files;
mod exec;
mod exec_process;
mod health;
mod inspect;
mod list;
mod log_attrs;
mod logs;
mod monitor;
pub mod mounts;
mod names;
mod networking;
mod pause;
pub mod record;
mod recovery;
mod remove;
mod rename;
mod rootfs;
mod shim_client;
mod shims;
mod spec;
mod start;
mod stats;
mod stop;
mod top;
mod update;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;

use crate::durable::Flusher;
use crate::error::{EngineError, EngineResult};
use crate::events::EventBus;
use crate::images::ImageService;
use record::ContainerRecord;

pub use attach::{parse_detach_keys, AttachOptions};
pub use commit::CommitOptions;
pub use create::CreateOptions;
pub use list::ListOptions;
pub use logs::LogsOptions;
pub use names::new_id;
pub use remove::RemoveOptions;
pub use start::Started;
pub use stats::{StatsOptions, StatsSampler};
pub use stop::WaitCondition;

/// What waiters see change: how many times the container exited, and whether it is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub exits: u64,
    pub removed: bool,
}

/// One container: its record, and the lock that orders operations on it.
pub struct Container {
    pub id: String,
    /// Shared with readers, copied on write: a record with hundreds of published ports is
    /// thousands of allocations to copy, and most readers only look.
    record: Mutex<Arc<ContainerRecord>>,
    /// Held for the whole of start, stop, restart and remove.
    op: tokio::sync::Mutex<()>,
    lifecycle: watch::Sender<Lifecycle>,
    /// Attach requests made before the container started; connected at start.
    pending_attach: Mutex<Vec<attach::PendingAttach>>,
    flusher: Flusher,
    /// Set by `stop` and `kill` (with the stop signal): the next exit is final, whatever
    /// the restart policy. Cleared when the container starts.
    exit_on_next: AtomicBool,
}

impl Container {
    fn new(record: ContainerRecord, flusher: Flusher) -> Arc<Container> {
        let (tx, _) = watch::channel(Lifecycle::default());
        Arc::new(Container {
            id: record.id.clone(),
            record: Mutex::new(Arc::new(record)),
            op: tokio::sync::Mutex::new(()),
            lifecycle: tx,
            pending_attach: Mutex::new(Vec::new()),
            flusher,
            exit_on_next: AtomicBool::new(false),
        })
    }

    /// The record as it is now (a later update does not change it).
    pub fn record(&self) -> Arc<ContainerRecord> {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Changes the record and saves it.
    fn update(
        &self,
        dir: &std::path::Path,
        f: impl FnOnce(&mut ContainerRecord),
    ) -> EngineResult<Arc<ContainerRecord>> {
        let mut rec = self.record.lock().unwrap_or_else(|e| e.into_inner());
        f(Arc::make_mut(&mut rec));
        rec.save(dir)?;
        self.flusher.written(dir.join(record::RECORD_FILE));
        Ok(rec.clone())
    }
}

pub struct ContainerService {
    images: Arc<ImageService>,
    networks: Arc<crate::networks::NetworkService>,
    volumes: Arc<crate::volumes::VolumeService>,
    events: Arc<EventBus>,
    data_root: PathBuf,
    exec_root: PathBuf,
    /// The cgroup every container's cgroup is made under.
    cgroup_parent: String,
    log_driver: String,
    log_opts: std::collections::BTreeMap<String, String>,
    containers: RwLock<HashMap<String, Arc<Container>>>,
    names: RwLock<HashMap<String, String>>,
    /// Makes records durable in the background (decision 008).
    flusher: Flusher,
    execs: exec::ExecStore,
    /// Shims started ahead of the containers they will hold.
    shims: shims::Shims,
    layout: std::sync::OnceLock<berth_runtime::cgroups::Layout>,
    /// Where removed containers' files go to be deleted in the background.
    trash: Arc<crate::trash::Trash>,
}

/// What the container service takes from the engine's configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    /// The cgroup every container's cgroup is made under.
    pub cgroup_parent: String,
    /// The log driver and options of containers that name none (`--log-driver`,
    /// `--log-opt`).
    pub log_driver: String,
    pub log_opts: std::collections::BTreeMap<String, String>,
}

impl ContainerService {
    pub fn new(
        images: Arc<ImageService>,
        networks: Arc<crate::networks::NetworkService>,
        volumes: Arc<crate::volumes::VolumeService>,
        events: Arc<EventBus>,
        settings: Settings,
    ) -> EngineResult<Self> {
        let trash = crate::trash::Trash::open(&settings.data_root).map_err(|e| {
            EngineError::internal(format!(
                "opening the trash in {}: {e}",
                settings.data_root.display()
            ))
        })?;
        Ok(ContainerService {
            images,
            networks,
            volumes,
            events,
            data_root: settings.data_root,
            exec_root: settings.exec_root,
            cgroup_parent: settings.cgroup_parent,
            log_driver: settings.log_driver,
            log_opts: settings.log_opts,
            containers: RwLock::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
            flusher: Flusher::start(),
            execs: exec::ExecStore::default(),
            shims: shims::Shims::default(),
            layout: std::sync::OnceLock::new(),
            trash: Arc::new(trash),
        })
    }

    /// Starts the shim the next container start will use.
    pub fn prepare_shim(&self) {
        self.shims.refill();
    }

    /// Where a container's lasting files live (record, logs, /etc files).
    pub fn data_dir(&self, id: &str) -> PathBuf {
        self.data_root.join("containers").join(id)
    }

    /// Where its shim's files live (spec, socket, exit record).
    pub fn bundle_dir(&self, id: &str) -> PathBuf {
        self.exec_root.join("containers").join(id)
    }

    pub fn count(&self) -> (usize, usize, usize, usize) {
        let map = self.containers.read().unwrap_or_else(|e| e.into_inner());
        let (mut running, mut paused, mut stopped) = (0, 0, 0);
        for c in map.values() {
            match c.record().state.status {
                record::Status::Running | record::Status::Restarting => running += 1,
                record::Status::Paused => paused += 1,
                _ => stopped += 1,
            }
        }
        (map.len(), running, paused, stopped)
    }

    /// Whether any container's record satisfies `f`, looked at in place (no copies: this
    /// runs on every container exit).
    fn any_record(&self, f: impl Fn(&ContainerRecord) -> bool) -> bool {
        self.containers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|c| f(&c.record.lock().unwrap_or_else(|e| e.into_inner())))
    }

    /// Every container's record.
    pub fn records(&self) -> Vec<Arc<ContainerRecord>> {
        self.all().iter().map(|c| c.record()).collect()
    }

    fn all(&self) -> Vec<Arc<Container>> {
        self.containers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Finds a container by full ID, name (with or without `/`), or unique ID prefix.
    pub fn find(&self, name: &str) -> EngineResult<Arc<Container>> {
        let no_such = || EngineError::not_found(format!("No such container: {name}"));
        let map = self.containers.read().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(name) {
            return Ok(c.clone());
        }
        let bare = name.strip_prefix('/').unwrap_or(name);
        if let Some(id) = self
            .names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(bare)
        {
            if let Some(c) = map.get(id) {
                return Ok(c.clone());
            }
        }
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(no_such());
        }
        let mut found = map.values().filter(|c| c.id.starts_with(name));
        match (found.next(), found.next()) {
            (Some(c), None) => Ok(c.clone()),
            (Some(_), Some(_)) => Err(EngineError::invalid(format!(
                "multiple IDs found with provided prefix: {name}"
            ))),
            _ => Err(no_such()),
        }
    }

    /// Containers using an image, for `rmi` and `df`.
    pub fn using_image(&self, image: &berth_store::Digest) -> Vec<Arc<ContainerRecord>> {
        self.all()
            .iter()
            .map(|c| c.record())
            .filter(|r| &r.image_id == image)
            .collect()
    }

    /// The cgroup parent of a container: its own `--cgroup-parent`, or the engine's.
    pub fn cgroup_parent_of(&self, host: &berth_api::types::HostConfig) -> String {
        if host.cgroup_parent.is_empty() {
            self.cgroup_parent.clone()
        } else {
            host.cgroup_parent.trim_matches('/').to_string()
        }
    }

    /// The host's cgroup hierarchies, found once: they do not change under a running
    /// engine, and reading the mount table for each container operation costs half a
    /// millisecond.
    fn layout(&self) -> EngineResult<&berth_runtime::cgroups::Layout> {
        if let Some(l) = self.layout.get() {
            return Ok(l);
        }
        let detected = berth_runtime::cgroups::Layout::detect()?;
        Ok(self.layout.get_or_init(|| detected))
    }

    /// The cgroup of a container whose process is alive.
    fn cgroup_of(&self, rec: &ContainerRecord) -> EngineResult<berth_runtime::cgroups::Cgroup> {
        let parent = self.cgroup_parent_of(&rec.host_config);
        Ok(berth_runtime::cgroups::Cgroup::open(
            self.layout()?,
            &parent,
            &rec.id,
        )?)
    }

    fn insert(&self, c: Arc<Container>) {
        let rec = c.record();
        self.names
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rec.name.clone(), rec.id.clone());
        self.containers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rec.id.clone(), c);
    }

    fn forget(&self, id: &str, name: &str) {
        self.names
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.containers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}
