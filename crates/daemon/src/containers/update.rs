//! `docker update`: new resource limits and restart policy for a container, checked with
//! docker's rules and wording, written to the live cgroup when the container runs (paused
//! included), and kept in its HostConfig so the next start applies them too.

use std::sync::Arc;

use berth_api::types::{ContainerUpdateRequest, HostConfig};
use berth_runtime::cgroups::Resources;

use super::record::Status;
use super::ContainerService;
use crate::error::{EngineError, EngineResult};

/// Docker's smallest kernel memory limit.
const MIN_KERNEL_MEMORY: i64 = 4 << 20;
/// The CFS period `--cpus` is expressed in, as docker's.
const CPU_PERIOD_US: i64 = 100_000;

/// docker's `verifyPlatformContainerResources` for an update; returns the warnings.
fn validate(u: &ContainerUpdateRequest) -> EngineResult<Vec<String>> {
    let bad = |m: &str| Err(EngineError::invalid(m));
    let mut warnings = Vec::new();
    if u.memory != 0 && u.memory < super::create::MIN_MEMORY {
        return bad("Minimum memory limit allowed is 6MB");
    }
    if u.memory > 0 && u.memory_swap > 0 && u.memory_swap < u.memory {
        return bad("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if u.memory_reservation != 0 && u.memory_reservation < super::create::MIN_MEMORY {
        return bad("Minimum memory reservation allowed is 6MB");
    }
    if u.memory > 0 && u.memory_reservation > 0 && u.memory < u.memory_reservation {
        return bad(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    if u.kernel_memory != 0 {
        if u.kernel_memory < MIN_KERNEL_MEMORY {
            return bad("Minimum kernel memory limit allowed is 4MB");
        }
        warnings.push(
            "Specifying a kernel memory limit is deprecated and will be removed in a future release."
                .to_string(),
        );
    }
    if u.nano_cpus > 0 && u.cpu_period > 0 {
        return bad("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if u.nano_cpus > 0 && u.cpu_quota > 0 {
        return bad("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    let cpus = crate::host::cpus();
    if u.nano_cpus < 0 || u.nano_cpus > cpus * 1_000_000_000 {
        return Err(EngineError::invalid(format!(
            "Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
        )));
    }
    if u.cpu_period != 0 && !(1000..=1_000_000).contains(&u.cpu_period) {
        return bad(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if u.cpu_quota > 0 && u.cpu_quota < 1000 {
        return bad("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    for (what, list) in [("cpus", &u.cpuset_cpus), ("mems", &u.cpuset_mems)] {
        if !list.is_empty() && berth_runtime::cgroups::parse_list(list).is_err() {
            return Err(EngineError::invalid(format!(
                "Invalid value {list} for cpuset {what}"
            )));
        }
    }
    if u.blkio_weight > 0 && !(10..=1000).contains(&u.blkio_weight) {
        return bad("Range of blkio weight is from 10 to 1000");
    }
    super::create::validate_restart_policy(&u.restart_policy)?;
    Ok(warnings)
}

/// The memory+swap limit the container runs with: its own, or docker's default of twice
/// the memory limit.
fn effective_swap(h: &HostConfig) -> i64 {
    match (h.memory_swap, h.memory) {
        (0, m) if m > 0 => m * 2,
        (s, _) => s,
    }
}

/// docker's `UpdateContainer`: the changes merged into the HostConfig, refusing those that
/// conflict with what is already set.
fn merge(h: &mut HostConfig, u: &ContainerUpdateRequest) -> EngineResult<()> {
    let conflict = |m: &str| Err(EngineError::conflict(m));
    if u.nano_cpus > 0 && h.cpu_period > 0 {
        return conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set",
        );
    }
    if u.nano_cpus > 0 && h.cpu_quota > 0 {
        return conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set",
        );
    }
    if u.cpu_period > 0 && h.nano_cpus > 0 {
        return conflict(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set",
        );
    }
    if u.cpu_quota > 0 && h.nano_cpus > 0 {
        return conflict(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
        );
    }
    let swap = effective_swap(h);
    if u.memory != 0 && swap > 0 && u.memory > swap && u.memory_swap == 0 {
        return conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
    }
    if !u.restart_policy.name.is_empty() {
        if h.auto_remove && u.restart_policy.name != "no" {
            return conflict(
                "Restart policy cannot be updated because AutoRemove is enabled for the container",
            );
        }
        h.restart_policy = u.restart_policy.clone();
    }
    let set = |field: &mut i64, v: i64| {
        if v != 0 {
            *field = v;
        }
    };
    set(&mut h.cpu_shares, u.cpu_shares);
    set(&mut h.nano_cpus, u.nano_cpus);
    set(&mut h.cpu_period, u.cpu_period);
    set(&mut h.cpu_quota, u.cpu_quota);
    set(&mut h.memory, u.memory);
    set(&mut h.memory_swap, u.memory_swap);
    set(&mut h.memory_reservation, u.memory_reservation);
    set(&mut h.kernel_memory, u.kernel_memory);
    set(&mut h.cpu_realtime_period, u.cpu_realtime_period);
    set(&mut h.cpu_realtime_runtime, u.cpu_realtime_runtime);
    if u.blkio_weight != 0 {
        h.blkio_weight = u.blkio_weight;
    }
    if !u.cpuset_cpus.is_empty() {
        h.cpuset_cpus = u.cpuset_cpus.clone();
    }
    if !u.cpuset_mems.is_empty() {
        h.cpuset_mems = u.cpuset_mems.clone();
    }
    if let Some(p) = u.pids_limit {
        // 0 and -1 both mean no limit; docker keeps that as "unset".
        h.pids_limit = (p > 0).then_some(p);
    }
    Ok(())
}

/// The limits to write into the live cgroup: only what the update changes.
fn live_resources(u: &ContainerUpdateRequest) -> Resources {
    let positive = |v: i64| (v != 0).then_some(v);
    let (cpu_period, cpu_quota) = if u.nano_cpus > 0 {
        (
            Some(CPU_PERIOD_US as u64),
            Some(u.nano_cpus * CPU_PERIOD_US / 1_000_000_000),
        )
    } else {
        (
            (u.cpu_period > 0).then_some(u.cpu_period as u64),
            positive(u.cpu_quota),
        )
    };
    Resources {
        memory: positive(u.memory),
        memory_swap: positive(u.memory_swap),
        memory_reservation: positive(u.memory_reservation),
        cpu_shares: (u.cpu_shares > 0).then_some(u.cpu_shares as u64),
        cpu_period,
        cpu_quota,
        cpuset_cpus: (!u.cpuset_cpus.is_empty()).then(|| u.cpuset_cpus.clone()),
        cpuset_mems: (!u.cpuset_mems.is_empty()).then(|| u.cpuset_mems.clone()),
        pids_limit: u.pids_limit.map(|p| if p > 0 { p } else { -1 }),
        blkio_weight: (u.blkio_weight > 0).then_some(u.blkio_weight),
        ..Default::default()
    }
}

impl ContainerService {
    /// `docker update`; returns docker's warnings.
    pub async fn update(
        self: &Arc<Self>,
        name: &str,
        u: ContainerUpdateRequest,
    ) -> EngineResult<Vec<String>> {
        let warnings = validate(&u)?;
        let c = self.find(name)?;
        let _op = c.op.lock().await;
        let rec = c.record();
        let cannot = |e: EngineError| e.context(format!("Cannot update container {}", c.id));
        if matches!(rec.state.status, Status::Removing | Status::Dead) {
            return Err(cannot(EngineError::conflict(
                "container is marked for removal and cannot be \"update\"",
            )));
        }
        let mut host = rec.host_config.clone();
        merge(&mut host, &u).map_err(cannot)?;
        if matches!(rec.state.status, Status::Running | Status::Paused) {
            let cgroup = self.cgroup_of(&rec).map_err(cannot)?;
            let resources = live_resources(&u);
            tokio::task::spawn_blocking(move || cgroup.update(&resources))
                .await
                .map_err(|e| EngineError::internal(e.to_string()))?
                .map_err(|e| cannot(EngineError::from(e)))?;
        }
        let rec = c.update(&self.data_dir(&c.id), |r| r.host_config = host)?;
        self.announce(&rec, "update", &[]);
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(f: impl FnOnce(&mut ContainerUpdateRequest)) -> ContainerUpdateRequest {
        let mut u = ContainerUpdateRequest::default();
        f(&mut u);
        u
    }

    #[test]
    fn checks_use_dockers_words() {
        let e = validate(&req(|u| u.memory = 1 << 20)).unwrap_err();
        assert_eq!(e.message, "Minimum memory limit allowed is 6MB");
        let e = validate(&req(|u| u.blkio_weight = 5)).unwrap_err();
        assert_eq!(e.message, "Range of blkio weight is from 10 to 1000");
        let e = validate(&req(|u| u.cpuset_cpus = "0-x".into())).unwrap_err();
        assert_eq!(e.message, "Invalid value 0-x for cpuset cpus");
        let w = validate(&req(|u| u.kernel_memory = 64 << 20)).unwrap();
        assert_eq!(w.len(), 1);
        assert!(validate(&req(|u| u.restart_policy.name = "sometimes".into())).is_err());
    }

    #[test]
    fn merge_keeps_what_is_not_changed() {
        let mut h = HostConfig {
            memory: 32 << 20,
            cpu_shares: 512,
            ..Default::default()
        };
        merge(&mut h, &req(|u| u.memory_reservation = 16 << 20)).unwrap();
        assert_eq!(
            (h.memory, h.cpu_shares, h.memory_reservation),
            (32 << 20, 512, 16 << 20)
        );
        // Above the memory+swap limit docker gave it at create (twice the memory).
        let e = merge(&mut h, &req(|u| u.memory = 128 << 20)).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Conflict);
        merge(&mut h, &req(|u| u.pids_limit = Some(-1))).unwrap();
        assert_eq!(h.pids_limit, None);
        let mut rm = HostConfig {
            auto_remove: true,
            ..Default::default()
        };
        let e = merge(&mut rm, &req(|u| u.restart_policy.name = "always".into())).unwrap_err();
        assert!(e.message.contains("AutoRemove"), "{}", e.message);
    }

    #[test]
    fn cpus_become_a_quota() {
        let r = live_resources(&req(|u| u.nano_cpus = 1_500_000_000));
        assert_eq!((r.cpu_period, r.cpu_quota), (Some(100_000), Some(150_000)));
        let r = live_resources(&req(|u| u.pids_limit = Some(0)));
        assert_eq!(r.pids_limit, Some(-1));
    }
}
