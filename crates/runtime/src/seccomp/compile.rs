//! From a [`Profile`] to the rules that apply to one container on this host: resolves
//! `includes`/`excludes` against capabilities, host architecture and kernel version (as Docker
//! does), picks the ABIs to cover, maps actions and conditions to seccompiler's types, and
//! resolves syscall names to numbers per ABI. `bpf` then lays the result out as a program.

use seccompiler::{BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition};

use super::arch::{syscall_row, Abi, HostArch};
use super::bpf::{self, Alternative, Section};
use super::profile::{Action, ArgOp, Filter, Profile, SyscallArg, SyscallRule};
use super::SeccompError;

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

impl Profile {
    /// Compiles the profile for a container with effective capabilities `caps` (names such as
    /// `CAP_CHOWN`) on a kernel of version `kernel` (`(major, minor)`, see
    /// [`super::host_kernel_version`]), for this host's architecture.
    pub fn compile(&self, caps: &[String], kernel: (u32, u32)) -> Result<BpfProgram, SeccompError> {
        let host = HostArch::native().ok_or_else(|| SeccompError::UnsupportedHostArch {
            arch: std::env::consts::ARCH.to_owned(),
        })?;
        self.compile_for(host, caps, kernel)
    }

    /// [`Profile::compile`] for a given host architecture.
    pub fn compile_for(
        &self,
        host: HostArch,
        caps: &[String],
        kernel: (u32, u32),
    ) -> Result<BpfProgram, SeccompError> {
        if self.listener_path.is_some() || self.listener_metadata.is_some() {
            tracing::warn!(
                "seccomp profile: listenerPath and listenerMetadata ignored (no SCMP_ACT_NOTIFY)"
            );
        }
        if !self.flags.is_empty() {
            tracing::warn!(flags = ?self.flags, "seccomp profile: flags ignored");
        }
        let default = to_seccompiler(
            self.default_action,
            self.default_errno_ret,
            "(default action)",
        )?;
        let default_ret = u32::from(default.clone());
        let rules = self.applicable_rules(host, caps, kernel);

        // As runc does: unless the default already lets syscalls through (or fails them with
        // ENOSYS), numbers above the highest the profile names get ENOSYS, so that libcs treat
        // syscalls newer than the profile as missing rather than forbidden.
        let enosys_stub = !matches!(
            default,
            SeccompAction::Allow | SeccompAction::Log | SeccompAction::Trace(_)
        ) && default != SeccompAction::Errno(ENOSYS);

        // Resolve names once for all ABIs. `from_json` already rejects names no architecture
        // knows; this catches profiles built in code.
        let mut resolved = Vec::with_capacity(rules.len());
        for rule in &rules {
            let first = rule.names.first().map(String::as_str).unwrap_or_default();
            let action = to_seccompiler(rule.action, rule.errno_ret, first)?;
            let rows = rule
                .names
                .iter()
                .map(|name| {
                    syscall_row(name)
                        .ok_or_else(|| SeccompError::UnknownSyscall { name: name.clone() })
                })
                .collect::<Result<Vec<_>, _>>()?;
            resolved.push((*rule, u32::from(action), rows));
        }

        let mut sections = Vec::new();
        for abi in self.abis(host) {
            let mut entries: Vec<(u32, Alternative)> = Vec::new();
            let mut highest = None;
            for (rule, ret, rows) in &resolved {
                let numbers = rows.iter().filter_map(|row| abi.number(row));
                highest = numbers.clone().chain(highest).max();
                // runc drops rules that would do what the default does anyway.
                if *ret == default_ret || numbers.clone().next().is_none() {
                    continue;
                }
                let alternatives = alternatives(rule, *ret, abi)?;
                for nr in numbers {
                    entries.extend(alternatives.iter().map(|a| (nr, a.clone())));
                }
            }
            sections.push(Section {
                abi,
                entries: order_by_precedence(entries),
                default: default_ret,
                enosys_above: if enosys_stub { highest } else { None },
            });
        }
        bpf::assemble(&sections)
    }

    /// The rules Docker would pass on for this container, in profile order.
    fn applicable_rules(
        &self,
        host: HostArch,
        caps: &[String],
        kernel: (u32, u32),
    ) -> Vec<&SyscallRule> {
        let arch = host.docker_name();
        let has_cap = |cap: &String| caps.iter().any(|c| same_capability(c, cap));
        let kernel_at_least =
            |f: &Filter| f.min_kernel.is_some_and(|v| kernel >= (v.major, v.minor));
        self.syscalls
            .iter()
            .filter(|rule| {
                let ex = &rule.excludes;
                let inc = &rule.includes;
                !(ex.arches.iter().any(|a| a == arch)
                    || ex.caps.iter().any(has_cap)
                    || kernel_at_least(ex))
                    && (inc.arches.is_empty() || inc.arches.iter().any(|a| a == arch))
                    && inc.caps.iter().all(has_cap)
                    && (inc.min_kernel.is_none() || kernel_at_least(inc))
            })
            .collect()
    }

    /// The ABIs to cover: the host's, then those `architectures` or the host's `archMap` entry
    /// list that a process on this host can use. Others could never reach the filter.
    fn abis(&self, host: HostArch) -> Vec<Abi> {
        let native = host.scmp_arch();
        let listed: Vec<_> = if self.architectures.is_empty() {
            self.arch_map
                .iter()
                .filter(|m| m.architecture == native)
                .flat_map(|m| {
                    std::iter::once(m.architecture).chain(m.sub_architectures.iter().copied())
                })
                .collect()
        } else {
            self.architectures.clone()
        };
        let mut abis = vec![host.native_abi()];
        for arch in listed {
            match host.abi_for(arch) {
                Some(abi) if !abis.contains(&abi) => abis.push(abi),
                Some(_) => {}
                None => {
                    tracing::debug!(%arch, "seccomp: architecture cannot run on this host; skipped")
                }
            }
        }
        abis
    }
}

