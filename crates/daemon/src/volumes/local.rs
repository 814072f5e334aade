//! The local driver's options, as docker's: `type`, `device` and `o` make the volume a mount
//! of something else — a tmpfs (`type=tmpfs device=tmpfs o=size=64m`), a bind of an existing
//! directory (`type=none device=/srv/data o=bind`), any filesystem the kernel mounts. The
//! mount is made when a container using the volume starts and undone when the last one
//! stops (so a tmpfs volume's content lasts as long as its users, as with docker).

use std::collections::BTreeMap;
use std::path::Path;

use rustix::mount::MountFlags;

use crate::error::{EngineError, EngineResult};

/// Checks a volume's options: all three keys known, and `type` and `device` together.
pub fn check(options: &BTreeMap<String, String>) -> EngineResult<()> {
    if let Some(bad) = options
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "device" | "o"))
    {
        return Err(EngineError::invalid(format!("invalid option key: {bad:?}")));
    }
    if options.is_empty() {
        return Ok(());
    }
    for key in ["type", "device"] {
        if options.get(key).is_none_or(|v| v.is_empty()) {
            return Err(EngineError::invalid(format!(
                "the local driver needs option {key:?} with {:?}",
                options.keys().collect::<Vec<_>>()
            )));
        }
    }
    let (flags, _) = split_o(options.get("o").map(String::as_str).unwrap_or(""));
    if flags.contains(MountFlags::BIND) && !Path::new(&options["device"]).is_absolute() {
        return Err(EngineError::invalid(format!(
            "a bind volume's device must be an absolute path: {}",
            options["device"]
        )));
    }
    Ok(())
}

/// `o`: the flags mount(2) takes as flags, the rest as its data string.
fn split_o(o: &str) -> (MountFlags, String) {
    let mut flags = MountFlags::empty();
    let mut data = Vec::new();
    for opt in o.split(',').filter(|s| !s.is_empty()) {
        match opt {
            "bind" => flags |= MountFlags::BIND,
            "rbind" => flags |= MountFlags::BIND | MountFlags::REC,
            "ro" => flags |= MountFlags::RDONLY,
            "nosuid" => flags |= MountFlags::NOSUID,
            "nodev" => flags |= MountFlags::NODEV,
            "noexec" => flags |= MountFlags::NOEXEC,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

/// Whether something is mounted on `path`.
pub fn is_mounted(path: &Path) -> bool {
    let wanted = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|p| p == wanted)
}

/// Mounts the volume's device on its data directory, unless it is mounted already.
pub fn mount(name: &str, options: &BTreeMap<String, String>, data_dir: &Path) -> EngineResult<()> {
    if options.is_empty() || is_mounted(data_dir) {
        return Ok(());
    }
    let (flags, data) = split_o(options.get("o").map(String::as_str).unwrap_or(""));
    let fstype = options["type"].as_str();
    let device = options["device"].as_str();
    let data = std::ffi::CString::new(data)
        .map_err(|_| EngineError::invalid(format!("volume {name}: a NUL in its o option")))?;
    rustix::mount::mount(
        device,
        data_dir,
        if flags.contains(MountFlags::BIND) {
            ""
        } else {
            fstype
        },
        flags,
        Some(data.as_c_str()),
    )
    .map_err(|e| {
        EngineError::internal(format!(
            "mounting volume {name} ({fstype} {device}) on {}: {e}",
            data_dir.display()
        ))
    })
}

/// Undoes [`mount`]; nothing when nothing is mounted.
pub fn unmount(name: &str, data_dir: &Path) -> EngineResult<()> {
    if !is_mounted(data_dir) {
        return Ok(());
    }
    rustix::mount::unmount(data_dir, rustix::mount::UnmountFlags::DETACH)
        .map_err(|e| EngineError::internal(format!("unmounting volume {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_are_checked() {
        assert!(check(&opts(&[])).is_ok());
        assert!(check(&opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m")
        ]))
        .is_ok());
        assert!(check(&opts(&[
            ("type", "none"),
            ("device", "/srv"),
            ("o", "bind")
        ]))
        .is_ok());
        assert!(check(&opts(&[("type", "none"), ("device", "rel"), ("o", "bind")])).is_err());
        assert!(check(&opts(&[("o", "size=1m")]))
            .unwrap_err()
            .message
            .contains("\"type\""));
        assert!(check(&opts(&[("size", "1")]))
            .unwrap_err()
            .message
            .contains("invalid option key"));
    }

    #[test]
    fn o_splits_into_flags_and_data() {
        let (f, d) = split_o("bind,ro,size=1m,uid=1000");
        assert!(f.contains(MountFlags::BIND) && f.contains(MountFlags::RDONLY));
        assert_eq!(d, "size=1m,uid=1000");
    }

    #[test]
    fn a_tmpfs_volume_mounts_and_unmounts() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]);
        mount("t", &o, dir.path()).unwrap();
        assert!(is_mounted(dir.path()));
        mount("t", &o, dir.path()).unwrap();
        unmount("t", dir.path()).unwrap();
        assert!(!is_mounted(dir.path()));
        unmount("t", dir.path()).unwrap();
    }
}
