//! The OCI runtime spec of a container, built from what the engine decided (command, user,
//! limits, mounts, security options) with Docker's defaults for everything else: the mounts
//! every container has, the masked and read-only /proc and /sys paths, the standard devices,
//! the namespaces, and the capability set.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::str::FromStr;

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDevice, LinuxDeviceBuilder,
    LinuxDeviceType, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxResources,
    LinuxSeccomp, Mount, MountBuilder, PosixRlimit, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
    UserBuilder,
};

use crate::linux::devices::DEFAULT_DEVICES;

/// /proc and /sys paths hidden from containers, as docker's.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// /proc paths containers may read but not write, as docker's.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Docker's default /dev/shm size.
pub const DEFAULT_SHM_SIZE: u64 = 64 << 20;

/// How a namespace is had: fresh, the host's (no namespace), or another's (by path).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NsMode {
    #[default]
    Private,
    Host,
    Path(PathBuf),
}

/// What the engine decided about a container; everything else is Docker's default.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub terminal: bool,
    pub hostname: String,
    pub domainname: String,
    /// Capability names (`CAP_…`) the process keeps.
    pub capabilities: Vec<String>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub seccomp: Option<LinuxSeccomp>,
    pub shm_size: Option<u64>,
    /// Extra mounts (volumes, binds, tmpfs, /etc/hosts …), placed after the defaults.
    pub mounts: Vec<Mount>,
    pub rlimits: Vec<PosixRlimit>,
    pub sysctls: HashMap<String, String>,
    pub resources: Option<LinuxResources>,
    pub network: NsMode,
    pub ipc: NsMode,
    pub pid: NsMode,
    pub uts: NsMode,
    /// Extra devices (`--device`).
    pub devices: Vec<LinuxDevice>,
}

#[derive(Debug, thiserror::Error)]
#[error("building the runtime spec: {0}")]
pub struct SpecError(pub String);

fn e(x: impl std::fmt::Display) -> SpecError {
    SpecError(x.to_string())
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, SpecError> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .map_err(e)
}

/// The mounts every container has, as docker's (`/sys` writable and devices unrestricted
/// only when privileged).
fn default_mounts(s: &ContainerSpec) -> Result<Vec<Mount>, SpecError> {
    let sys_mode = if s.privileged { "rw" } else { "ro" };
    let shm = format!("size={}", s.shm_size.unwrap_or(DEFAULT_SHM_SIZE));
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_mode],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", sys_mode],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm],
        )?,
    ])
}

fn device(path: &str, major: i64, minor: i64) -> Result<LinuxDevice, SpecError> {
    LinuxDeviceBuilder::default()
        .path(path)
        .typ(LinuxDeviceType::C)
        .major(major)
        .minor(minor)
        .file_mode(0o666u32)
        .uid(0u32)
        .gid(0u32)
        .build()
        .map_err(e)
}

fn namespace(typ: LinuxNamespaceType, mode: &NsMode) -> Result<Option<LinuxNamespace>, SpecError> {
    let b = LinuxNamespaceBuilder::default().typ(typ);
    Ok(match mode {
        NsMode::Host => None,
        NsMode::Private => Some(b.build().map_err(e)?),
        NsMode::Path(p) => Some(b.path(p.clone()).build().map_err(e)?),
    })
}

fn capability_set(names: &[String]) -> Result<HashSet<Capability>, SpecError> {
    names
        .iter()
        .map(|n| {
            Capability::from_str(n.trim_start_matches("CAP_"))
                .map_err(|_| SpecError(format!("unknown capability {n}")))
        })
        .collect()
}

