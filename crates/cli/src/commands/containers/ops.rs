//! `pause`, `unpause`, `rename`, `update` and `port`.

use berth_api::types::ContainerUpdateRequest;
use berth_api::Client;
use serde_json::Value;

use super::manage::each;
use super::request::{nano_cpus, ram_in_bytes, restart_policy, swap_bytes};
use crate::app::{ContainersArgs, PortArgs, RenameArgs, UpdateArgs};
use crate::error::{CliError, CliResult};

pub async fn pause(client: &Client, args: ContainersArgs) -> CliResult {
    each(&args.containers, |c| async move {
        client.container_pause(&c).await
    })
    .await
}

pub async fn unpause(client: &Client, args: ContainersArgs) -> CliResult {
    each(&args.containers, |c| async move {
        client.container_unpause(&c).await
    })
    .await
}

pub async fn rename(client: &Client, args: RenameArgs) -> CliResult {
    let (old, new) = (args.container.trim(), args.new_name.trim());
    if old.is_empty() || new.is_empty() {
        return Err(CliError::general(
            "Error: Neither old nor new names may be empty",
        ));
    }
    if let Err(e) = client.container_rename(old, new).await {
        if e.is_connect() {
            return Err(e.into());
        }
        // docker prints the engine's reason, then its own summary.
        eprintln!("{}", CliError::from(e).message);
        return Err(CliError::general(format!(
            "Error: failed to rename container named {old}"
        )));
    }
    Ok(())
}

/// The update request of the flags given; none given is an error, as in docker.
fn update_request(a: &UpdateArgs) -> CliResult<ContainerUpdateRequest> {
    let size = |s: &Option<String>| s.as_deref().map(ram_in_bytes).transpose();
    let given = [
        a.blkio_weight.is_some(),
        a.cpu_period.is_some(),
        a.cpu_quota.is_some(),
        a.cpu_rt_period.is_some(),
        a.cpu_rt_runtime.is_some(),
        a.cpu_shares.is_some(),
        a.cpus.is_some(),
        a.cpuset_cpus.is_some(),
        a.cpuset_mems.is_some(),
        a.kernel_memory.is_some(),
        a.memory.is_some(),
        a.memory_reservation.is_some(),
        a.memory_swap.is_some(),
        a.pids_limit.is_some(),
        a.restart.is_some(),
    ];
    if !given.contains(&true) {
        return Err(CliError::general(
            "you must provide one or more flags when using this command",
        ));
    }
    Ok(ContainerUpdateRequest {
        blkio_weight: a.blkio_weight.unwrap_or(0),
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpu_realtime_period: a.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: a.cpu_rt_runtime.unwrap_or(0),
        cpu_shares: a.cpu_shares.unwrap_or(0),
        nano_cpus: a.cpus.as_deref().map(nano_cpus).transpose()?.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        kernel_memory: size(&a.kernel_memory)?.unwrap_or(0),
        memory: size(&a.memory)?.unwrap_or(0),
        memory_reservation: size(&a.memory_reservation)?.unwrap_or(0),
        memory_swap: a
            .memory_swap
            .as_deref()
            .map(swap_bytes)
            .transpose()?
            .unwrap_or(0),
        pids_limit: a.pids_limit,
        restart_policy: a
            .restart
            .as_deref()
            .map(restart_policy)
            .transpose()?
            .unwrap_or_default(),
    })
}

pub async fn update(client: &Client, args: UpdateArgs) -> CliResult {
    let request = update_request(&args)?;
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let mut out = String::new();
    for c in &args.containers {
        match client.container_update(c, &request).await {
            Ok(r) => {
                out.push_str(&format!("{c}\n"));
                warnings.extend(r.warnings);
            }
            Err(e) if e.is_connect() => return Err(e.into()),
            Err(e) => errors.push(CliError::from(e).message),
        }
    }
    if !warnings.is_empty() {
        out.push_str(&warnings.join("\n"));
        out.push('\n');
    }
    super::super::print(&out)?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::general(errors.join("\n")))
    }
}

