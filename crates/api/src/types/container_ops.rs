//! Bodies of the container endpoints beyond the lifecycle: `update` and `top`.

use serde::{Deserialize, Serialize};

use super::container::RestartPolicy;

/// `POST /containers/{id}/update`: the resource limits to change (docker's `Resources`; a
/// zero leaves a limit as it is) and, optionally, a new restart policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerUpdateRequest {
    pub cpu_shares: i64,
    pub memory: i64,
    pub blkio_weight: u16,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpu_realtime_period: i64,
    pub cpu_realtime_runtime: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub kernel_memory: i64,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    /// `None` leaves the limit alone; 0 or -1 removes it.
    pub pids_limit: Option<i64>,
    pub restart_policy: RestartPolicy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdateResponse {
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub warnings: Vec<String>,
}

/// `GET /containers/{id}/top`: `ps` columns and one row per process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerTopResponse {
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub titles: Vec<String>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub processes: Vec<Vec<String>>,
}
