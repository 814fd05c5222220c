//! Shared test helpers: a proptest strategy for valid instructions and the syntaxes to test.

#![allow(dead_code)]

use kbpf_isa::disasm::Syntax;
use kbpf_isa::{
    AluOp, AtomicOp, ByteOrder, CallTarget, Insn, JmpCond, LdImm64Src, Reg, Size, Src, Width, decode_insn,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Every printer configuration.
pub const SYNTAXES: [Syntax; 3] = [Syntax::Kernel, Syntax::Llvm { hex: false }, Syntax::Llvm { hex: true }];

/// Whether the instruction survives encode and decode unchanged (what the decoder accepts).
pub fn decodable(insn: &Insn) -> bool {
    let slots = insn.encode();
    decode_insn(slots[0], slots.get(1).copied()).as_ref() == Ok(insn)
}

fn reg() -> impl Strategy<Value = Reg> {
    select(Reg::GENERAL.to_vec())
}

/// Registers including r11, for the memory forms that may use it.
fn base_reg() -> impl Strategy<Value = Reg> {
    prop_oneof![4 => reg(), 1 => Just(Reg::R11)]
}

fn width() -> impl Strategy<Value = Width> {
    select(vec![Width::W32, Width::W64])
}

fn size() -> impl Strategy<Value = Size> {
    select(vec![Size::B, Size::H, Size::W, Size::DW])
}

fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![any::<i32>(), -16i32..16, select(vec![i32::MIN, i32::MAX, -1, 0])]
}

fn off() -> impl Strategy<Value = i16> {
    prop_oneof![any::<i16>(), -16i16..16, (-8i16..8).prop_map(|k| k * 8), select(vec![i16::MIN, i16::MAX])]
}

fn src() -> impl Strategy<Value = Src> {
    prop_oneof![reg().prop_map(Src::Reg), imm().prop_map(Src::Imm)]
}

fn ld_src() -> impl Strategy<Value = LdImm64Src> {
    (0u8..7).prop_map(|n| LdImm64Src::from_u8(n).expect("0..7 are all sources"))
}

fn call_target() -> impl Strategy<Value = CallTarget> {
    prop_oneof![
        prop_oneof![0i32..220, imm()].prop_map(CallTarget::Helper),
        imm().prop_map(CallTarget::Local),
        (imm(), prop_oneof![Just(0i16), any::<i16>()])
            .prop_map(|(btf_id, off)| CallTarget::Kfunc { btf_id, off }),
    ]
}

/// Arbitrary instructions the decoder accepts: every variant, field values biased to edges.
pub fn insn() -> impl Strategy<Value = Insn> {
    prop_oneof![
        (width(), select(AluOp::ALL.to_vec()), reg(), src()).prop_map(|(width, op, dst, src)| Insn::Alu {
            width,
            op,
            dst,
            src
        }),
        (width(), reg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        (width(), reg(), reg(), select(vec![8u8, 16, 32]))
            .prop_map(|(width, dst, src, from_bits)| Insn::MovSx { width, dst, src, from_bits }),
        (reg(), reg(), any::<u16>(), any::<u16>())
            .prop_map(|(dst, src, dst_as, src_as)| Insn::AddrSpaceCast { dst, src, dst_as, src_as }),
        (select(vec![ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]), select(vec![16u8, 32, 64]), reg())
            .prop_map(|(order, bits, dst)| Insn::Endian { order, bits, dst }),
        off().prop_map(|off| Insn::Ja { off }),
        imm().prop_map(|imm| Insn::Gotol { imm }),
        off().prop_map(|off| Insn::MayGoto { off }),
        (width(), select(JmpCond::ALL.to_vec()), reg(), src(), off())
            .prop_map(|(width, cond, dst, src, off)| { Insn::Jmp { width, cond, dst, src, off } }),
        call_target().prop_map(Insn::Call),
        reg().prop_map(|reg| Insn::Callx { reg }),
        Just(Insn::Exit),
        (reg(), ld_src(), imm(), prop_oneof![Just(0), imm()])
            .prop_map(|(dst, src, imm, imm_hi)| Insn::LdImm64 { dst, src, imm, imm_hi }),
        (size(), any::<bool>(), reg(), base_reg(), off())
            .prop_map(|(size, signed, dst, src, off)| Insn::Load { size, signed, dst, src, off }),
        (size(), base_reg(), off(), src()).prop_map(|(size, dst, off, src)| Insn::Store {
            size,
            dst,
            off,
            src
        }),
        (size(), select(AtomicOp::ALL.to_vec()), reg(), reg(), off())
            .prop_map(|(size, op, dst, src, off)| { Insn::Atomic { size, op, dst, src, off } }),
        (size(), imm()).prop_map(|(size, imm)| Insn::LdAbs { size, imm }),
        (size(), reg(), imm()).prop_map(|(size, src, imm)| Insn::LdInd { size, src, imm }),
    ]
    .prop_filter("decodable", decodable)
}

/// Whether `format_insn` (no opcode prefix) in kernel syntax is ambiguous for this instruction:
/// the kernel prints a plain `ld_imm64` as `r1 = 0x5`, which reads back as a `mov` (or, above
/// 32 bits, is rejected); the `(18)` prefix disambiguates.
pub fn kernel_text_needs_code(insn: &Insn) -> bool {
    matches!(insn, Insn::LdImm64 { src: LdImm64Src::Imm, .. })
}

/// Redirects every branch and local call to an instruction start inside the program (chosen by
/// the random offset), so that random bodies form valid programs.
pub fn fit_targets(body: Vec<Insn>) -> Vec<Insn> {
    let mut starts = Vec::new();
    let mut pc = 0i64;
    for i in &body {
        starts.push(pc);
        pc += i.slots() as i64;
    }
    let pick = |k: i64| starts[k.rem_euclid(starts.len() as i64) as usize];
    body.iter()
        .zip(&starts)
        .map(|(i, &pc)| {
            let rel = |k: i64| pick(k) - pc - 1;
            match *i {
                Insn::Ja { off } => Insn::Ja { off: rel(off as i64) as i16 },
                Insn::MayGoto { off } => Insn::MayGoto { off: rel(off as i64) as i16 },
                Insn::Jmp { width, cond, dst, src, off } => {
                    Insn::Jmp { width, cond, dst, src, off: rel(off as i64) as i16 }
                }
                Insn::Gotol { imm } => Insn::Gotol { imm: rel(imm as i64) as i32 },
                Insn::Call(CallTarget::Local(r)) => Insn::Call(CallTarget::Local(rel(r as i64) as i32)),
                Insn::LdImm64 { dst, src: LdImm64Src::Func, imm, imm_hi } => {
                    Insn::LdImm64 { dst, src: LdImm64Src::Func, imm: rel(imm as i64) as i32, imm_hi }
                }
                other => other,
            }
        })
        .collect()
}
