//! The resource limits of one container as Berth sets them (Docker's HostConfig knobs, OCI
//! `linux.resources` semantics), their validation, and the pure conversions between the v1
//! and v2 spellings of the same limit.

use std::collections::BTreeMap;

use super::devices::DeviceRule;
use super::error::{CgroupError, Result};

/// Docker's smallest accepted memory limit (and reservation).
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// A per-device I/O rate limit (bytes or operations per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleDevice {
    pub major: u32,
    pub minor: u32,
    pub rate: u64,
}

/// A per-device I/O weight (10–1000, as `blkio.weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightDevice {
    pub major: u32,
    pub minor: u32,
    pub weight: u16,
}

/// Resource limits. `None` (and, as in Docker's API and runc, `0` for the numeric limits)
/// leaves a setting as it is; `-1` means unlimited where the kernel has such a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// Hard memory limit in bytes (`--memory`); at least [`MIN_MEMORY`].
    pub memory: Option<i64>,
    /// Memory plus swap in bytes (`--memory-swap`), -1 for unlimited swap. Docker's daemon
    /// defaults it to twice `memory`; that default is the caller's business.
    pub memory_swap: Option<i64>,
    /// Soft limit (`--memory-reservation`): v1 soft_limit_in_bytes, v2 memory.low.
    pub memory_reservation: Option<i64>,
    /// `--memory-swappiness` 0–100 (cgroup v1 only; ignored with a warning on v2).
    pub memory_swappiness: Option<u64>,
    /// `--oom-kill-disable` (cgroup v1 only; ignored with a warning on v2).
    pub oom_kill_disable: Option<bool>,
    /// Relative CPU weight (`--cpu-shares`, 2–262144); converted to cpu.weight on v2.
    pub cpu_shares: Option<u64>,
    /// CFS quota in µs per period (`--cpu-quota`), -1 for none.
    pub cpu_quota: Option<i64>,
    /// CFS period in µs (`--cpu-period`), 1000–1000000.
    pub cpu_period: Option<u64>,
    /// CPUs the container may run on (`--cpuset-cpus`, e.g. `0-2,4`).
    pub cpuset_cpus: Option<String>,
    /// Memory nodes (`--cpuset-mems`).
    pub cpuset_mems: Option<String>,
    /// Maximum number of tasks (`--pids-limit`), -1 for unlimited.
    pub pids_limit: Option<i64>,
    /// Block I/O weight (`--blkio-weight`, 10–1000).
    pub blkio_weight: Option<u16>,
    /// `--blkio-weight-device`.
    pub blkio_weight_device: Vec<WeightDevice>,
    /// `--device-read-bps`.
    pub throttle_read_bps: Vec<ThrottleDevice>,
    /// `--device-write-bps`.
    pub throttle_write_bps: Vec<ThrottleDevice>,
    /// `--device-read-iops`.
    pub throttle_read_iops: Vec<ThrottleDevice>,
    /// `--device-write-iops`.
    pub throttle_write_iops: Vec<ThrottleDevice>,
    /// Device access rules in order, last match winning (see [`super::default_device_rules`]).
    /// Only [`super::Cgroup::apply`] sets them; `update` leaves devices alone, as Docker does.
    pub devices: Option<Vec<DeviceRule>>,
    /// Raw cgroup v2 files to write (OCI `linux.resources.unified`); an error on v1.
    pub unified: BTreeMap<String, String>,
}

/// A numeric setting that is present and not Docker's "leave unchanged" zero.
pub(crate) fn set<T: Copy + Default + PartialEq>(v: Option<T>) -> Option<T> {
    v.filter(|x| *x != T::default())
}

