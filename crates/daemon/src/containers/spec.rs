//! From a container's record to its runtime spec: command, environment, identity, mounts,
//! security options and resource limits, with docker's defaults.

use std::collections::HashMap;
use std::path::Path;

use berth_api::types::HostConfig;
use berth_runtime::linux::caps;
use berth_runtime::linux::user::Identity;
use berth_runtime::spec::{ContainerSpec, NsMode};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimitBuilder, PosixRlimitType,
};

use super::etc_files::EtcFiles;
use super::record::ContainerRecord;
use crate::error::{EngineError, EngineResult};

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The capability names the container keeps (`--cap-add`, `--cap-drop`, `--privileged`).
pub fn capabilities(host: &HostConfig) -> Result<Vec<&'static str>, String> {
    caps::effective_set(
        host.cap_add.as_deref().unwrap_or(&[]),
        host.cap_drop.as_deref().unwrap_or(&[]),
        host.privileged,
    )
}

/// The process environment: the config's, plus PATH, HOSTNAME, HOME and (with a terminal)
/// TERM where missing, as docker adds them.
pub fn environment(rec: &ContainerRecord, home: &str) -> Vec<String> {
    let mut env = rec.config.env.clone().unwrap_or_default();
    let has = |env: &[String], key: &str| env.iter().any(|e| e.split('=').next() == Some(key));
    if !has(&env, "PATH") {
        env.push(DEFAULT_PATH.to_string());
    }
    if !has(&env, "HOSTNAME") {
        env.push(format!("HOSTNAME={}", rec.config.hostname));
    }
    if rec.config.tty && !has(&env, "TERM") {
        env.push("TERM=xterm".to_string());
    }
    if !has(&env, "HOME") {
        env.push(format!("HOME={home}"));
    }
    env
}

fn bind(source: &Path, dest: &str, readonly: bool) -> EngineResult<Mount> {
    let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
    if readonly {
        options.push("ro".to_string());
    }
    MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(source)
        .options(options)
        .build()
        .map_err(|e| EngineError::internal(e.to_string()))
}

fn tmpfs(dest: &str, opts: &str) -> EngineResult<Mount> {
    let mut options: Vec<String> = vec!["nosuid".into(), "nodev".into(), "noexec".into()];
    options.extend(
        opts.split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string),
    );
    MountBuilder::default()
        .destination(dest)
        .typ("tmpfs")
        .source("tmpfs")
        .options(options)
        .build()
        .map_err(|e| EngineError::internal(e.to_string()))
}

fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType as T;
    Some(match name {
        "core" => T::RlimitCore,
        "cpu" => T::RlimitCpu,
        "data" => T::RlimitData,
        "fsize" => T::RlimitFsize,
        "locks" => T::RlimitLocks,
        "memlock" => T::RlimitMemlock,
        "msgqueue" => T::RlimitMsgqueue,
        "nice" => T::RlimitNice,
        "nofile" => T::RlimitNofile,
        "nproc" => T::RlimitNproc,
        "rss" => T::RlimitRss,
        "rtprio" => T::RlimitRtprio,
        "rttime" => T::RlimitRttime,
        "sigpending" => T::RlimitSigpending,
        "stack" => T::RlimitStack,
        "as" => T::RlimitAs,
        _ => return None,
    })
}

