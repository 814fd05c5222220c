//! Runs generated code: ALU, jumps, byte swaps, loads and stores against reference semantics.
//! aarch64 only (natively or under qemu-user; see `crates/jit-arm64/qemu-test.sh`).
#![cfg(target_arch = "aarch64")]
#![allow(unsafe_code)]

mod common;

use common::*;
use kbpf_isa::{AluOp, ByteOrder, Insn, JmpCond, Size, Src, Width};
use kbpf_kfunc::Registry;

#[test]
fn alu_register_and_immediate_forms() {
    let reg = Registry::new();
    let mut n = 0;
    for width in [Width::W64, Width::W32] {
        for op in AluOp::ALL {
            for &a in &VALUES {
                for &b in &VALUES {
                    let want = alu_ref(width, op, a, b);
                    let p = [lddw(R0, a), lddw(R7, b), alu(width, op, R0, Src::Reg(R7)), exit()];
                    assert_eq!(run_with(&p, &reg, false, &mut []), want, "{width:?} {op:?} {a:#x} {b:#x}");
                    n += 1;
                }
                for imm in [
                    0i32,
                    1,
                    -1,
                    3,
                    31,
                    32,
                    63,
                    64,
                    4095,
                    4096,
                    -4096,
                    0x12345,
                    i32::MIN,
                    i32::MAX,
                    0xff,
                    -256,
                ] {
                    let b = imm as i64 as u64;
                    let want = alu_ref(width, op, a, b);
                    let p = [lddw(R3, a), alu(width, op, R3, Src::Imm(imm)), movr(R0, R3), exit()];
                    assert_eq!(run_with(&p, &reg, false, &mut []), want, "{width:?} {op:?} {a:#x} imm {imm}");
                    n += 1;
                }
            }
        }
    }
    eprintln!("{n} alu programs");
}

#[test]
fn neg_movsx_endian() {
    let reg = Registry::new();
    for &a in &VALUES {
        let run1 = |i: Insn| run_with(&[lddw(R0, a), i, exit()], &reg, false, &mut []);
        assert_eq!(run1(Insn::Neg { width: Width::W64, dst: R0 }), a.wrapping_neg());
        assert_eq!(run1(Insn::Neg { width: Width::W32, dst: R0 }), (a as u32).wrapping_neg() as u64);
        let sx = |w, b| {
            run_with(
                &[lddw(R1, a), Insn::MovSx { width: w, dst: R0, src: R1, from_bits: b }, exit()],
                &reg,
                false,
                &mut [],
            )
        };
        assert_eq!(sx(Width::W64, 8), a as i8 as i64 as u64);
        assert_eq!(sx(Width::W64, 16), a as i16 as i64 as u64);
        assert_eq!(sx(Width::W64, 32), a as i32 as i64 as u64);
        assert_eq!(sx(Width::W32, 8), a as i8 as i32 as u32 as u64);
        assert_eq!(sx(Width::W32, 16), a as i16 as i32 as u32 as u64);
        let e = |order, bits| run1(Insn::Endian { order, bits, dst: R0 });
        assert_eq!(e(ByteOrder::ToLe, 16), a as u16 as u64);
        assert_eq!(e(ByteOrder::ToLe, 32), a as u32 as u64);
        assert_eq!(e(ByteOrder::ToLe, 64), a);
        for order in [ByteOrder::ToBe, ByteOrder::Swap] {
            assert_eq!(e(order, 16), (a as u16).swap_bytes() as u64);
            assert_eq!(e(order, 32), (a as u32).swap_bytes() as u64);
            assert_eq!(e(order, 64), a.swap_bytes());
        }
    }
}

#[test]
fn conditional_jumps() {
    let reg = Registry::new();
    for width in [Width::W64, Width::W32] {
        for cond in JmpCond::ALL {
            for &a in &VALUES {
                for &b in &VALUES {
                    let want = cond.eval(width, a, b) as u64;
                    let p = [
                        mov64(R0, 0),
                        lddw(R1, a),
                        lddw(R2, b),
                        jmp(width, cond, R1, Src::Reg(R2), 1),
                        exit(),
                        mov64(R0, 1),
                        exit(),
                    ];
                    assert_eq!(run_with(&p, &reg, false, &mut []), want, "{width:?} {cond:?} {a:#x} {b:#x}");
                }
                for imm in [0i32, 1, -1, -5, 7, 4096, 4097, -4096, i32::MIN, i32::MAX, 0x10] {
                    let want = cond.eval(width, a, imm as i64 as u64) as u64;
                    let p = [
                        mov64(R0, 0),
                        lddw(R1, a),
                        jmp(width, cond, R1, Src::Imm(imm), 1),
                        exit(),
                        mov64(R0, 1),
                        exit(),
                    ];
                    assert_eq!(
                        run_with(&p, &reg, false, &mut []),
                        want,
                        "{width:?} {cond:?} {a:#x} imm {imm}"
                    );
                }
            }
        }
    }
}

