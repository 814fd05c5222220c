//! The kernel's field-level reading of one raw slot, for the passes that (like the kernel's
//! `add_subprogs`, `check_cfg` and `compute_live_registers`) run over slots before anything
//! has rejected them: a slot with junk in a reserved field still has a class, a jump offset and
//! registers, and the kernel only complains about the junk when its walk reaches the slot.
//!
//! Every bit pattern of the opcode byte is read here and in the decoder, nowhere else; callers
//! get the enums of [`crate::opcode`]. [`SlotTable`] pairs each slot with its strict decoding.

use crate::decode::{alu_op, decode_insn};
use crate::error::DecodeErrorKind;
use crate::insn::{Insn, RawInsn};
use crate::opcode::bits::{ALU_END, ALU_NEG, BPF_X, JMP_CALL, JMP_EXIT, JMP_JA, JMP_JCOND};
use crate::opcode::{AluOp, AtomicOp, Class, JmpCond, LdImm64Src, Mode, Size, Width};
use crate::reg::Reg;
use crate::stack_arg::StackArgPos;

/// The operation of a JMP/JMP32-class opcode, read without checking any other field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JmpOp {
    /// `ja` (JMP) or `gotol` (JMP32).
    Ja,
    /// `call` (any source kind; JMP32 and `BPF_X` included: the walk rejects those).
    Call,
    /// `exit`.
    Exit,
    /// `BPF_JCOND` (`may_goto` when the source field is 0).
    Jcond,
    /// A conditional jump.
    Cond(JmpCond),
    /// Operation code 0xf0, in no table.
    Unknown,
}

/// The operation of an ALU/ALU64-class opcode, read without checking any other field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluCode {
    /// A binary operation (mov included; `off` 1 selects sdiv/smod).
    Bin(AluOp),
    /// `neg`.
    Neg,
    /// `BPF_END`: byte swap.
    End,
    /// Operation codes 0xe0 and 0xf0 (the operation nibble as printed, `e0`).
    Unknown(u8),
}

impl AluCode {
    /// The kernel's `bpf_alu_string` for the operation (`/=` for sdiv too, `neg`, `endian`),
    /// as its pointer-arithmetic messages print it.
    pub fn kernel_text(self) -> &'static str {
        match self {
            AluCode::Bin(AluOp::SDiv) => "/=",
            AluCode::Bin(AluOp::SMod) => "%=",
            AluCode::Bin(op) => op.operator(),
            AluCode::Neg => "neg",
            AluCode::End => "endian",
            AluCode::Unknown(_) => "?",
        }
    }
}

/// The kind of a `call` slot, by its source field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `src_reg` 0.
    Helper,
    /// `BPF_PSEUDO_CALL`.
    Local,
    /// `BPF_PSEUDO_KFUNC_CALL`.
    Kfunc,
    /// Any other source value (the walk rejects it).
    Other,
}

impl RawInsn {
    /// Instruction class.
    #[inline]
    pub fn class(self) -> Class {
        Class::of(self.code)
    }

    /// Access size of a load/store-class opcode.
    #[inline]
    pub fn size(self) -> Size {
        Size::of(self.code)
    }

    /// Addressing mode of a load/store-class opcode (`None` for the reserved modes).
    #[inline]
    pub fn mode(self) -> Option<Mode> {
        Mode::of(self.code)
    }

    /// Whether the `BPF_X` bit is set (register source; `be` for `BPF_END`).
    #[inline]
    pub fn is_reg_src(self) -> bool {
        self.code & BPF_X != 0
    }

    /// 32- or 64-bit, for ALU and JMP classes (ALU and JMP32 are 32-bit).
    #[inline]
    pub fn width(self) -> Width {
        match self.class() {
            Class::Alu64 | Class::Jmp => Width::W64,
            _ => Width::W32,
        }
    }

    /// Operation of a JMP/JMP32-class slot; `None` for other classes.
    #[inline]
    pub fn jmp_op(self) -> Option<JmpOp> {
        if !matches!(self.class(), Class::Jmp | Class::Jmp32) {
            return None;
        }
        Some(match self.code & 0xf0 {
            JMP_JA => JmpOp::Ja,
            JMP_CALL => JmpOp::Call,
            JMP_EXIT => JmpOp::Exit,
            JMP_JCOND => JmpOp::Jcond,
            op => JmpCond::from_code(op).map_or(JmpOp::Unknown, JmpOp::Cond),
        })
    }

