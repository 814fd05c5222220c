//! Golden arm64 listings (insta snapshots under `tests/snapshots/`) of a dozen programs,
//! including 8- and 12-argument calls. Native addresses of helpers and kfuncs change from build
//! to build, so the `mov`/`movk x10` sequence before each `blr x10` is shown as `<address>`.
//! Update with `INSTA_UPDATE=always cargo test -p kbpf-jit-arm64 --test dumps` and review.

mod common;

use common::*;
use kbpf_isa::{AluOp, AtomicOp, ByteOrder, Insn, JmpCond, Program, Size, Src, Width};
use kbpf_jit::{Backend, JitOptions};
use kbpf_jit_arm64::{Arm64, AtomicsMode};
use kbpf_kfunc::{NativeFn, Registry};

extern "C" fn h5(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a ^ b ^ c ^ d ^ e
}
extern "C" fn k8(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: u64) -> u64 {
    a ^ b ^ c ^ d ^ e ^ f ^ g ^ h
}
#[allow(clippy::too_many_arguments)]
extern "C" fn k12(
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
    a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j ^ k ^ l
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.add_helper(1, "h5", NativeFn::A5(h5)).expect("fresh");
    r.add_kfunc(100, "k8", NativeFn::A8(k8)).expect("fresh");
    r.add_kfunc(101, "k12", NativeFn::A12(k12)).expect("fresh");
    r
}

/// The listing with call addresses redacted.
fn dump(insns: Vec<Insn>, atomics: AtomicsMode) -> String {
    let prog = Program::new(insns).expect("well formed");
    let text = Arm64::with_atomics(atomics).dump(&prog, &registry(), &JitOptions::default()).expect("dumps");
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let is_addr = (l.contains(" mov x10, #") || l.contains(" movk x10, #"))
            && lines[i + 1..]
                .iter()
                .find(|n| !(n.contains(" mov x10, #") || n.contains(" movk x10, #")))
                .is_some_and(|n| n.ends_with("blr x10"));
        if is_addr {
            let off = l.split(':').next().unwrap_or("");
            out.push(format!("{off}:  ........  <address>"));
        } else {
            out.push(l.to_string());
        }
    }
    out.join("\n") + "\n"
}

fn args(n: usize) -> Vec<Insn> {
    let mut v: Vec<Insn> = (1..=5).map(|i| mov64(kbpf_isa::Reg::GENERAL[i], i as i32)).collect();
    for a in 6..=n {
        v.push(st(Size::DW, R11, -8 * (a as i16 - 5), a as i32));
    }
    v
}

