//! Runs generated code: atomics (LSE and LL/SC), acquire/release, helper/kfunc/bpf-to-bpf calls
//! with up to 12 arguments, stack arguments, legacy packet loads, callx, may_goto and faults.
//! aarch64 only (natively or under qemu-user; see `crates/jit-arm64/qemu-test.sh`).
#![cfg(target_arch = "aarch64")]
#![allow(unsafe_code)]

mod common;

use common::*;
use kbpf_isa::{AluOp, AtomicOp, Insn, JmpCond, Size, Src, Width};
use kbpf_jit::FaultKind;
use kbpf_kfunc::{NativeFn, Registry};

fn atomic_ref(size: Size, op: AtomicOp, mem: u64, src: u64, r0: u64) -> (u64, u64, u64) {
    // Returns (new memory, new src, new r0).
    let w = size == Size::W;
    let mask = if w { 0xffff_ffff } else { u64::MAX };
    let (m, s) = (mem & mask, src & mask);
    let new = |v: u64| (mem & !mask) | (v & mask);
    match op {
        AtomicOp::Add => (new(m.wrapping_add(s)), src, r0),
        AtomicOp::Or => (new(m | s), src, r0),
        AtomicOp::And => (new(m & s), src, r0),
        AtomicOp::Xor => (new(m ^ s), src, r0),
        AtomicOp::FetchAdd => (new(m.wrapping_add(s)), m, r0),
        AtomicOp::FetchOr => (new(m | s), m, r0),
        AtomicOp::FetchAnd => (new(m & s), m, r0),
        AtomicOp::FetchXor => (new(m ^ s), m, r0),
        AtomicOp::Xchg => (new(s), m, r0),
        AtomicOp::Cmpxchg if m == r0 & mask => (new(s), src, m),
        AtomicOp::Cmpxchg => (mem, src, m),
        AtomicOp::LoadAcquire | AtomicOp::StoreRelease => unreachable!(),
    }
}

#[test]
fn atomics_on_input_and_stack() {
    let reg = Registry::new();
    let rmw = [
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::FetchAdd,
        AtomicOp::FetchOr,
        AtomicOp::FetchAnd,
        AtomicOp::FetchXor,
        AtomicOp::Xchg,
        AtomicOp::Cmpxchg,
    ];
    let mems = [0u64, 0x1111_2222_3333_4444, u64::MAX, 0xdead_beef];
    let srcs = [0u64, 1, 0xf0f0_f0f0_0f0f_0f0f, 0xffff_ffff_0000_0001];
    for lse in flavours() {
        for size in [Size::W, Size::DW] {
            for op in rmw {
                for &m in &mems {
                    for &s in &srcs {
                        for r0 in [m, s, 7] {
                            let (want_mem, want_src, want_r0) = atomic_ref(size, op, m, s, r0);
                            // Input buffer at offset 8 (through r1).
                            let p = [
                                lddw(R2, s),
                                lddw(R0, r0),
                                atomic(size, op, R1, R2, 8),
                                stx(Size::DW, R1, 0, R2),
                                exit(),
                            ];
                            let mut input = [0u8; 16];
                            input[8..].copy_from_slice(&m.to_le_bytes());
                            let got_r0 = run_with(&p, &reg, lse, &mut input);
                            let ctx = format!("lse={lse} {size:?} {op:?} m={m:#x} s={s:#x} r0={r0:#x}");
                            assert_eq!(
                                u64::from_le_bytes(input[8..].try_into().unwrap()),
                                want_mem,
                                "mem {ctx}"
                            );
                            assert_eq!(
                                u64::from_le_bytes(input[..8].try_into().unwrap()),
                                want_src,
                                "src {ctx}"
                            );
                            assert_eq!(got_r0, want_r0, "r0 {ctx}");
                        }
                    }
                }
            }
            // On the stack, through r10 with a negative offset (address in a scratch register).
            let p = [
                lddw(R3, 0x10),
                stx(Size::DW, R10, -16, R3),
                mov64(R4, 5),
                atomic(size, AtomicOp::FetchAdd, R10, R4, -16),
                atomic(size, AtomicOp::Add, R10, R4, -16),
                ldx(Size::DW, R0, R10, -16),
                alu(Width::W64, AluOp::Lsh, R0, Src::Imm(8)),
                alu(Width::W64, AluOp::Or, R0, Src::Reg(R4)),
                exit(),
            ];
            assert_eq!(run_with(&p, &reg, lse, &mut []), (0x25 << 8) | 0x10, "lse={lse} {size:?}");
        }
    }
}

