//! Per-container cgroups on cgroup v1 (including hosts with a v2 mount beside v1) and
//! cgroup v2: create a container's cgroup under `<hierarchy top>/<parent>/<id>` (the parent
//! is `berth` for the engine, beside where Docker puts `docker`), set its limits, put its
//! processes in, pause it, read its usage, and remove it with whatever is left inside.
//!
//! Lifecycle: [`Layout::detect`] once per engine → [`Cgroup::create`] (or [`Cgroup::open`]
//! when re-adopting a running container) → [`Cgroup::apply`] → [`Cgroup::entry`] for a new
//! process (or [`Cgroup::add_process`] for an existing one) →
//! [`Cgroup::update`] / [`Cgroup::freeze`] / [`Cgroup::stats`] → [`Cgroup::delete`].
//! [`Cgroup::cleanup_stale`] removes what a crash left behind.

mod convert;
mod device_bpf;
mod devices;
mod entry;
mod error;
mod layout;
mod oci;
mod resources;
mod stats;
mod v1;
mod v2;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use convert::{blkio_weight_to_io_weight, cpu_max, cpu_shares_to_weight, swap_max};
pub use device_bpf::attached_count as device_filters_attached;
pub use devices::{
    allow_all_device_rules, default_device_rules, rules_allow, DeviceAccess, DeviceRule, DeviceType,
};
pub use entry::Entry;
pub use error::{CgroupError, ErrorKind};
pub use layout::{Hierarchy, Layout, V1_CONTROLLERS};
pub use resources::{parse_list, Resources, ThrottleDevice, WeightDevice, MIN_MEMORY};
pub use stats::{system_cpu, CpuStats, IoStats, MemoryStats, PidsStats, Stats};

use error::{parse_pids, read_opt, write, Result};

/// The parent Berth puts container cgroups in.
pub const DEFAULT_PARENT: &str = "berth";

#[derive(Debug, Clone)]
enum Backend {
    V1(v1::V1),
    V2(v2::V2),
}

/// One container's cgroup, with every directory path worked out once.
#[derive(Debug, Clone)]
pub struct Cgroup {
    id: String,
    backend: Backend,
}

/// Checks a parent such as `berth` or `berth/group` and splits it into components.
fn parent_parts(parent: &str) -> Result<Vec<&str>> {
    let parts: Vec<&str> = parent.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.iter().any(|p| !name_ok(p)) {
        return Err(CgroupError::invalid(
            "cgroup parent",
            parent,
            "must be a relative path of plain names",
        ));
    }
    Ok(parts)
}

fn name_ok(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\0', '\n'])
}

impl Cgroup {
    /// Paths only; nothing on disk is touched.
    fn at(layout: &Layout, parts: &[&str], id: &str) -> Result<Cgroup> {
        if !name_ok(id) {
            return Err(CgroupError::invalid(
                "container id",
                id,
                "not usable as a cgroup name",
            ));
        }
        let rel: PathBuf = parts.iter().chain(std::iter::once(&id)).collect();
        let backend = match layout {
            Layout::V1 {
                controllers,
                unified,
            } => Backend::V1(v1::V1::new(controllers, unified.as_ref(), &rel)),
            Layout::V2 {
                hierarchy,
                controllers,
            } => Backend::V2(v2::V2::new(hierarchy, controllers, &rel)),
        };
        Ok(Cgroup {
            id: id.to_string(),
            backend,
        })
    }

    /// Creates the cgroup of container `id` under `parent` in every hierarchy. An existing,
    /// empty cgroup of the same name (left by a failed start) is re-used; one with processes
    /// in it is an error.
    pub fn create(layout: &Layout, parent: &str, id: &str) -> Result<Cgroup> {
        let parts = parent_parts(parent)?;
        let mut cg = Self::at(layout, &parts, id)?;
        let existed = match &mut cg.backend {
            Backend::V1(v) => v.create(&parts)?,
            Backend::V2(v) => v.create(&parts)?,
        };
        if existed && !cg.pids()?.is_empty() {
            return Err(CgroupError::Busy {
                path: cg
                    .dirs()
                    .first()
                    .map(|d| d.to_path_buf())
                    .unwrap_or_default(),
                reason: "a cgroup of that name already has processes".into(),
            });
        }
        Ok(cg)
    }

