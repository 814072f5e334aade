//! From `run`/`create` flags to the Engine API's create request, with docker's parsing of
//! sizes, CPU counts, ulimits, env files, restart policies and health checks; ports and
//! networks are read by `ports` and `endpoints`, volumes and mounts by `volumes`.

use std::collections::BTreeMap;
use std::path::Path;

use berth_api::types::{
    ContainerConfig, ContainerCreateRequest, HealthConfig, HostConfig, LogConfig, RestartPolicy,
    Ulimit,
};

use super::{endpoints, ports, volumes};

use crate::app::CreateFlags;
use crate::error::{CliError, CliResult};

fn bad(msg: impl Into<String>) -> CliError {
    CliError::usage(msg)
}

/// docker's `RAMInBytes` (go-units): a decimal number, one optional space, and an optional
/// binary unit (k, m, g, t, p; case-insensitive) with an optional `i` and `b` (`64m`,
/// `64 MiB`, `1.5g`, `512b`).
pub fn ram_in_bytes(s: &str) -> CliResult<i64> {
    let invalid = || bad(format!("invalid size: '{s}'"));
    let lower = s.trim().to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_end);
    let digits_around_dots = num
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !digits_around_dots {
        return Err(invalid());
    }
    let value: f64 = num.parse().map_err(|_| invalid())?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let unit = unit.strip_suffix('b').unwrap_or(unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(invalid()),
    };
    Ok((value * mult) as i64)
}

/// Go durations as the health flags take them (`30s`, `1m30s`, `500ms`), in nanoseconds.
pub fn duration_ns(s: &str) -> CliResult<i64> {
    let s = s.trim();
    berth_api::units::parse_go_duration(s)
        .filter(|_| !s.starts_with(['-', '+']))
        .ok_or_else(|| bad(format!("invalid duration {s:?}")))
}

/// `--cpus`: a decimal number of CPUs, in billionths.
pub fn nano_cpus(c: &str) -> CliResult<i64> {
    let v: f64 = c
        .parse()
        .map_err(|_| bad(format!("invalid argument \"{c}\" for \"--cpus\" flag")))?;
    Ok((v * 1e9) as i64)
}

/// `--memory-swap`: a size, or -1 for unlimited swap.
pub fn swap_bytes(s: &str) -> CliResult<i64> {
    if s == "-1" {
        Ok(-1)
    } else {
        ram_in_bytes(s)
    }
}