#[test]
fn golden_dumps() {
    let w64 = Width::W64;
    let cases: Vec<(&str, Vec<Insn>, AtomicsMode)> = vec![
        ("return_constant", vec![mov64(R0, 42), exit()], AtomicsMode::Lse),
        (
            "alu64",
            vec![
                mov64(R0, 100),
                alu(w64, AluOp::Add, R0, Src::Reg(R1)),
                alu(w64, AluOp::Mul, R0, Src::Imm(7)),
                alu(w64, AluOp::Div, R0, Src::Reg(R2)),
                alu(w64, AluOp::SMod, R0, Src::Imm(-3)),
                alu(w64, AluOp::Lsh, R0, Src::Imm(3)),
                alu(w64, AluOp::Arsh, R0, Src::Reg(R2)),
                alu(w64, AluOp::And, R0, Src::Imm(0xff0)),
                alu(w64, AluOp::Xor, R0, Src::Imm(0x12345)),
                exit(),
            ],
            AtomicsMode::Lse,
        ),
        (
            "alu32",
            vec![
                alu(Width::W32, AluOp::Mov, R0, Src::Imm(-1)),
                alu(Width::W32, AluOp::Sub, R0, Src::Reg(R1)),
                alu(Width::W32, AluOp::Mod, R0, Src::Reg(R2)),
                alu(Width::W32, AluOp::Rsh, R0, Src::Imm(33)),
                Insn::Neg { width: Width::W32, dst: R0 },
                exit(),
            ],
            AtomicsMode::Lse,
        ),
        (
            "byte_order_and_movsx",
            vec![
                movr(R0, R1),
                Insn::Endian { order: ByteOrder::ToBe, bits: 16, dst: R0 },
                Insn::Endian { order: ByteOrder::Swap, bits: 64, dst: R0 },
                Insn::Endian { order: ByteOrder::ToLe, bits: 32, dst: R0 },
                Insn::MovSx { width: w64, dst: R0, src: R0, from_bits: 16 },
                exit(),
            ],
            AtomicsMode::Lse,
        ),
        (
            "stack_and_input",
            vec![
                lddw(R3, 0x1122_3344_5566_7788),
                stx(Size::DW, R10, -8, R3),
                st(Size::W, R10, -512, 7),
                ldxs(Size::H, R0, R10, -6),
                ldx(Size::B, R4, R1, 4097),
                stx(Size::H, R1, 0, R4),
                exit(),
            ],
            AtomicsMode::Lse,
        ),
        (
            "loop",
            vec![
                mov64(R0, 0),
                mov64(R1, 10),
                alu(w64, AluOp::Add, R0, Src::Reg(R1)),
                alu(w64, AluOp::Sub, R1, Src::Imm(1)),
                jmp(Width::W32, JmpCond::Sgt, R1, Src::Imm(0), -3),
                jmp(w64, JmpCond::Set, R0, Src::Imm(0x40), 1),
                mov64(R0, -1),
                exit(),
            ],
            AtomicsMode::Lse,
        ),
        (
            "atomics_lse",
            vec![
                mov64(R2, 1),
                stx(Size::DW, R10, -8, R2),
                atomic(Size::DW, AtomicOp::Add, R10, R2, -8),
                atomic(Size::W, AtomicOp::FetchAnd, R10, R2, -8),
                mov64(R0, 3),
                atomic(Size::DW, AtomicOp::Cmpxchg, R10, R2, -8),
                atomic(Size::DW, AtomicOp::Xchg, R1, R2, 0),
                atomic(Size::B, AtomicOp::LoadAcquire, R0, R10, -8),
                exit(),
            ],
            AtomicsMode::Lse,
        ),
        (
            "atomics_llsc",
            vec![
                mov64(R2, 1),
                stx(Size::DW, R10, -8, R2),
                atomic(Size::DW, AtomicOp::Add, R10, R2, -8),
                atomic(Size::W, AtomicOp::FetchAnd, R10, R2, -8),
                mov64(R0, 3),
                atomic(Size::DW, AtomicOp::Cmpxchg, R10, R2, -8),
                atomic(Size::DW, AtomicOp::Xchg, R1, R2, 0),
                atomic(Size::DW, AtomicOp::StoreRelease, R10, R2, -8),
                exit(),
            ],
            AtomicsMode::LlSc,
        ),
        (
            "helper_call",
            [args(5), vec![mov64(R6, 6), call_helper(1), alu(w64, AluOp::Add, R0, Src::Reg(R6)), exit()]]
                .concat(),
            AtomicsMode::Lse,
        ),
        ("kfunc_8_args", [args(8), vec![call_kfunc(100), exit()]].concat(), AtomicsMode::Lse),
        ("kfunc_12_args", [args(12), vec![call_kfunc(101), exit()]].concat(), AtomicsMode::Lse),
        (
            "bpf_to_bpf_12_args",
            {
                let mut p = args(12);
                let at = p.len();
                p.extend([call_local(0), exit()]);
                let f = p.len();
                p.extend([
                    ldx(Size::DW, R0, R11, 8),
                    ldx(Size::DW, R6, R11, 24),
                    alu(w64, AluOp::Add, R0, Src::Reg(R6)),
                    ldx(Size::DW, R6, R11, 32),
                    alu(w64, AluOp::Add, R0, Src::Reg(R6)),
                    ldx(Size::DW, R6, R11, 56),
                    alu(w64, AluOp::Add, R0, Src::Reg(R6)),
                    exit(),
                ]);
                p[at] = call_local((f - at - 1) as i32);
                p
            },
            AtomicsMode::Lse,
        ),
        (
            "packet_loads_and_callx",
            vec![
                Insn::LdAbs { size: Size::H, imm: 12 },
                movr(R6, R0),
                Insn::LdInd { size: Size::W, src: R6, imm: 2 },
                mov64(R7, 1),
                Insn::Callx { reg: R7 },
                exit(),
            ],
            AtomicsMode::Lse,
        ),
        (
            "may_goto",
            vec![
                mov64(R0, 0),
                Insn::MayGoto { off: 2 },
                alu(w64, AluOp::Add, R0, Src::Imm(1)),
                ja(-3),
                exit(),
            ],
            AtomicsMode::Lse,
        ),
    ];
    for (name, insns, atomics) in cases {
        insta::assert_snapshot!(name, dump(insns, atomics));
    }
}