    /// Opens the existing cgroup of container `id` (after an engine restart).
    pub fn open(layout: &Layout, parent: &str, id: &str) -> Result<Cgroup> {
        let parts = parent_parts(parent)?;
        let mut cg = Self::at(layout, &parts, id)?;
        match &mut cg.backend {
            Backend::V1(v) => {
                let first = v.leaves.first().map(|l| l.dir.clone()).unwrap_or_default();
                v.leaves.retain(|l| l.dir.is_dir());
                v.controllers.retain(|_, d| d.is_dir());
                if v.leaves.is_empty() {
                    return Err(CgroupError::NotFound(first));
                }
            }
            Backend::V2(v) => {
                if !v.dir.is_dir() {
                    return Err(CgroupError::NotFound(v.dir.clone()));
                }
                v.read_controllers()?;
            }
        }
        Ok(cg)
    }

    /// The container id this cgroup belongs to.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// True when this cgroup lives on a cgroup v2 hierarchy only.
    pub fn is_v2(&self) -> bool {
        matches!(self.backend, Backend::V2(_))
    }

    /// Every directory of the cgroup, one per hierarchy.
    pub fn dirs(&self) -> Vec<&Path> {
        match &self.backend {
            Backend::V1(v) => v.leaves.iter().map(|l| l.dir.as_path()).collect(),
            Backend::V2(v) => vec![v.dir.as_path()],
        }
    }

    /// The directory holding `controller`'s files (on v2, the one directory, if the
    /// controller is enabled there).
    pub fn controller_dir(&self, controller: &str) -> Option<&Path> {
        match &self.backend {
            Backend::V1(v) => v.dir(controller),
            Backend::V2(v) => v
                .controllers
                .iter()
                .any(|c| c == controller)
                .then_some(v.dir.as_path()),
        }
    }

    /// Sets every limit in `r`, device rules included.
    pub fn apply(&self, r: &Resources) -> Result<()> {
        r.validate(false)?;
        self.write_resources(r, false)
    }

    /// Changes the limits of a running container (`docker update`); device rules are left
    /// as they are.
    pub fn update(&self, r: &Resources) -> Result<()> {
        r.validate(true)?;
        self.write_resources(r, true)
    }

    fn write_resources(&self, r: &Resources, update: bool) -> Result<()> {
        match &self.backend {
            Backend::V1(v) => v.apply(r, update),
            Backend::V2(v) => v.apply(r, update),
        }
    }

    /// Moves process `pid` (with all its threads) into the cgroup: one write per hierarchy.
    pub fn add_process(&self, pid: u32) -> Result<()> {
        let pid = pid.to_string();
        match &self.backend {
            Backend::V1(v) => {
                for l in &v.leaves {
                    write(&l.procs, &pid)?;
                }
                Ok(())
            }
            Backend::V2(v) => write(&v.procs, &pid),
        }
    }

    /// Pauses every process (`docker pause`); returns once all are frozen.
    pub fn freeze(&self) -> Result<()> {
        match &self.backend {
            Backend::V1(v) => v.freeze(),
            Backend::V2(v) => v.set_frozen(true),
        }
    }

    /// Resumes a paused cgroup; returns once it is thawed.
    pub fn thaw(&self) -> Result<()> {
        match &self.backend {
            Backend::V1(v) => v.thaw(),
            Backend::V2(v) => v.set_frozen(false),
        }
    }

    /// True while the cgroup is frozen.
    pub fn is_frozen(&self) -> Result<bool> {
        match &self.backend {
            Backend::V1(v) => v.is_frozen(),
            Backend::V2(v) => v.is_frozen(),
        }
    }

    fn can_freeze(&self) -> bool {
        match &self.backend {
            Backend::V1(v) => v.dir("freezer").is_some(),
            Backend::V2(v) => v.dir.join("cgroup.freeze").exists(),
        }
    }

