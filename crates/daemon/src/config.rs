//! The daemon's configuration: command-line flags merged with a daemon.json-style file.
//! As with dockerd, a setting given both ways is an error, and so is an unknown key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::args::{DaemonArgs, LogFormat, LogLevel};

pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_EXEC_ROOT: &str = "/run/berth";
pub const DEFAULT_GROUP: &str = "berth";
pub const DEFAULT_BRIDGE: &str = "berth0";

/// The daemon.json keys Berth understands.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    hosts: Option<Vec<String>>,
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    pidfile: Option<PathBuf>,
    log_level: Option<LogLevel>,
    log_format: Option<LogFormat>,
    debug: Option<bool>,
    group: Option<String>,
    insecure_registries: Option<Vec<String>>,
    registry_mirrors: Option<Vec<String>>,
    labels: Option<Vec<String>>,
    cgroup_parent: Option<String>,
    log_driver: Option<String>,
    log_opts: Option<BTreeMap<String, String>>,
    bridge: Option<String>,
    bip: Option<String>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    pub hosts: Vec<String>,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub debug: bool,
    pub group: String,
    pub insecure_registries: Vec<String>,
    pub registry_mirrors: Vec<String>,
    pub labels: Vec<String>,
    pub cgroup_parent: String,
    /// What containers that name no log driver use.
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
    /// The default bridge network's device, and its address (`--bip`) if set.
    pub bridge: String,
    pub bip: Option<String>,
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration file {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "the following directives are specified both as a flag and in the configuration file: {0}"
    )]
    Conflict(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl DaemonConfig {
    /// Resolves the configuration from flags and the configuration file they name (or the
    /// default one, which may be absent).
    pub fn load(args: &DaemonArgs) -> Result<DaemonConfig, ConfigError> {
        let (path, explicit) = match &args.config_file {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let file = read_file_config(&path, explicit)?;
        let config_file = file.as_ref().map(|_| path.clone());
        let file = file.unwrap_or_default();
        check_conflicts(args, &file)?;

        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let absolute = |p: PathBuf| if p.is_absolute() { p } else { cwd.join(p) };
        let data_root = absolute(
            args.data_root
                .clone()
                .or(file.data_root)
                .unwrap_or_else(|| DEFAULT_DATA_ROOT.into()),
        );
        let exec_root = absolute(
            args.exec_root
                .clone()
                .or(file.exec_root)
                .unwrap_or_else(|| DEFAULT_EXEC_ROOT.into()),
        );
        let pidfile = absolute(
            args.pidfile
                .clone()
                .or(file.pidfile)
                .unwrap_or_else(|| exec_root.join("berth.pid")),
        );
        let mut hosts = pick_list(&args.hosts, file.hosts);
        if hosts.is_empty() {
            hosts.push(format!("unix://{}", exec_root.join("berth.sock").display()));
        }
        let debug = args.debug || file.debug.unwrap_or(false);
        let config = DaemonConfig {
            hosts,
            data_root,
            exec_root,
            pidfile,
            log_level: args.log_level.or(file.log_level).unwrap_or(if debug {
                LogLevel::Debug
            } else {
                LogLevel::Info
            }),
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            debug,
            group: args
                .group
                .clone()
                .or(file.group)
                .unwrap_or_else(|| DEFAULT_GROUP.into()),
            insecure_registries: pick_list(&args.insecure_registries, file.insecure_registries),
            registry_mirrors: pick_list(&args.registry_mirrors, file.registry_mirrors),
            labels: pick_list(&args.labels, file.labels),
            cgroup_parent: args
                .cgroup_parent
                .clone()
                .or(file.cgroup_parent)
                .unwrap_or_else(|| "berth".into()),
            log_driver: args
                .log_driver
                .clone()
                .or(file.log_driver)
                .unwrap_or_else(|| "json-file".into()),
            log_opts: if args.log_opts.is_empty() {
                file.log_opts.unwrap_or_default()
            } else {
                parse_log_opts(&args.log_opts)?
            },
            bridge: args
                .bridge
                .clone()
                .or(file.bridge)
                .unwrap_or_else(|| DEFAULT_BRIDGE.into()),
            bip: args.bip.clone().or(file.bip),
            config_file,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for host in &self.hosts {
            match berth_api::Host::parse(host) {
                Ok(berth_api::Host::Unix(_)) | Ok(berth_api::Host::Tcp(_)) => {}
                Ok(berth_api::Host::Ssh { .. }) => {
                    return Err(ConfigError::Invalid(format!(
                        "cannot listen on {host}: the daemon listens on unix:// and tcp:// only"
                    )))
                }
                Err(e) => return Err(ConfigError::Invalid(e.to_string())),
            }
        }
        if let Some(bad) = self.labels.iter().find(|l| !l.contains('=')) {
            return Err(ConfigError::Invalid(format!(
                "bad label {bad:?}: labels are key=value"
            )));
        }
        if self.cgroup_parent.is_empty()
            || self
                .cgroup_parent
                .split('/')
                .any(|p| p.is_empty() || p == "..")
        {
            return Err(ConfigError::Invalid(format!(
                "invalid cgroup parent {:?}",
                self.cgroup_parent
            )));
        }
        berth_runtime::logs::LogConfig::parse(
            &self.log_driver,
            &self.log_opts.clone().into_iter().collect(),
        )
        .map_err(|e| ConfigError::Invalid(format!("default log driver: {e}")))?;
        if !berth_network::valid_ifname(&self.bridge) {
            return Err(ConfigError::Invalid(format!(
                "invalid bridge name {:?}: 1 to 15 letters, digits, '-', '_' or '.'",
                self.bridge
            )));
        }
        if let Some(bip) = &self.bip {
            berth_network::ipam::parse_cidr(bip)
                .map_err(|e| ConfigError::Invalid(format!("invalid --bip: {e}")))?;
        }
        if self.data_root == self.exec_root {
            return Err(ConfigError::Invalid(
                "data-root and exec-root must be different directories".into(),
            ));
        }
        Ok(())
    }

    /// Re-reads the configuration file for SIGHUP and returns the new configuration with
    /// only the reloadable settings changed, plus a note for each setting that needs a
    /// restart.
    pub fn reload(&self, args: &DaemonArgs) -> Result<(DaemonConfig, Vec<String>), ConfigError> {
        let fresh = DaemonConfig::load(args)?;
        let mut next = self.clone();
        next.debug = fresh.debug;
        next.log_level = fresh.log_level;
        next.labels = fresh.labels;
        next.insecure_registries = fresh.insecure_registries;
        next.registry_mirrors = fresh.registry_mirrors;
        let mut ignored = Vec::new();
        let fixed = [
            ("hosts", self.hosts != fresh.hosts),
            ("data-root", self.data_root != fresh.data_root),
            ("exec-root", self.exec_root != fresh.exec_root),
            ("pidfile", self.pidfile != fresh.pidfile),
            ("group", self.group != fresh.group),
            ("log-format", self.log_format != fresh.log_format),
        ];
        for (name, changed) in fixed {
            if changed {
                ignored.push(format!(
                    "{name} cannot be changed by a reload; restart the daemon"
                ));
            }
        }
        Ok((next, ignored))
    }
}

/// `--log-opt key=value` flags as a map.
fn parse_log_opts(opts: &[String]) -> Result<BTreeMap<String, String>, ConfigError> {
    opts.iter()
        .map(|o| {
            o.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    ConfigError::Invalid(format!("bad log option {o:?}: options are key=value"))
                })
        })
        .collect()
}

fn pick_list(flag: &[String], file: Option<Vec<String>>) -> Vec<String> {
    if flag.is_empty() {
        file.unwrap_or_default()
    } else {
        flag.to_vec()
    }
}

fn read_file_config(path: &Path, explicit: bool) -> Result<Option<FileConfig>, ConfigError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(FileConfig::default()));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

