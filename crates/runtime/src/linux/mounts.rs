//! The container's mount table: the root made private and bound on itself, the spec's mounts
//! placed inside it (every destination resolved inside the root, so a symlink in the image
//! cannot redirect a mount onto the host), then pivot_root, masked and read-only paths.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::Mount;
use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use super::paths::{fd_path, open_in_root, Create};
use super::StartError;

/// A mount's options split into flags, propagation, and the data string.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub flags: MountFlags,
    pub propagation: Option<MountPropagationFlags>,
    pub bind: bool,
    pub recursive: bool,
    pub data: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            flags: MountFlags::empty(),
            propagation: None,
            bind: false,
            recursive: false,
            data: Vec::new(),
        }
    }
}

/// mount(2) with a data string.
fn mount_data(
    source: impl AsRef<Path>,
    target: impl AsRef<Path>,
    fstype: &str,
    flags: MountFlags,
    data: &str,
) -> rustix::io::Result<()> {
    let data = std::ffi::CString::new(data).map_err(|_| rustix::io::Errno::INVAL)?;
    rustix::mount::mount(
        source.as_ref(),
        target.as_ref(),
        fstype,
        flags,
        Some(data.as_c_str()),
    )
}

pub fn parse_options(opts: &[String]) -> Options {
    let mut o = Options::default();
    for opt in opts {
        match opt.as_str() {
            "ro" | "readonly" => o.flags |= MountFlags::RDONLY,
            "rw" => o.flags &= !MountFlags::RDONLY,
            "nosuid" => o.flags |= MountFlags::NOSUID,
            "suid" => o.flags &= !MountFlags::NOSUID,
            "nodev" => o.flags |= MountFlags::NODEV,
            "dev" => o.flags &= !MountFlags::NODEV,
            "noexec" => o.flags |= MountFlags::NOEXEC,
            "exec" => o.flags &= !MountFlags::NOEXEC,
            "noatime" => o.flags |= MountFlags::NOATIME,
            "nodiratime" => o.flags |= MountFlags::NODIRATIME,
            "relatime" => o.flags |= MountFlags::RELATIME,
            "strictatime" => o.flags |= MountFlags::STRICTATIME,
            "sync" => o.flags |= MountFlags::SYNCHRONOUS,
            "dirsync" => o.flags |= MountFlags::DIRSYNC,
            "bind" => o.bind = true,
            "rbind" => {
                o.bind = true;
                o.recursive = true;
            }
            "private" => o.propagation = Some(MountPropagationFlags::PRIVATE),
            "rprivate" => {
                o.propagation = Some(MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)
            }
            "slave" => o.propagation = Some(MountPropagationFlags::DOWNSTREAM),
            "rslave" => {
                o.propagation = Some(MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC)
            }
            "shared" => o.propagation = Some(MountPropagationFlags::SHARED),
            "rshared" => {
                o.propagation = Some(MountPropagationFlags::SHARED | MountPropagationFlags::REC)
            }
            "unbindable" => o.propagation = Some(MountPropagationFlags::UNBINDABLE),
            "runbindable" => {
                o.propagation = Some(MountPropagationFlags::UNBINDABLE | MountPropagationFlags::REC)
            }
            // Volume options that mean nothing to the kernel.
            "z" | "Z" | "nocopy" | "copy" => {}
            other => o.data.push(other.to_string()),
        }
    }
    o
}

fn err(what: &str, dest: &Path, e: impl Into<std::io::Error>) -> StartError {
    StartError::os(format!("{what} {}", dest.display()), e)
}

/// Makes every mount in our (new) namespace private, so nothing we do propagates back to
/// the host, and binds the root on itself so it is a mount point pivot_root accepts. What
/// it returns goes to each [`mount`] after it.
pub fn prepare_root(rootfs: &Path) -> Result<MountsSoFar, StartError> {
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| err("making private", Path::new("/"), e))?;
    rustix::mount::mount_bind_recursive(rootfs, rootfs)
        .map_err(|e| err("binding the root", rootfs, e))?;
    Ok(MountsSoFar { all_private: true })
}

/// What the mounts placed so far in a new namespace leave to the next.
#[derive(Debug)]
pub struct MountsSoFar {
    /// Every mount is private, as [`prepare_root`] leaves them: a bind of a private mount,
    /// or a new mount under one, is private, so `private` and `rprivate` (docker's default
    /// for binds and volumes) change nothing and take no system calls.
    all_private: bool,
}

impl MountsSoFar {
    /// Whether setting `p` on a mount just made would change it.
    fn changes(&self, p: MountPropagationFlags) -> bool {
        let private = MountPropagationFlags::PRIVATE | MountPropagationFlags::REC;
        !(self.all_private && private.contains(p))
    }
}

