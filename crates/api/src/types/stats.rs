//! `GET /containers/{id}/stats`: docker's `StatsJSON`, field for field, including its
//! quirks — `null` for the block I/O lists a cgroup version does not report, and the
//! zero-valued fields docker leaves out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    pub total_usage: u64,
    /// Per-CPU usage; only cgroup v1 reports it.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::null_as_default"
    )]
    pub percpu_usage: Vec<u64>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    #[serde(skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub online_cpus: u64,
    pub throttling_data: ThrottlingData,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_usage: u64,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "super::null_as_default"
    )]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub failcnt: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStatEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Each list is `null` when the cgroup version does not report it, as docker sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// Windows-only counters; always `{}` on Linux.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageStats {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// One sample of a container's resource usage, with the CPU figures of the sample before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerStats {
    pub read: String,
    pub preread: String,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    pub num_procs: u32,
    pub storage_stats: StorageStats,
    pub cpu_stats: CpuStats,
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    pub name: String,
    pub id: String,
    /// By interface; left out while the container has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_sample_has_dockers_shape() {
        let s = ContainerStats {
            read: "0001-01-01T00:00:00Z".into(),
            preread: "0001-01-01T00:00:00Z".into(),
            name: "/web".into(),
            id: "abc".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(
            v["blkio_stats"]["io_service_bytes_recursive"],
            serde_json::Value::Null
        );
        assert_eq!(v["pids_stats"], serde_json::json!({}));
        assert_eq!(v["memory_stats"], serde_json::json!({}));
        assert_eq!(v["storage_stats"], serde_json::json!({}));
        assert!(v.get("networks").is_none());
        assert_eq!(
            v["cpu_stats"],
            serde_json::json!({"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                "usage_in_usermode": 0}, "throttling_data": {"periods": 0,
                "throttled_periods": 0, "throttled_time": 0}})
        );
        let back: ContainerStats = serde_json::from_value(v).unwrap_or_default();
        assert_eq!(back, s);
    }
}