fn check_conflicts(args: &DaemonArgs, file: &FileConfig) -> Result<(), ConfigError> {
    let mut conflicts = Vec::new();
    let mut check = |name: &str, flag: bool, in_file: bool| {
        if flag && in_file {
            conflicts.push(name.to_string());
        }
    };
    check("hosts", !args.hosts.is_empty(), file.hosts.is_some());
    check(
        "data-root",
        args.data_root.is_some(),
        file.data_root.is_some(),
    );
    check(
        "exec-root",
        args.exec_root.is_some(),
        file.exec_root.is_some(),
    );
    check("pidfile", args.pidfile.is_some(), file.pidfile.is_some());
    check(
        "log-level",
        args.log_level.is_some(),
        file.log_level.is_some(),
    );
    check(
        "log-format",
        args.log_format.is_some(),
        file.log_format.is_some(),
    );
    check("debug", args.debug, file.debug.is_some());
    check("group", args.group.is_some(), file.group.is_some());
    check(
        "insecure-registries",
        !args.insecure_registries.is_empty(),
        file.insecure_registries.is_some(),
    );
    check(
        "registry-mirrors",
        !args.registry_mirrors.is_empty(),
        file.registry_mirrors.is_some(),
    );
    check("labels", !args.labels.is_empty(), file.labels.is_some());
    check(
        "cgroup-parent",
        args.cgroup_parent.is_some(),
        file.cgroup_parent.is_some(),
    );
    check(
        "log-driver",
        args.log_driver.is_some(),
        file.log_driver.is_some(),
    );
    check("bridge", args.bridge.is_some(), file.bridge.is_some());
    check("bip", args.bip.is_some(), file.bip.is_some());
    check(
        "log-opts",
        !args.log_opts.is_empty(),
        file.log_opts.is_some(),
    );
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Conflict(conflicts.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str], file: Option<&Path>) -> DaemonArgs {
        let mut v = vec!["berth-daemon".to_string()];
        if let Some(f) = file {
            v.push("--config-file".into());
            v.push(f.display().to_string());
        }
        v.extend(extra.iter().map(|s| s.to_string()));
        DaemonArgs::parse_from(v)
    }

    #[test]
    fn defaults_derive_from_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.json");
        std::fs::write(&f, "{}").unwrap();
        let c = DaemonConfig::load(&args(&["--exec-root", "/tmp/x"], Some(&f))).unwrap();
        assert_eq!(c.data_root, PathBuf::from(DEFAULT_DATA_ROOT));
        assert_eq!(c.pidfile, PathBuf::from("/tmp/x/berth.pid"));
        assert_eq!(c.hosts, vec!["unix:///tmp/x/berth.sock".to_string()]);
        assert_eq!(c.log_level, LogLevel::Info);
    }

    #[test]
    fn file_settings_apply_and_conflicts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.json");
        std::fs::write(
            &f,
            r#"{"data-root": "/srv/berth", "debug": true, "labels": ["a=b"]}"#,
        )
        .unwrap();
        let c = DaemonConfig::load(&args(&[], Some(&f))).unwrap();
        assert_eq!(c.data_root, PathBuf::from("/srv/berth"));
        assert!(c.debug);
        assert_eq!(c.log_level, LogLevel::Debug);
        let err = DaemonConfig::load(&args(&["--data-root", "/x"], Some(&f))).unwrap_err();
        assert!(err.to_string().contains("data-root"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.json");
        std::fs::write(&f, r#"{"storage-driver": "zfs"}"#).unwrap();
        let err = DaemonConfig::load(&args(&[], Some(&f))).unwrap_err();
        assert!(err.to_string().contains("storage-driver"), "{err}");
        std::fs::write(&f, r#"{"hosts": ["ssh://x"]}"#).unwrap();
        assert!(DaemonConfig::load(&args(&[], Some(&f))).is_err());
        std::fs::write(&f, "{").unwrap();
        assert!(DaemonConfig::load(&args(&[], Some(&f))).is_err());
        let missing = dir.path().join("missing.json");
        assert!(DaemonConfig::load(&args(&[], Some(&missing))).is_err());
    }

    #[test]
    fn reload_changes_only_reloadable_settings() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.json");
        std::fs::write(&f, r#"{"data-root": "/a", "log-level": "info"}"#).unwrap();
        let a = args(&[], Some(&f));
        let c = DaemonConfig::load(&a).unwrap();
        std::fs::write(&f, r#"{"data-root": "/b", "log-level": "debug"}"#).unwrap();
        let (next, notes) = c.reload(&a).unwrap();
        assert_eq!(next.log_level, LogLevel::Debug);
        assert_eq!(next.data_root, PathBuf::from("/a"));
        assert_eq!(notes.len(), 1);
    }
}