/// Builds the spec.
pub fn build(s: &ContainerSpec) -> Result<Spec, SpecError> {
    let caps = capability_set(&s.capabilities)?;
    // As docker: root gets its capabilities in every set; a non-root user keeps them only in
    // the bounding set, so an exec of an ordinary binary leaves it with none.
    let (eff, perm) = if s.uid == 0 {
        (caps.clone(), caps.clone())
    } else {
        (HashSet::new(), HashSet::new())
    };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(eff)
        .permitted(perm)
        .inheritable(HashSet::new())
        .ambient(HashSet::new())
        .build()
        .map_err(e)?;
    let user = UserBuilder::default()
        .uid(s.uid)
        .gid(s.gid)
        .additional_gids(s.additional_gids.clone())
        .build()
        .map_err(e)?;
    let process = ProcessBuilder::default()
        .terminal(s.terminal)
        .user(user)
        .args(s.args.clone())
        .env(s.env.clone())
        .cwd(if s.cwd.is_empty() {
            "/".to_string()
        } else {
            s.cwd.clone()
        })
        .capabilities(capabilities)
        .rlimits(s.rlimits.clone())
        .no_new_privileges(s.no_new_privileges)
        .build()
        .map_err(e)?;

    let mut namespaces = Vec::new();
    for (typ, mode) in [
        (LinuxNamespaceType::Pid, &s.pid),
        (LinuxNamespaceType::Ipc, &s.ipc),
        (LinuxNamespaceType::Uts, &s.uts),
        (LinuxNamespaceType::Mount, &NsMode::Private),
        (LinuxNamespaceType::Network, &s.network),
        (LinuxNamespaceType::Cgroup, &NsMode::Private),
    ] {
        namespaces.extend(namespace(typ, mode)?);
    }
    let mut devices = DEFAULT_DEVICES
        .iter()
        .map(|(p, ma, mi)| device(p, *ma as i64, *mi as i64))
        .collect::<Result<Vec<_>, _>>()?;
    devices.extend(s.devices.iter().cloned());

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .devices(devices)
        .sysctl(s.sysctls.clone())
        .resources(s.resources.clone().unwrap_or_default());
    if !s.privileged {
        linux = linux
            .masked_paths(
                MASKED_PATHS
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>(),
            )
            .readonly_paths(
                READONLY_PATHS
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>(),
            );
        if let Some(seccomp) = &s.seccomp {
            linux = linux.seccomp(seccomp.clone());
        }
    } else {
        linux = linux
            .masked_paths(Vec::<String>::new())
            .readonly_paths(Vec::<String>::new());
    }
    let linux = linux.build().map_err(e)?;

    let mut mounts = default_mounts(s)?;
    mounts.extend(s.mounts.iter().cloned());
    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .root(
            RootBuilder::default()
                .path(s.rootfs.clone())
                .readonly(s.readonly_rootfs)
                .build()
                .map_err(e)?,
        )
        .process(process)
        .mounts(mounts)
        .linux(linux);
    // Names are set in the container's own UTS namespace only, never the host's.
    if s.uts != NsMode::Host && !s.hostname.is_empty() {
        spec = spec.hostname(s.hostname.clone());
    }
    if s.uts != NsMode::Host && !s.domainname.is_empty() {
        spec = spec.domainname(s.domainname.clone());
    }
    spec.build().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic() -> ContainerSpec {
        ContainerSpec {
            rootfs: "/tmp/root".into(),
            args: vec!["sh".into()],
            capabilities: crate::linux::caps::DOCKER_DEFAULT
                .iter()
                .map(|s| s.to_string())
                .collect(),
            hostname: "abc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn docker_defaults() {
        let spec = build(&basic()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(
            linux.masked_paths().as_ref().unwrap().len(),
            MASKED_PATHS.len()
        );
        assert_eq!(linux.devices().as_ref().unwrap().len(), 6);
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
        assert_eq!(spec.hostname().as_deref(), Some("abc"));
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.contains("CAP_NET_BIND_SERVICE"), "{json}");
        let dests: Vec<_> = spec
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
    }

    #[test]
    fn non_root_users_keep_capabilities_only_in_the_bounding_set() {
        let spec = build(&ContainerSpec {
            uid: 1000,
            ..basic()
        })
        .unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert!(caps.effective().as_ref().unwrap().is_empty());
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
    }

    #[test]
    fn privileged_and_host_namespaces() {
        let spec = build(&ContainerSpec {
            privileged: true,
            network: NsMode::Host,
            ..basic()
        })
        .unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.masked_paths().as_ref().is_none_or(|p| p.is_empty()));
        let ns: Vec<_> = linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        assert!(!ns.contains(&LinuxNamespaceType::Network));
    }
}
