//! Creating a container: its name, its config merged over the image's, validation of the
//! host config, and the record on disk. Nothing runs yet.

use std::collections::BTreeMap;

use berth_api::types::{ContainerConfig, ContainerCreateRequest, HostConfig, RestartPolicy};
use chrono::Utc;

use super::record::{ContainerRecord, State};
use super::{names, Container, ContainerService};
use crate::error::{EngineError, EngineResult};

/// Docker's smallest memory limit.
pub(super) const MIN_MEMORY: i64 = 6 << 20;

#[derive(Debug, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    pub request: ContainerCreateRequest,
}

/// docker's merge of a container's config over its image's.
pub fn merge(user: &mut ContainerConfig, image: &ContainerConfig) {
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    match (&mut user.exposed_ports, &image.exposed_ports) {
        (Some(u), Some(i)) => {
            for (k, v) in i {
                u.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        (u @ None, Some(i)) => *u = Some(i.clone()),
        _ => {}
    }
    match &mut user.env {
        Some(env) if !env.is_empty() => {
            for kv in image.env.iter().flatten() {
                let key = kv.split('=').next().unwrap_or_default();
                if !env.iter().any(|u| u.split('=').next() == Some(key)) {
                    env.push(kv.clone());
                }
            }
        }
        _ => user.env = image.env.clone(),
    }
    match (&mut user.labels, &image.labels) {
        (Some(u), Some(i)) => {
            for (k, v) in i {
                u.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        (u @ None, Some(i)) => *u = Some(i.clone()),
        _ => {}
    }
    // `--entrypoint ""` clears the image's entrypoint without inheriting it.
    let cleared = user.entrypoint.as_deref() == Some(&[String::new()][..]);
    if cleared {
        user.entrypoint = None;
    }
    if user.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            user.cmd = image.cmd.clone();
            user.args_escaped = image.args_escaped;
        }
        if !cleared && user.entrypoint.is_none() {
            user.entrypoint = image.entrypoint.clone();
        }
    }
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    match (&mut user.volumes, &image.volumes) {
        (Some(u), Some(i)) => {
            for (k, v) in i {
                u.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        (u @ None, Some(i)) => *u = Some(i.clone()),
        _ => {}
    }
    if user.stop_signal.is_empty() {
        user.stop_signal = image.stop_signal.clone();
    }
    match (&mut user.healthcheck, &image.healthcheck) {
        (None, Some(i)) => user.healthcheck = Some(i.clone()),
        (Some(u), Some(i)) => {
            if u.test.as_ref().is_none_or(|t| t.is_empty()) {
                u.test = i.test.clone();
            }
            for (mine, theirs) in [
                (&mut u.interval, i.interval),
                (&mut u.timeout, i.timeout),
                (&mut u.start_period, i.start_period),
                (&mut u.retries, i.retries),
            ] {
                if *mine == 0 {
                    *mine = theirs;
                }
            }
        }
        _ => {}
    }
    if user.shell.is_none() {
        user.shell = image.shell.clone();
    }
    if user.on_build.is_none() {
        user.on_build = image.on_build.clone();
    }
}

/// Checks what docker checks at create.
fn validate(config: &ContainerConfig, host: &HostConfig) -> EngineResult<()> {
    if config.entrypoint.as_ref().is_none_or(|e| e.is_empty())
        && config.cmd.as_ref().is_none_or(|c| c.is_empty())
    {
        return Err(EngineError::invalid("No command specified"));
    }
    if host.memory > 0 && host.memory < MIN_MEMORY {
        return Err(EngineError::invalid("Minimum memory limit allowed is 6MB"));
    }
    if host.memory_swap > 0 && host.memory > 0 && host.memory_swap < host.memory {
        return Err(EngineError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if host.memory_swap > 0 && host.memory == 0 {
        return Err(EngineError::invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    validate_restart_policy(&host.restart_policy)?;
    if host.auto_remove && !matches!(host.restart_policy.name.as_str(), "" | "no") {
        return Err(EngineError::invalid(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    if !config.stop_signal.is_empty() && super::stop::parse_signal(&config.stop_signal).is_none() {
        return Err(EngineError::invalid(format!(
            "Invalid signal: {}",
            config.stop_signal
        )));
    }
    if host.pids_limit.is_some_and(|p| p < -1) {
        return Err(EngineError::invalid("invalid pids limit"));
    }
    berth_runtime::logs::LogConfig::parse(&log_driver(host), &host.log_config.config)
        .map_err(|e| EngineError::invalid(e.to_string()))?;
    super::spec::check(host)?;
    super::log_attrs::check(&host.log_config.config)?;
    if let Some(hc) = &config.healthcheck {
        super::health::validate(hc)?;
    }
    Ok(())
}

/// docker's checks of a restart policy, at create and at update.
pub(super) fn validate_restart_policy(policy: &RestartPolicy) -> EngineResult<()> {
    match policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {
            if policy.maximum_retry_count != 0 {
                return Err(EngineError::invalid(format!(
                    "maximum retry count cannot be used with restart policy '{}'",
                    policy.name
                )));
            }
        }
        "on-failure" => {
            if policy.maximum_retry_count < 0 {
                return Err(EngineError::invalid(
                    "maximum retry count cannot be negative",
                ));
            }
        }
        other => {
            return Err(EngineError::invalid(format!(
                "invalid restart policy '{other}'"
            )))
        }
    }
    Ok(())
}

/// The log driver a container uses (docker's default when none is set).
pub fn log_driver(host: &HostConfig) -> String {
    if host.log_config.kind.is_empty() {
        "json-file".into()
    } else {
        host.log_config.kind.clone()
    }
}

impl ContainerService {
    /// Creates a container; returns its ID.
    pub fn create(&self, opts: CreateOptions) -> EngineResult<String> {
        let CreateOptions { name, request } = opts;
        if let Some(n) = &name {
            if !names::valid(n) {
                return Err(EngineError::invalid(format!(
                    "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
        }
        let image_name = request.config.image.clone();
        if image_name.is_empty() {
            return Err(EngineError::invalid("No image specified"));
        }
        let image_id = self.images.resolve_for_use(&image_name)?;
        let image_config = self.images.config(&image_id)?;
        let mut config = request.config;
        merge(
            &mut config,
            &crate::images::to_api_config(image_config.config.as_ref()),
        );
        let mut host = request.host_config;
        if host.log_config.kind.is_empty() {
            // The engine's default driver; its options too, unless the container has some.
            host.log_config.kind = self.log_driver.clone();
            if host.log_config.config.is_empty() {
                host.log_config.config = self.log_opts.clone().into_iter().collect();
            }
        }
        if host.network_mode.is_empty() {
            host.network_mode = "default".into();
        }
        if host.shm_size == 0 {
            host.shm_size = berth_runtime::spec::DEFAULT_SHM_SIZE as i64;
        }
        validate(&config, &host)?;
        let network = self.initial_networks(&config, &host, request.networking_config.as_ref())?;
        let mut mounts = self.requested_mounts(&config, &host)?;

        let id = names::new_id();
        if config.hostname.is_empty() {
            config.hostname = id[..12].to_string();
        }
        let name = self.claim_name(name.as_deref(), &id)?;
        let made_volumes = match self.make_mount_sources(&mut mounts) {
            Ok(made) => made,
            Err(e) => {
                self.names
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&name);
                return Err(e);
            }
        };
        let record = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            created: Utc::now(),
            image: image_name,
            image_id,
            config,
            host_config: host,
            state: State::default(),
            restart_count: 0,
            manually_stopped: false,
            has_been_started: false,
            network,
            mounts,
        };
        let dir = self.data_dir(&id);
        let saved = std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::internal(format!("creating {}: {e}", dir.display())))
            .and_then(|()| record.save(&dir));
        if let Err(e) = saved {
            let _ = std::fs::remove_dir_all(&dir);
            self.remove_volumes(&made_volumes);
            self.names
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&name);
            return Err(e);
        }
        self.flusher.written(dir.join(super::record::RECORD_FILE));
        let c = Container::new(record, self.flusher.clone());
        self.insert(c.clone());
        self.announce(&c.record(), "create", &[]);
        tracing::debug!(%id, %name, "container created");
        Ok(id)
    }

    /// Reserves `wanted` (or a generated name) for `id`.
    fn claim_name(&self, wanted: Option<&str>, id: &str) -> EngineResult<String> {
        let mut names = self.names.write().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = wanted {
            let n = n.strip_prefix('/').unwrap_or(n).to_string();
            if let Some(owner) = names.get(&n) {
                return Err(EngineError::conflict(format!(
                    "Conflict. The container name \"/{n}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            names.insert(n.clone(), id.to_string());
            return Ok(n);
        }
        for attempt in 0..20 {
            let n = names::generate(attempt / 5);
            if !names.contains_key(&n) {
                names.insert(n.clone(), id.to_string());
                return Ok(n);
            }
        }
        let n = format!("berth_{}", &id[..12]);
        names.insert(n.clone(), id.to_string());
        Ok(n)
    }
}

/// Labels as a map, for filters.
pub fn labels(config: &ContainerConfig) -> BTreeMap<String, String> {
    config.labels.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(entry: Option<&[&str]>, cmd: Option<&[&str]>) -> ContainerConfig {
        ContainerConfig {
            entrypoint: entry.map(|e| e.iter().map(|s| s.to_string()).collect()),
            cmd: cmd.map(|c| c.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn merges_like_docker() {
        let mut image = cfg(Some(&["/entry"]), Some(&["default"]));
        image.env = Some(vec!["PATH=/bin".into(), "A=image".into()]);
        image.working_dir = "/srv".into();
        let mut user = cfg(None, None);
        user.env = Some(vec!["A=user".into()]);
        merge(&mut user, &image);
        assert_eq!(user.entrypoint.unwrap(), ["/entry"]);
        assert_eq!(user.cmd.unwrap(), ["default"]);
        assert_eq!(user.env.unwrap(), ["A=user", "PATH=/bin"]);
        assert_eq!(user.working_dir, "/srv");

        let mut user = cfg(None, Some(&["mine"]));
        merge(&mut user, &image);
        assert_eq!(user.entrypoint.unwrap(), ["/entry"]);
        assert_eq!(user.cmd.unwrap(), ["mine"]);

        let mut user = cfg(Some(&["/other"]), None);
        merge(&mut user, &image);
        assert_eq!(user.entrypoint.unwrap(), ["/other"]);
        assert!(
            user.cmd.is_none(),
            "a new entrypoint drops the image's command"
        );

        let mut user = cfg(Some(&[""]), Some(&["sh"]));
        merge(&mut user, &image);
        assert!(user.entrypoint.is_none());
        assert_eq!(user.cmd.unwrap(), ["sh"]);
    }

    #[test]
    fn validation_messages() {
        let ok = cfg(None, Some(&["sh"]));
        let host = HostConfig {
            memory: 1 << 20,
            ..Default::default()
        };
        assert!(validate(&ok, &host).unwrap_err().message.contains("6MB"));
        let host = HostConfig {
            restart_policy: berth_api::types::RestartPolicy {
                name: "sometimes".into(),
                maximum_retry_count: 0,
            },
            ..Default::default()
        };
        assert!(validate(&ok, &host)
            .unwrap_err()
            .message
            .contains("invalid restart policy"));
        let host = HostConfig {
            auto_remove: true,
            restart_policy: berth_api::types::RestartPolicy {
                name: "always".into(),
                maximum_retry_count: 0,
            },
            ..Default::default()
        };
        assert!(validate(&ok, &host).is_err());
        assert!(validate(&cfg(None, None), &HostConfig::default())
            .unwrap_err()
            .message
            .contains("No command"));
        assert!(validate(&ok, &HostConfig::default()).is_ok());
    }
}
