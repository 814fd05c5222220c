//! Helpers, kfuncs with up to 12 arguments, callx, bpf-to-bpf calls with stack arguments,
//! LD_ABS/LD_IND, may_goto, and the call-graph limits.
#![allow(unsafe_code)]
mod common;
use common::*;
use kbpf_isa::*;
use kbpf_jit::{Backend, FaultKind, JitError, JitOptions, MAY_GOTO_BUDGET};
use kbpf_jit_x86_64::X86_64;
use kbpf_kfunc::{NativeFn, Registry};

extern "C" fn sum12(
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
    // Weighted so that a misplaced argument changes the result.
    [a, b, c, d, e, f, g, h, i, j, k, l].iter().enumerate().map(|(n, v)| v * (n as u64 + 1)).sum()
}
extern "C" fn sum7(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64) -> u64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g
}
extern "C" fn sum6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f
}
extern "C" fn sub2(a: u64, b: u64) -> u64 {
    a.wrapping_sub(b)
}

fn registry() -> Registry {
    let mut r = kbpf_kfunc::profiles::conformance();
    r.add_kfunc(100, "sum12", NativeFn::A12(sum12)).unwrap();
    r.add_kfunc(101, "sum7", NativeFn::A7(sum7)).unwrap();
    r.add_kfunc(102, "sum6", NativeFn::A6(sum6)).unwrap();
    r.add_helper(77, "sub2", NativeFn::A2(sub2)).unwrap();
    r
}

fn kfunc(id: i32) -> Insn {
    Insn::Call(CallTarget::Kfunc { btf_id: id, off: 0 })
}

fn args_1_to_5() -> Vec<Insn> {
    (1..=5).map(|i| mov(Reg::GENERAL[i], i as i32)).collect()
}

fn weighted(n: u64) -> u64 {
    (1..=n).map(|i| i * i).sum()
}

#[test]
fn helper_calls() {
    let r = registry();
    let v = vec![mov(Reg::R1, 50), mov(Reg::R2, 8), Insn::Call(CallTarget::Helper(77)), EXIT];
    assert_eq!(run_with(v, &r, &mut []), 42);
    let v = vec![
        mov(Reg::R1, 1),
        mov(Reg::R2, 2),
        mov(Reg::R3, 3),
        mov(Reg::R4, 4),
        mov(Reg::R5, 5),
        Insn::Call(CallTarget::Helper(0)),
        EXIT,
    ];
    assert_eq!(run_with(v, &r, &mut []), 0x0102030405);
    // callee-saved r6..r9 survive.
    let v = vec![
        mov(Reg::R6, 6),
        mov(Reg::R7, 7),
        mov(Reg::R8, 8),
        mov(Reg::R9, 9),
        mov(Reg::R1, -1),
        Insn::Call(CallTarget::Helper(5)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R6)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R7)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R8)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R9)),
        EXIT,
    ];
    assert_eq!(run_with(v, &r, &mut []), 30u64.wrapping_sub(1));
    let p = prog(vec![Insn::Call(CallTarget::Helper(99)), EXIT]);
    assert!(matches!(
        // SAFETY: a trusted test program, run only on the inputs it was written for.
        unsafe { X86_64.compile_unverified(&p, &r, &JitOptions::default()) },
        Err(JitError::UnknownHelper { pc: 0, id: 99 })
    ));
}

#[test]
fn kfunc_with_12_arguments() {
    let r = registry();
    let mut v = args_1_to_5();
    for k in 1..=7i16 {
        v.push(st(Size::DW, Reg::R11, -8 * k, 5 + k as i32));
    }
    v.push(kfunc(100));
    v.push(EXIT);
    assert_eq!(run_with(v, &r, &mut []), weighted(12));
    // Register sources, stored in descending order, and 6/7-argument kfuncs.
    let mut v = args_1_to_5();
    v.push(mov(Reg::R6, 7));
    v.push(stx(Size::DW, Reg::R11, -16, Reg::R6));
    v.push(mov(Reg::R6, 6));
    v.push(stx(Size::DW, Reg::R11, -8, Reg::R6));
    v.push(kfunc(101));
    v.push(movr(Reg::R6, Reg::R0));
    v.extend(args_1_to_5());
    v.push(st(Size::DW, Reg::R11, -8, 6));
    v.push(kfunc(102));
    v.push(alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R6)));
    v.push(EXIT);
    assert_eq!(run_with(v, &r, &mut []), weighted(7) + weighted(6));
}

