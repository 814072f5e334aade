//! The cgroup v2 backend: one directory, controllers switched on in `cgroup.subtree_control`
//! of every ancestor from the mount down (processes only ever go into the leaf, which keeps
//! v2's "no internal processes" rule), device access through a BPF filter, pausing through
//! `cgroup.freeze`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::convert::{
    blkio_weight_to_io_weight, bytes_or_max, cpu_max, cpu_shares_to_weight, swap_max,
};
use super::device_bpf;
use super::error::{read, read_opt, read_u64, write, CgroupError, Result};
use super::layout::Hierarchy;
use super::resources::{check_subset, set, Resources};
use super::v1::mkdir;

/// Controllers a container cgroup gets when its parent offers them.
const WANTED: &[&str] = &[
    "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
];

#[derive(Debug, Clone)]
pub(crate) struct V2 {
    pub base: PathBuf,
    pub dir: PathBuf,
    /// `dir/cgroup.procs`, precomputed for the start path.
    pub procs: PathBuf,
    /// Controllers enabled for the container's cgroup.
    pub controllers: Vec<String>,
    /// Controllers to switch on down the path: the layout's, among those Berth manages.
    pub enable: Vec<String>,
}

impl V2 {
    pub fn new(h: &Hierarchy, offered: &[String], rel: &Path) -> V2 {
        let dir = h.base().join(rel);
        V2 {
            base: h.base().to_path_buf(),
            procs: dir.join("cgroup.procs"),
            dir,
            controllers: Vec::new(),
            enable: offered
                .iter()
                .filter(|c| WANTED.contains(&c.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// Makes the directories, enabling controllers on the way down; returns whether the
    /// container's directory already existed.
    pub fn create(&mut self, parent: &[&str]) -> Result<bool> {
        let mut dir = self.base.clone();
        enable_controllers(&dir, &self.enable)?;
        for part in parent {
            dir.push(part);
            mkdir(&dir)?;
            enable_controllers(&dir, &self.enable)?;
        }
        let made = mkdir(&self.dir)?;
        self.read_controllers()?;
        Ok(!made)
    }

    pub fn read_controllers(&mut self) -> Result<()> {
        self.controllers = read(&self.dir.join("cgroup.controllers"))?
            .split_whitespace()
            .map(str::to_string)
            .collect();
        Ok(())
    }

    fn need(&self, setting: &'static str, controller: &'static str) -> Result<()> {
        if self.controllers.iter().any(|c| c == controller) {
            Ok(())
        } else {
            Err(CgroupError::Unsupported {
                setting,
                controller,
                path: self.dir.clone(),
            })
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn apply(&self, r: &Resources, update: bool) -> Result<()> {
        self.memory(r, update)?;
        if let Some(s) = set(r.cpu_shares) {
            self.need("cpu shares", "cpu")?;
            write(
                &self.file("cpu.weight"),
                &cpu_shares_to_weight(s).to_string(),
            )?;
        }
        if let Some(v) = cpu_max(r.cpu_quota, r.cpu_period) {
            self.need("cpu quota", "cpu")?;
            write(&self.file("cpu.max"), &v)?;
        }
        for (setting, file, value) in [
            ("cpuset cpus", "cpuset.cpus", &r.cpuset_cpus),
            ("cpuset mems", "cpuset.mems", &r.cpuset_mems),
        ] {
            let Some(v) = value.as_deref() else { continue };
            self.need(setting, "cpuset")?;
            if let Some(parent) = self.dir.parent() {
                let avail = read(&parent.join(format!("{file}.effective")))?;
                check_subset(setting, v, &avail)?;
            }
            write(&self.file(file), v)?;
        }
        if let Some(p) = set(r.pids_limit) {
            self.need("pids limit", "pids")?;
            write(&self.file("pids.max"), &bytes_or_max(p))?;
        }
        self.io(r)?;
        if let (Some(rules), false) = (&r.devices, update) {
            device_bpf::apply(&self.dir, rules)?;
        }
        for (key, value) in &r.unified {
            write(&self.file(key), value).map_err(|e| {
                if e.is_not_found() {
                    CgroupError::invalid(
                        "unified cgroup file",
                        key,
                        format!(
                            "no such file in {} (controller not enabled?)",
                            self.dir.display()
                        ),
                    )
                } else {
                    e
                }
            })?;
        }
        Ok(())
    }

    fn memory(&self, r: &Resources, update: bool) -> Result<()> {
        let mem = set(r.memory);
        let swap = set(r.memory_swap);
        if mem.is_some() || swap.is_some() || set(r.memory_reservation).is_some() {
            self.need("memory limit", "memory")?;
        }
        if let Some(m) = mem {
            write(&self.file("memory.max"), &bytes_or_max(m))?;
        }
        if swap.is_some() || mem == Some(-1) {
            // v2 limits swap on its own: it needs the memory limit, current if not given.
            let memory = match (mem, update) {
                (Some(m), _) => Some(m),
                (None, true) => Some(read_u64(&self.file("memory.max"))?.map_or(-1, |v| v as i64)),
                (None, false) => None,
            };
            if let Some(v) = swap_max(swap, memory)? {
                let f = self.file("memory.swap.max");
                if f.exists() {
                    write(&f, &v)?;
                } else if swap.is_some() {
                    tracing::warn!("kernel has no swap accounting; memory+swap limit discarded");
                }
            }
        }
        if let Some(v) = set(r.memory_reservation) {
            write(&self.file("memory.low"), &bytes_or_max(v))?;
        }
        if r.oom_kill_disable == Some(true) {
            tracing::warn!("cgroup v2 cannot disable the OOM killer; setting ignored");
        }
        if r.memory_swappiness.is_some() {
            tracing::warn!("cgroup v2 has no per-cgroup swappiness; setting ignored");
        }
        Ok(())
    }

    fn io(&self, r: &Resources) -> Result<()> {
        let throttles = [
            ("rbps", &r.throttle_read_bps),
            ("wbps", &r.throttle_write_bps),
            ("riops", &r.throttle_read_iops),
            ("wiops", &r.throttle_write_iops),
        ];
        let any = set(r.blkio_weight).is_some()
            || !r.blkio_weight_device.is_empty()
            || throttles.iter().any(|(_, t)| !t.is_empty());
        if !any {
            return Ok(());
        }
        self.need("blkio weight", "io")?;
        // BFQ takes blkio-style weights (1-1000) as they are; io.weight (iocost) has the
        // 1-10000 range.
        let bfq = self.file("io.bfq.weight");
        let bfq = bfq.exists().then_some(bfq);
        if let Some(w) = set(r.blkio_weight) {
            match &bfq {
                Some(f) => write(f, &w.to_string())?,
                None => write(
                    &self.file("io.weight"),
                    &format!("default {}", blkio_weight_to_io_weight(w)),
                )?,
            }
        }
        for d in &r.blkio_weight_device {
            match &bfq {
                Some(f) => write(f, &format!("{}:{} {}", d.major, d.minor, d.weight))?,
                None => write(
                    &self.file("io.weight"),
                    &format!(
                        "{}:{} {}",
                        d.major,
                        d.minor,
                        blkio_weight_to_io_weight(d.weight)
                    ),
                )?,
            }
        }
        for (key, list) in throttles {
            for t in list.iter() {
                write(
                    &self.file("io.max"),
                    &format!("{}:{} {key}={}", t.major, t.minor, t.rate),
                )?;
            }
        }
        Ok(())
    }

    pub fn is_frozen(&self) -> Result<bool> {
        let events = read(&self.file("cgroup.events"))?;
        Ok(events.lines().any(|l| l.trim() == "frozen 1"))
    }

    pub fn set_frozen(&self, frozen: bool) -> Result<()> {
        write(&self.file("cgroup.freeze"), if frozen { "1" } else { "0" })?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(10);
        while self.is_frozen()? != frozen {
            if start.elapsed() > Duration::from_secs(5) {
                if frozen {
                    let _ = write(&self.file("cgroup.freeze"), "0");
                }
                return Err(CgroupError::Timeout {
                    op: if frozen { "freezing" } else { "thawing" },
                    path: self.dir.clone(),
                    millis: 5000,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
        Ok(())
    }

    /// SIGKILLs everything in the cgroup and below at once (kernel 5.14+); false when the
    /// kernel has no cgroup.kill.
    pub fn kill(&self) -> Result<bool> {
        let f = self.file("cgroup.kill");
        if !f.exists() {
            return Ok(false);
        }
        write(&f, "1")?;
        Ok(true)
    }
}

/// Switches on, in `dir`'s cgroup.subtree_control, every controller of `wanted` that `dir`
/// offers. Already-enabled controllers cost one read, so this is cheap on every start.
fn enable_controllers(dir: &Path, wanted: &[String]) -> Result<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let offered = read_opt(&dir.join("cgroup.controllers"))?.unwrap_or_default();
    let enabled = read_opt(&dir.join("cgroup.subtree_control"))?.unwrap_or_default();
    let missing: Vec<&str> = offered
        .split_whitespace()
        .filter(|c| wanted.iter().any(|w| w == c) && !enabled.split_whitespace().any(|e| e == *c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let file = dir.join("cgroup.subtree_control");
    let all: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
    if write(&file, &all.join(" ")).is_ok() {
        return Ok(());
    }
    // One at a time, so one controller the kernel refuses (cpu while a realtime task sits
    // in the subtree, say) does not cost the others.
    for c in missing {
        if let Err(e) = write(&file, &format!("+{c}")) {
            if let CgroupError::Write { source, .. } = &e {
                if source.raw_os_error() == Some(libc::EBUSY) {
                    return Err(CgroupError::Busy {
                        path: dir.to_path_buf(),
                        reason: "cgroup v2 cannot enable controllers for a cgroup that itself \
                                 holds processes; run the engine in a leaf cgroup of its own"
                            .into(),
                    });
                }
            }
            tracing::warn!(controller = c, error = %e, "cannot enable cgroup controller");
        }
    }
    Ok(())
}