#[test]
fn acquire_release() {
    let reg = Registry::new();
    for size in [Size::B, Size::H, Size::W, Size::DW] {
        let v = 0x8899_aabb_ccdd_eeffu64;
        let p = [
            lddw(R2, v),
            atomic(size, AtomicOp::StoreRelease, R10, R2, -8),
            atomic(size, AtomicOp::LoadAcquire, R0, R10, -8),
            exit(),
        ];
        let mask = if size == Size::DW { u64::MAX } else { (1u64 << (8 * size.bytes())) - 1 };
        assert_eq!(run(&p, &reg, &mut []), v & mask, "{size:?}");
        // Non-zero offset from the input buffer.
        let mut input = [0u8; 24];
        input[16..].copy_from_slice(&v.to_le_bytes());
        let p = [atomic(size, AtomicOp::LoadAcquire, R0, R1, 16), exit()];
        assert_eq!(run(&p, &reg, &mut input), v & mask, "{size:?}");
    }
}

extern "C" fn weigh5(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a + 10 * b + 100 * c + 1000 * d + 10000 * e
}
extern "C" fn weigh8(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: u64) -> u64 {
    [a, b, c, d, e, f, g, h]
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, v)| acc.wrapping_add(v.wrapping_mul(1 << (5 * i))))
}
#[allow(clippy::too_many_arguments)]
extern "C" fn weigh12(
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    e: u64,
    f: u64,
    g: u64,
    h: u64,
    i: u64,
    j: u64,
    k: u64,
    l: u64,
) -> u64 {
    [a, b, c, d, e, f, g, h, i, j, k, l]
        .iter()
        .enumerate()
        .fold(0u64, |acc, (n, v)| acc.wrapping_add(v.wrapping_mul(1 << (5 * n))))
}
fn weigh(args: &[u64]) -> u64 {
    args.iter().enumerate().fold(0u64, |acc, (i, v)| acc.wrapping_add(v.wrapping_mul(1 << (5 * i))))
}
extern "C" fn clobber() -> u64 {
    0x5555
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.add_helper(1, "weigh5", NativeFn::A5(weigh5)).unwrap();
    r.add_helper(2, "clobber", NativeFn::A0(clobber)).unwrap();
    r.add_kfunc(100, "weigh8", NativeFn::A8(weigh8)).unwrap();
    r.add_kfunc(101, "weigh12", NativeFn::A12(weigh12)).unwrap();
    r
}

/// `r1..r5 = 1..5` and stack-argument slots for arguments 6..n (register and immediate forms).
fn args(n: usize) -> Vec<Insn> {
    let mut v: Vec<Insn> = (1..=5).map(|i| mov64(kbpf_isa::Reg::GENERAL[i], i as i32)).collect();
    for a in 6..=n {
        let off = -8 * (a as i16 - 5);
        if a % 2 == 0 {
            v.push(mov64(R6, a as i32));
            v.push(stx(Size::DW, R11, off, R6));
        } else {
            v.push(st(Size::DW, R11, off, a as i32));
        }
    }
    v
}

#[test]
fn helper_and_kfunc_calls_with_up_to_12_arguments() {
    let reg = registry();
    let mut p = args(5);
    p.extend([
        mov64(R6, 66),
        mov64(R9, 99),
        call_helper(1),
        alu(Width::W64, AluOp::Add, R0, Src::Reg(R6)),
        alu(Width::W64, AluOp::Add, R0, Src::Reg(R9)),
        exit(),
    ]);
    assert_eq!(run(&p, &reg, &mut []), 54321 + 165, "helper, r6..r9 survive");
    let mut p = args(8);
    p.extend([call_kfunc(100), exit()]);
    assert_eq!(run(&p, &reg, &mut []), weigh(&[1, 2, 3, 4, 5, 6, 7, 8]), "8-argument kfunc");
    let mut p = args(12);
    p.extend([call_kfunc(101), exit()]);
    assert_eq!(run(&p, &reg, &mut []), weigh(&(1..=12).collect::<Vec<_>>()), "12-argument kfunc");
    // Large and negative immediates for stack slots on the native stack.
    let mut p = args(12);
    p.push(lddw(R7, 0x1234_5678_9abc_def0));
    p.push(stx(Size::DW, R11, -56, R7));
    p.push(st(Size::DW, R11, -48, -2));
    p.extend([call_kfunc(101), exit()]);
    let mut want: Vec<u64> = (1..=12).collect();
    want[11] = 0x1234_5678_9abc_def0;
    want[10] = -2i64 as u64;
    assert_eq!(run(&p, &reg, &mut []), weigh(&want));
}

