//! Where the cgroup hierarchies are on this host, read from /proc/self/mountinfo and
//! /proc/self/cgroup once at engine start: cgroup v1 (one mount per controller, maybe
//! co-mounted, maybe with a v2 mount beside it) or a single cgroup v2 hierarchy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{parse_pids, read, read_opt, write, CgroupError, Result};

/// The v1 controllers a container cgroup is created in when they are mounted.
pub const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
];

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where the hierarchy is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// Which cgroup of the hierarchy the mount shows (`/` unless the engine itself runs in a
    /// container that was given only its own subtree).
    pub mount_root: String,
    /// The engine's own cgroup in this hierarchy, as /proc/self/cgroup names it.
    pub own_path: Option<String>,
}

impl Hierarchy {
    /// The top of the hierarchy as this process sees it: container cgroups go below it, beside
    /// whatever else (the engine's own service cgroup, other engines) lives there.
    pub fn base(&self) -> &Path {
        &self.mount_point
    }

    /// The directory of the engine's own cgroup, when it lies inside this mount.
    pub fn own_dir(&self) -> Option<PathBuf> {
        let own = self.own_path.as_deref()?;
        let rel = if self.mount_root == "/" {
            own
        } else {
            let rest = own.strip_prefix(self.mount_root.as_str())?;
            if !rest.is_empty() && !rest.starts_with('/') {
                return None;
            }
            rest
        };
        Some(self.mount_point.join(rel.trim_start_matches('/')))
    }
}

/// The cgroup layout of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v1: each controller name maps to its hierarchy (co-mounted controllers such as
    /// `cpu,cpuacct` share one), plus the v2 hierarchy when one is mounted beside them.
    V1 {
        controllers: BTreeMap<String, Hierarchy>,
        unified: Option<Hierarchy>,
    },
    /// cgroup v2: one hierarchy and the controllers its top offers (cgroup.controllers);
    /// container cgroups get those of them Berth manages, and no others.
    V2 {
        hierarchy: Hierarchy,
        controllers: Vec<String>,
    },
}

impl Layout {
    /// Detects the layout of the host this process runs on.
    pub fn detect() -> Result<Layout> {
        let mountinfo = Path::new("/proc/self/mountinfo");
        let cgroup = Path::new("/proc/self/cgroup");
        let mi = std::fs::read_to_string(mountinfo)
            .map_err(|e| CgroupError::io("reading", mountinfo, e))?;
        // Absent on kernels built without cgroups; the mount check below then reports it.
        let cg = std::fs::read_to_string(cgroup).unwrap_or_default();
        Self::parse(&mi, &cg, &|dir| {
            read_opt(&dir.join("cgroup.controllers"))
                .ok()
                .flatten()
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        })
    }

