//! Pure conversions between the cgroup v1 and v2 spellings of the same limit (CPU shares to
//! weights, quota and period to cpu.max, Docker's memory+swap total to v2's swap-only limit),
//! kept free of I/O so they are unit-tested exactly.

use super::error::{CgroupError, Result};
use super::resources::set;

/// cpu.shares (2–262144, default 1024) → cpu.weight (1–10000, default 100), as runc and crun
/// convert it, so a given `--cpu-shares` means the same on either cgroup version.
pub fn cpu_shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// blkio.weight (10–1000) → io.weight (1–10000), the same linear map runc uses.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    let w = u64::from(weight.clamp(10, 1000));
    1 + ((w - 10) * 9999) / 990
}

/// The cpu.max line for a quota and period: `"<quota|max> <period>"`, or just the quota
/// (which keeps the current period) when no period is given; `None` when neither is set.
pub fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let quota = set(quota);
    let period = set(period);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut s = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    if let Some(p) = period {
        s.push(' ');
        s.push_str(&p.to_string());
    }
    Some(s)
}

/// memory.swap.max from Docker's memory+swap total: v2 limits swap alone, so the value is
/// `swap - memory`; `-1` is `max`. `None` leaves swap alone.
pub fn swap_max(memory_swap: Option<i64>, memory: Option<i64>) -> Result<Option<String>> {
    let swap = memory_swap.unwrap_or(0);
    let memory = memory.unwrap_or(0);
    // As on v1: unlimited memory without a swap setting means unlimited swap too.
    if memory == -1 && swap == 0 {
        return Ok(Some("max".into()));
    }
    match swap {
        0 => Ok(None),
        -1 => Ok(Some("max".into())),
        s if memory <= 0 => Err(CgroupError::invalid(
            "memory+swap limit",
            s,
            "cannot limit swap without a memory limit",
        )),
        s if s < memory => Err(CgroupError::invalid(
            "memory+swap limit",
            s,
            format!("must be at least the memory limit ({memory})"),
        )),
        s => Ok(Some((s - memory).to_string())),
    }
}

/// A v2 byte limit: `max` for -1.
pub(crate) fn bytes_or_max(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_weight_matches_runc() {
        assert_eq!(cpu_shares_to_weight(2), 1);
        assert_eq!(cpu_shares_to_weight(1024), 39);
        assert_eq!(cpu_shares_to_weight(262_144), 10_000);
        assert_eq!(cpu_shares_to_weight(512), 20);
        assert_eq!(cpu_shares_to_weight(0), 1);
    }

    #[test]
    fn io_weight_conversion() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
    }

    #[test]
    fn cpu_max_formatting() {
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            cpu_max(Some(-1), Some(100_000)).as_deref(),
            Some("max 100000")
        );
        assert_eq!(cpu_max(None, Some(250_000)).as_deref(), Some("max 250000"));
        assert_eq!(cpu_max(Some(20_000), None).as_deref(), Some("20000"));
        assert_eq!(cpu_max(None, None), None);
        assert_eq!(cpu_max(Some(0), Some(0)), None);
    }

    #[test]
    fn swap_max_formatting() {
        let m = 64 << 20;
        assert_eq!(
            swap_max(Some(2 * m), Some(m)).ok().flatten(),
            Some((m).to_string())
        );
        assert_eq!(
            swap_max(Some(m), Some(m)).ok().flatten().as_deref(),
            Some("0")
        );
        assert_eq!(
            swap_max(Some(-1), Some(m)).ok().flatten().as_deref(),
            Some("max")
        );
        assert_eq!(
            swap_max(None, Some(-1)).ok().flatten().as_deref(),
            Some("max")
        );
        assert_eq!(swap_max(None, Some(m)).ok().flatten(), None);
        assert!(swap_max(Some(m), None).is_err());
        assert!(swap_max(Some(m / 2), Some(m)).is_err());
    }
}
