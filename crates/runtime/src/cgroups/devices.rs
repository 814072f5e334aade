//! Device access rules (the cgroup v1 `devices.allow` / `devices.deny` language, OCI's
//! `linux.resources.devices`), and the list a Docker container gets by default.

use std::fmt;

use super::error::{CgroupError, Result};

/// Which kind of device node a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    /// Every device (`a`).
    All,
    /// Character devices (`c`).
    Char,
    /// Block devices (`b`).
    Block,
}

/// A set of access rights; the bit values are the kernel's BPF_DEVCG_ACC_* values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceAccess(pub(crate) u32);

impl DeviceAccess {
    pub const MKNOD: DeviceAccess = DeviceAccess(1);
    pub const READ: DeviceAccess = DeviceAccess(2);
    pub const WRITE: DeviceAccess = DeviceAccess(4);
    pub const ALL: DeviceAccess = DeviceAccess(7);

    /// Parses a composition of `r`, `w` and `m` (empty means all, as in OCI).
    pub fn parse(s: &str) -> Result<DeviceAccess> {
        if s.is_empty() {
            return Ok(DeviceAccess::ALL);
        }
        let mut bits = 0;
        for c in s.chars() {
            bits |= match c {
                'r' => 2,
                'w' => 4,
                'm' => 1,
                _ => return Err(CgroupError::invalid("device access", s, "use r, w and m")),
            };
        }
        Ok(DeviceAccess(bits))
    }

    /// True when every right in `other` is in `self`.
    pub fn contains(self, other: DeviceAccess) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Display for DeviceAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [(2, 'r'), (4, 'w'), (1, 'm')] {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// One allow or deny rule. `None` major or minor is the `*` wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    pub typ: DeviceType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: DeviceAccess,
}

impl DeviceRule {
    /// A rule allowing `typ major:minor` with all rights.
    pub const fn allow(typ: DeviceType, major: Option<u32>, minor: Option<u32>) -> DeviceRule {
        DeviceRule {
            allow: true,
            typ,
            major,
            minor,
            access: DeviceAccess::ALL,
        }
    }

    /// The rule that resets the list to "nothing allowed".
    pub const DENY_ALL: DeviceRule = DeviceRule {
        allow: false,
        typ: DeviceType::All,
        major: None,
        minor: None,
        access: DeviceAccess::ALL,
    };

    /// Parses `--device-cgroup-rule` syntax, `"c 1:3 rwm"`, `"b 8:* r"` or `"a"`, as an allow
    /// rule.
    pub fn parse(s: &str) -> Result<DeviceRule> {
        let bad = |why: &str| CgroupError::invalid("device cgroup rule", s, why.to_string());
        let mut it = s.split_whitespace();
        let typ = match it.next() {
            Some("a") => DeviceType::All,
            Some("c") => DeviceType::Char,
            Some("b") => DeviceType::Block,
            _ => return Err(bad("type must be a, c or b")),
        };
        let (major, minor) = match it.next() {
            None if typ == DeviceType::All => (None, None),
            None => return Err(bad("missing major:minor")),
            Some(mm) => {
                let (a, b) = mm
                    .split_once(':')
                    .ok_or_else(|| bad("expected major:minor"))?;
                let num = |x: &str| -> Result<Option<u32>> {
                    if x == "*" {
                        Ok(None)
                    } else {
                        x.parse()
                            .map(Some)
                            .map_err(|_| bad("major and minor are numbers or *"))
                    }
                };
                (num(a)?, num(b)?)
            }
        };
        let access = DeviceAccess::parse(it.next().unwrap_or(""))?;
        if it.next().is_some() {
            return Err(bad("too many fields"));
        }
        Ok(DeviceRule {
            allow: true,
            typ,
            major,
            minor,
            access,
        })
    }

    /// True for a rule covering every device with every right, which resets the list.
    pub(crate) fn is_reset(&self) -> bool {
        self.typ == DeviceType::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == DeviceAccess::ALL
    }
}

impl fmt::Display for DeviceRule {
    /// The v1 `devices.allow` spelling, e.g. `c 136:* rwm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match self.typ {
            DeviceType::All => 'a',
            DeviceType::Char => 'c',
            DeviceType::Block => 'b',
        };
        let n = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
        write!(f, "{t} {}:{} {}", n(self.major), n(self.minor), self.access)
    }
}

