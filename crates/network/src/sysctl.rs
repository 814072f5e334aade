//! Kernel parameters under `/proc/sys`: what the daemon needs switched on for bridged
//! networks (`net.ipv4.ip_forward`, `route_localnet` on its bridges).
//!
//! `net.*` entries belong to the network namespace of the thread that opens them, so
//! these act on the calling thread's namespace; run them under
//! [`crate::netns::run_in`] for another one.
//!
//! Keys come in sysctl(8)'s two spellings: dotted (`net.ipv4.ip_forward`) or, for names
//! that themselves hold dots such as an interface `br.1`, slashed
//! (`net/ipv4/conf/br.1/forwarding`), which is taken as it is. [`set_iface`] builds the
//! slashed form for per-interface IPv4 settings.

use std::io;
use std::path::PathBuf;

const ROOT: &str = "/proc/sys";

#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error("invalid sysctl key {0:?}")]
    BadKey(String),
    #[error("invalid interface name {0:?} for a sysctl key")]
    BadIfname(String),
    #[error("sysctl {key} does not exist")]
    NotFound { key: String },
    #[error("setting sysctl {key} to {value:?}: {source}")]
    Write {
        key: String,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("reading sysctl {key}: {source}")]
    Read {
        key: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = SysctlError> = std::result::Result<T, E>;

/// Writes `value` to the parameter `key` (dotted or slashed, see the module docs).
pub fn set(key: &str, value: &str) -> Result<()> {
    write(key, &path_of(key)?, value)
}

/// Reads the parameter `key`, without its trailing newline.
pub fn get(key: &str) -> Result<String> {
    read(key, &path_of(key)?)
}

/// Writes `net/ipv4/conf/<ifname>/<key>`, e.g. `set_iface("br-1a2b", "route_localnet",
/// "1")`; `ifname` may hold dots.
pub fn set_iface(ifname: &str, key: &str, value: &str) -> Result<()> {
    let key = iface_key(ifname, key)?;
    write(&key, &path_of(&key)?, value)
}

/// Reads `net/ipv4/conf/<ifname>/<key>`.
pub fn get_iface(ifname: &str, key: &str) -> Result<String> {
    let key = iface_key(ifname, key)?;
    read(&key, &path_of(&key)?)
}

fn iface_key(ifname: &str, key: &str) -> Result<String> {
    let valid = !ifname.is_empty()
        && ifname.len() <= 15
        && ifname != "."
        && ifname != ".."
        && !ifname.contains(['/', '\0'])
        && !ifname.chars().any(char::is_whitespace);
    if !valid {
        return Err(SysctlError::BadIfname(ifname.to_owned()));
    }
    if key.contains('/') {
        return Err(SysctlError::BadKey(key.to_owned()));
    }
    Ok(format!("net/ipv4/conf/{ifname}/{key}"))
}

/// `/proc/sys/<key>`: a slashed key as it is, a dotted one with dots turned to slashes.
/// Refuses anything that could leave `/proc/sys`.
fn path_of(key: &str) -> Result<PathBuf> {
    let bad = || SysctlError::BadKey(key.to_owned());
    let separator = if key.contains('/') { '/' } else { '.' };
    let mut path = PathBuf::from(ROOT);
    for segment in key.split(separator) {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\0') {
            return Err(bad());
        }
        path.push(segment);
    }
    Ok(path)
}

fn write(key: &str, path: &std::path::Path, value: &str) -> Result<()> {
    // procfs takes the whole value in one write; no create, no truncate.
    let outcome = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut file| io::Write::write_all(&mut file, value.as_bytes()));
    match outcome {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(SysctlError::NotFound {
            key: key.to_owned(),
        }),
        Err(source) => Err(SysctlError::Write {
            key: key.to_owned(),
            value: value.to_owned(),
            source,
        }),
    }
}

fn read(key: &str, path: &std::path::Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim_end_matches('\n').to_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(SysctlError::NotFound {
            key: key.to_owned(),
        }),
        Err(source) => Err(SysctlError::Read {
            key: key.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_become_paths() {
        assert_eq!(
            path_of("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
    }

    #[test]
    fn slashed_keys_keep_their_dots() {
        assert_eq!(
            path_of("net/ipv4/conf/br.1/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/br.1/forwarding")
        );
        assert_eq!(
            iface_key("eth0.100", "route_localnet").unwrap(),
            "net/ipv4/conf/eth0.100/route_localnet"
        );
    }

    #[test]
    fn keys_cannot_leave_proc_sys() {
        for key in [
            "",
            "net..ipv4",
            "net/../../etc/passwd",
            "/net/ipv4",
            "net.ipv4.",
        ] {
            assert!(matches!(path_of(key), Err(SysctlError::BadKey(_))), "{key}");
        }
        assert!(matches!(
            iface_key("..", "forwarding"),
            Err(SysctlError::BadIfname(_))
        ));
        assert!(matches!(
            iface_key("a/b", "forwarding"),
            Err(SysctlError::BadIfname(_))
        ));
        assert!(matches!(
            iface_key("eth0", "../forwarding"),
            Err(SysctlError::BadKey(_))
        ));
    }

    #[test]
    fn reads_a_key_and_names_missing_ones() {
        // Read-only, and the same in every namespace.
        assert!(!get("kernel.ostype").unwrap().ends_with('\n'));
        let err = get("net.ipv4.no_such_thing").unwrap_err();
        assert!(err.to_string().contains("net.ipv4.no_such_thing"), "{err}");
    }
}