/// Capability names compare without case and with or without the `CAP_` prefix.
fn same_capability(a: &str, b: &str) -> bool {
    fn strip(c: &str) -> &str {
        match c.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("CAP_") => &c[4..],
            _ => c,
        }
    }
    strip(a).eq_ignore_ascii_case(strip(b))
}

/// The kernel action for a profile action. As in runc, `errnoRet` defaults to EPERM for
/// `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` (not to `defaultErrnoRet`) and is ignored elsewhere.
fn to_seccompiler(
    action: Action,
    errno: Option<u32>,
    syscall: &str,
) -> Result<SeccompAction, SeccompError> {
    let errno = errno.unwrap_or(EPERM);
    Ok(match action {
        Action::Allow => SeccompAction::Allow,
        Action::Errno => SeccompAction::Errno(errno),
        Action::Kill | Action::KillThread => SeccompAction::KillThread,
        Action::KillProcess => SeccompAction::KillProcess,
        Action::Trap => SeccompAction::Trap,
        Action::Trace => SeccompAction::Trace(errno),
        Action::Log => SeccompAction::Log,
        Action::Notify => {
            return Err(SeccompError::UnsupportedAction {
                action: action.as_str().to_owned(),
                syscall: syscall.to_owned(),
            })
        }
    })
}

/// The ways `rule` can match on `abi`: one alternative holding all its conditions, or — as runc
/// does when two conditions name the same argument — one alternative per condition.
fn alternatives(rule: &SyscallRule, ret: u32, abi: Abi) -> Result<Vec<Alternative>, SeccompError> {
    if rule.args.is_empty() {
        return Ok(vec![Alternative {
            ret,
            conditions: Vec::new(),
        }]);
    }
    let mut seen = [false; 6];
    let same_index = rule.args.iter().any(|a| {
        let slot = &mut seen[(a.index as usize).min(5)];
        std::mem::replace(slot, true)
    });
    let groups: Vec<&[SyscallArg]> = if same_index {
        rule.args.chunks(1).collect()
    } else {
        vec![&rule.args[..]]
    };
    let mut out = Vec::with_capacity(groups.len());
    'groups: for group in groups {
        let mut conditions = Vec::with_capacity(group.len());
        for arg in group {
            match condition(arg, abi, rule)? {
                Some(c) => conditions.push(c),
                // This alternative can never match: leave it out.
                None => continue 'groups,
            }
        }
        out.push(Alternative { ret, conditions });
    }
    Ok(out)
}

/// One argument condition; `None` if it can never hold.
fn condition(
    arg: &SyscallArg,
    abi: Abi,
    rule: &SyscallRule,
) -> Result<Option<SeccompCondition>, SeccompError> {
    let syscall = || rule.names.first().cloned().unwrap_or_default();
    let index = u8::try_from(arg.index)
        .ok()
        .filter(|i| *i <= 5)
        .ok_or_else(|| SeccompError::ArgIndex {
            syscall: syscall(),
            index: arg.index,
        })?;
    let (len, value_mask) = if abi.has_64bit_args() {
        (SeccompCmpArgLen::Qword, u64::MAX)
    } else {
        (SeccompCmpArgLen::Dword, u64::from(u32::MAX))
    };
    let (op, value) = match arg.op {
        ArgOp::Equal => (SeccompCmpOp::Eq, arg.value),
        ArgOp::NotEqual => (SeccompCmpOp::Ne, arg.value),
        ArgOp::LessThan => (SeccompCmpOp::Lt, arg.value),
        ArgOp::LessOrEqual => (SeccompCmpOp::Le, arg.value),
        ArgOp::GreaterThan => (SeccompCmpOp::Gt, arg.value),
        ArgOp::GreaterOrEqual => (SeccompCmpOp::Ge, arg.value),
        ArgOp::MaskedEqual => {
            // libseccomp tests `(arg & value) == valueTwo`; seccompiler tests
            // `(arg & mask) == (expected & mask)`. They differ only when valueTwo has bits
            // outside the mask, and then libseccomp's test can never hold.
            let mask = arg.value & value_mask;
            if arg.value_two & value_mask & !mask != 0 {
                return Ok(None);
            }
            (SeccompCmpOp::MaskedEq(mask), arg.value_two)
        }
    };
    SeccompCondition::new(index, len, op, value & value_mask)
        .map(Some)
        .map_err(|source| SeccompError::Rule {
            syscall: syscall(),
            source,
        })
}

/// Sorts by syscall number, then orders each syscall's alternatives the way the kernel ranks
/// actions across stacked filters (kill process, kill thread, trap, errno, trace, log, allow),
/// keeping profile order among equals, and drops what an unconditional alternative makes
/// unreachable.
fn order_by_precedence(entries: Vec<(u32, Alternative)>) -> Vec<(u32, Alternative)> {
    // Sort small keys, not the entries: (number, severity, position). Severity is the top half
    // of SECCOMP_RET_ACTION_FULL compared as signed (kill process is negative); flipping its
    // sign bit makes the unsigned order agree.
    let mut keys: Vec<(u32, u16, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, (nr, a))| (*nr, ((a.ret >> 16) as u16) ^ 0x8000, i))
        .collect();
    keys.sort_unstable();
    let mut slots: Vec<Option<(u32, Alternative)>> = entries.into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(slots.len());
    let mut decided = None;
    for (nr, _, i) in keys {
        if decided == Some(nr) {
            continue;
        }
        if let Some(entry) = slots[i].take() {
            if entry.1.conditions.is_empty() {
                decided = Some(nr);
            }
            ordered.push(entry);
        }
    }
    ordered
}