    /// Every process in the cgroup and in cgroups nested below it (a container may make its
    /// own), sorted. A cgroup that is gone has none.
    pub fn pids(&self) -> Result<Vec<u32>> {
        let mut all = BTreeSet::new();
        for dir in self.dirs() {
            collect_pids(dir, &mut all)?;
        }
        Ok(all.into_iter().collect())
    }

    /// Sends `signal` to every process in the cgroup. The cgroup is frozen meanwhile (unless
    /// already paused) so a process cannot fork a child the sweep misses.
    pub fn kill_all(&self, signal: i32) -> Result<()> {
        if !(1..=64).contains(&signal) {
            return Err(CgroupError::invalid(
                "signal",
                signal,
                "not a signal number",
            ));
        }
        if let Backend::V2(v) = &self.backend {
            if signal == libc::SIGKILL && v.kill()? {
                return Ok(());
            }
        }
        let was_frozen = self.is_frozen().unwrap_or(false);
        let froze = !was_frozen && self.can_freeze() && self.freeze().is_ok();
        for pid in self.pids()? {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            let r = unsafe { libc::kill(pid as libc::pid_t, signal) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::ESRCH) {
                    tracing::warn!(pid, signal, error = %e, "cannot signal process in cgroup");
                }
            }
        }
        // A v1-frozen task only dies once thawed, so SIGKILL thaws even a paused cgroup.
        if froze || (was_frozen && signal == libc::SIGKILL) {
            self.thaw()?;
        }
        Ok(())
    }

    /// Kills what is left inside and removes every directory of the cgroup. Removing a
    /// cgroup that is already gone succeeds.
    pub fn delete(&self) -> Result<()> {
        if !self.pids()?.is_empty() {
            self.kill_all(libc::SIGKILL)?;
            let start = Instant::now();
            let mut pause = Duration::from_micros(100);
            while !self.pids()?.is_empty() && start.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
        }
        for dir in self.dirs() {
            remove_tree(dir)?;
        }
        Ok(())
    }

    /// Removes container cgroups under `parent` whose id `keep` rejects: what a crashed
    /// engine left behind. Returns the ids removed; on failures, tries the rest and then
    /// returns the first error.
    pub fn cleanup_stale(
        layout: &Layout,
        parent: &str,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>> {
        let parts = parent_parts(parent)?;
        let mut ids = BTreeSet::new();
        for h in layout.hierarchies() {
            let dir = h.base().join(parts.join("/"));
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CgroupError::io("listing", &dir, e)),
            };
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    ids.insert(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        let mut removed = Vec::new();
        let mut first_err = None;
        for id in ids.into_iter().filter(|id| !keep(id)) {
            match Self::at(layout, &parts, &id).and_then(|cg| cg.delete()) {
                Ok(()) => removed.push(id),
                Err(e) => {
                    tracing::warn!(id, error = %e, "cannot remove stale cgroup");
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(removed), Err)
    }

    /// Removes the (empty) parent directories in every hierarchy, deepest first; parents
    /// that still hold cgroups are left alone.
    pub fn remove_parent(layout: &Layout, parent: &str) -> Result<()> {
        let parts = parent_parts(parent)?;
        for h in layout.hierarchies() {
            for n in (1..=parts.len()).rev() {
                let dir = h.base().join(parts[..n].join("/"));
                match std::fs::remove_dir(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {
                        break
                    }
                    Err(e) => return Err(CgroupError::io("removing", &dir, e)),
                }
            }
        }
        Ok(())
    }
}

fn collect_pids(dir: &Path, out: &mut BTreeSet<u32>) -> Result<()> {
    let Some(text) = read_opt(&dir.join("cgroup.procs"))? else {
        return Ok(());
    };
    out.extend(parse_pids(&text));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_pids(&e.path(), out)?;
        }
    }
    Ok(())
}

/// rmdir of a cgroup and the cgroups nested in it, children first. EBUSY (the last tasks
/// are still exiting) is retried for up to two seconds.
fn remove_tree(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CgroupError::io("listing", dir, e)),
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&e.path())?;
        }
    }
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && start.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(CgroupError::io("removing", dir, e)),
        }
    }
}