/// Places one spec mount inside `root` (a directory descriptor of the container's root).
pub fn mount(
    root: impl AsFd,
    m: &Mount,
    cgroup_v1: &[(String, String)],
    so_far: &mut MountsSoFar,
) -> Result<(), StartError> {
    let root = root.as_fd();
    let dest = m.destination();
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or("none");
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroups(root, dest, &opts, cgroup_v1);
    }
    let source = m
        .source()
        .as_deref()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let create = if opts.bind && source.is_file() {
        Create::File
    } else {
        Create::Dir
    };
    let target =
        open_in_root(root, dest, create).map_err(|e| err("creating mount point", dest, e))?;
    let target_path = fd_path(&target);
    if opts.bind {
        let bound = if opts.recursive {
            rustix::mount::mount_bind_recursive(&source, &target_path)
        } else {
            rustix::mount::mount_bind(&source, &target_path)
        };
        bound.map_err(|e| err(&format!("binding {} on", source.display()), dest, e))?;
        let extra = opts.flags;
        if !extra.is_empty() {
            // Flags on a bind take a remount; reopen the target to act on the new mount.
            let on =
                open_in_root(root, dest, Create::Nothing).map_err(|e| err("reopening", dest, e))?;
            rustix::mount::mount_remount(fd_path(&on), extra | MountFlags::BIND, "")
                .map_err(|e| err("remounting", dest, e))?;
        }
    } else {
        let data = opts.data.join(",");
        let src = if source.as_os_str().is_empty() {
            Path::new(typ).to_path_buf()
        } else {
            source
        };
        mount_data(&src, &target_path, typ, opts.flags, data.as_str())
            .map_err(|e| err(&format!("mounting {typ} on"), dest, e))?;
    }
    if let Some(p) = opts.propagation.filter(|p| so_far.changes(*p)) {
        let on =
            open_in_root(root, dest, Create::Nothing).map_err(|e| err("reopening", dest, e))?;
        rustix::mount::mount_change(fd_path(&on), p)
            .map_err(|e| err("setting propagation of", dest, e))?;
        let private = MountPropagationFlags::PRIVATE | MountPropagationFlags::REC;
        so_far.all_private &= private.contains(p);
    }
    Ok(())
}

/// The host's cgroup v1 hierarchies as (directory name, mount options), e.g.
/// ("cpu,cpuacct", "cpu,cpuacct"), ("systemd", "name=systemd"). Empty on a cgroup v2 host.
pub fn host_cgroup_v1() -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        if r.next() != Some("cgroup") {
            continue;
        }
        let super_opts = r.nth(1).unwrap_or_default();
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        let Some(name) = point.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        let controllers: Vec<&str> = super_opts
            .split(',')
            .filter(|o| {
                !matches!(
                    *o,
                    "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime" | "noatime"
                )
            })
            .collect();
        out.push((name.to_string(), controllers.join(",")));
    }
    out
}

/// /sys/fs/cgroup: the unified hierarchy on a v2 host; on a v1 host a tmpfs holding each
/// hierarchy, both seen from the container's cgroup namespace, read-only as docker's.
fn mount_cgroups(
    root: impl AsFd,
    dest: &Path,
    opts: &Options,
    v1: &[(String, String)],
) -> Result<(), StartError> {
    let root = root.as_fd();
    let target =
        open_in_root(root, dest, Create::Dir).map_err(|e| err("creating mount point", dest, e))?;
    let flags = opts.flags | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    if v1.is_empty() {
        return mount_data("cgroup2", fd_path(&target), "cgroup2", flags, "")
            .map_err(|e| err("mounting cgroup2 on", dest, e));
    }
    mount_data(
        "tmpfs",
        fd_path(&target),
        "tmpfs",
        flags & !MountFlags::RDONLY,
        "mode=755",
    )
    .map_err(|e| err("mounting tmpfs on", dest, e))?;
    let base = open_in_root(root, dest, Create::Nothing).map_err(|e| err("reopening", dest, e))?;
    let base = reopen_dir(&base).map_err(|e| err("opening", dest, e))?;
    for (name, options) in v1 {
        rustix::fs::mkdirat(&base, name.as_str(), Mode::from_raw_mode(0o755))
            .map_err(|e| err("creating", &dest.join(name), e))?;
        let point = rustix::fs::openat(
            &base,
            name.as_str(),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| err("opening", &dest.join(name), e))?;
        mount_data("cgroup", fd_path(&point), "cgroup", flags, options.as_str())
            .map_err(|e| err("mounting cgroup on", &dest.join(name), e))?;
        // Co-mounted controllers are also reachable by each name, as on the host.
        if name.contains(',') {
            for part in name.split(',') {
                let _ = rustix::fs::symlinkat(name.as_str(), &base, part);
            }
        }
    }
    if opts.flags.contains(MountFlags::RDONLY) {
        rustix::mount::mount_remount(
            fd_path(&base),
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            "mode=755",
        )
        .map_err(|e| err("remounting read-only", dest, e))?;
    }
    Ok(())
}