#[test]
fn stack_and_input_memory() {
    let reg = Registry::new();
    // Stack: every size at near and far offsets, read back through another size.
    for off in [-8i16, -16, -256, -264, -512] {
        let p = [
            lddw(R1, 0x1122_3344_5566_7788),
            stx(Size::DW, R10, off, R1),
            ldx(Size::W, R0, R10, off + 4),
            ldx(Size::H, R2, R10, off + 2),
            alu(Width::W64, AluOp::Lsh, R0, Src::Imm(16)),
            alu(Width::W64, AluOp::Or, R0, Src::Reg(R2)),
            ldx(Size::B, R2, R10, off + 7),
            alu(Width::W64, AluOp::Lsh, R0, Src::Imm(8)),
            alu(Width::W64, AluOp::Or, R0, Src::Reg(R2)),
            exit(),
        ];
        assert_eq!(run(&p, &reg, &mut []), 0x0011_2233_4455_6611, "off {off}");
    }
    // Immediate stores, sign-extending loads.
    let p = [
        st(Size::DW, R10, -8, -2),
        st(Size::W, R10, -16, -3),
        st(Size::H, R10, -24, -4),
        st(Size::B, R10, -32, -5),
        ldxs(Size::W, R0, R10, -16),
        ldxs(Size::H, R1, R10, -24),
        alu(Width::W64, AluOp::Add, R0, Src::Reg(R1)),
        ldxs(Size::B, R1, R10, -32),
        alu(Width::W64, AluOp::Add, R0, Src::Reg(R1)),
        ldx(Size::DW, R1, R10, -8),
        alu(Width::W64, AluOp::Add, R0, Src::Reg(R1)),
        exit(),
    ];
    assert_eq!(run(&p, &reg, &mut []) as i64, -14);
    // Input buffer: r1 = address, r2 = length; offsets that need the register-offset form.
    let mut input = vec![0u8; 40_000];
    input[32766] = 0x34;
    input[32767] = 0x12;
    input[4097] = 0xab;
    let p = [
        ldx(Size::H, R0, R1, 32766),
        ldx(Size::B, R3, R1, 4097),
        alu(Width::W64, AluOp::Lsh, R3, Src::Imm(16)),
        alu(Width::W64, AluOp::Or, R0, Src::Reg(R3)),
        st(Size::W, R1, 12345, 0x7777),
        stx(Size::DW, R1, 8, R2),
        exit(),
    ];
    assert_eq!(run(&p, &reg, &mut input), 0xab_1234);
    assert_eq!(&input[12345..12349], &0x7777u32.to_le_bytes());
    assert_eq!(&input[8..16], &40_000u64.to_le_bytes());
}

#[test]
fn sign_extended_immediates_and_ld_imm64() {
    let reg = Registry::new();
    for v in
        [0u64, 1, u64::MAX, 0x8000_0000_0000_0000, 0x0000_ffff_0000_ffff, 0x1234_5678_9abc_def0, 0xffff_ffff]
    {
        assert_eq!(run(&[lddw(R0, v), exit()], &reg, &mut []), v);
    }
    assert_eq!(run(&[mov64(R0, -1), exit()], &reg, &mut []), u64::MAX);
    let p = [alu(Width::W32, AluOp::Mov, R0, Src::Imm(-1)), exit()];
    assert_eq!(run(&p, &reg, &mut []), 0xffff_ffff);
}

extern "C" fn ret_arg(a: u64) -> u64 {
    a
}

#[test]
fn long_programs_use_long_branches() {
    // callx expands to a compare chain over the registry's helpers, so a few thousand of them
    // put more than 1 MiB of code between a conditional branch and its target.
    let mut reg = Registry::new();
    for id in 1..=8 {
        reg.add_helper(id, "ret_arg", kbpf_kfunc::NativeFn::A1(ret_arg)).expect("fresh ids");
    }
    let n = 5000;
    let mut p = vec![lddw(R0, 5), mov64(R1, 0), jmp(Width::W64, JmpCond::Eq, R0, Src::Imm(5), n)];
    p.extend(std::iter::repeat_n(Insn::Callx { reg: R1 }, n as usize));
    p.push(exit());
    let prog = kbpf_isa::Program::new(p.clone()).expect("valid");
    let code = backend(false).assemble(&prog, &reg, &Default::default()).expect("compiles");
    assert!(code.long_branches && code.bytes.len() > 1 << 20, "{} bytes", code.bytes.len());
    assert_eq!(run(&p, &reg, &mut []), 5);
    // Not taken: the first callx sees id 0, which is unknown: a fault at pc 4.
    p[0] = lddw(R0, 6);
    let fault = execute_with(&p, &reg, false, &mut []).expect_err("unknown callx id");
    assert_eq!((fault.kind, fault.pc), (kbpf_jit::FaultKind::UnknownCallx, 4));
}
