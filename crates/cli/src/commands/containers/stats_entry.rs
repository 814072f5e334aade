//! One row of `stats`, computed from a sample exactly as the docker CLI computes it: CPU %
//! from the change against the previous sample, memory without the inactive page cache,
//! block I/O summed over devices, and docker's units in every cell.

use berth_api::types::{BlkioStats, ContainerStats, MemoryStats};
use serde_json::{json, Map, Value};

use crate::format::units::{bytes_size, human_size, truncate_id};

pub const DEFAULT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

pub fn headers() -> Map<String, Value> {
    let h = json!({
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    });
    h.as_object().cloned().unwrap_or_default()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsEntry {
    /// The container as the user named it (or its short ID when listing them all).
    pub container: String,
    pub name: String,
    pub id: String,
    pub cpu_percentage: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percentage: f64,
    pub network_rx: f64,
    pub network_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids_current: u64,
    /// No figures could be had (the stream failed): cells show `--`.
    pub invalid: bool,
}

impl StatsEntry {
    pub fn new(container: &str) -> StatsEntry {
        StatsEntry {
            container: container.to_string(),
            ..Default::default()
        }
    }

    /// docker's `SetErrorAndReset`: figures gone, name and ID kept.
    pub fn invalidate(&mut self) {
        *self = StatsEntry {
            container: std::mem::take(&mut self.container),
            name: std::mem::take(&mut self.name),
            id: std::mem::take(&mut self.id),
            invalid: true,
            ..Default::default()
        };
    }

    /// The figures of one sample.
    pub fn update(&mut self, v: &ContainerStats) {
        let memory = memory_without_cache(&v.memory_stats);
        let limit = v.memory_stats.limit as f64;
        let (read, write) = block_io(&v.blkio_stats);
        let (rx, tx) = v
            .networks
            .iter()
            .flatten()
            .fold((0.0, 0.0), |(r, t), (_, n)| {
                (r + n.rx_bytes as f64, t + n.tx_bytes as f64)
            });
        *self = StatsEntry {
            container: std::mem::take(&mut self.container),
            name: v.name.clone(),
            id: v.id.clone(),
            cpu_percentage: cpu_percent(v),
            memory,
            memory_limit: limit,
            memory_percentage: if limit != 0.0 {
                memory / limit * 100.0
            } else {
                0.0
            },
            network_rx: rx,
            network_tx: tx,
            block_read: read as f64,
            block_write: write as f64,
            pids_current: v.pids_stats.current,
            invalid: false,
        };
    }

    /// The template data of the row.
    pub fn row(&self, trunc: bool) -> Value {
        let or_dashes = |s: String| if self.invalid { "--".to_string() } else { s };
        let name = self
            .name
            .strip_prefix('/')
            .filter(|n| !n.is_empty())
            .unwrap_or("--");
        json!({
            "Container": self.container,
            "Name": name,
            "ID": if trunc { truncate_id(&self.id).to_string() } else { self.id.clone() },
            "CPUPerc": or_dashes(format!("{:.2}%", self.cpu_percentage)),
            "MemUsage": if self.invalid {
                "-- / --".to_string()
            } else {
                format!("{} / {}", bytes_size(self.memory), bytes_size(self.memory_limit))
            },
            "MemPerc": or_dashes(format!("{:.2}%", self.memory_percentage)),
            "NetIO": or_dashes(format!("{} / {}", human_size(self.network_rx), human_size(self.network_tx))),
            "BlockIO": or_dashes(format!("{} / {}", human_size(self.block_read), human_size(self.block_write))),
            "PIDs": or_dashes(self.pids_current.to_string()),
        })
    }
}

/// The container's share of the host's CPU time between the two samples, times the CPUs.
fn cpu_percent(v: &ContainerStats) -> f64 {
    let cpu_delta =
        v.cpu_stats.cpu_usage.total_usage as f64 - v.precpu_stats.cpu_usage.total_usage as f64;
    let system_delta = v.cpu_stats.system_cpu_usage as f64 - v.precpu_stats.system_cpu_usage as f64;
    let mut cpus = v.cpu_stats.online_cpus as f64;
    if cpus == 0.0 {
        cpus = v.cpu_stats.cpu_usage.percpu_usage.len() as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    }
}

/// Bytes read and written, summed over devices (entries `Read`/`read`, `Write`/`write`).
fn block_io(b: &BlkioStats) -> (u64, u64) {
    let (mut read, mut write) = (0, 0);
    for e in b.io_service_bytes_recursive.iter().flatten() {
        match e.op.as_bytes().first() {
            Some(b'r' | b'R') => read += e.value,
            Some(b'w' | b'W') => write += e.value,
            _ => {}
        }
    }
    (read, write)
}

/// Usage without the inactive page cache: `total_inactive_file` on cgroup v1,
/// `inactive_file` on v2.
fn memory_without_cache(m: &MemoryStats) -> f64 {
    if let Some(&v) = m.stats.get("total_inactive_file") {
        if v < m.usage {
            return (m.usage - v) as f64;
        }
    }
    let inactive = m.stats.get("inactive_file").copied().unwrap_or(0);
    if inactive < m.usage {
        (m.usage - inactive) as f64
    } else {
        m.usage as f64
    }
}

#[cfg(test)]
mod tests {
    use berth_api::types::{BlkioStatEntry, CpuStats, CpuUsage};

    use super::*;

    #[test]
    fn figures_as_docker_computes_them() {
        let mut v = ContainerStats {
            name: "/web".into(),
            id: "0123456789abcdef".repeat(4),
            ..Default::default()
        };
        v.precpu_stats = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: 1_000,
                ..Default::default()
            },
            system_cpu_usage: 100_000,
            ..Default::default()
        };
        v.cpu_stats = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: 6_000,
                ..Default::default()
            },
            system_cpu_usage: 200_000,
            online_cpus: 2,
            ..Default::default()
        };
        v.memory_stats.usage = 10 << 20;
        v.memory_stats.limit = 64 << 20;
        v.memory_stats
            .stats
            .insert("total_inactive_file".into(), 2 << 20);
        v.blkio_stats.io_service_bytes_recursive = Some(vec![
            BlkioStatEntry {
                op: "Read".into(),
                value: 4096,
                ..Default::default()
            },
            BlkioStatEntry {
                op: "Write".into(),
                value: 1_500_000,
                ..Default::default()
            },
            BlkioStatEntry {
                op: "Total".into(),
                value: 9,
                ..Default::default()
            },
        ]);
        v.pids_stats.current = 3;
        let mut e = StatsEntry::new("web");
        e.update(&v);
        let r = e.row(true);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Name"], "web");
        assert_eq!(r["CPUPerc"], "10.00%");
        assert_eq!(r["MemUsage"], "8MiB / 64MiB");
        assert_eq!(r["MemPerc"], "12.50%");
        assert_eq!(r["NetIO"], "0B / 0B");
        assert_eq!(r["BlockIO"], "4.1kB / 1.5MB");
        assert_eq!(r["PIDs"], "3");
        e.invalidate();
        let r = e.row(true);
        assert_eq!(
            (r["CPUPerc"].as_str(), r["MemUsage"].as_str()),
            (Some("--"), Some("-- / --"))
        );
        assert_eq!(r["Name"], "web", "the name stays");
    }

    #[test]
    fn v2_memory_uses_inactive_file() {
        let mut m = MemoryStats {
            usage: 1000,
            ..Default::default()
        };
        m.stats.insert("inactive_file".into(), 400);
        assert_eq!(memory_without_cache(&m), 600.0);
    }
}
