//! `/version`, `/info` and `/system/df`.

use std::collections::BTreeMap;

use berth_api::types::{
    ComponentVersion, IndexInfo, Platform, PluginsInfo, RegistryServiceConfig, Runtime,
    SystemDataUsage, SystemInfo, SystemVersion, Volume, VolumeUsageData,
};
use chrono::Utc;

use crate::containers::mounts::users_by_volume;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::host;
use crate::images::ListOptions;
use crate::timefmt::go_rfc3339_nano;
use crate::volumes::tree_size;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The compiler Berth was built with, reported where docker reports its Go version.
pub fn compiler() -> &'static str {
    option_env!("BERTH_RUSTC_VERSION").unwrap_or("rustc")
}

pub fn version() -> SystemVersion {
    let arch = berth_store::model::host_architecture().to_string();
    let mut details = BTreeMap::new();
    details.insert("ApiVersion".into(), berth_api::API_VERSION.into());
    details.insert("MinAPIVersion".into(), berth_api::MIN_API_VERSION.into());
    details.insert("Os".into(), "linux".into());
    details.insert("Arch".into(), arch.clone());
    details.insert("KernelVersion".into(), host::kernel_version());
    SystemVersion {
        platform: Platform {
            name: "Berth Engine".into(),
        },
        components: vec![ComponentVersion {
            name: "Engine".into(),
            version: VERSION.into(),
            details: Some(details),
        }],
        version: VERSION.into(),
        api_version: berth_api::API_VERSION.into(),
        min_api_version: berth_api::MIN_API_VERSION.into(),
        git_commit: option_env!("BERTH_GIT_COMMIT").unwrap_or_default().into(),
        go_version: compiler().into(),
        os: "linux".into(),
        arch,
        kernel_version: host::kernel_version(),
        experimental: false,
        build_time: option_env!("BERTH_BUILD_TIME").unwrap_or_default().into(),
    }
}

pub fn info(engine: &Engine) -> SystemInfo {
    let config = engine.config();
    let cg = host::cgroups();
    let (os_name, os_version) = host::os_release();
    let mut insecure = vec!["127.0.0.0/8".to_string()];
    insecure.extend(config.insecure_registries.iter().cloned());
    let mut index_configs = BTreeMap::new();
    index_configs.insert(
        "docker.io".to_string(),
        IndexInfo {
            name: "docker.io".into(),
            mirrors: config.registry_mirrors.clone(),
            secure: true,
            official: true,
        },
    );
    let mut runtimes = BTreeMap::new();
    runtimes.insert(
        "berth".to_string(),
        Runtime {
            path: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        },
    );
    let warnings = config
        .hosts
        .iter()
        .filter(|h| h.starts_with("tcp://"))
        .map(|h| format!("WARNING: API is accessible on {h} without encryption."))
        .collect();
    let (containers, running, paused, stopped) = engine.containers.count();
    SystemInfo {
        id: engine.id.clone(),
        containers: containers as i64,
        containers_running: running as i64,
        containers_paused: paused as i64,
        containers_stopped: stopped as i64,
        logging_driver: "json-file".into(),
        images: engine.images.count() as i64,
        driver: "overlayfs".into(),
        driver_status: vec![[
            "Backing Filesystem".into(),
            host::filesystem_name(&config.data_root),
        ]],
        docker_root_dir: config.data_root.display().to_string(),
        plugins: PluginsInfo::default(),
        memory_limit: cg.memory,
        swap_limit: cg.swap,
        cpu_cfs_period: cg.cpu_cfs,
        cpu_cfs_quota: cg.cpu_cfs,
        cpu_shares: cg.cpu_shares,
        cpu_set: cg.cpuset,
        pids_limit: cg.pids,
        oom_kill_disable: cg.oom_kill_disable,
        ipv4_forwarding: host::sysctl_on("net/ipv4/ip_forward"),
        bridge_nf_iptables: host::sysctl_on("net/bridge/bridge-nf-call-iptables"),
        bridge_nf_ip6tables: host::sysctl_on("net/bridge/bridge-nf-call-ip6tables"),
        debug: config.debug,
        n_fd: host::open_fds(),
        n_goroutines: host::threads(),
        system_time: go_rfc3339_nano(Utc::now()),
        cgroup_driver: "cgroupfs".into(),
        cgroup_version: cg.version.into(),
        kernel_version: host::kernel_version(),
        operating_system: os_name,
        os_version,
        os_type: "linux".into(),
        architecture: host::machine(),
        ncpu: host::cpus(),
        mem_total: host::mem_total(),
        index_server_address: "https://index.docker.io/v1/".into(),
        registry_config: RegistryServiceConfig {
            insecure_registry_cidrs: insecure,
            index_configs,
            mirrors: config.registry_mirrors.clone(),
            ..Default::default()
        },
        name: host::hostname(),
        labels: config.labels.clone(),
        server_version: VERSION.into(),
        runtimes,
        default_runtime: "berth".into(),
        isolation: String::new(),
        warnings,
        ..Default::default()
    }
}

pub fn df(engine: &Engine) -> EngineResult<SystemDataUsage> {
    let mut images = engine.images.list(&ListOptions {
        all: true,
        shared_size: true,
        ..Default::default()
    })?;
    for image in &mut images {
        if let Ok(id) = berth_store::Digest::parse(&image.id) {
            image.containers = engine.containers.using_image(&id).len() as i64;
        }
    }
    let containers = engine.containers.list(&crate::containers::ListOptions {
        all: true,
        size: true,
        ..Default::default()
    })?;
    let containers = containers
        .iter()
        .map(|c| serde_json::to_value(c).map_err(|e| EngineError::internal(e.to_string())))
        .collect::<EngineResult<Vec<_>>>()?;
    Ok(SystemDataUsage {
        layers_size: engine.images.layers_size() as i64,
        images,
        containers,
        volumes: volumes_usage(engine),
        build_cache: engine
            .images
            .build_cache_usage(&|id| !engine.containers.using_image(id).is_empty()),
    })
}

/// Every volume with its `UsageData`: the bytes under its `_data` (one walk each) and how
/// many containers name it. The users are read once for all volumes, so an engine with many
/// empty volumes answers as fast as it lists them.
fn volumes_usage(engine: &Engine) -> Vec<Volume> {
    let users = users_by_volume(&engine.containers.records());
    let mut out: Vec<Volume> = engine
        .volumes
        .all()
        .iter()
        .map(|rec| {
            let mut v = engine.volumes.to_api(rec);
            v.usage_data = Some(VolumeUsageData {
                size: tree_size(&engine.volumes.data_path(&rec.name)) as i64,
                ref_count: users.get(&rec.name).map_or(0, Vec::len) as i64,
            });
            v
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