const fn c(major: u32, minor: Option<u32>) -> DeviceRule {
    DeviceRule::allow(DeviceType::Char, Some(major), minor)
}

/// The device rules of a default (unprivileged) Docker container, in order: Docker's spec
/// defaults (deny everything; allow zero, null, urandom, random, tty, console; deny fuse),
/// then the list runc appends for every container (mknod of any node, null, random, full,
/// tty, zero, urandom, pseudo-terminals, ptmx, tun). Extra `--device` rules go after these.
pub fn default_device_rules() -> Vec<DeviceRule> {
    let mknod = |typ| DeviceRule {
        allow: true,
        typ,
        major: None,
        minor: None,
        access: DeviceAccess::MKNOD,
    };
    vec![
        DeviceRule::DENY_ALL,
        c(1, Some(5)), // /dev/zero
        c(1, Some(3)), // /dev/null
        c(1, Some(9)), // /dev/urandom
        c(1, Some(8)), // /dev/random
        c(5, Some(0)), // /dev/tty
        c(5, Some(1)), // /dev/console
        DeviceRule {
            allow: false,
            ..c(10, Some(229)) // /dev/fuse
        },
        mknod(DeviceType::Char),
        mknod(DeviceType::Block),
        c(1, Some(3)),    // /dev/null
        c(1, Some(8)),    // /dev/random
        c(1, Some(7)),    // /dev/full
        c(5, Some(0)),    // /dev/tty
        c(1, Some(5)),    // /dev/zero
        c(1, Some(9)),    // /dev/urandom
        c(136, None),     // /dev/pts/*
        c(5, Some(2)),    // /dev/ptmx
        c(10, Some(200)), // /dev/net/tun
    ]
}

/// Everything allowed: what a `--privileged` container gets.
pub fn allow_all_device_rules() -> Vec<DeviceRule> {
    vec![DeviceRule {
        allow: true,
        ..DeviceRule::DENY_ALL
    }]
}

/// Decides access the way the rules mean it: the last matching rule wins; a reset rule
/// sets the default. The v2 filter program implements exactly this, and tests compare.
pub fn rules_allow(
    rules: &[DeviceRule],
    typ: DeviceType,
    major: u32,
    minor: u32,
    access: DeviceAccess,
) -> bool {
    for r in rules.iter().rev() {
        if r.is_reset() {
            return r.allow;
        }
        let type_ok = r.typ == DeviceType::All || r.typ == typ;
        if type_ok
            && r.major.is_none_or(|m| m == major)
            && r.minor.is_none_or(|m| m == minor)
            && r.access.contains(access)
        {
            return r.allow;
        }
    }
    // Without a reset rule the kernel's default (allow) stands.
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["c 1:3 rwm", "b 8:* r", "c *:* m", "a *:* rwm"] {
            let r = DeviceRule::parse(s).expect(s);
            assert_eq!(r.to_string(), s);
        }
        assert_eq!(
            DeviceRule::parse("a").map(|r| r.is_reset()).ok(),
            Some(true)
        );
        assert!(DeviceRule::parse("x 1:2 r").is_err());
        assert!(DeviceRule::parse("c 1:2 rx").is_err());
        assert!(DeviceRule::parse("c 1 r").is_err());
    }

    #[test]
    fn defaults_allow_standard_devices_only() {
        let d = default_device_rules();
        let rw = DeviceAccess(DeviceAccess::READ.0 | DeviceAccess::WRITE.0);
        for (maj, min) in [
            (1, 3),
            (1, 5),
            (1, 7),
            (1, 8),
            (1, 9),
            (5, 0),
            (5, 1),
            (5, 2),
            (136, 4),
            (10, 200),
        ] {
            assert!(
                rules_allow(&d, DeviceType::Char, maj, min, rw),
                "{maj}:{min}"
            );
        }
        assert!(!rules_allow(&d, DeviceType::Char, 1, 1, DeviceAccess::READ)); // /dev/mem
        assert!(!rules_allow(&d, DeviceType::Char, 10, 229, rw)); // fuse
        assert!(!rules_allow(
            &d,
            DeviceType::Block,
            8,
            0,
            DeviceAccess::READ
        ));
        assert!(rules_allow(
            &d,
            DeviceType::Block,
            8,
            0,
            DeviceAccess::MKNOD
        ));
        assert!(rules_allow(
            &allow_all_device_rules(),
            DeviceType::Block,
            8,
            0,
            rw
        ));
    }
}
