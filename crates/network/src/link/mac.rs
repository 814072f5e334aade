//! Container MAC addresses: docker's scheme derives one from the IPv4 address
//! (`02:42:` then the four address bytes, locally administered and unicast), and
//! `--mac-address` gives one as text.

use std::net::Ipv4Addr;

/// A `--mac-address` value that is not a MAC address; the message is Go's
/// `net.ParseMAC` one, which docker passes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address {0}: invalid MAC address")]
pub struct MacError(pub String);

/// The MAC docker gives an endpoint with address `ip`: `02:42:<ip bytes>`.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x42, a, b, c, d]
}

/// `02:42:0a:00:00:02`: lower-case hex pairs joined by colons.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// Parses a 48-bit MAC in the forms Go's `net.ParseMAC` takes, as docker does:
/// `02:42:0a:00:00:02`, `02-42-0a-00-00-02` or `0242.0a00.0002`, any case, surrounding
/// blanks ignored. Only the form is checked; the kernel refuses a multicast or all-zero
/// address when the interface is brought up.
pub fn parse_mac(text: &str) -> Result<[u8; 6], MacError> {
    let bad = || MacError(text.to_owned());
    let trimmed = text.trim();
    let (separator, group_len) = if trimmed.contains(':') {
        (':', 2)
    } else if trimmed.contains('-') {
        ('-', 2)
    } else {
        ('.', 4)
    };
    let mut mac = [0u8; 6];
    let mut at = 0;
    for group in trimmed.split(separator) {
        if group.len() != group_len || !group.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        for pair in group.as_bytes().chunks(2) {
            let slot = mac.get_mut(at).ok_or_else(bad)?;
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *slot = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
            at += 1;
        }
    }
    if at != mac.len() {
        return Err(bad());
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_scheme() {
        let mac = mac_for(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(mac, [0x02, 0x42, 10, 0, 0, 2]);
        assert_eq!(format_mac(&mac), "02:42:0a:00:00:02");
        assert_eq!(
            format_mac(&mac_for(Ipv4Addr::new(172, 17, 255, 254))),
            "02:42:ac:11:ff:fe"
        );
    }

    #[test]
    fn parses_every_form() {
        let want = [0x02, 0x42, 0xac, 0x11, 0x00, 0x0a];
        for text in [
            "02:42:ac:11:00:0a",
            "02:42:AC:11:00:0A",
            "02-42-ac-11-00-0a",
            "0242.ac11.000a",
            "  02:42:ac:11:00:0a\n",
        ] {
            assert_eq!(parse_mac(text), Ok(want), "{text:?}");
        }
        assert_eq!(parse_mac(&format_mac(&want)), Ok(want));
    }

    #[test]
    fn names_the_bad_text() {
        for text in [
            "",
            "02:42:ac:11:00",
            "02:42:ac:11:00:0a:0b",
            "02:42:ac:11:00:0g",
            "2:42:ac:11:00:0a",
            "02:42-ac:11:00:0a",
            "0242ac11000a",
            "0242.ac11.000a.0000",
            "02::42:ac:11:00",
            "é2:42:ac:11:00:0a",
        ] {
            let err = parse_mac(text).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("address {text}: invalid MAC address")
            );
        }
    }
}
