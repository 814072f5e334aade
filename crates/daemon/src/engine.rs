//! The engine: every service, opened over one data root, and what it knows of itself.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::config::DaemonConfig;
use crate::containers::ContainerService;
use crate::error::{EngineError, EngineResult};
use crate::events::EventBus;
use crate::images::ImageService;

/// Memory for the metadata database's page cache: records are small and mirrored in
/// memory, so a small cache is enough and keeps the idle daemon lean.
const DB_CACHE_BYTES: usize = 4 << 20;

pub struct Engine {
    pub images: Arc<ImageService>,
    pub containers: Arc<ContainerService>,
    pub networks: Arc<crate::networks::NetworkService>,
    pub volumes: Arc<crate::volumes::VolumeService>,
    pub events: Arc<EventBus>,
    config: RwLock<DaemonConfig>,
    /// The registry client for the current configuration, remade when it changes.
    registry: std::sync::Mutex<Option<(RegistrySettings, Arc<berth_distribution::client::Client>)>>,
    pub id: String,
    pub started: Instant,
}

/// Creates `dir` (mode `mode`) if missing, and makes sure it is not world-writable.
pub fn ensure_private_dir(dir: &Path, mode: u32) -> EngineResult<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| EngineError::internal(format!("creating {}: {e}", dir.display())))?;
    let meta =
        fs::metadata(dir).map_err(|e| EngineError::internal(format!("{}: {e}", dir.display())))?;
    if meta.permissions().mode() & 0o002 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))
            .map_err(|e| EngineError::internal(format!("securing {}: {e}", dir.display())))?;
    }
    Ok(())
}

impl Engine {
    /// Opens every store under the data root and clears what a crash left behind.
    pub fn open(config: DaemonConfig) -> EngineResult<Engine> {
        ensure_private_dir(&config.data_root, 0o711)?;
        ensure_private_dir(&config.exec_root, 0o711)?;
        // Build contexts an engine that crashed mid-build left.
        crate::build::Context::remove_stale(&config.data_root.join("build"));
        let db_path = config.data_root.join("metadata.redb");
        let db = redb::Database::builder()
            .set_cache_size(DB_CACHE_BYTES)
            .create(&db_path)
            .map_err(|e| EngineError::internal(format!("opening {}: {e}", db_path.display())))?;
        let events = Arc::new(EventBus::new());
        let images = Arc::new(ImageService::open(
            &config.data_root,
            Arc::new(db),
            events.clone(),
        )?);
        let collected = images.collect(None)?;
        if collected.blobs > 0 || !collected.layers.is_empty() {
            tracing::info!(
                blobs = collected.blobs,
                layers = collected.layers.len(),
                "removed content no image references (left by an interrupted operation)"
            );
        }
        let id = engine_id(&config.data_root)?;
        let networks = Arc::new(crate::networks::NetworkService::open(
            crate::networks::Settings {
                data_root: config.data_root.clone(),
                exec_root: config.exec_root.clone(),
                bridge: config.bridge.clone(),
                bip: config.bip.clone(),
            },
            events.clone(),
        )?);
        let volumes = Arc::new(crate::volumes::VolumeService::open(
            &config.data_root,
            events.clone(),
        )?);
        volumes.remove_orphans();
        let containers = Arc::new(ContainerService::new(
            images.clone(),
            networks.clone(),
            volumes.clone(),
            events.clone(),
            crate::containers::Settings {
                data_root: config.data_root.clone(),
                exec_root: config.exec_root.clone(),
                cgroup_parent: config.cgroup_parent.clone(),
                log_driver: config.log_driver.clone(),
                log_opts: config.log_opts.clone(),
            },
        )?);
        Ok(Engine {
            images,
            containers,
            networks,
            volumes,
            events,
            config: RwLock::new(config),
            registry: std::sync::Mutex::new(None),
            id,
            started: Instant::now(),
        })
    }

    pub fn config(&self) -> DaemonConfig {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_config(&self, config: DaemonConfig) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// The registry client, configured with the daemon's insecure registries and mirrors.
    /// Its token cache lives as long as the configuration does.
    pub fn registry(&self) -> Arc<berth_distribution::client::Client> {
        let config = self.config();
        let settings = RegistrySettings {
            insecure: config.insecure_registries.clone(),
            mirrors: config.registry_mirrors.clone(),
            config_dir: config
                .config_file
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf),
        };
        let mut cached = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, client)) = cached.as_ref() {
            if *s == settings {
                return client.clone();
            }
        }
        let mut certs_dirs = Vec::new();
        if let Some(dir) = &settings.config_dir {
            certs_dirs.push(dir.join("certs.d"));
        }
        certs_dirs.push(PathBuf::from("/etc/berth/certs.d"));
        certs_dirs.push(PathBuf::from("/etc/docker/certs.d"));
        let client =
            berth_distribution::client::Client::new(berth_distribution::client::ClientConfig {
                insecure: settings.insecure.clone(),
                mirrors: settings.mirrors.clone(),
                certs_dirs,
            });
        *cached = Some((settings, client.clone()));
        client
    }
}

/// What the registry client is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RegistrySettings {
    insecure: Vec<String>,
    mirrors: Vec<String>,
    config_dir: Option<PathBuf>,
}

/// A stable identifier for this engine, created on first start.
fn engine_id(data_root: &Path) -> EngineResult<String> {
    let path = data_root.join("engine-id");
    if let Ok(id) = fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| EngineError::internal(format!("random ID: {e}")))?;
    let id = hex::encode(bytes);
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, &id)
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| EngineError::internal(format!("writing {}: {e}", path.display())))?;
    Ok(id)
}

impl Engine {
    /// `rmi`, refusing (as docker does) images that containers use: never while one runs;
    /// with `force` and only stopped users, the names go but the image stays for them.
    pub fn remove_image(
        &self,
        name: &str,
        opts: crate::images::RemoveOptions,
    ) -> EngineResult<Vec<berth_api::types::ImageDeleteItem>> {
        let id = self.images.resolve(name)?;
        if self.images.removal_only_untags(name, &id) {
            return self.images.remove(name, opts);
        }
        let users = self.containers.using_image(&id);
        if let Some(running) = users.iter().find(|r| r.state.status.is_active()) {
            return Err(EngineError::conflict(format!(
                "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
                id.short(),
                &running.id[..12]
            )));
        }
        if let Some(stopped) = users.first() {
            if !opts.force {
                return Err(EngineError::conflict(format!(
                    "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                    &stopped.id[..12],
                    id.short()
                )));
            }
            return self.images.untag_all(name);
        }
        self.images.remove(name, opts)
    }
}
