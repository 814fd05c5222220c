//! Every ALU operation, both widths, register and immediate forms, against a reference model of
//! the execution contract, with register pairs that hit the x86 special cases (rax/rdx for
//! division, rcx for shifts).
mod common;
use common::*;
use kbpf_isa::*;

/// Reference semantics of a binary ALU operation: the ISA's definition.
fn alu_ref(w: Width, op: AluOp, a: u64, b: u64) -> u64 {
    op.eval(w, a, b)
}

const VALUES: [u64; 12] = [
    0,
    1,
    2,
    3,
    7,
    63,
    0x8000_0000,
    0xffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    0x1234_5678_9abc_def0,
    0xffff_ffff_8000_0000,
];

const PAIRS: [(Reg, Reg); 9] = [
    (Reg::R1, Reg::R2),
    (Reg::R0, Reg::R3),
    (Reg::R3, Reg::R0),
    (Reg::R4, Reg::R1),
    (Reg::R1, Reg::R4),
    (Reg::R4, Reg::R4),
    (Reg::R3, Reg::R3),
    (Reg::R0, Reg::R0),
    (Reg::R6, Reg::R9),
];

fn one(w: Width, op: AluOp, d: Reg, s: Src, a: u64, b: u64) -> u64 {
    let mut v = vec![lddw(d, a)];
    if let Src::Reg(r) = s {
        v.push(lddw(r, b));
    }
    v.push(Insn::Alu { width: w, op, dst: d, src: s });
    v.push(movr(Reg::R0, d));
    v.push(EXIT);
    run(v)
}

#[test]
fn register_forms() {
    for w in [Width::W64, Width::W32] {
        for op in AluOp::ALL {
            for (d, s) in PAIRS {
                for a in VALUES {
                    for b in VALUES {
                        let got = one(w, op, d, Src::Reg(s), a, b);
                        let (a2, b2) = if d == s { (b, b) } else { (a, b) };
                        let want = alu_ref(w, op, a2, b2);
                        assert_eq!(got, want, "{w:?} {op:?} {d}={a:#x} {s}={b:#x}");
                    }
                }
            }
        }
    }
}

#[test]
fn immediate_forms() {
    let imms = [0i32, 1, -1, 2, 3, 7, 31, 32, 63, 64, 127, 128, -128, -129, i32::MIN, i32::MAX, 0x1234];
    for w in [Width::W64, Width::W32] {
        for op in AluOp::ALL {
            for d in [Reg::R0, Reg::R1, Reg::R3, Reg::R4, Reg::R7] {
                for a in VALUES {
                    for imm in imms {
                        let got = one(w, op, d, Src::Imm(imm), a, 0);
                        let want = alu_ref(w, op, a, imm as i64 as u64);
                        assert_eq!(got, want, "{w:?} {op:?} {d}={a:#x} imm={imm}");
                    }
                }
            }
        }
    }
}

#[test]
fn divisions_keep_other_registers() {
    // r0 (rax) and r3 (rdx) survive a division whose dst is neither.
    for op in [AluOp::Div, AluOp::Mod, AluOp::SDiv, AluOp::SMod] {
        for w in [Width::W64, Width::W32] {
            let v = vec![
                lddw(Reg::R0, 0xaaaa),
                lddw(Reg::R3, 0xbbbb),
                lddw(Reg::R4, 0xcccc),
                lddw(Reg::R1, 1000),
                lddw(Reg::R2, 7),
                Insn::Alu { width: w, op, dst: Reg::R1, src: Src::Reg(Reg::R2) },
                Insn::Alu { width: w, op: AluOp::Lsh, dst: Reg::R1, src: Src::Reg(Reg::R2) },
                alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R3)),
                alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R4)),
                alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R1)),
                EXIT,
            ];
            let r1 = alu_ref(w, op, 1000, 7) << 7;
            assert_eq!(run(v), 0xaaaa + 0xbbbb + 0xcccc + r1, "{op:?} {w:?}");
        }
    }
}