/// Go's `net.JoinHostPort`: IPv6 addresses go in brackets.
fn join_host_port(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn frontends(bindings: &Value) -> Vec<String> {
    bindings
        .as_array()
        .map(|list| {
            list.iter()
                .map(|b| {
                    join_host_port(
                        b["HostIp"].as_str().unwrap_or(""),
                        b["HostPort"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// docker's check of `PRIVATE_PORT`: a port number or a range of them.
fn valid_port(port: &str) -> bool {
    let (lo, hi) = port.split_once('-').unwrap_or((port, port));
    match (lo.parse::<u16>(), hi.parse::<u16>()) {
        (Ok(l), Ok(h)) => l <= h,
        _ => false,
    }
}

/// The lines `port` prints for `ports` (inspect's NetworkSettings.Ports).
fn port_lines(ports: &Value, wanted: Option<&str>, container: &str) -> CliResult<String> {
    let mut out = String::new();
    let Some(wanted) = wanted else {
        let mut keys: Vec<&String> = ports
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        keys.sort();
        for k in keys {
            for f in frontends(&ports[k.as_str()]) {
                out.push_str(&format!("{k} -> {f}\n"));
            }
        }
        return Ok(out);
    };
    let (port, proto) = match wanted.split_once('/') {
        Some((p, proto)) if !proto.is_empty() => (p, proto),
        _ => (wanted, "tcp"),
    };
    if !valid_port(port) {
        return Err(CliError::general(format!("Error: invalid port: {port}")));
    }
    let key = format!("{port}/{proto}");
    match ports.get(&key).filter(|b| !b.is_null()) {
        Some(bindings) => {
            for f in frontends(bindings) {
                out.push_str(&format!("{f}\n"));
            }
            Ok(out)
        }
        None => Err(CliError::general(format!(
            "Error: No public port '{key}' published for {container}"
        ))),
    }
}

pub async fn port(client: &Client, args: PortArgs) -> CliResult {
    let info = client.container_inspect(&args.container).await?;
    let out = port_lines(
        &info["NetworkSettings"]["Ports"],
        args.port.as_deref(),
        &args.container,
    )?;
    super::super::print(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_as_docker_lists_them() {
        let ports = serde_json::json!({
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "53/udp": null,
        });
        assert_eq!(
            port_lines(&ports, None, "web").unwrap(),
            "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"
        );
        assert_eq!(
            port_lines(&ports, Some("80"), "web").unwrap(),
            "0.0.0.0:8080\n[::]:8080\n"
        );
        let e = port_lines(&ports, Some("53/udp"), "web").unwrap_err();
        assert_eq!(
            e.message,
            "Error: No public port '53/udp' published for web"
        );
        let e = port_lines(&serde_json::json!({}), Some("443"), "web").unwrap_err();
        assert_eq!(
            e.message,
            "Error: No public port '443/tcp' published for web"
        );
        assert!(port_lines(&ports, Some("http"), "web").is_err());
    }

    #[test]
    fn update_needs_a_flag() {
        let mut a = UpdateArgs {
            blkio_weight: None,
            cpu_period: None,
            cpu_quota: None,
            cpu_rt_period: None,
            cpu_rt_runtime: None,
            cpu_shares: None,
            cpus: None,
            cpuset_cpus: None,
            cpuset_mems: None,
            kernel_memory: None,
            memory: None,
            memory_reservation: None,
            memory_swap: None,
            pids_limit: None,
            restart: None,
            containers: vec!["web".into()],
        };
        assert!(update_request(&a).is_err());
        a.memory = Some("64m".into());
        a.cpus = Some("1.5".into());
        a.restart = Some("on-failure:3".into());
        let r = update_request(&a).unwrap();
        assert_eq!(r.memory, 64 << 20);
        assert_eq!(r.nano_cpus, 1_500_000_000);
        assert_eq!(r.restart_policy.maximum_retry_count, 3);
    }
}
