//! The cgroup v2 device filter: cgroup v2 has no devices controller, so access to device
//! nodes is decided by a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's
//! cgroup. This file assembles that program from [`DeviceRule`]s by hand (a dozen opcodes;
//! no BPF library) and loads and attaches it with raw `bpf(2)` calls.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::devices::{DeviceRule, DeviceType};
use super::error::{CgroupError, Result};

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// dst register in the low nibble, src register in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes used (class | operation | source). ALU ops are 32-bit, jumps compare 64-bit
// registers; every value we compare was zero-extended by a 32-bit load or ALU op.
pub(crate) const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
pub(crate) const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub(crate) const RSH32_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
pub(crate) const MOV32_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
pub(crate) const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
pub(crate) const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K: if dst != imm goto pc+off
pub(crate) const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X: if dst != src goto pc+off
pub(crate) const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT: return r0

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

// Register use: r1 = context (struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
// u32 minor; }), then scratch; r2 = device type; r3 = requested access; r4 = major; r5 = minor.
const BPF_DEVCG_DEV_BLOCK: i32 = 1;
const BPF_DEVCG_DEV_CHAR: i32 = 2;

/// Assembles the filter: the last matching rule decides (as v1's exception list behaves for
/// the rules Berth writes); the last reset rule (`a *:* rwm`) gives the default and hides
/// everything before it.
pub fn compile(rules: &[DeviceRule]) -> Vec<Insn> {
    let start = rules.iter().rposition(DeviceRule::is_reset);
    let default = start.is_none_or(|i| rules[i].allow);
    let tail = &rules[start.map_or(0, |i| i + 1)..];

    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),        // r2 = ctx->access_type
        insn(AND32_K, 2, 0, 0, 0xffff), // low half: BPF_DEVCG_DEV_*
        insn(LDX_W, 3, 1, 0, 0),        // r3 = ctx->access_type
        insn(RSH32_K, 3, 0, 0, 16),     // high half: BPF_DEVCG_ACC_*
        insn(LDX_W, 4, 1, 4, 0),        // r4 = ctx->major
        insn(LDX_W, 5, 1, 8, 0),        // r5 = ctx->minor
    ];
    // Emit the rules last-first so the first match in program order is the last rule.
    for rule in tail.iter().rev() {
        let mut checks: Vec<Insn> = Vec::new();
        match rule.typ {
            DeviceType::All => {}
            DeviceType::Char => checks.push(insn(JNE_K, 2, 0, 0, BPF_DEVCG_DEV_CHAR)),
            DeviceType::Block => checks.push(insn(JNE_K, 2, 0, 0, BPF_DEVCG_DEV_BLOCK)),
        }
        if rule.access.0 != 7 {
            // Matches only if every requested right is in the rule: (r3 & access) == r3.
            checks.push(insn(MOV32_X, 1, 3, 0, 0));
            checks.push(insn(AND32_K, 1, 0, 0, rule.access.0 as i32));
            checks.push(insn(JNE_X, 1, 3, 0, 0));
        }
        if let Some(m) = rule.major {
            checks.push(insn(JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = rule.minor {
            checks.push(insn(JNE_K, 5, 0, 0, m as i32));
        }
        // Each jump skips to the end of this rule's block: the remaining checks and the
        // two instructions that return the verdict.
        let n = checks.len();
        for (i, c) in checks.iter_mut().enumerate() {
            if c.code == JNE_K || c.code == JNE_X {
                c.off = (n - i - 1 + 2) as i16;
            }
        }
        p.extend(checks);
        p.push(insn(MOV32_K, 0, 0, 0, i32::from(rule.allow)));
        p.push(insn(EXIT, 0, 0, 0, 0));
    }
    p.push(insn(MOV32_K, 0, 0, 0, i32::from(default)));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

// bpf(2) commands, program and attach types, flags (include/uapi/linux/bpf.h).
const BPF_PROG_LOAD: u32 = 5;
const BPF_PROG_ATTACH: u32 = 8;
const BPF_PROG_DETACH: u32 = 9;
const BPF_PROG_GET_FD_BY_ID: u32 = 13;
const BPF_PROG_QUERY: u32 = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
    // Newer kernels write `revision` at the end of this block whatever size we pass.
    _newer: [u64; 4],
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Calls bpf(2) with one command's attribute block.
fn sys_bpf<T>(cmd: u32, attr: &mut T) -> io::Result<i64> {
    // SAFETY: `attr` is a live, exclusively borrowed #[repr(C)] struct matching the kernel's
    // layout for `cmd`, and we pass its exact size, so the kernel reads only our bytes; the
    // structs include every field the kernel writes back for these commands. Pointers inside
    // (insns, license, log buffer, id array) are kept alive by the callers for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut T as *mut c_void,
            std::mem::size_of::<T>() as libc::c_long,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd_from(r: i64) -> OwnedFd {
    // SAFETY: bpf(2) returned a new file descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

fn bpf_err(op: &'static str, path: &Path, source: io::Error) -> CgroupError {
    CgroupError::Bpf {
        op,
        path: path.to_path_buf(),
        source,
        log: String::new(),
    }
}

/// Loads a device filter program; the verifier's log is kept for the error when it fails.
pub fn load(prog: &[Insn], path_for_errors: &Path) -> Result<OwnedFd> {
    let license = b"Apache-2.0\0";
    let mut name = [0u8; 16];
    name[..9].copy_from_slice(b"berth_dev");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    match sys_bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(fd_from(fd)),
        Err(first) => {
            // Load again with the verifier log on, only to explain the failure.
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = sys_bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            Err(CgroupError::Bpf {
                op: "loading the device filter for",
                path: path_for_errors.to_path_buf(),
                source: first,
                log: String::from_utf8_lossy(&log[..end]).into_owned(),
            })
        }
    }
}

/// The ids of the device programs attached to a cgroup and the attach flags in force.
fn query(cg: &OwnedFd, path: &Path) -> Result<(Vec<u32>, u32)> {
    let mut ids = [0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    sys_bpf(BPF_PROG_QUERY, &mut attr)
        .map_err(|e| bpf_err("querying device filters of", path, e))?;
    let n = (attr.prog_cnt as usize).min(ids.len());
    Ok((ids[..n].to_vec(), attr.attach_flags))
}

/// Replaces the device filter of the cgroup at `dir` with one implementing `rules`.
///
/// Programs are attached with BPF_F_ALLOW_MULTI so a container with its own cgroup
/// namespace can still attach filters below its cgroup; the previous Berth program is
/// detached only after the new one is in place, so there is no instant without a filter.
pub fn apply(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let prog = load(&compile(rules), dir)?;
    let cg = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CgroupError::io("opening", dir, e.into()))?;
    let (old, flags) = query(&cg, dir)?;
    // Someone attached a single (non-multi) program: the kernel insists on the same flags,
    // and attaching with them replaces the program in place.
    let replace_in_place = !old.is_empty() && flags & BPF_F_ALLOW_MULTI == 0;
    let mut attr = AttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: if replace_in_place {
            flags
        } else {
            BPF_F_ALLOW_MULTI
        },
        replace_bpf_fd: 0,
    };
    sys_bpf(BPF_PROG_ATTACH, &mut attr)
        .map_err(|e| bpf_err("attaching the device filter to", dir, e))?;
    if replace_in_place {
        return Ok(());
    }
    for id in old {
        let mut get = GetFdAttr {
            prog_id: id,
            ..Default::default()
        };
        // The program may have gone away meanwhile; then there is nothing to detach.
        let Ok(fd) = sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut get).map(fd_from) else {
            continue;
        };
        let mut det = AttachAttr {
            target_fd: cg.as_raw_fd() as u32,
            attach_bpf_fd: fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        match sys_bpf(BPF_PROG_DETACH, &mut det) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(bpf_err("detaching the old device filter from", dir, e)),
        }
    }
    Ok(())
}

/// How many device programs are attached to the cgroup at `dir`.
pub fn attached_count(dir: &Path) -> Result<usize> {
    let cg = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CgroupError::io("opening", dir, e.into()))?;
    Ok(query(&cg, dir)?.0.len())
}

#[cfg(test)]
#[path = "device_bpf_tests.rs"]
mod tests;
