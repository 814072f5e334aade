//! Reading a profile: private "raw" mirror types that hold the JSON as written (plain strings,
//! everything optional, Go's `null` accepted for lists), then validation into the typed
//! [`Profile`], so that a bad action, operator, architecture or syscall name comes back as a
//! [`SeccompError`] variant naming it rather than as a generic JSON error.

use serde::Deserialize;

use super::arch::is_known_syscall;
use super::profile::{
    Action, ArchMap, ArgOp, Filter, KernelVersion, Profile, ScmpArch, SyscallArg, SyscallRule,
};
use super::SeccompError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawProfile {
    #[serde(default)]
    default_action: Option<String>,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    arch_map: Option<Vec<RawArchMap>>,
    #[serde(default)]
    flags: Option<Vec<String>>,
    #[serde(default)]
    listener_path: Option<String>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default)]
    syscalls: Option<Vec<RawSyscall>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArchMap {
    architecture: String,
    #[serde(default)]
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSyscall {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<RawArg>>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    includes: Option<RawFilter>,
    #[serde(default)]
    excludes: Option<RawFilter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArg {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFilter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

impl TryFrom<RawProfile> for Profile {
    type Error = SeccompError;

    fn try_from(raw: RawProfile) -> Result<Profile, SeccompError> {
        let default_action = match raw.default_action.as_deref() {
            None | Some("") => return Err(SeccompError::MissingDefaultAction),
            Some(action) => parse_action(action)?,
        };
        check_errno(raw.default_errno_ret, "(default action)")?;
        let architectures = parse_arches(raw.architectures.unwrap_or_default())?;
        let arch_map = raw
            .arch_map
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                Ok(ArchMap {
                    architecture: parse_arch(&m.architecture)?,
                    sub_architectures: parse_arches(m.sub_architectures.unwrap_or_default())?,
                })
            })
            .collect::<Result<Vec<_>, SeccompError>>()?;
        if !architectures.is_empty() && !arch_map.is_empty() {
            return Err(SeccompError::ArchitecturesAndArchMap);
        }
        let syscalls = raw
            .syscalls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, rule)| parse_rule(index, rule))
            .collect::<Result<Vec<_>, SeccompError>>()?;
        Ok(Profile {
            default_action,
            default_errno_ret: raw.default_errno_ret,
            architectures,
            arch_map,
            flags: raw.flags.unwrap_or_default(),
            listener_path: raw.listener_path,
            listener_metadata: raw.listener_metadata,
            syscalls,
        })
    }
}

fn parse_action(text: &str) -> Result<Action, SeccompError> {
    Action::from_name(text).ok_or_else(|| SeccompError::UnknownAction {
        action: text.to_owned(),
    })
}

fn parse_arch(text: &str) -> Result<ScmpArch, SeccompError> {
    ScmpArch::from_name(text).ok_or_else(|| SeccompError::UnknownArch {
        arch: text.to_owned(),
    })
}

fn parse_arches(texts: Vec<String>) -> Result<Vec<ScmpArch>, SeccompError> {
    texts.iter().map(|a| parse_arch(a)).collect()
}

fn check_errno(errno: Option<u32>, syscall: &str) -> Result<(), SeccompError> {
    match errno {
        Some(errno) if errno > u32::from(u16::MAX) => Err(SeccompError::ErrnoRange {
            syscall: syscall.to_owned(),
            errno,
        }),
        _ => Ok(()),
    }
}

fn parse_rule(index: usize, raw: RawSyscall) -> Result<SyscallRule, SeccompError> {
    let mut names = raw.names.unwrap_or_default();
    match raw.name {
        Some(name) if !name.is_empty() => {
            if !names.is_empty() {
                return Err(SeccompError::NameAndNames { name });
            }
            names.push(name);
        }
        _ => {}
    }
    let Some(first) = names.first().cloned() else {
        return Err(SeccompError::NoNames { index });
    };
    if let Some(unknown) = names.iter().find(|n| !is_known_syscall(n)) {
        return Err(SeccompError::UnknownSyscall {
            name: unknown.clone(),
        });
    }
    let action = parse_action(raw.action.as_deref().unwrap_or_default())?;
    check_errno(raw.errno_ret, &first)?;
    let args = raw
        .args
        .unwrap_or_default()
        .into_iter()
        .map(|arg| {
            if arg.index > 5 {
                return Err(SeccompError::ArgIndex {
                    syscall: first.clone(),
                    index: arg.index,
                });
            }
            let op = ArgOp::from_name(&arg.op).ok_or_else(|| SeccompError::UnknownOp {
                op: arg.op.clone(),
                syscall: first.clone(),
            })?;
            Ok(SyscallArg {
                index: arg.index,
                value: arg.value,
                value_two: arg.value_two,
                op,
            })
        })
        .collect::<Result<Vec<_>, SeccompError>>()?;
    Ok(SyscallRule {
        names,
        action,
        errno_ret: raw.errno_ret,
        args,
        comment: raw.comment.filter(|c| !c.is_empty()),
        includes: parse_filter(raw.includes)?,
        excludes: parse_filter(raw.excludes)?,
    })
}

fn parse_filter(raw: Option<RawFilter>) -> Result<Filter, SeccompError> {
    let Some(raw) = raw else {
        return Ok(Filter::default());
    };
    let min_kernel = match raw.min_kernel.as_deref() {
        None | Some("") => None,
        Some(text) => {
            Some(
                KernelVersion::parse(text).ok_or_else(|| SeccompError::KernelVersion {
                    version: text.to_owned(),
                })?,
            )
        }
    };
    Ok(Filter {
        caps: raw.caps.unwrap_or_default(),
        arches: raw.arches.unwrap_or_default(),
        min_kernel,
    })
}
