//! Resource usage of a container's cgroup, in the units `docker stats` works with (CPU in
//! nanoseconds beside the host's total, memory in bytes with the page cache broken out),
//! read from whichever files the cgroup version offers.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{key_values, read, read_opt, read_u64, Result};
use super::{Backend, Cgroup};

/// Kernel USER_HZ: the unit of /proc/stat and cpuacct.stat, 100 on every Linux ABI.
const USER_HZ: u64 = 100;
const NS_PER_TICK: u64 = 1_000_000_000 / USER_HZ;
/// v1 reports "unlimited" as the largest page-aligned counter; anything this big is no limit.
const V1_UNLIMITED: u64 = 1 << 62;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CpuStats {
    /// CPU time used by the cgroup, all CPUs together.
    pub usage_ns: u64,
    pub user_ns: u64,
    pub system_ns: u64,
    /// Per-CPU usage (cgroup v1 only; empty on v2, as in Docker).
    pub per_cpu_ns: Vec<u64>,
    /// The host's total CPU time (user..softirq of /proc/stat), the denominator of Docker's
    /// CPU percentage: `Δusage / Δsystem × online_cpus × 100`.
    pub system_usage_ns: u64,
    pub online_cpus: u32,
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_ns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryStats {
    /// Current usage including page cache.
    pub usage: u64,
    /// Peak usage, when the kernel tracks it.
    pub max_usage: u64,
    /// The limit; `None` when unlimited (Docker then shows the host's memory).
    pub limit: Option<u64>,
    /// Inactive file cache (`total_inactive_file` on v1, `inactive_file` on v2), which
    /// `docker stats` subtracts from `usage`.
    pub inactive_file: u64,
    /// Times the limit was hit (v1 failcnt, v2 memory.events `max`).
    pub failcnt: u64,
    /// Processes killed by the OOM killer in this cgroup.
    pub oom_kills: u64,
    /// memory.stat as it is.
    pub stat: BTreeMap<String, u64>,
}

impl MemoryStats {
    /// Usage as `docker stats` shows it: without the inactive page cache.
    pub fn usage_without_cache(&self) -> u64 {
        self.usage.saturating_sub(self.inactive_file)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PidsStats {
    pub current: u64,
    /// `None` when unlimited.
    pub limit: Option<u64>,
}

/// Bytes and operations on one block device.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IoStats {
    pub major: u32,
    pub minor: u32,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ios: u64,
    pub write_ios: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub io: Vec<IoStats>,
}

impl Cgroup {
    /// Reads the cgroup's current usage. Files of controllers the host lacks read as zero.
    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        match &self.backend {
            Backend::V1(v) => {
                if let Some(d) = v.dir("cpuacct") {
                    v1_cpuacct(d, &mut s.cpu)?;
                }
                if let Some(d) = v.dir("cpu") {
                    throttling(d, &mut s.cpu, 1)?;
                }
                if let Some(d) = v.dir("memory") {
                    v1_memory(d, &mut s.memory)?;
                }
                if let Some(d) = v.dir("pids") {
                    pids(d, &mut s.pids)?;
                }
                if let Some(d) = v.dir("blkio") {
                    s.io = v1_blkio(d)?;
                }
            }
            Backend::V2(v) => {
                let d = v.dir.as_path();
                if let Some(text) = read_opt(&d.join("cpu.stat"))? {
                    for (k, n) in key_values(&text) {
                        match k {
                            "usage_usec" => s.cpu.usage_ns = n * 1000,
                            "user_usec" => s.cpu.user_ns = n * 1000,
                            "system_usec" => s.cpu.system_ns = n * 1000,
                            _ => {}
                        }
                    }
                    throttling(d, &mut s.cpu, 1000)?;
                }
                v2_memory(d, &mut s.memory)?;
                pids(d, &mut s.pids)?;
                s.io = v2_io(d)?;
            }
        }
        let (system, cpus) = system_cpu()?;
        s.cpu.system_usage_ns = system;
        s.cpu.online_cpus = cpus;
        Ok(s)
    }

    /// How many processes of this cgroup the OOM killer has killed.
    pub fn oom_kill_count(&self) -> Result<u64> {
        let file = match &self.backend {
            Backend::V1(v) => match v.dir("memory") {
                Some(d) => d.join("memory.oom_control"),
                None => return Ok(0),
            },
            Backend::V2(v) => v.dir.join("memory.events"),
        };
        Ok(read_opt(&file)?
            .as_deref()
            .and_then(|t| {
                key_values(t)
                    .find(|(k, _)| *k == "oom_kill")
                    .map(|(_, v)| v)
            })
            .unwrap_or(0))
    }

    /// True once the OOM killer has killed a process of this cgroup.
    pub fn oom_killed(&self) -> Result<bool> {
        Ok(self.oom_kill_count()? > 0)
    }
}

fn v1_cpuacct(d: &Path, cpu: &mut CpuStats) -> Result<()> {
    cpu.usage_ns = read_u64(&d.join("cpuacct.usage"))?.unwrap_or(0);
    if let Some(t) = read_opt(&d.join("cpuacct.usage_percpu"))? {
        cpu.per_cpu_ns = t
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
    }
    if let Some(t) = read_opt(&d.join("cpuacct.stat"))? {
        for (k, n) in key_values(&t) {
            match k {
                "user" => cpu.user_ns = n * NS_PER_TICK,
                "system" => cpu.system_ns = n * NS_PER_TICK,
                _ => {}
            }
        }
    }
    Ok(())
}

/// cpu.stat throttling counters; v1 reports nanoseconds, v2 microseconds (`scale` 1000).
fn throttling(d: &Path, cpu: &mut CpuStats, scale: u64) -> Result<()> {
    let Some(t) = read_opt(&d.join("cpu.stat"))? else {
        return Ok(());
    };
    for (k, n) in key_values(&t) {
        match k {
            "nr_periods" => cpu.nr_periods = n,
            "nr_throttled" => cpu.nr_throttled = n,
            "throttled_time" | "throttled_usec" => cpu.throttled_ns = n * scale,
            _ => {}
        }
    }
    Ok(())
}

fn stat_map(text: &str) -> BTreeMap<String, u64> {
    key_values(text).map(|(k, v)| (k.to_string(), v)).collect()
}

fn v1_memory(d: &Path, m: &mut MemoryStats) -> Result<()> {
    m.usage = read_u64(&d.join("memory.usage_in_bytes"))?.unwrap_or(0);
    m.max_usage = read_u64(&d.join("memory.max_usage_in_bytes"))?.unwrap_or(0);
    m.limit = read_u64(&d.join("memory.limit_in_bytes"))?.filter(|l| *l < V1_UNLIMITED);
    m.failcnt = read_u64(&d.join("memory.failcnt"))?.unwrap_or(0);
    m.stat = stat_map(&read(&d.join("memory.stat"))?);
    m.inactive_file = m.stat.get("total_inactive_file").copied().unwrap_or(0);
    if let Some(t) = read_opt(&d.join("memory.oom_control"))? {
        m.oom_kills = key_values(&t)
            .find(|(k, _)| *k == "oom_kill")
            .map_or(0, |(_, v)| v);
    }
    Ok(())
}

fn v2_memory(d: &Path, m: &mut MemoryStats) -> Result<()> {
    let Some(current) = read_opt(&d.join("memory.current"))? else {
        return Ok(());
    };
    m.usage = current.trim().parse().unwrap_or(0);
    if let Some(p) = read_opt(&d.join("memory.peak"))? {
        m.max_usage = p.trim().parse().unwrap_or(0);
    }
    m.limit = read_u64(&d.join("memory.max"))?;
    m.stat = stat_map(&read(&d.join("memory.stat"))?);
    m.inactive_file = m.stat.get("inactive_file").copied().unwrap_or(0);
    if let Some(t) = read_opt(&d.join("memory.events"))? {
        for (k, n) in key_values(&t) {
            match k {
                "max" => m.failcnt = n,
                "oom_kill" => m.oom_kills = n,
                _ => {}
            }
        }
    }
    Ok(())
}

fn pids(d: &Path, p: &mut PidsStats) -> Result<()> {
    if let Some(t) = read_opt(&d.join("pids.current"))? {
        p.current = t.trim().parse().unwrap_or(0);
        p.limit = read_u64(&d.join("pids.max"))?;
    }
    Ok(())
}

fn entry(io: &mut Vec<IoStats>, dev: &str) -> Option<usize> {
    let (a, b) = dev.split_once(':')?;
    let (major, minor) = (a.parse().ok()?, b.parse().ok()?);
    if let Some(i) = io.iter().position(|e| e.major == major && e.minor == minor) {
        return Some(i);
    }
    io.push(IoStats {
        major,
        minor,
        ..Default::default()
    });
    Some(io.len() - 1)
}

/// blkio.throttle.* count every request whatever the scheduler; lines are
/// `8:0 Read 4096`, with a `Total` line at the end.
fn v1_blkio(d: &Path) -> Result<Vec<IoStats>> {
    let mut io = Vec::new();
    for (file, bytes) in [
        ("blkio.throttle.io_service_bytes_recursive", true),
        ("blkio.throttle.io_serviced_recursive", false),
    ] {
        let Some(t) = read_opt(&d.join(file))? else {
            continue;
        };
        for l in t.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, v] = f[..] else { continue };
            let (Some(i), Ok(v)) = (entry(&mut io, dev), v.parse::<u64>()) else {
                continue;
            };
            let e = &mut io[i];
            match (op, bytes) {
                ("Read", true) => e.read_bytes = v,
                ("Write", true) => e.write_bytes = v,
                ("Read", false) => e.read_ios = v,
                ("Write", false) => e.write_ios = v,
                _ => {}
            }
        }
    }
    Ok(io)
}

