//! `docker stats`: samples of a container's cgroup usage (CPU, memory, PIDs, block I/O) in
//! docker's `StatsJSON` shape, each carrying the CPU figures of the sample before it so a
//! client can compute the CPU percentage from the two.

use std::sync::Arc;

use berth_api::types::{
    BlkioStatEntry, BlkioStats, ContainerStats, CpuStats, CpuUsage, MemoryStats, PidsStats,
    ThrottlingData,
};
use berth_runtime::cgroups::Stats;

use super::record::Status;
use super::{Container, ContainerService};
use crate::error::{EngineError, EngineResult};
use crate::timefmt::{go_rfc3339_nano, GO_ZERO_TIME};

/// The query of `GET /containers/{id}/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsOptions {
    /// A sample every second until the client goes.
    pub stream: bool,
    /// Without `stream`: answer at once, without waiting for a second sample to fill in
    /// `precpu_stats`.
    pub one_shot: bool,
}

impl StatsOptions {
    pub fn validate(&self) -> EngineResult<()> {
        if self.stream && self.one_shot {
            return Err(EngineError::invalid(
                "cannot have stream=true and one-shot=true",
            ));
        }
        Ok(())
    }
}

/// Takes samples of one container, each with the CPU figures of the one before.
pub struct StatsSampler {
    svc: Arc<ContainerService>,
    c: Arc<Container>,
    pre: CpuStats,
    preread: String,
}

impl StatsSampler {
    /// Whether the container has a process to measure.
    pub fn is_running(&self) -> bool {
        matches!(
            self.c.record().state.status,
            Status::Running | Status::Paused
        )
    }

    /// Whether the container is gone (its stream then ends).
    pub fn is_removed(&self) -> bool {
        self.c.lifecycle.borrow().removed
    }

    /// The next sample; a container that is not running gives one with only its name and
    /// ID, as docker's.
    pub async fn sample(&mut self) -> ContainerStats {
        let rec = self.c.record();
        let mut out = ContainerStats {
            read: GO_ZERO_TIME.into(),
            name: format!("/{}", rec.name),
            id: rec.id.clone(),
            ..Default::default()
        };
        if self.is_running() {
            let svc = self.svc.clone();
            let read = tokio::task::spawn_blocking(move || -> EngineResult<_> {
                let cgroup = svc.cgroup_of(&rec)?;
                let stats = cgroup.stats()?;
                Ok((stats, cgroup.is_v2(), chrono::Utc::now()))
            })
            .await;
            match read {
                Ok(Ok((stats, v2, at))) => {
                    fill(&mut out, &stats, v2, crate::host::mem_total().max(0) as u64);
                    out.read = go_rfc3339_nano(at);
                }
                Ok(Err(e)) => tracing::debug!(id = %self.c.id, error = %e, "reading stats"),
                Err(e) => tracing::warn!(id = %self.c.id, error = %e, "reading stats"),
            }
        }
        out.precpu_stats = std::mem::replace(&mut self.pre, out.cpu_stats.clone());
        out.preread = std::mem::replace(&mut self.preread, out.read.clone());
        out
    }
}

fn entries(stats: &Stats, op: [&str; 2], bytes: bool) -> Vec<BlkioStatEntry> {
    let mut v = Vec::new();
    for d in &stats.io {
        let (r, w) = if bytes {
            (d.read_bytes, d.write_bytes)
        } else {
            (d.read_ios, d.write_ios)
        };
        for (op, value) in [(op[0], r), (op[1], w)] {
            v.push(BlkioStatEntry {
                major: d.major.into(),
                minor: d.minor.into(),
                op: op.into(),
                value,
            });
        }
    }
    v
}

