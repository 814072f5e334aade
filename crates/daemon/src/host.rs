//! Facts about the host the engine reports in `/info` and `/version`.

use std::path::Path;

pub fn kernel_version() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

pub fn machine() -> String {
    rustix::system::uname()
        .machine()
        .to_string_lossy()
        .into_owned()
}

pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// `PRETTY_NAME` and `VERSION_ID` from os-release.
pub fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let pretty = field("PRETTY_NAME");
    (
        if pretty.is_empty() {
            "Linux".into()
        } else {
            pretty
        },
        field("VERSION_ID"),
    )
}

pub fn cpus() -> i64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as i64)
}

pub fn mem_total() -> i64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

pub fn open_fds() -> i64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64)
}

pub fn threads() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Threads:")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Whether a sysctl under /proc/sys reads "1".
pub fn sysctl_on(path: &str) -> bool {
    std::fs::read_to_string(Path::new("/proc/sys").join(path)).is_ok_and(|v| v.trim() == "1")
}

/// The name of the filesystem `path` lives on, as docker reports its backing filesystem.
pub fn filesystem_name(path: &Path) -> String {
    let Ok(st) = rustix::fs::statfs(path) else {
        return "unknown".into();
    };
    match st.f_type as u64 {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794c_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0x6969 => "nfs",
        _ => "unknown",
    }
    .into()
}

/// The cgroup layout: "2" for the unified hierarchy, "1" otherwise; and the controllers
/// available, which decide the resource limits a container can have.
pub struct Cgroups {
    pub version: &'static str,
    pub memory: bool,
    pub swap: bool,
    pub cpu_cfs: bool,
    pub cpu_shares: bool,
    pub cpuset: bool,
    pub pids: bool,
    pub oom_kill_disable: bool,
}

pub fn cgroups() -> Cgroups {
    let root = Path::new("/sys/fs/cgroup");
    if let Ok(controllers) = std::fs::read_to_string(root.join("cgroup.controllers")) {
        let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
        return Cgroups {
            version: "2",
            memory: has("memory"),
            swap: has("memory"),
            cpu_cfs: has("cpu"),
            cpu_shares: has("cpu"),
            cpuset: has("cpuset"),
            pids: has("pids"),
            // cgroup v2 has no switch to disable the OOM killer.
            oom_kill_disable: false,
        };
    }
    Cgroups {
        version: "1",
        memory: root.join("memory").is_dir(),
        swap: root.join("memory/memory.memsw.limit_in_bytes").exists(),
        cpu_cfs: root.join("cpu/cpu.cfs_quota_us").exists(),
        cpu_shares: root.join("cpu/cpu.shares").exists(),
        cpuset: root.join("cpuset").is_dir(),
        pids: root.join("pids").is_dir(),
        oom_kill_disable: root.join("memory/memory.oom_control").exists(),
    }
}
