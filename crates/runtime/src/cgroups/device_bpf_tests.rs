//! Unit tests of the device filter assembler: a tiny interpreter for the opcodes it emits
//! runs the program against every device class and right, and must agree with
//! [`rules_allow`], the reference meaning of a rule list.

use super::*;
use crate::cgroups::devices::{
    allow_all_device_rules, default_device_rules, rules_allow, DeviceAccess,
};

fn run(prog: &[Insn], typ: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | typ, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..10_000 {
        let i = prog[pc];
        let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
        pc += 1;
        let jump = |pc: usize| (pc as i64 + i64::from(i.off)) as usize;
        match i.code {
            LDX_W => {
                assert_eq!(src, 1, "loads only from the context");
                r[dst] = u64::from(ctx[(i.off / 4) as usize]);
            }
            AND32_K => r[dst] = u64::from(r[dst] as u32 & i.imm as u32),
            RSH32_K => r[dst] = u64::from((r[dst] as u32) >> i.imm),
            MOV32_K => r[dst] = u64::from(i.imm as u32),
            MOV32_X => r[dst] = u64::from(r[src] as u32),
            JNE_K if r[dst] != i64::from(i.imm) as u64 => pc = jump(pc),
            JNE_X if r[dst] != r[src] => pc = jump(pc),
            JNE_K | JNE_X => {}
            EXIT => return r[0],
            other => panic!("unexpected opcode {other:#x}"),
        }
        assert!(pc < prog.len(), "jump out of the program");
    }
    panic!("program did not terminate");
}

fn agree(rules: &[DeviceRule]) {
    let prog = compile(rules);
    assert_eq!(prog.last().map(|i| i.code), Some(EXIT));
    for (typ, t) in [(DeviceType::Char, 2), (DeviceType::Block, 1)] {
        for (major, minor) in [
            (1, 1),
            (1, 3),
            (1, 7),
            (5, 2),
            (10, 229),
            (10, 200),
            (136, 9),
            (8, 0),
            (8, 16),
        ] {
            for access in 1..=7u32 {
                let want = rules_allow(rules, typ, major, minor, DeviceAccess(access));
                let got = run(&prog, t, access, major, minor);
                assert_eq!(
                    got,
                    u64::from(want),
                    "{typ:?} {major}:{minor} access {access} with {rules:?}"
                );
            }
        }
    }
}

#[test]
fn default_rules_agree_with_reference() {
    agree(&default_device_rules());
}

#[test]
fn allow_all_and_custom_rules_agree() {
    agree(&allow_all_device_rules());
    agree(&[]);
    let mut rules = default_device_rules();
    rules.push(DeviceRule::parse("b 8:* r").expect("rule"));
    rules.push(DeviceRule {
        allow: false,
        ..DeviceRule::parse("b 8:16 rwm").expect("rule")
    });
    rules.push(DeviceRule::parse("c 1:1 w").expect("rule"));
    agree(&rules);
    // A reset in the middle hides what came before it.
    let mut later = vec![
        DeviceRule::parse("c 1:1 rwm").expect("rule"),
        DeviceRule::DENY_ALL,
    ];
    later.push(DeviceRule::parse("c 1:3 rw").expect("rule"));
    agree(&later);
    assert_eq!(run(&compile(&later), 2, 2, 1, 1), 0);
}

#[test]
fn encoding_of_a_single_rule() {
    let prog = compile(&[
        DeviceRule::DENY_ALL,
        DeviceRule::parse("c 1:3 rw").expect("rule"),
    ]);
    // 6 prologue, 1 type + 3 access + 2 numbers + 2 verdict, 2 default.
    assert_eq!(prog.len(), 16);
    assert_eq!(
        prog[6],
        Insn {
            code: JNE_K,
            regs: 2,
            off: 7,
            imm: 2
        }
    );
    assert_eq!(
        prog[7],
        Insn {
            code: MOV32_X,
            regs: 1 | (3 << 4),
            off: 0,
            imm: 0
        }
    );
    assert_eq!(
        prog[9],
        Insn {
            code: JNE_X,
            regs: 1 | (3 << 4),
            off: 4,
            imm: 0
        }
    );
    assert_eq!(
        prog[11],
        Insn {
            code: JNE_K,
            regs: 5,
            off: 2,
            imm: 3
        }
    );
    assert_eq!(
        prog[12],
        Insn {
            code: MOV32_K,
            regs: 0,
            off: 0,
            imm: 1
        }
    );
    assert_eq!(
        prog[14],
        Insn {
            code: MOV32_K,
            regs: 0,
            off: 0,
            imm: 0
        }
    );
    // The instruction is exactly the kernel's 8-byte struct bpf_insn.
    assert_eq!(std::mem::size_of::<Insn>(), 8);
}