    /// Operation of an ALU/ALU64-class slot; `None` for other classes.
    #[inline]
    pub fn alu_code(self) -> Option<AluCode> {
        if !matches!(self.class(), Class::Alu | Class::Alu64) {
            return None;
        }
        Some(match self.code & 0xf0 {
            ALU_NEG => AluCode::Neg,
            ALU_END => AluCode::End,
            // `off` 1 selects sdiv/smod; on other operations the walk rejects it as reserved
            op => alu_op(self.code, self.off == 1)
                .or_else(|| alu_op(self.code, false))
                .map_or(AluCode::Unknown(op), AluCode::Bin),
        })
    }

    /// The atomic operation named by `imm` in a `BPF_STX | BPF_ATOMIC` slot.
    #[inline]
    pub fn atomic_op(self) -> Option<AtomicOp> {
        (self.class() == Class::Stx && self.mode() == Some(Mode::Atomic))
            .then(|| AtomicOp::from_imm(self.imm))
            .flatten()
    }

    /// Whether an atomic's `imm` carries `BPF_FETCH` (the old value is written to `src`), read
    /// without checking that the operation exists.
    #[inline]
    pub fn has_fetch_flag(self) -> bool {
        self.imm & 0x01 != 0
    }

    /// First slot of an `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`), whatever its fields.
    #[inline]
    pub fn is_ldimm64(self) -> bool {
        self.class() == Class::Ld && self.mode() == Some(Mode::Imm) && self.size() == Size::DW
    }

    /// A well-formed second slot of an `ld_imm64`: opcode, registers and offset all zero (only
    /// `imm` carries data).
    #[inline]
    pub fn is_ldimm64_tail(self) -> bool {
        self.code == 0 && self.dst == 0 && self.src == 0 && self.off == 0
    }

    /// `LD_ABS` or `LD_IND` (the legacy packet loads).
    #[inline]
    pub fn is_ld_abs_ind(self) -> bool {
        self.class() == Class::Ld && matches!(self.mode(), Some(Mode::Abs | Mode::Ind))
    }

    /// The kind of a `BPF_JMP | BPF_CALL | BPF_K` slot, `None` for any other opcode.
    #[inline]
    pub fn call_kind(self) -> Option<CallKind> {
        (self.class() == Class::Jmp && self.jmp_op() == Some(JmpOp::Call) && !self.is_reg_src()).then_some(
            match self.src {
                0 => CallKind::Helper,
                1 => CallKind::Local,
                2 => CallKind::Kfunc,
                _ => CallKind::Other,
            },
        )
    }

    /// A helper call to `id`.
    #[inline]
    pub fn is_helper_call_to(self, id: i32) -> bool {
        self.call_kind() == Some(CallKind::Helper) && self.imm == id
    }

    /// The same load or store with access size `size` (class and mode kept): how CO-RE
    /// relocations resize a field access.
    #[inline]
    pub fn with_size(self, size: Size) -> RawInsn {
        RawInsn { code: (self.code & !0x18) | size as u8, ..self }
    }

    /// An `ld_imm64` of a subprogram address (`BPF_PSEUDO_FUNC`).
    #[inline]
    pub fn is_pseudo_func(self) -> bool {
        self.is_ldimm64() && self.src == LdImm64Src::Func as u8
    }

    /// `may_goto` (`BPF_JMP | BPF_JCOND | BPF_K`, source 0).
    #[inline]
    pub fn is_may_goto(self) -> bool {
        self.class() == Class::Jmp
            && self.jmp_op() == Some(JmpOp::Jcond)
            && !self.is_reg_src()
            && self.src == 0
    }

    /// `exit`, `ja` or `gotol`: the opcodes that may end a subprogram.
    #[inline]
    pub fn is_exit_or_ja(self) -> bool {
        !self.is_reg_src()
            && match self.jmp_op() {
                Some(JmpOp::Exit) => self.class() == Class::Jmp,
                Some(JmpOp::Ja) => true,
                _ => false,
            }
    }

    /// Slots the instruction starting here occupies (2 for `ld_imm64`).
    #[inline]
    pub fn slot_len(self) -> usize {
        if self.is_ldimm64() { 2 } else { 1 }
    }

    /// Jump displacement of a JMP-class slot (`imm` for `gotol`, `off` otherwise).
    #[inline]
    pub fn jmp_offset(self) -> i64 {
        if self.class() == Class::Jmp32 && self.jmp_op() == Some(JmpOp::Ja) {
            self.imm as i64
        } else {
            self.off as i64
        }
    }