#[test]
fn bpf_to_bpf_calls_with_stack_arguments() {
    let reg = registry();
    // main: r6..r9 and its stack survive; passes 12 arguments to f.
    let mut p = vec![mov64(R6, 6), mov64(R7, 7), mov64(R8, 8), mov64(R9, 9), st(Size::DW, R10, -8, 0x77)];
    p.extend(args(12));
    p.push(mov64(R6, 6)); // args() used r6 as a temporary
    let call_at = p.len();
    p.push(call_local(0)); // patched below
    p.extend([
        // r0 = f(...) ^ (r6+r7+r8+r9 == 30) << 40 ^ stack << 48
        mov64(R1, 0),
        alu(Width::W64, AluOp::Add, R1, Src::Reg(R6)),
        alu(Width::W64, AluOp::Add, R1, Src::Reg(R7)),
        alu(Width::W64, AluOp::Add, R1, Src::Reg(R8)),
        alu(Width::W64, AluOp::Add, R1, Src::Reg(R9)),
        alu(Width::W64, AluOp::Lsh, R1, Src::Imm(40)),
        alu(Width::W64, AluOp::Xor, R0, Src::Reg(R1)),
        ldx(Size::DW, R1, R10, -8),
        alu(Width::W64, AluOp::Lsh, R1, Src::Imm(48)),
        alu(Width::W64, AluOp::Xor, R0, Src::Reg(R1)),
        exit(),
    ]);
    let f = p.len();
    // f: clobbers r6..r9 and its own stack, makes a helper call (clobbering x5..x7), then reads
    // all 12 arguments (r1..r5 saved first) and passes them to the 12-argument kfunc.
    p.extend([
        stx(Size::DW, R10, -8, R1),
        stx(Size::DW, R10, -16, R2),
        stx(Size::DW, R10, -24, R3),
        stx(Size::DW, R10, -32, R4),
        stx(Size::DW, R10, -40, R5),
        mov64(R6, -1),
        mov64(R7, -1),
        mov64(R8, -1),
        mov64(R9, -1),
        call_helper(2),
        ldx(Size::DW, R1, R10, -8),
        ldx(Size::DW, R2, R10, -16),
        ldx(Size::DW, R3, R10, -24),
        ldx(Size::DW, R4, R10, -32),
        ldx(Size::DW, R5, R10, -40),
    ]);
    for k in 1..=7i16 {
        p.push(ldx(Size::DW, R6, R11, 8 * k));
        p.push(stx(Size::DW, R11, -8 * k, R6));
    }
    p.extend([call_kfunc(101), exit()]);
    p[call_at] = call_local((f - call_at - 1) as i32);
    let want = weigh(&(1..=12).collect::<Vec<_>>()) ^ (30 << 40) ^ (0x77 << 48);
    assert_eq!(run(&p, &reg, &mut []), want);
}

#[test]
fn nested_calls_pass_arguments_through() {
    // main -> g(8 args) -> h(12 args): each level forwards what it received plus more.
    let reg = registry();
    let mut p = args(8);
    let c1 = p.len();
    p.extend([call_local(0), exit()]);
    let g = p.len();
    p.extend([
        ldx(Size::DW, R6, R11, 8),
        ldx(Size::DW, R7, R11, 16),
        ldx(Size::DW, R8, R11, 24),
        stx(Size::DW, R11, -8, R6),
        stx(Size::DW, R11, -16, R7),
        stx(Size::DW, R11, -24, R8),
        st(Size::DW, R11, -32, 90),
        st(Size::DW, R11, -40, 100),
        st(Size::DW, R11, -48, 110),
        st(Size::DW, R11, -56, 120),
    ]);
    let c2 = p.len();
    p.extend([call_local(0), alu(Width::W64, AluOp::Add, R0, Src::Imm(1)), exit()]);
    let h = p.len();
    for k in 1..=7i16 {
        p.push(ldx(Size::DW, R6, R11, 8 * k));
        p.push(stx(Size::DW, R11, -8 * k, R6));
    }
    p.extend([call_kfunc(101), exit()]);
    p[c1] = call_local((g - c1 - 1) as i32);
    p[c2] = call_local((h - c2 - 1) as i32);
    let want = weigh(&[1, 2, 3, 4, 5, 6, 7, 8, 90, 100, 110, 120]) + 1;
    assert_eq!(run(&p, &reg, &mut []), want);
}

