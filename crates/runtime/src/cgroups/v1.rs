//! The cgroup v1 backend: one directory per mounted controller hierarchy (plus the v2 mount
//! beside them, when there is one, so the container is visible there too), limits written
//! to each controller's own files, pausing through the freezer controller.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{read, read_opt, read_u64, write, CgroupError, ControlFile, Result};
use super::layout::Hierarchy;
use super::resources::{check_subset, set, Resources};

/// One directory of the container's cgroup in one hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// The hierarchy's top, below which `parent/id` lives.
    pub base: PathBuf,
    pub dir: PathBuf,
    /// `dir/cgroup.procs`, precomputed for the start path.
    pub procs: PathBuf,
    pub cpuset: bool,
    /// The v2 mount beside the v1 controllers: joined on a best-effort basis.
    pub unified: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct V1 {
    pub leaves: Vec<Leaf>,
    /// Controller name → its directory (co-mounted controllers share one).
    pub controllers: BTreeMap<String, PathBuf>,
}

impl V1 {
    pub fn new(
        controllers: &BTreeMap<String, Hierarchy>,
        unified: Option<&Hierarchy>,
        rel: &Path,
    ) -> V1 {
        let mut leaves: Vec<Leaf> = Vec::new();
        let mut map = BTreeMap::new();
        for (name, h) in controllers {
            let dir = h.base().join(rel);
            if !leaves.iter().any(|l| l.dir == dir) {
                leaves.push(Leaf {
                    base: h.base().to_path_buf(),
                    procs: dir.join("cgroup.procs"),
                    dir: dir.clone(),
                    cpuset: false,
                    unified: false,
                });
            }
            if name == "cpuset" {
                if let Some(l) = leaves.iter_mut().find(|l| l.dir == dir) {
                    l.cpuset = true;
                }
            }
            map.insert(name.clone(), dir);
        }
        if let Some(u) = unified {
            let dir = u.base().join(rel);
            leaves.push(Leaf {
                base: u.base().to_path_buf(),
                procs: dir.join("cgroup.procs"),
                dir,
                cpuset: false,
                unified: true,
            });
        }
        V1 {
            leaves,
            controllers: map,
        }
    }

    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.controllers.get(controller).map(PathBuf::as_path)
    }

    /// Makes the directories; returns whether the container's own directory already existed
    /// somewhere (a leftover to re-use if empty). On failure, removes what it made.
    pub fn create(&mut self, parent: &[&str]) -> Result<bool> {
        let mut made: Vec<PathBuf> = Vec::new();
        let mut existed = false;
        let mut dropped = Vec::new();
        for (i, leaf) in self.leaves.iter().enumerate() {
            match make_leaf(leaf, parent) {
                Ok(true) => made.push(leaf.dir.clone()),
                Ok(false) => existed = true,
                Err(e) if leaf.unified => {
                    tracing::warn!(error = %e, "not joining the cgroup v2 hierarchy beside v1");
                    dropped.push(i);
                }
                Err(e) => {
                    for d in made.iter().rev() {
                        let _ = std::fs::remove_dir(d);
                    }
                    return Err(e);
                }
            }
        }
        for i in dropped.into_iter().rev() {
            self.leaves.remove(i);
        }
        Ok(existed)
    }

    pub fn apply(&self, r: &Resources, update: bool) -> Result<()> {
        self.memory(r)?;
        self.cpu(r)?;
        self.blkio(r)?;
        if let Some(p) = set(r.pids_limit) {
            let dir = self.need("pids limit", "pids")?;
            let v = if p < 0 {
                "max".to_string()
            } else {
                p.to_string()
            };
            write(&dir.join("pids.max"), &v)?;
        }
        match (&r.devices, self.dir("devices")) {
            (Some(rules), Some(dir)) if !update => {
                // In their order, each to its file; the two files stay open between rules.
                let (allow, deny) = (dir.join("devices.allow"), dir.join("devices.deny"));
                let (mut allow, mut deny) = (ControlFile::new(&allow), ControlFile::new(&deny));
                for rule in rules {
                    let v = if rule.is_reset() {
                        "a".to_string()
                    } else {
                        rule.to_string()
                    };
                    if rule.allow {
                        allow.write(&v)?;
                    } else {
                        deny.write(&v)?;
                    }
                }
            }
            (Some(_), None) if !update => {
                tracing::warn!("devices controller not mounted; device rules not enforced");
            }
            _ => {}
        }
        if let Some((key, _)) = r.unified.iter().next() {
            return Err(CgroupError::invalid(
                "unified cgroup file",
                key,
                "raw cgroup v2 settings need a cgroup v2 host",
            ));
        }
        Ok(())
    }

    fn need(&self, setting: &'static str, controller: &'static str) -> Result<&Path> {
        self.dir(controller)
            .ok_or_else(|| CgroupError::Unsupported {
                setting,
                controller,
                path: self
                    .leaves
                    .first()
                    .map(|l| l.dir.clone())
                    .unwrap_or_default(),
            })
    }

    fn memory(&self, r: &Resources) -> Result<()> {
        let mem = set(r.memory);
        let mut swap = set(r.memory_swap);
        let any = mem.is_some()
            || swap.is_some()
            || set(r.memory_reservation).is_some()
            || r.memory_swappiness.is_some()
            || r.oom_kill_disable.is_some();
        if !any {
            return Ok(());
        }
        let dir = self.need("memory limit", "memory")?;
        let limit = dir.join("memory.limit_in_bytes");
        let memsw = dir.join("memory.memsw.limit_in_bytes");
        let has_memsw = memsw.exists();
        if swap.is_some() && !has_memsw {
            tracing::warn!("kernel has no swap accounting; memory+swap limit discarded");
            swap = None;
        }
        match (mem, swap) {
            (Some(m), Some(s)) => {
                // memory.limit must stay <= memsw.limit after every single write, so raise
                // memsw first when growing and lower memory first when shrinking.
                let cur = read_u64(&limit)?.unwrap_or(u64::MAX);
                if s == -1 || cur < s as u64 {
                    write(&memsw, &s.to_string())?;
                    write(&limit, &m.to_string())?;
                } else {
                    write(&limit, &m.to_string())?;
                    write(&memsw, &s.to_string())?;
                }
            }
            (Some(m), None) => {
                if m == -1 && has_memsw {
                    write(&memsw, "-1")?;
                } else if has_memsw && read_u64(&memsw)?.is_some_and(|cur| cur < m as u64) {
                    // The kernel would say only EINVAL; say what to do instead.
                    return Err(CgroupError::invalid(
                        "memory limit",
                        m,
                        "exceeds the memory+swap limit already set; update memory-swap as well",
                    ));
                }
                write(&limit, &m.to_string())?;
            }
            (None, Some(s)) => write(&memsw, &s.to_string())?,
            (None, None) => {}
        }
        if let Some(v) = set(r.memory_reservation) {
            write(&dir.join("memory.soft_limit_in_bytes"), &v.to_string())?;
        }
        if let Some(v) = r.memory_swappiness {
            write(&dir.join("memory.swappiness"), &v.to_string())?;
        }
        if let Some(v) = r.oom_kill_disable {
            write(&dir.join("memory.oom_control"), if v { "1" } else { "0" })?;
        }
        Ok(())
    }

    fn cpu(&self, r: &Resources) -> Result<()> {
        if let Some(s) = set(r.cpu_shares) {
            write(
                &self.need("cpu shares", "cpu")?.join("cpu.shares"),
                &s.to_string(),
            )?;
        }
        if let Some(p) = set(r.cpu_period) {
            write(
                &self.need("cpu period", "cpu")?.join("cpu.cfs_period_us"),
                &p.to_string(),
            )?;
        }
        if let Some(q) = set(r.cpu_quota) {
            write(
                &self.need("cpu quota", "cpu")?.join("cpu.cfs_quota_us"),
                &q.to_string(),
            )?;
        }
        for (setting, file, value) in [
            ("cpuset cpus", "cpuset.cpus", &r.cpuset_cpus),
            ("cpuset mems", "cpuset.mems", &r.cpuset_mems),
        ] {
            let Some(v) = value.as_deref() else { continue };
            let dir = self.need(setting, "cpuset")?;
            if let Some(parent) = dir.parent() {
                check_subset(setting, v, &read(&parent.join(file))?)?;
            }
            write(&dir.join(file), v)?;
        }
        Ok(())
    }

    fn blkio(&self, r: &Resources) -> Result<()> {
        let throttles = [
            ("blkio.throttle.read_bps_device", &r.throttle_read_bps),
            ("blkio.throttle.write_bps_device", &r.throttle_write_bps),
            ("blkio.throttle.read_iops_device", &r.throttle_read_iops),
            ("blkio.throttle.write_iops_device", &r.throttle_write_iops),
        ];
        let any = set(r.blkio_weight).is_some()
            || !r.blkio_weight_device.is_empty()
            || throttles.iter().any(|(_, t)| !t.is_empty());
        if !any {
            return Ok(());
        }
        let dir = self.need("blkio weight", "blkio")?;
        // CFQ's blkio.weight is gone from current kernels; BFQ offers the same knob.
        let pick = |a: &str, b: &str| [a, b].into_iter().map(|f| dir.join(f)).find(|p| p.exists());
        if let Some(w) = set(r.blkio_weight) {
            match pick("blkio.weight", "blkio.bfq.weight") {
                Some(f) => write(&f, &w.to_string())?,
                None => tracing::warn!("no blkio weight support (no CFQ or BFQ); weight discarded"),
            }
        }
        if !r.blkio_weight_device.is_empty() {
            match pick("blkio.weight_device", "blkio.bfq.weight_device") {
                Some(f) => {
                    for d in &r.blkio_weight_device {
                        write(&f, &format!("{}:{} {}", d.major, d.minor, d.weight))?;
                    }
                }
                None => tracing::warn!("no per-device blkio weight support; discarded"),
            }
        }
        for (file, list) in throttles {
            for t in list.iter() {
                write(
                    &dir.join(file),
                    &format!("{}:{} {}", t.major, t.minor, t.rate),
                )?;
            }
        }
        Ok(())
    }

    fn freezer_state(&self) -> Result<PathBuf> {
        Ok(self.need("pause", "freezer")?.join("freezer.state"))
    }

    pub fn is_frozen(&self) -> Result<bool> {
        let Some(dir) = self.dir("freezer") else {
            return Ok(false);
        };
        Ok(read(&dir.join("freezer.state"))?.trim() == "FROZEN")
    }

    pub fn freeze(&self) -> Result<()> {
        let state = self.freezer_state()?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(10);
        loop {
            // Re-requesting FROZEN is harmless and nudges tasks that raced with the first
            // request (a task forking while the freeze spreads).
            write(&state, "FROZEN")?;
            if read(&state)?.trim() == "FROZEN" {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(5) {
                let _ = write(&state, "THAWED");
                return Err(CgroupError::Timeout {
                    op: "freezing",
                    path: state,
                    millis: 5000,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    pub fn thaw(&self) -> Result<()> {
        let state = self.freezer_state()?;
        let start = Instant::now();
        loop {
            write(&state, "THAWED")?;
            if read(&state)?.trim() == "THAWED" {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(5) {
                return Err(CgroupError::Timeout {
                    op: "thawing",
                    path: state,
                    millis: 5000,
                });
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// mkdir that tolerates an existing directory; returns whether it made one.
pub(crate) fn mkdir(path: &Path) -> Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        // A name that clashes with a control file (`memory.stat`) exists but is no cgroup.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(false),
        Err(e) => Err(CgroupError::io("creating", path, e)),
    }
}

fn make_leaf(leaf: &Leaf, parent: &[&str]) -> Result<bool> {
    let mut dir = leaf.base.clone();
    for part in parent {
        dir.push(part);
        mkdir(&dir)?;
        if leaf.cpuset {
            init_cpuset(&dir)?;
        }
    }
    let made = mkdir(&leaf.dir)?;
    if leaf.cpuset {
        init_cpuset(&leaf.dir)?;
    }
    Ok(made)
}

/// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and no task can join it
/// until it has some: copy the parent's.
fn init_cpuset(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let path = dir.join(file);
        if read_opt(&path)?.is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        if let Some(parent) = dir.parent() {
            let v = read(&parent.join(file))?;
            write(&path, v.trim())?;
        }
    }
    Ok(())
}
