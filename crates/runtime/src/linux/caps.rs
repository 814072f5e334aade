//! Linux capabilities by name, Docker's default set, and applying a set to the process
//! about to exec.

use rustix::thread::{CapabilitySet, CapabilitySets};

use super::StartError;

/// Every capability the kernel knows, in number order (`CAP_CHOWN` is 0).
pub const ALL: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capabilities: the 14 a container gets unless told otherwise.
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The number of a capability, accepting docker's spellings (`NET_ADMIN`, `net_admin`,
/// `CAP_NET_ADMIN`).
pub fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    ALL.iter().position(|c| *c == full).map(|n| n as u32)
}

/// The canonical `CAP_…` name.
pub fn canonical(name: &str) -> Option<&'static str> {
    number(name).map(|n| ALL[n as usize])
}

/// docker's `--cap-add` / `--cap-drop` arithmetic over the default set: `ALL` adds or drops
/// everything; unknown names are errors naming them.
pub fn effective_set(
    add: &[String],
    drop: &[String],
    privileged: bool,
) -> Result<Vec<&'static str>, String> {
    let all = held();
    if privileged {
        return Ok(all);
    }
    let resolve = |n: &String| canonical(n).ok_or_else(|| format!("unknown capability: {n:?}"));
    let mut set: Vec<&'static str> = if add.iter().any(|a| a.eq_ignore_ascii_case("ALL")) {
        all
    } else {
        DOCKER_DEFAULT.to_vec()
    };
    if drop.iter().any(|d| d.eq_ignore_ascii_case("ALL")) {
        set.clear();
    } else {
        for d in drop {
            let d = resolve(d)?;
            set.retain(|c| *c != d);
        }
    }
    for a in add.iter().filter(|a| !a.eq_ignore_ascii_case("ALL")) {
        let a = resolve(a)?;
        if !set.contains(&a) {
            set.push(a);
        }
    }
    Ok(set)
}

/// "All capabilities", as `--privileged` and `--cap-add ALL` mean it: every one the kernel
/// knows that the engine itself holds in its bounding set. A capability the engine lacks
/// (a host that withholds one from it) cannot be handed on, and asking for it would make the
/// container fail to start.
pub fn held() -> Vec<&'static str> {
    let bounding = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX);
    ALL.iter()
        .enumerate()
        .filter(|(n, _)| bounding & (1 << n) != 0)
        .map(|(_, c)| *c)
        .collect()
}

fn mask(names: &[String]) -> Result<u64, StartError> {
    let mut bits = 0u64;
    for n in names {
        let num =
            number(n).ok_or_else(|| StartError::engine(format!("unknown capability {n:?}")))?;
        bits |= 1 << num;
    }
    Ok(bits)
}

/// Removes from the bounding set every capability not in `keep`. Needs CAP_SETPCAP, so it
/// runs before the process gives up its privileges.
pub fn limit_bounding_set(keep: &[String]) -> Result<(), StartError> {
    let keep = mask(keep)?;
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(ALL.len() as u32 - 1);
    for cap in 0..=last {
        if keep & (1 << cap) == 0 {
            // SAFETY: prctl(PR_CAPBSET_DROP) takes a capability number and no pointers.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                // Capabilities the kernel does not know cannot be in the set anyway.
                if e.raw_os_error() != Some(libc::EINVAL) {
                    return Err(StartError::os(
                        format!("dropping capability {cap} from the bounding set"),
                        e,
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Sets the effective, permitted and inheritable sets, and clears the ambient set.
pub fn set(
    effective: &[String],
    permitted: &[String],
    inheritable: &[String],
) -> Result<(), StartError> {
    let sets = CapabilitySets {
        effective: CapabilitySet::from_bits_retain(mask(effective)?),
        permitted: CapabilitySet::from_bits_retain(mask(permitted)?),
        inheritable: CapabilitySet::from_bits_retain(mask(inheritable)?),
    };
    rustix::thread::set_capabilities(None, sets)
        .map_err(|e| StartError::os("setting capabilities", e))?;
    // SAFETY: prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) takes no pointers.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return Err(StartError::os(
            "clearing ambient capabilities",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("net_admin"), Some(12));
        assert_eq!(number("SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_BOGUS"), None);
        assert_eq!(DOCKER_DEFAULT.len(), 14);
    }

    #[test]
    fn add_and_drop_like_docker() {
        let s = effective_set(&["NET_ADMIN".into()], &["MKNOD".into()], false).unwrap();
        assert!(s.contains(&"CAP_NET_ADMIN"));
        assert!(!s.contains(&"CAP_MKNOD"));
        assert_eq!(s.len(), 14);
        assert_eq!(
            effective_set(&[], &["ALL".into()], false).unwrap(),
            Vec::<&str>::new()
        );
        assert_eq!(effective_set(&["ALL".into()], &[], false).unwrap(), held());
        assert_eq!(
            effective_set(&["chown".into()], &["ALL".into()], false).unwrap(),
            vec!["CAP_CHOWN"]
        );
        assert!(effective_set(&["CAP_NOPE".into()], &[], false).is_err());
        assert_eq!(effective_set(&[], &[], true).unwrap(), held());
        assert!(held().contains(&"CAP_SYS_ADMIN"), "the tests run as root");
    }
}