impl Resources {
    /// Checks what can be checked without the kernel. `update` relaxes the checks that
    /// compare against a value the container already has.
    pub fn validate(&self, update: bool) -> Result<()> {
        let memory = set(self.memory);
        if let Some(m) = memory {
            if m < -1 || (m > 0 && m < MIN_MEMORY) {
                return Err(CgroupError::invalid(
                    "memory limit",
                    m,
                    "minimum memory limit allowed is 6MB",
                ));
            }
        }
        if let Some(s) = set(self.memory_swap) {
            if s < -1 {
                return Err(CgroupError::invalid(
                    "memory+swap limit",
                    s,
                    "must be -1 or positive",
                ));
            }
            match memory {
                Some(m) if s > 0 && m > 0 && s < m => {
                    return Err(CgroupError::invalid(
                        "memory+swap limit",
                        s,
                        format!("must be at least the memory limit ({m})"),
                    ))
                }
                None if !update && s > 0 => {
                    return Err(CgroupError::invalid(
                        "memory+swap limit",
                        s,
                        "needs a memory limit as well",
                    ))
                }
                _ => {}
            }
        }
        if let Some(r) = set(self.memory_reservation) {
            if r < -1 || (r > 0 && r < MIN_MEMORY) {
                return Err(CgroupError::invalid(
                    "memory reservation",
                    r,
                    "minimum memory reservation allowed is 6MB",
                ));
            }
            if let Some(m) = memory.filter(|m| *m > 0) {
                if r > m {
                    return Err(CgroupError::invalid(
                        "memory reservation",
                        r,
                        format!("must not exceed the memory limit ({m})"),
                    ));
                }
            }
        }
        if let Some(s) = self.memory_swappiness.filter(|s| *s > 100) {
            return Err(CgroupError::invalid(
                "memory swappiness",
                s,
                "valid range is 0-100",
            ));
        }
        if let Some(s) = set(self.cpu_shares) {
            if s > 262_144 {
                return Err(CgroupError::invalid(
                    "cpu shares",
                    s,
                    "valid range is 2-262144",
                ));
            }
        }
        if let Some(q) = set(self.cpu_quota) {
            if q < -1 || (q > 0 && q < 1000) {
                return Err(CgroupError::invalid(
                    "cpu quota",
                    q,
                    "can not be less than 1ms (1000)",
                ));
            }
        }
        if let Some(p) = set(self.cpu_period) {
            if !(1000..=1_000_000).contains(&p) {
                return Err(CgroupError::invalid(
                    "cpu period",
                    p,
                    "valid range is 1000-1000000 (1ms-1s)",
                ));
            }
        }
        if let Some(c) = &self.cpuset_cpus {
            parse_list(c).map_err(|r| CgroupError::invalid("cpuset cpus", c, r))?;
        }
        if let Some(m) = &self.cpuset_mems {
            parse_list(m).map_err(|r| CgroupError::invalid("cpuset mems", m, r))?;
        }
        if let Some(p) = set(self.pids_limit) {
            if p < -1 {
                return Err(CgroupError::invalid(
                    "pids limit",
                    p,
                    "must be -1 or positive",
                ));
            }
        }
        let weights = set(self.blkio_weight)
            .into_iter()
            .chain(self.blkio_weight_device.iter().map(|w| w.weight));
        for w in weights {
            if !(10..=1000).contains(&w) {
                return Err(CgroupError::invalid(
                    "blkio weight",
                    w,
                    "valid range is 10-1000",
                ));
            }
        }
        for key in self.unified.keys() {
            if key.is_empty() || key.contains('/') || key.starts_with('.') {
                return Err(CgroupError::invalid(
                    "unified cgroup file",
                    key,
                    "not a file name",
                ));
            }
        }
        Ok(())
    }
}

/// Parses a cpu/memory-node list such as `0-3,7` into its members.
pub fn parse_list(s: &str) -> std::result::Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let lo: u32 = lo
            .trim()
            .parse()
            .map_err(|_| format!("{part:?} is not a number or range"))?;
        let hi: u32 = hi
            .trim()
            .parse()
            .map_err(|_| format!("{part:?} is not a number or range"))?;
        if hi < lo || hi - lo > 65_536 {
            return Err(format!("{part:?} is not a valid range"));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Checks that every member of `requested` is in `available` (both list syntax), with
/// Docker's wording.
pub(crate) fn check_subset(setting: &'static str, requested: &str, available: &str) -> Result<()> {
    let req = parse_list(requested).map_err(|r| CgroupError::invalid(setting, requested, r))?;
    let avail = parse_list(available).unwrap_or_default();
    if let Some(missing) = req.iter().find(|c| !avail.contains(c)) {
        return Err(CgroupError::invalid(
            setting,
            requested,
            format!("not available: {missing} is not in {}", available.trim()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_setting_and_value() {
        let r = Resources {
            memory: Some(4 << 20),
            ..Default::default()
        };
        let e = r.validate(false).expect_err("below minimum");
        let msg = e.to_string();
        assert!(
            msg.contains("memory limit") && msg.contains("4194304"),
            "{msg}"
        );

        let r = Resources {
            cpu_quota: Some(500),
            ..Default::default()
        };
        assert!(r.validate(false).is_err());
        let r = Resources {
            memory: Some(64 << 20),
            memory_swap: Some(32 << 20),
            ..Default::default()
        };
        assert!(r.validate(false).is_err());
        let r = Resources {
            memory: Some(0),
            cpu_shares: Some(0),
            pids_limit: Some(-1),
            cpuset_cpus: Some("0-1".into()),
            ..Default::default()
        };
        assert!(r.validate(false).is_ok());
        let r = Resources {
            cpuset_cpus: Some("1-x".into()),
            ..Default::default()
        };
        assert!(r.validate(false).is_err());
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list("0-3,7"), Ok(vec![0, 1, 2, 3, 7]));
        assert_eq!(parse_list("1\n"), Ok(vec![1]));
        assert!(parse_list("3-1").is_err());
        assert!(check_subset("cpuset cpus", "0-1", "0-1\n").is_ok());
        let e = check_subset("cpuset cpus", "5", "0-1").expect_err("missing cpu");
        assert!(e.to_string().contains("cpuset cpus") && e.to_string().contains("\"5\""));
    }
}