/// Fills `out` from the cgroup's figures as docker does for the cgroup version: v2 has no
/// per-CPU usage, no peak or fail count, and only byte counts of block I/O. An unlimited
/// memory limit shows as the host's memory.
fn fill(out: &mut ContainerStats, s: &Stats, v2: bool, host_memory: u64) {
    out.cpu_stats = CpuStats {
        cpu_usage: CpuUsage {
            total_usage: s.cpu.usage_ns,
            percpu_usage: if v2 {
                Vec::new()
            } else {
                s.cpu.per_cpu_ns.clone()
            },
            usage_in_kernelmode: s.cpu.system_ns,
            usage_in_usermode: s.cpu.user_ns,
        },
        system_cpu_usage: s.cpu.system_usage_ns,
        online_cpus: s.cpu.online_cpus.into(),
        throttling_data: ThrottlingData {
            periods: s.cpu.nr_periods,
            throttled_periods: s.cpu.nr_throttled,
            throttled_time: s.cpu.throttled_ns,
        },
    };
    let limit = s.memory.limit.unwrap_or(u64::MAX);
    out.memory_stats = MemoryStats {
        usage: s.memory.usage,
        max_usage: if v2 { 0 } else { s.memory.max_usage },
        stats: s.memory.stat.clone(),
        failcnt: if v2 { 0 } else { s.memory.failcnt },
        limit: if host_memory > 0 {
            limit.min(host_memory)
        } else {
            limit
        },
    };
    out.pids_stats = PidsStats {
        current: s.pids.current,
        limit: s.pids.limit.unwrap_or(0),
    };
    out.blkio_stats = if v2 {
        let bytes = entries(s, ["read", "write"], true);
        BlkioStats {
            io_service_bytes_recursive: (!bytes.is_empty()).then_some(bytes),
            ..Default::default()
        }
    } else {
        BlkioStats {
            io_service_bytes_recursive: Some(entries(s, ["Read", "Write"], true)),
            io_serviced_recursive: Some(entries(s, ["Read", "Write"], false)),
            io_queue_recursive: Some(Vec::new()),
            io_service_time_recursive: Some(Vec::new()),
            io_wait_time_recursive: Some(Vec::new()),
            io_merged_recursive: Some(Vec::new()),
            io_time_recursive: Some(Vec::new()),
            sectors_recursive: Some(Vec::new()),
        }
    };
}

impl ContainerService {
    /// A sampler for the container `name`.
    pub fn stats(self: &Arc<Self>, name: &str) -> EngineResult<StatsSampler> {
        let c = self.find(name)?;
        Ok(StatsSampler {
            svc: self.clone(),
            c,
            pre: CpuStats::default(),
            preread: GO_ZERO_TIME.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use berth_runtime::cgroups::{CpuStats as Cpu, IoStats, MemoryStats as Mem};

    use super::*;

    #[test]
    fn figures_in_dockers_places() {
        let s = Stats {
            cpu: Cpu {
                usage_ns: 500,
                per_cpu_ns: vec![200, 300],
                system_usage_ns: 10_000,
                online_cpus: 2,
                ..Default::default()
            },
            memory: Mem {
                usage: 4096,
                limit: None,
                ..Default::default()
            },
            io: vec![IoStats {
                major: 8,
                minor: 0,
                read_bytes: 10,
                write_bytes: 20,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut out = ContainerStats::default();
        fill(&mut out, &s, false, 1 << 30);
        assert_eq!(
            out.memory_stats.limit,
            1 << 30,
            "unlimited shows the host's memory"
        );
        assert_eq!(out.cpu_stats.cpu_usage.percpu_usage, [200, 300]);
        let bytes = out.blkio_stats.io_service_bytes_recursive.clone().unwrap();
        assert_eq!((bytes[0].op.as_str(), bytes[0].value), ("Read", 10));
        fill(&mut out, &s, true, 1 << 30);
        assert!(out.cpu_stats.cpu_usage.percpu_usage.is_empty());
        assert!(out.blkio_stats.io_serviced_recursive.is_none());
        assert_eq!(
            out.blkio_stats.io_service_bytes_recursive.unwrap()[1].op,
            "write"
        );
    }
}
