//! Network interface names: what the kernel accepts (at most 15 bytes, no `/`, no space),
//! and the names Berth gives the host side of its veth pairs.

/// Whether `name` can name a bridge Berth creates: 1 to 15 letters, digits, `-`, `_` or `.`,
/// and not `.` or `..`.
pub fn valid_ifname(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The host-side name of an endpoint's veth: `veth` and the first 11 hex digits of the
/// endpoint's ID, unique on the host as the IDs are random.
pub fn veth_name(endpoint_id: &str) -> String {
    let hex: String = endpoint_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(11)
        .collect();
    format!("veth{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        assert!(valid_ifname("berth0"));
        assert!(valid_ifname("br-0123456789ab"));
        assert!(!valid_ifname("br-0123456789abc"));
        assert!(!valid_ifname(""));
        assert!(!valid_ifname("a/b"));
        assert!(!valid_ifname("a b"));
        assert!(!valid_ifname(".."));
        assert_eq!(veth_name("0123456789abcdef"), "veth0123456789a");
        assert!(valid_ifname(&veth_name("0123456789abcdef")));
    }
}