/// `name=soft[:hard]`.
pub fn ulimit(s: &str) -> CliResult<Ulimit> {
    let (name, values) = s
        .split_once('=')
        .ok_or_else(|| bad(format!("invalid ulimit argument: {s}")))?;
    let (soft, hard) = values.split_once(':').unwrap_or((values, values));
    let parse = |v: &str| {
        v.parse::<i64>()
            .map_err(|_| bad(format!("invalid ulimit argument: {s}")))
    };
    let (soft, hard) = (parse(soft)?, parse(hard)?);
    if soft > hard {
        return Err(bad(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// `no`, `always`, `unless-stopped`, `on-failure[:N]`.
pub fn restart_policy(s: &str) -> CliResult<RestartPolicy> {
    let (name, count) = s.split_once(':').unwrap_or((s, ""));
    let maximum_retry_count = if count.is_empty() {
        0
    } else if name == "on-failure" {
        count
            .parse()
            .map_err(|_| bad(format!("maximum retry count must be an integer: {count}")))?
    } else {
        return Err(bad(format!("invalid restart policy format: {s}")));
    };
    match name {
        "no" | "always" | "unless-stopped" | "on-failure" => Ok(RestartPolicy {
            name: name.to_string(),
            maximum_retry_count,
        }),
        _ => Err(bad(format!("invalid restart policy format: {s}"))),
    }
}

/// Lines of an env or label file: `KEY=VALUE`, `KEY` (taken from our environment when set),
/// blank lines and `#` comments skipped.
pub fn read_kv_file(path: &Path, from_env: bool) -> CliResult<Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("open {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains('=') || !from_env {
            out.push(line.to_string());
        } else if let Ok(v) = std::env::var(line) {
            out.push(format!("{line}={v}"));
        }
    }
    Ok(out)
}

/// `-e KEY` takes KEY from our environment (or leaves it out when unset).
pub fn env_entry(e: &str) -> Option<String> {
    if e.contains('=') {
        Some(e.to_string())
    } else {
        std::env::var(e).ok().map(|v| format!("{e}={v}"))
    }
}

fn split_kv(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

pub fn build(
    f: &CreateFlags,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    auto_remove: bool,
) -> CliResult<ContainerCreateRequest> {
    let storage = volumes::storage(&f.vol)?;
    let net = endpoints::networking(&f.net)?;
    let ports = ports::parse(&f.net.publish, &f.net.expose).map_err(|e| bad(e.to_string()))?;
    let mut env = Vec::new();
    for file in &f.env_file {
        env.extend(read_kv_file(file, true)?);
    }
    env.extend(f.env.iter().filter_map(|e| env_entry(e)));
    let mut labels = Vec::new();
    for file in &f.label_file {
        labels.extend(read_kv_file(file, false)?);
    }
    labels.extend(f.label.iter().cloned());

    let health_flags = f.health_cmd.is_some()
        || f.health_interval.is_some()
        || f.health_timeout.is_some()
        || f.health_retries.is_some()
        || f.health_start_period.is_some();
    if f.no_healthcheck && health_flags {
        return Err(bad("--no-healthcheck conflicts with --health-* options"));
    }
    let healthcheck = if f.no_healthcheck {
        Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        })
    } else if health_flags {
        let dur = |d: &Option<String>| {
            d.as_deref()
                .map(duration_ns)
                .transpose()
                .map(|v| v.unwrap_or(0))
        };
        Some(HealthConfig {
            test: f
                .health_cmd
                .as_ref()
                .map(|c| vec!["CMD-SHELL".to_string(), c.clone()]),
            interval: dur(&f.health_interval)?,
            timeout: dur(&f.health_timeout)?,
            start_period: dur(&f.health_start_period)?,
            retries: f.health_retries.unwrap_or(0),
        })
    } else {
        None
    };
    let config = ContainerConfig {
        hostname: f.hostname.clone().unwrap_or_default(),
        domainname: f.domainname.clone().unwrap_or_default(),
        user: f.user.clone().unwrap_or_default(),
        attach_stdin,
        attach_stdout,
        attach_stderr,
        tty: f.tty,
        open_stdin: f.interactive,
        stdin_once: f.interactive && attach_stdin,
        env: (!env.is_empty()).then_some(env),
        cmd: (!f.command.is_empty()).then(|| f.command.clone()),
        healthcheck,
        image: f.image.clone(),
        volumes: storage.volumes,
        working_dir: f.workdir.clone().unwrap_or_default(),
        entrypoint: f.entrypoint.clone().map(|e| vec![e]),
        labels: (!labels.is_empty()).then(|| split_kv(&labels)),
        stop_signal: f.stop_signal.clone().unwrap_or_default(),
        stop_timeout: f.stop_timeout,
        exposed_ports: (!ports.exposed.is_empty()).then_some(ports.exposed),
        mac_address: net.mac_address,
        ..Default::default()
    };
    let size = |s: &Option<String>| {
        s.as_deref()
            .map(ram_in_bytes)
            .transpose()
            .map(|v| v.unwrap_or(0))
    };
    let memory_swap = f
        .memory_swap
        .as_deref()
        .map(swap_bytes)
        .transpose()?
        .unwrap_or(0);
    let nano_cpus = f.cpus.as_deref().map(nano_cpus).transpose()?.unwrap_or(0);
    let mut log_opts = BTreeMap::new();
    for o in &f.log_opt {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| bad(format!("invalid log opt: {o}")))?;
        log_opts.insert(k.to_string(), v.to_string());
    }
    let tmpfs: BTreeMap<String, String> = f
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((d, o)) => (d.to_string(), o.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect();
    let host = HostConfig {
        memory: size(&f.memory)?,
        memory_swap,
        memory_reservation: size(&f.memory_reservation)?,
        nano_cpus,
        cpu_shares: f.cpu_shares.unwrap_or(0),
        cpu_period: f.cpu_period.unwrap_or(0),
        cpu_quota: f.cpu_quota.unwrap_or(0),
        cpuset_cpus: f.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: f.cpuset_mems.clone().unwrap_or_default(),
        pids_limit: f.pids_limit,
        oom_kill_disable: f.oom_kill_disable.then_some(true),
        init: f.init.then_some(true),
        readonly_rootfs: f.read_only,
        cap_add: (!f.cap_add.is_empty()).then(|| f.cap_add.clone()),
        cap_drop: (!f.cap_drop.is_empty()).then(|| f.cap_drop.clone()),
        privileged: f.privileged,
        security_opt: (!f.security_opt.is_empty())
            .then(|| security_opts(&f.security_opt))
            .transpose()?,
        ulimits: (!f.ulimit.is_empty())
            .then(|| {
                f.ulimit
                    .iter()
                    .map(|u| ulimit(u))
                    .collect::<CliResult<Vec<_>>>()
            })
            .transpose()?,
        shm_size: size(&f.shm_size)?,
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        log_config: LogConfig {
            kind: f.log_driver.clone().unwrap_or_default(),
            config: log_opts,
        },
        restart_policy: restart_policy(&f.restart)?,
        auto_remove,
        binds: storage.binds,
        mounts: storage.mounts,
        volumes_from: storage.volumes_from,
        volume_driver: storage.volume_driver,
        network_mode: net.network_mode,
        port_bindings: Some(
            ports
                .bindings
                .into_iter()
                .map(|(port, b)| (port, Some(b)))
                .collect(),
        ),
        publish_all_ports: f.net.publish_all,
        links: net.links,
        ipc_mode: f.ipc.clone().unwrap_or_default(),
        pid_mode: f.pid.clone().unwrap_or_default(),
        uts_mode: f.uts.clone().unwrap_or_default(),
        extra_hosts: (!f.add_host.is_empty()).then(|| f.add_host.clone()),
        dns: (!f.dns.is_empty()).then(|| f.dns.clone()),
        dns_options: (!f.dns_option.is_empty()).then(|| f.dns_option.clone()),
        dns_search: (!f.dns_search.is_empty()).then(|| f.dns_search.clone()),
        group_add: (!f.group_add.is_empty()).then(|| f.group_add.clone()),
        sysctls: (!f.sysctl.is_empty()).then(|| split_kv(&f.sysctl)),
        ..Default::default()
    };
    for w in &storage.warnings {
        eprintln!("WARNING: {w}");
    }
    Ok(ContainerCreateRequest {
        config,
        host_config: host,
        networking_config: Some(net.config),
    })
}

/// docker reads a seccomp profile file on the client and sends its content.
fn security_opts(opts: &[String]) -> CliResult<Vec<String>> {
    opts.iter()
        .map(|o| match o.split_once(['=', ':']) {
            Some(("seccomp", v)) if v != "unconfined" => {
                let content = std::fs::read_to_string(v)
                    .map_err(|e| bad(format!("opening seccomp profile ({v}) failed: {e}")))?;
                Ok(format!("seccomp={content}"))
            }
            _ => Ok(o.clone()),
        })
        .collect()
}

#[cfg(test)]
#[path = "request_net_tests.rs"]
mod net_tests;

#[cfg(test)]
#[path = "request_volume_tests.rs"]
mod volume_tests;

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