fn reopen_dir(fd: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    rustix::fs::open(
        fd_path(fd),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Swaps the root for `rootfs` and detaches the old root: the runc way, stacking the old
/// root under the new one and unmounting it, with no directory needed for it.
pub fn pivot(rootfs: &Path) -> Result<(), StartError> {
    let old_root = rustix::fs::open(
        "/",
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err("opening", Path::new("/"), e))?;
    std::env::set_current_dir(rootfs).map_err(|e| err("entering", rootfs, e))?;
    rustix::process::pivot_root(".", ".").map_err(|e| err("pivot_root to", rootfs, e))?;
    // The old root is now mounted over the new one. Standing in it (a path lookup of "."
    // from the new root would find the new root's mount, and a recursive propagation change
    // there would undo the container's own shared and slave mounts), make it a slave so its
    // unmount does not propagate, then detach it.
    rustix::process::fchdir(&old_root)
        .map_err(|e| err("entering the old root", Path::new("/"), e))?;
    rustix::mount::mount_change(
        ".",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(|e| err("making the old root a slave", Path::new("/"), e))?;
    rustix::mount::unmount(".", UnmountFlags::DETACH)
        .map_err(|e| err("detaching the old root", Path::new("/"), e))?;
    std::env::set_current_dir("/").map_err(|e| err("entering", Path::new("/"), e))
}

/// Hides `paths` from the container: /dev/null over files, an empty read-only tmpfs over
/// directories. Paths that do not exist are skipped.
pub fn mask(paths: &[String]) -> Result<(), StartError> {
    for p in paths {
        let path = Path::new(p);
        match std::fs::symlink_metadata(path) {
            Err(_) => continue,
            Ok(m) if m.is_dir() => mount_data("tmpfs", path, "tmpfs", MountFlags::RDONLY, "")
                .map_err(|e| err("masking", path, e))?,
            Ok(_) => {
                rustix::mount::mount_bind("/dev/null", path).map_err(|e| err("masking", path, e))?
            }
        }
    }
    Ok(())
}

/// Makes `paths` read-only (bound on themselves, then remounted read-only).
pub fn readonly(paths: &[String]) -> Result<(), StartError> {
    for p in paths {
        let path = Path::new(p);
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        rustix::mount::mount_bind_recursive(path, path).map_err(|e| err("binding", path, e))?;
        rustix::mount::mount_remount(
            path,
            MountFlags::BIND
                | MountFlags::RDONLY
                | MountFlags::NOSUID
                | MountFlags::NODEV
                | MountFlags::NOEXEC,
            "",
        )
        .map_err(|e| err("making read-only", path, e))?;
    }
    Ok(())
}

/// Makes the root file system read-only (`--read-only`).
pub fn readonly_root() -> Result<(), StartError> {
    rustix::mount::mount_remount("/", MountFlags::BIND | MountFlags::RDONLY, "")
        .map_err(|e| err("remounting read-only", Path::new("/"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_propagation_and_data() {
        let o = parse_options(&[
            "nosuid".into(),
            "ro".into(),
            "rbind".into(),
            "rslave".into(),
            "size=64m".into(),
            "mode=1777".into(),
        ]);
        assert!(o.flags.contains(MountFlags::NOSUID | MountFlags::RDONLY));
        assert!(o.bind && o.recursive);
        assert_eq!(
            o.propagation,
            Some(MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC)
        );
        assert_eq!(o.data, ["size=64m", "mode=1777"]);
        let o = parse_options(&["ro".into(), "rw".into()]);
        assert!(!o.flags.contains(MountFlags::RDONLY));
    }

    #[test]
    fn private_asked_of_an_all_private_namespace_changes_nothing() {
        let (private, rec) = (MountPropagationFlags::PRIVATE, MountPropagationFlags::REC);
        let mut so_far = MountsSoFar { all_private: true };
        assert!(!so_far.changes(private | rec));
        assert!(!so_far.changes(private));
        assert!(so_far.changes(MountPropagationFlags::SHARED | rec));
        // Once a mount is shared, private ones are made so again.
        so_far.all_private = false;
        assert!(so_far.changes(private | rec));
    }
}
