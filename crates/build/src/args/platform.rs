//! Platforms (`linux/arm64/v8`) and the automatic platform args docker sets from the build
//! and target platforms.

use std::fmt;

use super::Vars;

/// The automatic platform args, in the global scope of every build.
pub const PLATFORM_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// An OS, architecture and optional variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// `amd64`, `arm64`, `arm`, …
    pub arch: String,
    /// `v7`, `v8`, … when there is one.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`, lower-casing it.
    pub fn parse(s: &str) -> Result<Platform, String> {
        let lower = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "invalid platform {s:?}: expected os/arch[/variant]"
            ));
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] => Ok(Platform {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(format!(
                "invalid platform {s:?}: expected os/arch[/variant]"
            )),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// `TARGETPLATFORM`, `TARGETOS`, … for building on `build` for `target`; variants are ""
/// when the platform has none.
pub fn platform_args(build: &Platform, target: &Platform) -> Vars {
    let mut vars = Vars::new();
    for (prefix, p) in [("TARGET", target), ("BUILD", build)] {
        vars.insert(format!("{prefix}PLATFORM"), p.to_string());
        vars.insert(format!("{prefix}OS"), p.os.clone());
        vars.insert(format!("{prefix}ARCH"), p.arch.clone());
        vars.insert(
            format!("{prefix}VARIANT"),
            p.variant.clone().unwrap_or_default(),
        );
    }
    vars
}