/// The cgroup limits of a HostConfig.
pub fn resources(host: &HostConfig) -> EngineResult<LinuxResources> {
    let e = |x: oci_spec::OciSpecError| EngineError::internal(x.to_string());
    let mut memory = LinuxMemoryBuilder::default();
    if host.memory > 0 {
        memory = memory.limit(host.memory);
    }
    if host.memory_swap != 0 {
        memory = memory.swap(host.memory_swap);
    } else if host.memory > 0 {
        // docker's default: as much swap as memory.
        memory = memory.swap(host.memory * 2);
    }
    if host.memory_reservation > 0 {
        memory = memory.reservation(host.memory_reservation);
    }
    if let Some(d) = host.oom_kill_disable {
        memory = memory.disable_oom_killer(d);
    }
    let mut cpu = LinuxCpuBuilder::default();
    if host.cpu_shares > 0 {
        cpu = cpu.shares(host.cpu_shares as u64);
    }
    if host.nano_cpus > 0 {
        let period: u64 = 100_000;
        cpu = cpu
            .period(period)
            .quota(host.nano_cpus * period as i64 / 1_000_000_000);
    } else {
        if host.cpu_period > 0 {
            cpu = cpu.period(host.cpu_period as u64);
        }
        if host.cpu_quota > 0 {
            cpu = cpu.quota(host.cpu_quota);
        }
    }
    if !host.cpuset_cpus.is_empty() {
        cpu = cpu.cpus(host.cpuset_cpus.clone());
    }
    if !host.cpuset_mems.is_empty() {
        cpu = cpu.mems(host.cpuset_mems.clone());
    }
    let mut r = LinuxResourcesBuilder::default()
        .memory(memory.build().map_err(e)?)
        .cpu(cpu.build().map_err(e)?);
    if let Some(p) = host.pids_limit.filter(|p| *p != 0) {
        r = r.pids(LinuxPidsBuilder::default().limit(p).build().map_err(e)?);
    }
    if host.blkio_weight > 0 {
        r = r.block_io(
            LinuxBlockIoBuilder::default()
                .weight(host.blkio_weight)
                .build()
                .map_err(e)?,
        );
    }
    r.build().map_err(e)
}

/// The namespace a `--network`, `--ipc`, `--pid` or `--uts` mode asks for.
fn ns_mode(mode: &str) -> NsMode {
    if mode == "host" {
        NsMode::Host
    } else {
        NsMode::Private
    }
}

/// What `--security-opt` asks for, parsed as docker's daemon parses it.
#[derive(Debug, Default, PartialEq)]
pub struct SecurityOptions {
    pub no_new_privileges: bool,
    /// A seccomp profile's JSON, or `unconfined`.
    pub seccomp: Option<String>,
}