    /// Whether the opcode byte is in the kernel's instruction table (`bpf_opcode_in_insntable`,
    /// measured against Linux 6.18): the only opcode check made before the walk.
    #[inline]
    pub fn in_insn_table(self) -> bool {
        let x = self.is_reg_src();
        match self.class() {
            Class::Alu | Class::Alu64 => match self.code & 0xf0 {
                ALU_NEG => !x,
                ALU_END => self.class() == Class::Alu || !x, // be/le for ALU, bswap for ALU64
                0xe0 | 0xf0 => false,
                _ => true,
            },
            Class::Jmp | Class::Jmp32 => match self.jmp_op() {
                Some(JmpOp::Ja) => !x,
                Some(JmpOp::Call | JmpOp::Exit | JmpOp::Jcond) => self.class() == Class::Jmp && !x,
                Some(JmpOp::Unknown) | None => false,
                Some(JmpOp::Cond(_)) => true,
            },
            Class::Ld => match self.mode() {
                Some(Mode::Imm) => self.size() == Size::DW,
                Some(Mode::Abs | Mode::Ind) => self.size() != Size::DW,
                _ => false,
            },
            Class::Ldx => match self.mode() {
                Some(Mode::Mem) => true,
                Some(Mode::MemSx) => self.size() != Size::DW,
                _ => false,
            },
            Class::St => self.mode() == Some(Mode::Mem),
            Class::Stx => matches!(self.mode(), Some(Mode::Mem | Mode::Atomic)),
        }
    }

    /// `*(u64 *)(r11 - 8k) = src`: an outgoing stack-argument store (`ST` or `STX`), kbpf's
    /// recogniser (stack-args.md §2.1: `BPF_MEM | BPF_DW`, offset a negative multiple of 8).
    #[inline]
    pub fn is_stack_arg_store(self) -> bool {
        matches!(self.class(), Class::St | Class::Stx)
            && self.mode() == Some(Mode::Mem)
            && self.size() == Size::DW
            && self.dst == Reg::PARAMS.num()
            && StackArgPos::from_store_off(self.off).is_some()
    }

    /// `dst = *(u64 *)(r11 + 8k)`: an incoming stack-argument load.
    #[inline]
    pub fn is_stack_arg_load(self) -> bool {
        self.class() == Class::Ldx
            && self.mode() == Some(Mode::Mem)
            && self.size() == Size::DW
            && self.src == Reg::PARAMS.num()
            && StackArgPos::from_load_off(self.off).is_some()
    }
}

/// One slot of a program as the decoder reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A well-formed instruction starts here.
    Insn(Insn),
    /// The second half of the `ld_imm64` in the slot before.
    Tail,
    /// The decoder refuses the slot; the verifier raises this when its walk reaches it (the
    /// kernel checks registers and reserved fields there, not at load time).
    Malformed(DecodeErrorKind),
}

/// The slot as the kernel's walk reads it: a field no check of the kernel reads is cleared
/// (an `exit`'s offset: `do_check_insn` checks the exit's source, immediate and registers,
/// not its offset), so the strict decoder accepts what the kernel accepts while byte-exact
/// decoding (`decode_insn`, `Program::from_bytes`) keeps refusing the junk.
fn kernel_reading(raw: RawInsn) -> RawInsn {
    if raw.class() == Class::Jmp && raw.jmp_op() == Some(JmpOp::Exit) {
        RawInsn { off: 0, ..raw }
    } else {
        raw
    }
}

/// A program decoded once: every raw slot beside its decoding as the kernel's walk reads it
/// ([`kernel_reading`] then the strict decoder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotTable<'a> {
    raw: &'a [RawInsn],
    decoded: Vec<Decoded>,
}

