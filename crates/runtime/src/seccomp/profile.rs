//! The Docker seccomp profile format — moby's `profiles/seccomp/default.json`, and what
//! `docker run --security-opt seccomp=profile.json` reads — as typed, validated Rust values.
//!
//! Parsing and validation live in `parse`. Serialising writes Docker's field names back, so a
//! profile survives a round trip.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

use super::parse::RawProfile;
use super::SeccompError;

/// Declares a fieldless enum spelled as fixed strings in profiles.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The spelling profiles use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value spelled `text`, if any.
            pub fn from_name(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// What the kernel does with a syscall (`SCMP_ACT_*`).
    Action {
        /// Kills the calling thread: libseccomp's and runc's meaning of the name.
        Kill = "SCMP_ACT_KILL",
        KillThread = "SCMP_ACT_KILL_THREAD",
        KillProcess = "SCMP_ACT_KILL_PROCESS",
        /// Sends SIGSYS to the caller.
        Trap = "SCMP_ACT_TRAP",
        /// Fails the syscall with `errnoRet` (EPERM when unset).
        Errno = "SCMP_ACT_ERRNO",
        /// Notifies a ptrace tracer; without one the syscall fails with ENOSYS.
        Trace = "SCMP_ACT_TRACE",
        Allow = "SCMP_ACT_ALLOW",
        /// Allows the syscall and logs it.
        Log = "SCMP_ACT_LOG",
        /// Hands the syscall to a user-space agent; Berth refuses profiles that use it.
        Notify = "SCMP_ACT_NOTIFY",
    }
}

string_enum! {
    /// How a syscall argument is compared (`SCMP_CMP_*`).
    ArgOp {
        NotEqual = "SCMP_CMP_NE",
        LessThan = "SCMP_CMP_LT",
        LessOrEqual = "SCMP_CMP_LE",
        Equal = "SCMP_CMP_EQ",
        GreaterOrEqual = "SCMP_CMP_GE",
        GreaterThan = "SCMP_CMP_GT",
        /// `(arg & value) == valueTwo`.
        MaskedEqual = "SCMP_CMP_MASKED_EQ",
    }
}

string_enum! {
    /// A libseccomp architecture (`SCMP_ARCH_*`), as listed by the OCI runtime spec.
    ScmpArch {
        X86 = "SCMP_ARCH_X86",
        X86_64 = "SCMP_ARCH_X86_64",
        X32 = "SCMP_ARCH_X32",
        Arm = "SCMP_ARCH_ARM",
        Aarch64 = "SCMP_ARCH_AARCH64",
        Mips = "SCMP_ARCH_MIPS",
        Mips64 = "SCMP_ARCH_MIPS64",
        Mips64N32 = "SCMP_ARCH_MIPS64N32",
        Mipsel = "SCMP_ARCH_MIPSEL",
        Mipsel64 = "SCMP_ARCH_MIPSEL64",
        Mipsel64N32 = "SCMP_ARCH_MIPSEL64N32",
        Ppc = "SCMP_ARCH_PPC",
        Ppc64 = "SCMP_ARCH_PPC64",
        Ppc64Le = "SCMP_ARCH_PPC64LE",
        S390 = "SCMP_ARCH_S390",
        S390X = "SCMP_ARCH_S390X",
        Parisc = "SCMP_ARCH_PARISC",
        Parisc64 = "SCMP_ARCH_PARISC64",
        Riscv64 = "SCMP_ARCH_RISCV64",
        Loongarch64 = "SCMP_ARCH_LOONGARCH64",
        M68k = "SCMP_ARCH_M68K",
        Sh = "SCMP_ARCH_SH",
        Sheb = "SCMP_ARCH_SHEB",
    }
}

/// A seccomp profile in Docker's format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawProfile")]
pub struct Profile {
    pub default_action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// Architectures to cover, besides the host's. Exclusive with `arch_map`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<ScmpArch>,
    /// Per host architecture, the compat architectures to cover too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMap>,
    /// `seccomp(2)` flags; accepted and ignored (with a warning) by Berth.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// For `SCMP_ACT_NOTIFY` agents; ignored (with a warning) by Berth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    pub syscalls: Vec<SyscallRule>,
}

/// An `archMap` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: ScmpArch,
    pub sub_architectures: Vec<ScmpArch>,
}

/// One entry of `syscalls`: an action for some syscalls, under conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    /// Syscall names; Docker's single `name` field is folded in here when parsing.
    pub names: Vec<String>,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// All must hold for the rule to match (unless two name the same index: see `compile`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<SyscallArg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The rule applies only if all of these hold.
    #[serde(skip_serializing_if = "Filter::is_empty")]
    pub includes: Filter,
    /// The rule is dropped if any of these holds.
    #[serde(skip_serializing_if = "Filter::is_empty")]
    pub excludes: Filter,
}

/// A condition on one syscall argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallArg {
    /// Argument position, 0..=5.
    pub index: u32,
    pub value: u64,
    /// Only used by `SCMP_CMP_MASKED_EQ`, as the expected value.
    #[serde(skip_serializing_if = "is_zero")]
    pub value_two: u64,
    pub op: ArgOp,
}

/// Conditions on the container and host that decide whether a rule applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Capability names, e.g. `CAP_SYS_ADMIN`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    /// Host architectures as Docker names them: `amd64`, `arm64`, `s390x`, …
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<KernelVersion>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// A kernel version as `minKernel` spells it: `"<major>.<minor>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    /// Parses exactly `"<major>.<minor>"`, as Docker requires of `minKernel`.
    pub fn parse(text: &str) -> Option<KernelVersion> {
        let (major, minor) = text.split_once('.')?;
        Some(KernelVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// Reads the version from a kernel release string such as `6.1.0-18-amd64`.
    pub fn parse_release(release: &str) -> Option<KernelVersion> {
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        Some(KernelVersion {
            major: parts.next()?.parse().ok()?,
            minor: parts.next()?.parse().ok()?,
        })
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for KernelVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Profile {
    /// Parses and validates a profile in Docker's JSON format.
    pub fn from_json(json: &[u8]) -> Result<Profile, SeccompError> {
        let raw: RawProfile = serde_json::from_slice(json).map_err(SeccompError::Json)?;
        Profile::try_from(raw)
    }

    /// Reads a profile file (`--security-opt seccomp=<file>`); errors name the file.
    pub fn from_file(path: &Path) -> Result<Profile, SeccompError> {
        let json = std::fs::read(path).map_err(|source| SeccompError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        Profile::from_json(&json).map_err(|e| SeccompError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// The profile in Docker's JSON format, pretty-printed.
    pub fn to_json(&self) -> Result<String, SeccompError> {
        serde_json::to_string_pretty(self).map_err(SeccompError::Json)
    }
}