pub fn security_options(host: &HostConfig) -> EngineResult<SecurityOptions> {
    let mut out = SecurityOptions::default();
    for opt in host.security_opt.iter().flatten() {
        if opt == "no-new-privileges" {
            out.no_new_privileges = true;
            continue;
        }
        if opt == "disable" {
            continue; // a label option: there is no SELinux labelling to disable
        }
        let Some((key, value)) = opt.split_once('=').or_else(|| opt.split_once(':')) else {
            return Err(EngineError::invalid(format!(
                "invalid --security-opt 1: {opt:?}"
            )));
        };
        match key {
            // Accepted as docker accepts them on a host without AppArmor or SELinux.
            "label" | "apparmor" => {}
            "seccomp" => out.seccomp = Some(value.to_string()),
            "no-new-privileges" => {
                out.no_new_privileges = parse_bool(value).ok_or_else(|| {
                    EngineError::invalid(format!("invalid --security-opt 2: {opt:?}"))
                })?
            }
            _ => {
                return Err(EngineError::invalid(format!(
                    "invalid --security-opt 2: {opt:?}"
                )))
            }
        }
    }
    Ok(out)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The container's seccomp filter from `--security-opt seccomp=…` (unconfined when
/// privileged, docker's default otherwise).
pub fn seccomp_setting(host: &HostConfig) -> EngineResult<berth_runtime::shim::Seccomp> {
    use berth_runtime::shim::Seccomp;
    if host.privileged {
        return Ok(Seccomp::Unconfined);
    }
    match security_options(host)?.seccomp {
        None => Ok(Seccomp::Default),
        Some(v) if v == "unconfined" => Ok(Seccomp::Unconfined),
        Some(v) => {
            berth_runtime::seccomp::Profile::from_json(v.as_bytes()).map_err(|e| {
                EngineError::invalid(format!("Decoding seccomp profile failed: {e}"))
            })?;
            Ok(Seccomp::Custom(v))
        }
    }
}

/// What docker checks of the mounts, limits and options at create, so a bad value is
/// refused before anything exists rather than when the container starts.
pub fn check(host: &HostConfig) -> EngineResult<()> {
    tmpfs_mounts(host)?;
    rlimits(host)?;
    seccomp_setting(host)?;
    capabilities(host).map_err(EngineError::invalid)?;
    if host.nano_cpus != 0 {
        if host.cpu_period > 0 {
            return Err(EngineError::invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
        if host.cpu_quota > 0 {
            return Err(EngineError::invalid(
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
            ));
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
        if host.nano_cpus < 10_000_000 || host.nano_cpus > cpus * 1_000_000_000 {
            return Err(EngineError::invalid(format!(
                "Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
            )));
        }
    }
    Ok(())
}

fn tmpfs_mounts(host: &HostConfig) -> EngineResult<Vec<Mount>> {
    let mut mounts = Vec::new();
    for (dest, opts) in host.tmpfs.iter().flatten() {
        if !dest.starts_with('/') {
            return Err(EngineError::invalid(format!(
                "invalid mount config for type \"tmpfs\": invalid mount path: '{dest}' mount path must be absolute"
            )));
        }
        mounts.push(tmpfs(dest, opts)?);
    }
    Ok(mounts)
}

fn rlimits(host: &HostConfig) -> EngineResult<Vec<oci_spec::runtime::PosixRlimit>> {
    let mut rlimits = Vec::new();
    for u in host.ulimits.iter().flatten() {
        let typ = rlimit_type(&u.name)
            .ok_or_else(|| EngineError::invalid(format!("invalid ulimit type: {}", u.name)))?;
        if u.soft > u.hard {
            return Err(EngineError::invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                u.soft, u.hard
            )));
        }
        rlimits.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(u.soft as u64)
                .hard(u.hard as u64)
                .build()
                .map_err(|e| EngineError::internal(e.to_string()))?,
        );
    }
    Ok(rlimits)
}

/// Builds the container's runtime spec input.
pub fn build(
    rec: &ContainerRecord,
    rootfs: &Path,
    who: &Identity,
    etc: &EtcFiles,
) -> EngineResult<ContainerSpec> {
    let host = &rec.host_config;
    let mut args = rec.command();
    let mut mounts = vec![
        bind(&etc.resolv_conf, "/etc/resolv.conf", false)?,
        bind(&etc.hostname, "/etc/hostname", false)?,
        bind(&etc.hosts, "/etc/hosts", false)?,
    ];
    if host.init == Some(true) {
        // docker's tini at /dev/init: the shim mounts the engine's own binary there.
        args = [berth_runtime::init::PATH.to_string(), "--".to_string()]
            .into_iter()
            .chain(args)
            .collect();
    }
    mounts.extend(tmpfs_mounts(host)?);
    let rlimits = rlimits(host)?;
    let no_new_privileges = security_options(host)?.no_new_privileges;
    let caps = capabilities(host).map_err(EngineError::invalid)?;
    Ok(ContainerSpec {
        rootfs: rootfs.to_path_buf(),
        readonly_rootfs: host.readonly_rootfs,
        args,
        env: environment(rec, &who.home),
        cwd: if rec.config.working_dir.is_empty() {
            "/".into()
        } else {
            rec.config.working_dir.clone()
        },
        uid: who.uid,
        gid: who.gid,
        additional_gids: who.additional_gids.clone(),
        terminal: rec.config.tty,
        hostname: rec.config.hostname.clone(),
        domainname: rec.config.domainname.clone(),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
        privileged: host.privileged,
        no_new_privileges,
        seccomp: None,
        shm_size: (host.shm_size > 0).then_some(host.shm_size as u64),
        mounts,
        rlimits,
        sysctls: host
            .sysctls
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect::<HashMap<_, _>>(),
        resources: Some(resources(host)?),
        network: ns_mode(&host.network_mode),
        ipc: ns_mode(&host.ipc_mode),
        pid: ns_mode(&host.pid_mode),
        uts: ns_mode(&host.uts_mode),
        devices: if host.privileged {
            berth_runtime::linux::devices::host_devices()
        } else {
            Vec::new()
        },
    })
}