#[test]
fn bpf_to_bpf_calls_preserve_callee_saved() {
    // main: r6..r9 = 6..9, call f; r0 += r6+r7+r8+r9.  f clobbers r6..r9 and calls g.
    let v = vec![
        mov(Reg::R6, 6),
        mov(Reg::R7, 7),
        mov(Reg::R8, 8),
        mov(Reg::R9, 9),
        mov(Reg::R1, 100),
        call_local(6),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R6)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R7)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R8)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R9)),
        EXIT,
        EXIT, // unreachable padding keeps the next function separate
        // f (pc 12): uses its own stack and callee-saved registers.
        mov(Reg::R6, 60),
        mov(Reg::R7, 70),
        mov(Reg::R8, 80),
        mov(Reg::R9, 90),
        stx(Size::DW, Reg::R10, -8, Reg::R1),
        call_local(4),
        ldx(Size::DW, Reg::R1, Reg::R10, -8),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R1)),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R9)),
        EXIT,
        // g (pc 22)
        st(Size::DW, Reg::R10, -8, 1000),
        mov(Reg::R6, 1),
        ldx(Size::DW, Reg::R0, Reg::R10, -8),
        EXIT,
    ];
    assert_eq!(run(v), 1000 + 100 + 90 + 30);
}

#[test]
fn bpf_to_bpf_with_stack_arguments() {
    // main passes 12 arguments to f, which loads them all first and returns the weighted sum,
    // after calling a 12-arg kfunc with them (so its outgoing area is used too).
    let mut v = args_1_to_5();
    for k in 1..=7i16 {
        v.push(st(Size::DW, Reg::R11, -8 * k, 5 + k as i32));
    }
    v.push(call_local(1));
    v.push(EXIT);
    // f: load incoming 6..12 into r6..r9 and the stack, re-pass them.
    let f = vec![
        Insn::Load { size: Size::DW, signed: false, dst: Reg::R6, src: Reg::R11, off: 8 },
        Insn::Load { size: Size::DW, signed: false, dst: Reg::R7, src: Reg::R11, off: 16 },
        Insn::Load { size: Size::DW, signed: false, dst: Reg::R8, src: Reg::R11, off: 24 },
        Insn::Load { size: Size::DW, signed: false, dst: Reg::R9, src: Reg::R11, off: 32 },
        Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R11, off: 40 },
        stx(Size::DW, Reg::R10, -8, Reg::R0),
        Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R11, off: 48 },
        stx(Size::DW, Reg::R10, -16, Reg::R0),
        Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R11, off: 56 },
        stx(Size::DW, Reg::R10, -24, Reg::R0),
        stx(Size::DW, Reg::R11, -8, Reg::R6),
        stx(Size::DW, Reg::R11, -16, Reg::R7),
        stx(Size::DW, Reg::R11, -24, Reg::R8),
        stx(Size::DW, Reg::R11, -32, Reg::R9),
        ldx(Size::DW, Reg::R0, Reg::R10, -8),
        stx(Size::DW, Reg::R11, -40, Reg::R0),
        ldx(Size::DW, Reg::R0, Reg::R10, -16),
        stx(Size::DW, Reg::R11, -48, Reg::R0),
        ldx(Size::DW, Reg::R0, Reg::R10, -24),
        stx(Size::DW, Reg::R11, -56, Reg::R0),
        kfunc(100),
        EXIT,
    ];
    v.extend(f);
    assert_eq!(run_with(v, &registry(), &mut []), weighted(12));
}

