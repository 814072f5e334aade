//! Lays out the classic-BPF program for resolved rules.
//!
//! ```text
//! load arch; one `jeq <audit arch>` per covered ABI family; else return KILL_PROCESS
//! x86_64 family: load nr; x32 bit set? → x32 section : x86_64 section
//! section:       load nr; nr > highest named? → ERRNO(ENOSYS)
//!                binary search over ranges of syscall numbers → leaf
//! leaf:          `ret <action>` for a range of numbers sharing an unconditional action, or,
//!                for one syscall with argument rules, seccompiler's code for each rule
//!                followed by its `ret`, then `ret <default>`
//! ```
//! The search tree keeps the program small (Docker's default over the three x86 ABIs takes
//! about 700 instructions, against the kernel's limit of 4096) and every syscall's path short
//! (about fifteen instructions), where a linear list would test hundreds of numbers for each
//! refused syscall. Conditional jumps reach at most 255 instructions, so any longer jump goes
//! through an unconditional `ja`, whose offset is 32 bits.

use seccompiler::{sock_filter, BpfProgram, SeccompCondition, SeccompRule};

use super::arch::{Abi, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use super::{SeccompError, MAX_INSTRUCTIONS};

// Opcodes from <linux/bpf_common.h>: class | size/operation | source.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
const BPF_JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA (0)
const BPF_JMP_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K (0)
const BPF_JMP_JGT_K: u16 = 0x25;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_JMP_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K (0)

// Offsets into struct seccomp_data.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO_ENOSYS: u32 = 0x0005_0000 | 38;

/// One way a syscall can match: all `conditions` hold (none: always), then return `ret`.
#[derive(Debug, Clone)]
pub(crate) struct Alternative {
    pub ret: u32,
    pub conditions: Vec<SeccompCondition>,
}

/// What the filter does for one ABI.
pub(crate) struct Section {
    pub abi: Abi,
    /// `(syscall number, alternative)`, sorted by number; a syscall's alternatives are tried
    /// in order. Unmatched syscalls get `default`.
    pub entries: Vec<(u32, Alternative)>,
    pub default: u32,
    /// Numbers above this fail with ENOSYS before anything else.
    pub enosys_above: Option<u32>,
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

fn ret(k: u32) -> sock_filter {
    stmt(BPF_RET_K, k)
}

/// An unconditional jump over `n` instructions.
fn skip(n: usize) -> Result<sock_filter, SeccompError> {
    let k = u32::try_from(n).map_err(|_| SeccompError::TooLarge { len: n })?;
    Ok(stmt(BPF_JMP_JA, k))
}

/// Builds the whole program; sections of one audit arch (x86_64 and x32) share an entry.
pub(crate) fn assemble(sections: &[Section]) -> Result<BpfProgram, SeccompError> {
    let mut families: Vec<(u32, BpfProgram)> = Vec::new();
    let find = |abi| sections.iter().find(|s| s.abi == abi);
    for section in sections {
        let audit = section.abi.audit_arch();
        if families.iter().any(|(a, _)| *a == audit) {
            continue;
        }
        let code = if audit == AUDIT_ARCH_X86_64 {
            x86_64_family(find(Abi::X86_64), find(Abi::X32))?
        } else {
            section_code(section)?
        };
        families.push((audit, code));
    }

    let mut program = vec![stmt(BPF_LD_W_ABS, DATA_ARCH)];
    let header_len = 1 + 2 * families.len() + 1;
    let mut start = header_len;
    for (i, (audit, code)) in families.iter().enumerate() {
        // The `ja` below sits at 1 + 2i + 1 and jumps relative to the instruction after it.
        program.push(jump(BPF_JMP_JEQ_K, *audit, 0, 1));
        program.push(skip(start - (1 + 2 * i + 2))?);
        start += code.len();
    }
    program.push(ret(RET_KILL_PROCESS));
    for (_, code) in families {
        program.extend(code);
    }
    if program.len() > MAX_INSTRUCTIONS {
        return Err(SeccompError::TooLarge { len: program.len() });
    }
    Ok(program)
}

/// x86_64 and x32 share AUDIT_ARCH_X86_64; x32 syscalls carry bit 30 in their number.
/// A missing half is a foreign ABI, killed like any other.
fn x86_64_family(
    native: Option<&Section>,
    x32: Option<&Section>,
) -> Result<BpfProgram, SeccompError> {
    let native = native
        .map(section_code)
        .transpose()?
        .unwrap_or_else(|| vec![ret(RET_KILL_PROCESS)]);
    let x32 = x32
        .map(section_code)
        .transpose()?
        .unwrap_or_else(|| vec![ret(RET_KILL_PROCESS)]);
    let mut code = vec![
        stmt(BPF_LD_W_ABS, DATA_NR),
        jump(BPF_JMP_JSET_K, X32_SYSCALL_BIT, 0, 1),
        skip(native.len())?,
    ];
    code.extend(native);
    code.extend(x32);
    Ok(code)
}

fn section_code(section: &Section) -> Result<BpfProgram, SeccompError> {
    let mut code = vec![stmt(BPF_LD_W_ABS, DATA_NR)];
    if let Some(highest) = section.enosys_above {
        code.push(jump(BPF_JMP_JGT_K, highest, 0, 1));
        code.push(ret(RET_ERRNO_ENOSYS));
    }
    let ranges = ranges(section)?;
    code.reserve(search_len(&ranges));
    search(&ranges, &mut code)?;
    Ok(code)
}

/// What the filter does for a range of syscall numbers.
enum Leaf {
    Ret(u32),
    Code(BpfProgram),
}

/// Splits the number space into ranges `[start, next start)`, each with one outcome:
/// neighbouring numbers with the same unconditional action (or the default) share a range;
/// a syscall with argument rules has a range of its own.
fn ranges(section: &Section) -> Result<Vec<(u32, Leaf)>, SeccompError> {
    // A range starting at `start` replaces one that started there, and merges into the
    // previous one if they return the same thing.
    fn push(out: &mut Vec<(u32, Leaf)>, start: u32, leaf: Leaf) {
        if out.last().is_some_and(|(s, _)| *s == start) {
            out.pop();
        }
        let merge =
            matches!((out.last(), &leaf), (Some((_, Leaf::Ret(a))), Leaf::Ret(b)) if a == b);
        if !merge {
            out.push((start, leaf));
        }
    }
    let mut out: Vec<(u32, Leaf)> = vec![(0, Leaf::Ret(section.default))];
    for group in section.entries.chunk_by(|a, b| a.0 == b.0) {
        let nr = group[0].0;
        let leaf = match &group[0].1 {
            a if a.conditions.is_empty() => Leaf::Ret(a.ret),
            _ => Leaf::Code(handler(group, section.default)?),
        };
        push(&mut out, nr, leaf);
        if let Some(next) = nr.checked_add(1) {
            push(&mut out, next, Leaf::Ret(section.default));
        }
    }
    Ok(out)
}

/// Each alternative's conditions (seccompiler falls through to the instruction after the
/// rule's `ret` when they do not hold), then the default.
fn handler(alternatives: &[(u32, Alternative)], default: u32) -> Result<BpfProgram, SeccompError> {
    let mut code = Vec::new();
    for (_, alternative) in alternatives {
        if alternative.conditions.is_empty() {
            code.push(ret(alternative.ret));
            return Ok(code);
        }
        let rule = SeccompRule::new(alternative.conditions.clone()).map_err(|source| {
            SeccompError::Rule {
                syscall: String::from("(argument rule)"),
                source,
            }
        })?;
        code.extend(BpfProgram::from(rule));
        code.push(ret(alternative.ret));
    }
    code.push(ret(default));
    Ok(code)
}

impl Leaf {
    fn len(&self) -> usize {
        match self {
            Leaf::Ret(_) => 1,
            Leaf::Code(code) => code.len(),
        }
    }
}

/// The length of [`search`]'s output.
fn search_len(ranges: &[(u32, Leaf)]) -> usize {
    match ranges {
        [] => 0,
        [(_, leaf)] => leaf.len(),
        _ => {
            let (below, above) = ranges.split_at(ranges.len() / 2);
            let below = search_len(below);
            below + search_len(above) + if below <= 255 { 1 } else { 2 }
        }
    }
}

/// Appends a binary search over `ranges` (sorted by start; the accumulator holds the syscall
/// number) to `out`.
fn search(ranges: &[(u32, Leaf)], out: &mut BpfProgram) -> Result<(), SeccompError> {
    match ranges {
        [] => {}
        [(_, Leaf::Ret(k))] => out.push(ret(*k)),
        [(_, Leaf::Code(code))] => out.extend_from_slice(code),
        _ => {
            let (below, above) = ranges.split_at(ranges.len() / 2);
            let pivot = above[0].0;
            let below_len = search_len(below);
            match u8::try_from(below_len) {
                Ok(n) => out.push(jump(BPF_JMP_JGE_K, pivot, n, 0)),
                Err(_) => {
                    out.push(jump(BPF_JMP_JGE_K, pivot, 0, 1));
                    out.push(skip(below_len)?);
                }
            }
            search(below, out)?;
            search(above, out)?;
        }
    }
    Ok(())
}
