//! Architectures: the host CPU families Berth builds filters for, the syscall ABIs a filter
//! covers on each (native plus 32-bit compat), and syscall-name lookup per ABI.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::profile::ScmpArch;
use super::syscall_table::{NA, SYSCALLS};

/// A host CPU family Berth can build seccomp filters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostArch {
    X86_64,
    Aarch64,
}

impl HostArch {
    /// The architecture this binary runs on, if Berth supports seccomp there.
    pub fn native() -> Option<HostArch> {
        if cfg!(target_arch = "x86_64") {
            Some(HostArch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(HostArch::Aarch64)
        } else {
            None
        }
    }

    /// The name Docker profiles use in `includes.arches` / `excludes.arches` (Go's GOARCH as
    /// libseccomp spells it).
    pub fn docker_name(self) -> &'static str {
        match self {
            HostArch::X86_64 => "amd64",
            HostArch::Aarch64 => "arm64",
        }
    }

    /// The `SCMP_ARCH_*` value of the host, the key into a profile's `archMap`.
    pub fn scmp_arch(self) -> ScmpArch {
        match self {
            HostArch::X86_64 => ScmpArch::X86_64,
            HostArch::Aarch64 => ScmpArch::Aarch64,
        }
    }

    pub(crate) fn native_abi(self) -> Abi {
        match self {
            HostArch::X86_64 => Abi::X86_64,
            HostArch::Aarch64 => Abi::Aarch64,
        }
    }

    /// The ABI a profile architecture denotes, if a process on this host can use it.
    pub(crate) fn abi_for(self, arch: ScmpArch) -> Option<Abi> {
        match (self, arch) {
            (HostArch::X86_64, ScmpArch::X86_64) => Some(Abi::X86_64),
            (HostArch::X86_64, ScmpArch::X32) => Some(Abi::X32),
            (HostArch::X86_64, ScmpArch::X86) => Some(Abi::X86),
            (HostArch::Aarch64, ScmpArch::Aarch64) => Some(Abi::Aarch64),
            (HostArch::Aarch64, ScmpArch::Arm) => Some(Abi::Arm),
            _ => None,
        }
    }
}

/// A syscall ABI: what `seccomp_data.arch` (plus, for x32, a bit of `nr`) tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Abi {
    X86_64,
    X32,
    X86,
    Aarch64,
    Arm,
}

// AUDIT_ARCH_* from <linux/audit.h>: ELF machine | 64-bit flag | little-endian flag.
const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
const AUDIT_ARCH_LE: u32 = 0x4000_0000;
pub(crate) const AUDIT_ARCH_X86_64: u32 = 62 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;
pub(crate) const AUDIT_ARCH_I386: u32 = 3 | AUDIT_ARCH_LE;
pub(crate) const AUDIT_ARCH_AARCH64: u32 = 183 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;
pub(crate) const AUDIT_ARCH_ARM: u32 = 40 | AUDIT_ARCH_LE;

/// x32 syscalls arrive as x86_64 ones with this bit set in the number.
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

impl Abi {
    /// The `seccomp_data.arch` value the kernel reports for this ABI.
    pub(crate) fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
            Abi::Aarch64 => AUDIT_ARCH_AARCH64,
            Abi::Arm => AUDIT_ARCH_ARM,
        }
    }

    /// Whether syscall arguments are compared as 64-bit values. On the 32-bit ABIs only the
    /// low word is meaningful, and libseccomp compares only that.
    pub(crate) fn has_64bit_args(self) -> bool {
        matches!(self, Abi::X86_64 | Abi::Aarch64)
    }

    fn column(self) -> usize {
        match self {
            Abi::X86_64 => 0,
            Abi::X32 => 1,
            Abi::X86 => 2,
            Abi::Aarch64 => 3,
            Abi::Arm => 4,
        }
    }

    /// The number the filter sees for a syscall table row, if the ABI has that syscall.
    pub(crate) fn number(self, row: &[u32; 5]) -> Option<u32> {
        let nr = row[self.column()];
        if nr == NA {
            None
        } else if self == Abi::X32 {
            Some(nr | X32_SYSCALL_BIT)
        } else {
            Some(nr)
        }
    }
}

/// The syscall table row for `name` (numbers on every ABI), or `None` if no Linux
/// architecture has a syscall of that name.
pub(crate) fn syscall_row(name: &str) -> Option<&'static [u32; 5]> {
    // Compiling a profile looks up hundreds of names; hashing beats a binary search's string
    // comparisons by a few times. Built once per process.
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        SYSCALLS
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (*name, i))
            .collect()
    });
    index.get(name).map(|&i| &SYSCALLS[i].1)
}

/// Whether any Linux architecture has a syscall called `name`.
pub(crate) fn is_known_syscall(name: &str) -> bool {
    syscall_row(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in SYSCALLS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} !< {}", pair[0].0, pair[1].0);
        }
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn numbers_match_the_host_libc() {
        // The libc crate's constants are for the target this test runs on.
        #[cfg(target_arch = "x86_64")]
        let (abi, checks) = (
            Abi::X86_64,
            [
                ("read", libc::SYS_read),
                ("mount", libc::SYS_mount),
                ("clone3", libc::SYS_clone3),
            ],
        );
        #[cfg(target_arch = "aarch64")]
        let (abi, checks) = (
            Abi::Aarch64,
            [
                ("read", libc::SYS_read),
                ("mount", libc::SYS_mount),
                ("clone3", libc::SYS_clone3),
            ],
        );
        for (name, nr) in checks {
            let row = syscall_row(name).unwrap();
            assert_eq!(abi.number(row), Some(nr as u32), "{name}");
        }
    }

    #[test]
    fn compat_numbers() {
        let row = syscall_row("chown32").unwrap();
        assert_eq!(Abi::X86.number(row), Some(212));
        assert_eq!(Abi::X86_64.number(row), None);
        let row = syscall_row("read").unwrap();
        assert_eq!(Abi::X32.number(row), Some(X32_SYSCALL_BIT));
        assert_eq!(Abi::Aarch64.number(row), Some(63));
        assert_eq!(
            Abi::Arm.number(syscall_row("set_tls").unwrap()),
            Some(0x0f_0005)
        );
        assert!(is_known_syscall("s390_pci_mmio_read"));
        assert!(!is_known_syscall("no_such_syscall"));
    }
}