#[test]
fn callx_by_helper_id() {
    let r = registry();
    let v = vec![mov(Reg::R1, 50), mov(Reg::R2, 8), mov(Reg::R4, 77), Insn::Callx { reg: Reg::R4 }, EXIT];
    assert_eq!(run_with(v, &r, &mut []), 42);
    for bad in [1, 4, 76, 100_000, -1] {
        let v = vec![lddw(Reg::R6, bad as i64 as u64), Insn::Callx { reg: Reg::R6 }, EXIT];
        let err = execute_with(v, &r, &mut []).unwrap_err();
        assert_eq!((err.kind, err.pc), (FaultKind::UnknownCallx, 2), "id {bad}");
    }
}

#[test]
fn ld_abs_and_ld_ind() {
    let r = registry();
    let mut m = [0x10u8, 0x20, 0x30, 0x40, 0x50, 0x60];
    let v = vec![Insn::LdAbs { size: Size::W, imm: 1 }, EXIT];
    assert_eq!(run_with(v, &r, &mut m), 0x20304050);
    let v = vec![Insn::LdAbs { size: Size::H, imm: 4 }, EXIT];
    assert_eq!(run_with(v, &r, &mut m), 0x5060);
    let v = vec![mov(Reg::R6, 3), Insn::LdInd { size: Size::B, src: Reg::R6, imm: 2 }, EXIT];
    assert_eq!(run_with(v, &r, &mut m), 0x60);
    for (insns, pc) in [
        (vec![Insn::LdAbs { size: Size::W, imm: 3 }, EXIT], 0),
        (
            vec![
                mov(Reg::R0, 5),
                mov(Reg::R6, -1),
                Insn::LdInd { size: Size::B, src: Reg::R6, imm: 0 },
                EXIT,
            ],
            2,
        ),
    ] {
        let err = execute_with(insns, &r, &mut m).unwrap_err();
        assert_eq!((err.kind, err.pc), (FaultKind::LdAbsOutOfBounds, pc));
    }
    // A fault deep in a call chain unwinds everything, and run() gives 0.
    let v = vec![mov(Reg::R6, 1), call_local(1), EXIT, Insn::LdAbs { size: Size::B, imm: 100 }, EXIT];
    let p = prog(v);
    // SAFETY: a trusted test program, run only on the inputs it was written for.
    let jp = unsafe { X86_64.compile_unverified(&p, &r, &JitOptions::default()) }.unwrap();
    assert_eq!(jp.run(&mut m), 0);
}

#[test]
fn may_goto_spends_a_per_call_budget() {
    // r0 counts iterations of `loop: may_goto +2; r0 += 1; goto loop`.
    let v = vec![
        mov(Reg::R0, 0),
        Insn::MayGoto { off: 2 },
        alu64(AluOp::Add, Reg::R0, Src::Imm(1)),
        Insn::Ja { off: -3 },
        EXIT,
    ];
    assert_eq!(run(v), MAY_GOTO_BUDGET);
}

#[test]
fn eight_frames_run_and_nine_are_rejected() {
    fn chain(calls: usize) -> Vec<Insn> {
        let mut v = Vec::new();
        for _ in 0..calls {
            v.push(call_local(2));
            v.push(alu64(AluOp::Add, Reg::R0, Src::Imm(1)));
            v.push(EXIT);
        }
        v.push(mov(Reg::R0, 0));
        v.push(EXIT);
        v
    }
    assert_eq!(run(chain(7)), 7);
    let p = prog(chain(8));
    assert!(matches!(
        // SAFETY: a trusted test program, run only on the inputs it was written for.
        unsafe { X86_64.compile_unverified(&p, &registry(), &JitOptions::default()) },
        Err(JitError::CallDepth { .. })
    ));
}

