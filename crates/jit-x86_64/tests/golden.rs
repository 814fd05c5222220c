//! Golden listings (`kbpf jit --dump` output) of a dozen programs, as insta snapshots. Host
//! addresses of helpers and tables are redacted.
mod common;
use common::*;
use kbpf_isa::*;
use kbpf_jit::{Backend, JitOptions};
use kbpf_jit_x86_64::X86_64;
use kbpf_kfunc::NativeFn;

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
    a + b + c + d + e + f + g + h + i + j + k + l
}

/// Replaces the host addresses loaded by `mov rax, imm64` (native calls) and `mov r10, imm64`
/// (the callx table) by `<addr>`.
fn redact(listing: &str) -> String {
    listing
        .lines()
        .map(|l| {
            let bytes = l.split(':').nth(1).unwrap_or("").trim_start();
            if bytes.starts_with("48 b8 ") || bytes.starts_with("49 ba ") {
                let reg = if bytes.starts_with("48") { "rax" } else { "r10" };
                format!("  {:>5}   mov {reg},<addr>", l.split(':').next().unwrap_or("").trim())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn dump(insns: Vec<Insn>) -> String {
    let mut reg = kbpf_kfunc::profiles::conformance();
    reg.add_kfunc(100, "sum12", NativeFn::A12(sum12)).unwrap();
    let p = prog(insns);
    redact(&X86_64.dump(&p, &reg, &JitOptions::default()).unwrap())
}

fn r(n: usize) -> Reg {
    Reg::GENERAL[n]
}

#[test]
fn golden_listings() {
    let sum = vec![
        ldx(Size::W, r(6), r(1), 8),
        mov(r(0), 0),
        mov(r(7), 0),
        Insn::Ja { off: 0 },
        alu64(AluOp::Add, r(7), Src::Imm(1)),
        alu64(AluOp::Add, r(0), Src::Reg(r(7))),
        jmp(JmpCond::Ne, r(7), Src::Reg(r(6)), -4),
        EXIT,
    ];
    let empty = vec![mov(r(0), 0), EXIT];
    let calls = vec![
        mov(r(6), 3),
        movr(r(1), r(6)),
        call_local(2),
        alu64(AluOp::Add, r(0), Src::Reg(r(6))),
        EXIT,
        movr(r(6), r(1)),
        alu64(AluOp::Mul, r(6), Src::Imm(3)),
        movr(r(0), r(6)),
        EXIT,
    ];
    let divmod = vec![
        alu64(AluOp::Div, r(1), Src::Reg(r(2))),
        alu32(AluOp::Mod, r(0), Src::Reg(r(3))),
        alu64(AluOp::SDiv, r(3), Src::Reg(r(0))),
        alu32(AluOp::SMod, r(4), Src::Imm(-7)),
        EXIT,
    ];
    let shifts = vec![
        alu64(AluOp::Lsh, r(1), Src::Reg(r(4))),
        alu64(AluOp::Rsh, r(4), Src::Reg(r(2))),
        alu32(AluOp::Arsh, r(0), Src::Reg(r(5))),
        alu64(AluOp::Arsh, r(0), Src::Imm(70)),
        EXIT,
    ];
    let atomics = vec![
        Insn::Atomic { size: Size::DW, op: AtomicOp::FetchOr, dst: r(1), src: r(0), off: 8 },
        Insn::Atomic { size: Size::W, op: AtomicOp::Cmpxchg, dst: r(10), src: r(2), off: -8 },
        Insn::Atomic { size: Size::DW, op: AtomicOp::Xchg, dst: r(1), src: r(3), off: 0 },
        Insn::Atomic { size: Size::W, op: AtomicOp::FetchAnd, dst: r(1), src: r(4), off: 4 },
        EXIT,
    ];
    let stack_args = {
        let mut v: Vec<Insn> = (1..=5).map(|i| mov(r(i), i as i32)).collect();
        v.push(st(Size::DW, Reg::R11, -8, 6));
        v.push(st(Size::DW, Reg::R11, -16, 7));
        v.push(call_local(1));
        v.push(EXIT);
        v.push(Insn::Load { size: Size::DW, signed: false, dst: r(6), src: Reg::R11, off: 8 });
        v.push(Insn::Load { size: Size::DW, signed: false, dst: r(0), src: Reg::R11, off: 16 });
        v.push(alu64(AluOp::Add, r(0), Src::Reg(r(6))));
        v.push(EXIT);
        v
    };
    let kfunc12 = {
        let mut v: Vec<Insn> = (1..=5).map(|i| mov(r(i), i as i32)).collect();
        for k in 1..=7i16 {
            v.push(st(Size::DW, Reg::R11, -8 * k, 5 + k as i32));
        }
        v.push(Insn::Call(CallTarget::Kfunc { btf_id: 100, off: 0 }));
        v.push(EXIT);
        v
    };
    let may_goto = vec![
        mov(r(0), 0),
        Insn::MayGoto { off: 2 },
        alu64(AluOp::Add, r(0), Src::Imm(1)),
        Insn::Ja { off: -3 },
        EXIT,
    ];
    let endian = vec![
        Insn::Endian { order: ByteOrder::ToBe, bits: 16, dst: r(1) },
        Insn::Endian { order: ByteOrder::ToBe, bits: 32, dst: r(2) },
        Insn::Endian { order: ByteOrder::Swap, bits: 64, dst: r(3) },
        Insn::Endian { order: ByteOrder::ToLe, bits: 16, dst: r(4) },
        Insn::MovSx { width: Width::W64, dst: r(0), src: r(2), from_bits: 8 },
        EXIT,
    ];
    let helpers = vec![
        mov(r(1), -1),
        Insn::Call(CallTarget::Helper(5)),
        mov(r(2), 5),
        Insn::Callx { reg: r(2) },
        Insn::LdAbs { size: Size::H, imm: 12 },
        Insn::LdInd { size: Size::W, src: r(7), imm: 2 },
        EXIT,
    ];
    let memory = vec![
        lddw(r(2), 0x1122334455667788),
        stx(Size::B, r(1), 0, r(2)),
        st(Size::H, r(10), -2, 0x1234),
        ldxs(Size::W, r(3), r(1), 4),
        ldx(Size::DW, r(0), r(10), -8),
        jmp32(JmpCond::Sgt, r(3), Src::Imm(-5), 1),
        mov(r(0), 1),
        EXIT,
    ];
    for (name, insns) in [
        ("sum", sum),
        ("empty", empty),
        ("calls", calls),
        ("divmod", divmod),
        ("shifts", shifts),
        ("atomics", atomics),
        ("stack_args", stack_args),
        ("kfunc12", kfunc12),
        ("may_goto", may_goto),
        ("endian", endian),
        ("helpers", helpers),
        ("memory", memory),
    ] {
        insta::assert_snapshot!(name, dump(insns));
    }
}