/// io.stat lines: `8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0`.
fn v2_io(d: &Path) -> Result<Vec<IoStats>> {
    let mut io = Vec::new();
    let Some(t) = read_opt(&d.join("io.stat"))? else {
        return Ok(io);
    };
    for l in t.lines() {
        let mut f = l.split_whitespace();
        let Some(i) = f.next().and_then(|dev| entry(&mut io, dev)) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let v: u64 = v.parse().unwrap_or(0);
            match k {
                "rbytes" => io[i].read_bytes = v,
                "wbytes" => io[i].write_bytes = v,
                "rios" => io[i].read_ios = v,
                "wios" => io[i].write_ios = v,
                _ => {}
            }
        }
    }
    Ok(io)
}

/// The host's CPU time in ns (Docker sums user, nice, system, idle, iowait, irq and softirq)
/// and the number of CPUs listed in /proc/stat.
pub fn system_cpu() -> Result<(u64, u32)> {
    parse_proc_stat(&read(Path::new("/proc/stat"))?)
}

fn parse_proc_stat(text: &str) -> Result<(u64, u32)> {
    let mut total = 0;
    let mut cpus = 0;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("cpu ") {
            let ticks: u64 = rest
                .split_whitespace()
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum();
            total = ticks * NS_PER_TICK;
        } else if l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit) {
            cpus += 1;
        }
    }
    Ok((total, cpus))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat() {
        let t = concat!(
            "cpu  10 1 5 100 2 0 1 7 0 0\n",
            "cpu0 5 0 2 50 1 0 0 0 0 0\n",
            "cpu1 5 1 3 50 1 0 1 0 0 0\n",
            "intr 1\n"
        );
        assert_eq!(parse_proc_stat(t).ok(), Some((119 * NS_PER_TICK, 2)));
    }

    #[test]
    fn memory_without_cache() {
        let m = MemoryStats {
            usage: 100,
            inactive_file: 30,
            ..Default::default()
        };
        assert_eq!(m.usage_without_cache(), 70);
    }
}