#[test]
fn structural_errors_carry_the_pc() {
    let r = registry();
    let cases: Vec<(Vec<Insn>, JitError)> = vec![
        (vec![mov(Reg::R0, 0)], JitError::FallThrough { pc: 0 }),
        (vec![st(Size::DW, Reg::R10, 0, 1), EXIT], JitError::StackOutOfBounds { pc: 0, off: 0, size: 8 }),
        (
            vec![st(Size::DW, Reg::R10, -520, 1), EXIT],
            JitError::StackOutOfBounds { pc: 0, off: -520, size: 8 },
        ),
        (
            vec![Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R11, off: 8 }, EXIT],
            JitError::StackArg { pc: 0, off: 8 },
        ),
        (vec![st(Size::DW, Reg::R11, -64, 1), EXIT], JitError::StackArg { pc: 0, off: -64 }),
        (vec![kfunc(5), EXIT], JitError::UnknownKfunc { pc: 0, btf_id: 5 }),
        (vec![mov(Reg::R0, 0), mov(Reg::R10, 0), EXIT], JitError::FramePointerWrite { pc: 1 }),
        (
            vec![
                Insn::Atomic { size: Size::DW, op: AtomicOp::FetchAdd, dst: Reg::R1, src: Reg::R10, off: 0 },
                EXIT,
            ],
            JitError::FramePointerWrite { pc: 0 },
        ),
    ];
    for (insns, want) in cases {
        let p = prog(insns);
        // SAFETY: a trusted test program, run only on the inputs it was written for.
        assert_eq!(unsafe { X86_64.compile_unverified(&p, &r, &JitOptions::default()) }.unwrap_err(), want);
    }
}

#[repr(align(16))]
struct Aligned16(#[allow(dead_code)] [u8; 16]);

/// Address of a 16-aligned local mod 16: non-zero when the caller broke the SysV alignment
/// (the compiler places the local assuming an aligned entry stack).
extern "C" fn align_probe() -> u64 {
    let x = Aligned16([0; 16]);
    std::hint::black_box(&x) as *const Aligned16 as u64 & 15
}

#[test]
fn native_calls_see_an_aligned_stack() {
    let mut r = registry();
    r.add_helper(50, "align_probe", NativeFn::A0(align_probe)).unwrap();
    let probe = Insn::Call(CallTarget::Helper(50));
    // Frames with 0..4 callee-saved pushes, with and without BPF stack and outgoing args.
    let bodies: Vec<Vec<Insn>> = vec![
        vec![],
        vec![mov(Reg::R6, 1)],
        vec![mov(Reg::R6, 1), mov(Reg::R7, 1)],
        vec![mov(Reg::R6, 1), mov(Reg::R7, 1), mov(Reg::R8, 1)],
        vec![mov(Reg::R6, 1), mov(Reg::R7, 1), mov(Reg::R8, 1), mov(Reg::R9, 1)],
        vec![st(Size::DW, Reg::R10, -8, 1)],
        vec![st(Size::DW, Reg::R10, -24, 1), mov(Reg::R6, 1)],
        vec![st(Size::DW, Reg::R11, -16, 1), mov(Reg::R6, 1)],
        vec![st(Size::DW, Reg::R11, -24, 1), st(Size::DW, Reg::R10, -8, 1)],
    ];
    for body in bodies {
        // In main.
        let mut v = body.clone();
        v.push(probe);
        v.push(EXIT);
        assert_eq!(run_with(v, &r, &mut []), 0, "main {body:?}");
        // In a callee (called from a main that itself has an odd frame), and a callee's callee.
        let mut v = vec![mov(Reg::R6, 1), call_local(1), EXIT];
        v.extend(body.clone());
        v.push(call_local(1));
        v.push(EXIT);
        v.extend(body.clone());
        v.push(probe);
        v.push(EXIT);
        assert_eq!(run_with(v, &r, &mut []), 0, "callee {body:?}");
    }
}