#[test]
fn neg_movsx_endian() {
    let cases: Vec<(Vec<Insn>, u64)> = vec![
        (vec![lddw(Reg::R0, 5), Insn::Neg { width: Width::W64, dst: Reg::R0 }], (-5i64) as u64),
        (
            vec![lddw(Reg::R0, 0xffff_ffff_0000_0005), Insn::Neg { width: Width::W32, dst: Reg::R0 }],
            0xffff_fffb,
        ),
        (
            vec![
                lddw(Reg::R1, 0x80),
                Insn::MovSx { width: Width::W64, dst: Reg::R0, src: Reg::R1, from_bits: 8 },
            ],
            u64::MAX - 0x7f,
        ),
        (
            vec![
                lddw(Reg::R6, 0x8000),
                Insn::MovSx { width: Width::W64, dst: Reg::R0, src: Reg::R6, from_bits: 16 },
            ],
            0xffff_ffff_ffff_8000,
        ),
        (
            vec![
                lddw(Reg::R2, 0x8000_0000),
                Insn::MovSx { width: Width::W64, dst: Reg::R0, src: Reg::R2, from_bits: 32 },
            ],
            0xffff_ffff_8000_0000,
        ),
        (
            vec![
                lddw(Reg::R1, 0xff),
                Insn::MovSx { width: Width::W32, dst: Reg::R0, src: Reg::R1, from_bits: 8 },
            ],
            0xffff_ffff,
        ),
        (
            vec![
                lddw(Reg::R2, 0x1_8000),
                Insn::MovSx { width: Width::W32, dst: Reg::R0, src: Reg::R2, from_bits: 16 },
            ],
            0xffff_8000,
        ),
        // sil / dil byte registers need a REX prefix.
        (
            vec![
                lddw(Reg::R2, 0x7f),
                Insn::MovSx { width: Width::W64, dst: Reg::R0, src: Reg::R2, from_bits: 8 },
            ],
            0x7f,
        ),
        (
            vec![
                lddw(Reg::R1, 0x1ff),
                Insn::MovSx { width: Width::W64, dst: Reg::R0, src: Reg::R1, from_bits: 8 },
            ],
            u64::MAX,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::ToLe, bits: 16, dst: Reg::R0 },
            ],
            0x7788,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::ToLe, bits: 32, dst: Reg::R0 },
            ],
            0x55667788,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::ToLe, bits: 64, dst: Reg::R0 },
            ],
            0x1122334455667788,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::ToBe, bits: 16, dst: Reg::R0 },
            ],
            0x8877,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::ToBe, bits: 32, dst: Reg::R0 },
            ],
            0x88776655,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::ToBe, bits: 64, dst: Reg::R0 },
            ],
            0x8877665544332211,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::Swap, bits: 16, dst: Reg::R0 },
            ],
            0x8877,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::Swap, bits: 32, dst: Reg::R0 },
            ],
            0x88776655,
        ),
        (
            vec![
                lddw(Reg::R0, 0x1122334455667788),
                Insn::Endian { order: ByteOrder::Swap, bits: 64, dst: Reg::R0 },
            ],
            0x8877665544332211,
        ),
    ];
    for (mut v, want) in cases {
        v.push(EXIT);
        let text = format!("{v:?}");
        assert_eq!(run(v), want, "{text}");
    }
    // Every BPF register through bswap16 (ror on the 16-bit register).
    for r in [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6, Reg::R7, Reg::R8, Reg::R9] {
        let v = vec![
            lddw(r, 0xffff_0000_0000_1234),
            Insn::Endian { order: ByteOrder::Swap, bits: 16, dst: r },
            movr(Reg::R0, r),
            EXIT,
        ];
        assert_eq!(run(v), 0x3412, "{r}");
    }
}

#[test]
fn jumps_match_the_condition_model() {
    let vals =
        [0u64, 1, 2, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, u64::MAX, 0x8000_0000_0000_0000];
    for w in [Width::W64, Width::W32] {
        for cond in JmpCond::ALL {
            for a in vals {
                for b in vals {
                    let j = Insn::Jmp { width: w, cond, dst: Reg::R1, src: Src::Reg(Reg::R2), off: 2 };
                    let v = vec![
                        lddw(Reg::R1, a),
                        lddw(Reg::R2, b),
                        j,
                        mov(Reg::R0, 0),
                        EXIT,
                        mov(Reg::R0, 1),
                        EXIT,
                    ];
                    assert_eq!(run(v), cond.eval(w, a, b) as u64, "{w:?} {cond:?} {a:#x} {b:#x}");
                }
                for imm in [0i32, 1, -1, 2, i32::MIN, i32::MAX, 0x100] {
                    let j = Insn::Jmp { width: w, cond, dst: Reg::R1, src: Src::Imm(imm), off: 2 };
                    let v = vec![lddw(Reg::R1, a), j, mov(Reg::R0, 0), EXIT, mov(Reg::R0, 1), EXIT];
                    let b = imm as i64 as u64;
                    assert_eq!(run(v), cond.eval(w, a, b) as u64, "{w:?} {cond:?} {a:#x} imm {imm}");
                }
            }
        }
    }
}