impl<'a> SlotTable<'a> {
    /// Decodes every slot. A malformed slot is recorded, not fatal; the slot after a malformed
    /// `ld_imm64` is decoded on its own, as the kernel's walk would reach it.
    pub fn new(slots: &'a [RawInsn]) -> SlotTable<'a> {
        let mut decoded = Vec::with_capacity(slots.len());
        let mut i = 0;
        while i < slots.len() {
            match decode_insn(kernel_reading(slots[i]), slots.get(i + 1).copied()) {
                Ok(insn) => {
                    decoded.push(Decoded::Insn(insn));
                    if insn.slots() == 2 {
                        decoded.push(Decoded::Tail);
                    }
                    i += insn.slots();
                }
                Err(e) => {
                    decoded.push(Decoded::Malformed(e));
                    i += 1;
                }
            }
        }
        SlotTable { raw: slots, decoded }
    }

    /// The raw slots.
    pub fn raw(&self) -> &'a [RawInsn] {
        self.raw
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether there are no slots.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The decoding of slot `pc`.
    pub fn get(&self, pc: usize) -> Option<&Decoded> {
        self.decoded.get(pc)
    }

    /// The instruction starting at slot `pc`, or why there is none.
    pub fn insn(&self, pc: usize) -> Result<Insn, DecodeErrorKind> {
        match self.decoded.get(pc) {
            Some(Decoded::Insn(i)) => Ok(*i),
            Some(Decoded::Malformed(e)) => Err(e.clone()),
            Some(Decoded::Tail) | None => Err(DecodeErrorKind::UnknownOpcode(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The valid set observed on Linux 6.18 (LDX-class codes other than the seven loads are
    /// reported earlier as reserved-field errors, so they do not appear here).
    const OBSERVED: &str = "04 05 06 07 0c 0f 14 15 16 17 18 1c 1d 1e 1f 20 24 25 26 27 28 2c 2d 2e 2f 30 34 35 36 37 \
        3c 3d 3e 3f 40 44 45 46 47 48 4c 4d 4e 4f 50 54 55 56 57 5c 5d 5e 5f 61 62 63 64 65 66 67 69 6a 6b 6c 6d 6e 6f \
        71 72 73 74 75 76 77 79 7a 7b 7c 7d 7e 7f 81 84 85 87 89 91 94 95 97 9c 9f a4 a5 a6 a7 ac ad ae af b4 b5 \
        b6 b7 bc bd be bf c3 c4 c5 c6 c7 cb cc cd ce cf d3 d4 d5 d6 d7 db dc dd de e5";

    #[test]
    fn table_matches_kernel_sweep() {
        let want: Vec<u8> = OBSERVED.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
        for code in 0..=255u8 {
            let raw = RawInsn::new(code, 0, 0, 0, 0);
            assert_eq!(raw.in_insn_table(), want.contains(&code), "opcode {code:02x}");
        }
    }

    #[test]
    fn recognisers() {
        let r = RawInsn::new;
        assert!(r(0x7a, 11, 0, -8, 6).is_stack_arg_store());
        assert!(r(0x7b, 11, 1, -56, 0).is_stack_arg_store());
        assert!(r(0x79, 0, 11, 8, 0).is_stack_arg_load());
        assert!(!r(0x7a, 11, 0, 8, 6).is_stack_arg_store());
        assert!(!r(0x7b, 11, 1, -4, 0).is_stack_arg_store());
        assert!(!r(0x63, 11, 1, -8, 0).is_stack_arg_store());
        assert!(!r(0x79, 0, 11, -8, 0).is_stack_arg_load());
        assert_eq!(r(0x06, 0, 0, 5, -3).jmp_offset(), -3);
        assert_eq!(r(0x05, 0, 0, 5, -3).jmp_offset(), 5);
        assert_eq!(r(0x3f, 1, 2, 1, 0).alu_code(), Some(AluCode::Bin(AluOp::SDiv)));
        assert_eq!(r(0x2f, 1, 2, 1, 0).alu_code(), Some(AluCode::Bin(AluOp::Mul)));
        assert_eq!(r(0x85, 0, 2, 0, 7).call_kind(), Some(CallKind::Kfunc));
        assert_eq!(r(0x8d, 0, 0, 0, 7).call_kind(), None);
    }

    #[test]
    fn table_keeps_malformed_slots() {
        let r = RawInsn::new;
        let slots = [r(0x18, 1, 0, 0, 1), r(0, 0, 0, 0, 2), r(0xb7, 0, 3, 0, 0), r(0x95, 0, 0, 0, 0)];
        let t = SlotTable::new(&slots);
        assert!(matches!(t.get(0), Some(Decoded::Insn(Insn::LdImm64 { .. }))));
        assert_eq!(t.get(1), Some(&Decoded::Tail));
        assert_eq!(t.get(2), Some(&Decoded::Malformed(DecodeErrorKind::ReservedFields("MOV"))));
        assert_eq!(t.insn(3), Ok(Insn::Exit));
    }

    #[test]
    fn table_reads_an_exit_offset_as_the_kernel_does() {
        let r = RawInsn::new;
        let slots = [r(0xb7, 0, 0, 0, 0), r(0x95, 0, 0, 7, 0), r(0x95, 1, 0, 7, 0)];
        let t = SlotTable::new(&slots);
        assert_eq!(t.insn(1), Ok(Insn::Exit));
        assert_eq!(t.get(2), Some(&Decoded::Malformed(DecodeErrorKind::ReservedFields("EXIT"))));
        // the byte-exact decoder still refuses the offset: decoding then encoding is exact
        assert!(decode_insn(slots[1], None).is_err());
    }
}