#[test]
fn legacy_packet_loads_and_faults() {
    let reg = registry();
    let mut input: Vec<u8> = (0u8..64).collect();
    let p = [Insn::LdAbs { size: Size::W, imm: 4 }, exit()];
    assert_eq!(run(&p, &reg, &mut input), 0x0405_0607);
    let p = [mov64(R6, 10), Insn::LdInd { size: Size::H, src: R6, imm: 2 }, exit()];
    assert_eq!(run(&p, &reg, &mut input), 0x0c0d);
    let p = [Insn::LdAbs { size: Size::B, imm: 63 }, exit()];
    assert_eq!(run(&p, &reg, &mut input), 63);
    for (p, pc) in [
        (vec![Insn::LdAbs { size: Size::H, imm: 63 }, exit()], 0),
        (vec![mov64(R0, 9), Insn::LdAbs { size: Size::B, imm: -1 }, exit()], 1),
        (vec![mov64(R6, -20), Insn::LdInd { size: Size::W, src: R6, imm: 4 }, exit()], 1),
    ] {
        for lse in flavours() {
            let f = execute_with(&p, &reg, lse, &mut input).expect_err("out of bounds");
            assert_eq!((f.kind, f.pc), (FaultKind::LdAbsOutOfBounds, pc));
        }
    }
    // A fault deep in a call chain unwinds every frame and the host's registers survive (the
    // test itself would crash otherwise); the next run works normally.
    let p = vec![
        mov64(R6, 1),
        call_local(1),
        exit(),
        call_local(1),
        exit(),
        Insn::LdAbs { size: Size::W, imm: 1000 },
        exit(),
    ];
    let f = execute_with(&p, &reg, false, &mut input).expect_err("out of bounds");
    assert_eq!((f.kind, f.pc), (FaultKind::LdAbsOutOfBounds, 5));
    let f = execute_with(&p, &reg, false, &mut []).expect_err("empty input");
    assert_eq!(f.kind, FaultKind::LdAbsOutOfBounds);
}

#[test]
fn callx_by_helper_id() {
    let reg = registry();
    let p = [
        mov64(R1, 1),
        mov64(R2, 2),
        mov64(R3, 3),
        mov64(R4, 4),
        mov64(R5, 5),
        mov64(R7, 1),
        Insn::Callx { reg: R7 },
        exit(),
    ];
    assert_eq!(run(&p, &reg, &mut []), 54321);
    let p = [mov64(R7, 2), Insn::Callx { reg: R7 }, exit()];
    assert_eq!(run(&p, &reg, &mut []), 0x5555);
    let p = [mov64(R7, 3), Insn::Callx { reg: R7 }, exit()];
    let f = execute_with(&p, &reg, false, &mut []).expect_err("no helper 3");
    assert_eq!((f.kind, f.pc), (FaultKind::UnknownCallx, 1));
}

#[test]
fn may_goto_budget_per_invocation() {
    let reg = Registry::new();
    // r0 counts the iterations the budget allows.
    let p = [
        mov64(R0, 0),
        Insn::MayGoto { off: 2 },
        alu(Width::W64, AluOp::Add, R0, Src::Imm(1)),
        ja(-3),
        exit(),
    ];
    assert_eq!(run_with(&p, &reg, false, &mut []), kbpf_jit::MAY_GOTO_BUDGET);
    // Each call gets a fresh budget: main calls the loop twice.
    let p = [
        call_local(4),
        movr(R6, R0),
        call_local(2),
        alu(Width::W64, AluOp::Add, R0, Src::Reg(R6)),
        exit(),
        mov64(R0, 0),
        Insn::MayGoto { off: 2 },
        alu(Width::W64, AluOp::Add, R0, Src::Imm(1)),
        ja(-3),
        exit(),
    ];
    assert_eq!(run_with(&p, &reg, false, &mut []), 2 * kbpf_jit::MAY_GOTO_BUDGET);
}

#[test]
fn jumps_backwards_and_loops() {
    let reg = Registry::new();
    // sum 1..=100 with a JMP32 loop condition.
    let p = [
        mov64(R0, 0),
        mov64(R1, 100),
        alu(Width::W64, AluOp::Add, R0, Src::Reg(R1)),
        alu(Width::W64, AluOp::Sub, R1, Src::Imm(1)),
        jmp(Width::W32, JmpCond::Ne, R1, Src::Imm(0), -3),
        exit(),
    ];
    assert_eq!(run(&p, &reg, &mut []), 5050);
    let p = [mov64(R0, 1), Insn::Gotol { imm: 1 }, mov64(R0, 2), exit()];
    assert_eq!(run(&p, &reg, &mut []), 1);
}

/// The runtime LSE check sees what the (emulated) CPU offers: `qemu-test.sh` runs once with
/// qemu's default CPU (`KBPF_EXPECT_LSE=1`) and once with `QEMU_CPU=cortex-a57` (ARMv8.0).
#[test]
fn lse_detection_matches_the_cpu() {
    let has = kbpf_jit_arm64::host_has_lse();
    if std::env::var("QEMU_CPU").as_deref() == Ok("cortex-a57") {
        assert!(!has, "cortex-a57 has no LSE");
    }
    if std::env::var("KBPF_EXPECT_LSE").as_deref() == Ok("1") {
        assert!(has, "expected a CPU with LSE");
    }
    eprintln!("LSE atomics: {has}");
}