    /// Builds a layout from the text of /proc/self/mountinfo and /proc/self/cgroup;
    /// `controllers_of` reads a v2 directory's cgroup.controllers.
    pub fn parse(
        mountinfo: &str,
        self_cgroup: &str,
        controllers_of: &dyn Fn(&Path) -> Vec<String>,
    ) -> Result<Layout> {
        let own = parse_self_cgroup(self_cgroup);
        let mut v1: BTreeMap<String, Hierarchy> = BTreeMap::new();
        let mut unified: Option<Hierarchy> = None;
        for line in mountinfo.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 5 || post.len() < 3 {
                continue;
            }
            let mount_root = unescape(pre[3]);
            let mount_point = PathBuf::from(unescape(pre[4]));
            match post[0] {
                "cgroup2" if unified.is_none() => {
                    unified = Some(Hierarchy {
                        mount_point,
                        mount_root,
                        own_path: own.get("").cloned(),
                    });
                }
                "cgroup" => {
                    let names: Vec<&str> = post[2]
                        .split(',')
                        .filter(|o| V1_CONTROLLERS.contains(o))
                        .collect();
                    for name in &names {
                        if v1.contains_key(*name) {
                            continue;
                        }
                        // /proc/self/cgroup lists co-mounted controllers together ("cpu,cpuacct").
                        let own_path = own
                            .iter()
                            .find(|(k, _)| k.split(',').any(|c| c == *name))
                            .map(|(_, v)| v.clone());
                        v1.insert(
                            name.to_string(),
                            Hierarchy {
                                mount_point: mount_point.clone(),
                                mount_root: mount_root.clone(),
                                own_path,
                            },
                        );
                    }
                }
                _ => {}
            }
        }
        if !v1.is_empty() {
            return Ok(Layout::V1 {
                controllers: v1,
                unified,
            });
        }
        match unified {
            Some(hierarchy) => {
                let controllers = controllers_of(&hierarchy.mount_point);
                Ok(Layout::V2 {
                    hierarchy,
                    controllers,
                })
            }
            None => Err(CgroupError::NotMounted(
                "/proc/self/mountinfo lists neither cgroup nor cgroup2 mounts".into(),
            )),
        }
    }

    /// True for a pure cgroup v2 host.
    pub fn is_v2(&self) -> bool {
        matches!(self, Layout::V2 { .. })
    }

    /// The v2 hierarchy: the only one on a v2 host, the one beside the controllers on v1.
    pub fn unified(&self) -> Option<&Hierarchy> {
        match self {
            Layout::V1 { unified, .. } => unified.as_ref(),
            Layout::V2 { hierarchy, .. } => Some(hierarchy),
        }
    }

    /// On a v1 host with a v2 mount beside it, a v2 layout over that mount for what v2 does
    /// without controllers: membership, freezing, killing, device filter programs. Its
    /// controller list is empty, so nothing switches controllers on in the host's v2 tree:
    /// on such a host resources belong to v1. `None` when there is no v2 mount.
    pub fn unified_as_v2(&self) -> Option<Layout> {
        match self {
            Layout::V2 { .. } => Some(self.clone()),
            Layout::V1 { unified, .. } => Some(Layout::V2 {
                hierarchy: unified.clone()?,
                controllers: Vec::new(),
            }),
        }
    }

    /// The controllers available to container cgroups.
    pub fn controllers(&self) -> Vec<String> {
        match self {
            Layout::V1 { controllers, .. } => controllers.keys().cloned().collect(),
            Layout::V2 { controllers, .. } => controllers.clone(),
        }
    }

    /// On a v2 host where the engine sits in the top cgroup it can see and that top is not
    /// the real root (the engine runs in a container with its own cgroup namespace), v2's
    /// "no internal processes" rule forbids enabling controllers for container cgroups.
    /// This moves every process of that top cgroup into its child `leaf`, as
    /// Docker-in-Docker's entrypoint does; call it once at engine start. Returns whether
    /// anything moved.
    pub fn move_processes_to_leaf(&self, leaf: &str) -> Result<bool> {
        let Layout::V2 { hierarchy, .. } = self else {
            return Ok(false);
        };
        let base = hierarchy.base();
        // The real root has no cgroup.type and is exempt from the rule.
        if !base.join("cgroup.type").exists() {
            return Ok(false);
        }
        if leaf.is_empty() || leaf.contains('/') || leaf.starts_with('.') {
            return Err(CgroupError::invalid(
                "leaf cgroup",
                leaf,
                "not a plain name",
            ));
        }
        let pids = parse_pids(&read(&base.join("cgroup.procs"))?);
        if pids.is_empty() {
            return Ok(false);
        }
        let dir = base.join(leaf);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(CgroupError::io("creating", &dir, e)),
        }
        let procs = dir.join("cgroup.procs");
        for pid in pids {
            match write(&procs, &pid.to_string()) {
                Ok(()) => {}
                // Exited meanwhile.
                Err(CgroupError::Write { source, .. })
                    if source.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Every distinct hierarchy a container cgroup gets a directory in.
    pub(crate) fn hierarchies(&self) -> Vec<&Hierarchy> {
        let mut out: Vec<&Hierarchy> = Vec::new();
        match self {
            Layout::V1 {
                controllers,
                unified,
            } => {
                for h in controllers.values().chain(unified.iter()) {
                    if !out.iter().any(|o| o.mount_point == h.mount_point) {
                        out.push(h);
                    }
                }
            }
            Layout::V2 { hierarchy, .. } => out.push(hierarchy),
        }
        out
    }
}

/// Maps each /proc/self/cgroup controller list (`""` for v2) to the path.
fn parse_self_cgroup(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let names = it.next()?;
            let path = it.next()?;
            Some((names.to_string(), path.to_string()))
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_SELF: &str =
        "4:memory:/process_api/abc\n2:cpu,cpuacct:/\n1:name=systemd:/x\n0::/\n";

    #[test]
    fn parses_hybrid_with_comounted_controllers() {
        let l = Layout::parse(HYBRID, HYBRID_SELF, &|_| vec![]).expect("layout");
        let Layout::V1 {
            controllers,
            unified,
        } = &l
        else {
            panic!("expected v1: {l:?}");
        };
        assert_eq!(
            controllers.keys().collect::<Vec<_>>(),
            ["cpu", "cpuacct", "memory"]
        );
        assert_eq!(
            controllers["cpu"].mount_point,
            controllers["cpuacct"].mount_point
        );
        assert_eq!(
            controllers["memory"].own_dir(),
            Some(PathBuf::from("/sys/fs/cgroup/memory/process_api/abc"))
        );
        assert_eq!(
            unified.as_ref().map(|u| u.mount_point.clone()),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(l.hierarchies().len(), 3);
    }

    #[test]
    fn parses_pure_v2_and_nested_mount_root() {
        let mi = "30 23 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = Layout::parse(mi, "0::/docker/abc/sub\n", &|p| {
            assert_eq!(p, Path::new("/sys/fs/cgroup"));
            vec!["cpu".into(), "memory".into()]
        })
        .expect("layout");
        let Layout::V2 {
            hierarchy,
            controllers,
        } = &l
        else {
            panic!("expected v2");
        };
        assert_eq!(controllers, &["cpu", "memory"]);
        assert_eq!(
            hierarchy.own_dir(),
            Some(PathBuf::from("/sys/fs/cgroup/sub"))
        );
    }

    #[test]
    fn no_cgroup_mount_is_an_error() {
        let mi = "22 1 0:21 / /proc rw - proc proc rw\n";
        assert!(matches!(
            Layout::parse(mi, "", &|_| vec![]),
            Err(CgroupError::NotMounted(_))
        ));
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
