//! ALU, ALU64, neg, movsx, byte swaps and 64-bit immediates.
//!
//! 32-bit operations run on `w` registers, whose writes zero-extend, which is exactly the BPF
//! rule. Division needs no guard: arm64 `udiv`/`sdiv` return 0 for a zero divisor and
//! `INT_MIN / -1 = INT_MIN` without trapping, and `msub` then gives `dst` for `mod 0` and 0 for
//! `INT_MIN % -1` -- the BPF results. Register shifts (`lslv` ...) take the amount modulo the
//! width, also the BPF rule; immediate shift amounts are masked here the same way.

use dynasmrt::{DynasmApi, dynasm};
use kbpf_isa::{AluOp, ByteOrder, LdImm64Src, Reg, Src, Width};

use super::{Emitter, R, a64};
use crate::imms::{AddSub, LogicalImm};
use crate::regs::{TMP2, TMP3, XReg};

impl Emitter<'_> {
    pub(super) fn alu(&mut self, width: Width, op: AluOp, dst: Reg, src: Src) -> R {
        let d = self.x(dst)?;
        let src_reg = match src {
            Src::Reg(s) => self.x(s)?,
            Src::Imm(imm) => match self.alu_imm(width, op, d, imm) {
                true => return Ok(()),
                // Materialise the immediate and use the register form.
                false => {
                    let value = imm_value(imm, width);
                    self.mov_imm(TMP2, value, width);
                    TMP2
                }
            },
        };
        self.alu_reg(width, op, d, src_reg);
        Ok(())
    }

    /// Register form: `d = d op s`.
    fn alu_reg(&mut self, width: Width, op: AluOp, d: XReg, s: XReg) {
        let t = TMP3;
        match width {
            Width::W64 => match op {
                AluOp::Add => a64!(self.ops ; add X(d), X(d), X(s)),
                AluOp::Sub => a64!(self.ops ; sub X(d), X(d), X(s)),
                AluOp::Mul => a64!(self.ops ; mul X(d), X(d), X(s)),
                AluOp::Div => a64!(self.ops ; udiv X(d), X(d), X(s)),
                AluOp::SDiv => a64!(self.ops ; sdiv X(d), X(d), X(s)),
                AluOp::Mod => a64!(self.ops ; udiv X(t), X(d), X(s) ; msub X(d), X(t), X(s), X(d)),
                AluOp::SMod => a64!(self.ops ; sdiv X(t), X(d), X(s) ; msub X(d), X(t), X(s), X(d)),
                AluOp::Or => a64!(self.ops ; orr X(d), X(d), X(s)),
                AluOp::And => a64!(self.ops ; and X(d), X(d), X(s)),
                AluOp::Xor => a64!(self.ops ; eor X(d), X(d), X(s)),
                AluOp::Lsh => a64!(self.ops ; lsl X(d), X(d), X(s)),
                AluOp::Rsh => a64!(self.ops ; lsr X(d), X(d), X(s)),
                AluOp::Arsh => a64!(self.ops ; asr X(d), X(d), X(s)),
                AluOp::Mov => a64!(self.ops ; mov X(d), X(s)),
            },
            Width::W32 => match op {
                AluOp::Add => a64!(self.ops ; add W(d), W(d), W(s)),
                AluOp::Sub => a64!(self.ops ; sub W(d), W(d), W(s)),
                AluOp::Mul => a64!(self.ops ; mul W(d), W(d), W(s)),
                AluOp::Div => a64!(self.ops ; udiv W(d), W(d), W(s)),
                AluOp::SDiv => a64!(self.ops ; sdiv W(d), W(d), W(s)),
                AluOp::Mod => a64!(self.ops ; udiv W(t), W(d), W(s) ; msub W(d), W(t), W(s), W(d)),
                AluOp::SMod => a64!(self.ops ; sdiv W(t), W(d), W(s) ; msub W(d), W(t), W(s), W(d)),
                AluOp::Or => a64!(self.ops ; orr W(d), W(d), W(s)),
                AluOp::And => a64!(self.ops ; and W(d), W(d), W(s)),
                AluOp::Xor => a64!(self.ops ; eor W(d), W(d), W(s)),
                AluOp::Lsh => a64!(self.ops ; lsl W(d), W(d), W(s)),
                AluOp::Rsh => a64!(self.ops ; lsr W(d), W(d), W(s)),
                AluOp::Arsh => a64!(self.ops ; asr W(d), W(d), W(s)),
                AluOp::Mov => a64!(self.ops ; mov W(d), W(s)),
            },
        }
    }

    /// Immediate forms that need no scratch register; false when the caller must materialise.
    fn alu_imm(&mut self, width: Width, op: AluOp, d: XReg, imm: i32) -> bool {
        let value = imm_value(imm, width);
        let bits = width.bits();
        match op {
            AluOp::Mov => self.mov_imm(d, value, width),
            AluOp::Add | AluOp::Sub => {
                let delta = if op == AluOp::Add { imm as i64 } else { -(imm as i64) };
                let Some(a) = AddSub::new(delta) else { return false };
                match (a, width) {
                    (AddSub::Add(i), Width::W64) if i.lsl12 => {
                        a64!(self.ops ; add XSP(d), XSP(d), #(i.imm12), lsl #12)
                    }
                    (AddSub::Add(i), Width::W64) => a64!(self.ops ; add XSP(d), XSP(d), #(i.imm12)),
                    (AddSub::Sub(i), Width::W64) if i.lsl12 => {
                        a64!(self.ops ; sub XSP(d), XSP(d), #(i.imm12), lsl #12)
                    }
                    (AddSub::Sub(i), Width::W64) => a64!(self.ops ; sub XSP(d), XSP(d), #(i.imm12)),
                    (AddSub::Add(i), Width::W32) if i.lsl12 => {
                        a64!(self.ops ; add WSP(d), WSP(d), #(i.imm12), lsl #12)
                    }
                    (AddSub::Add(i), Width::W32) => a64!(self.ops ; add WSP(d), WSP(d), #(i.imm12)),
                    (AddSub::Sub(i), Width::W32) if i.lsl12 => {
                        a64!(self.ops ; sub WSP(d), WSP(d), #(i.imm12), lsl #12)
                    }
                    (AddSub::Sub(i), Width::W32) => a64!(self.ops ; sub WSP(d), WSP(d), #(i.imm12)),
                }
            }
            AluOp::And | AluOp::Or | AluOp::Xor => {
                let Some(l) = LogicalImm::new(value, width) else { return false };
                match (op, width) {
                    (AluOp::And, Width::W64) => a64!(self.ops ; and XSP(d), X(d), #(l.value)),
                    (AluOp::Or, Width::W64) => a64!(self.ops ; orr XSP(d), X(d), #(l.value)),
                    (AluOp::Xor, Width::W64) => a64!(self.ops ; eor XSP(d), X(d), #(l.value)),
                    (AluOp::And, Width::W32) => a64!(self.ops ; and WSP(d), W(d), #(l.value as u32)),
                    (AluOp::Or, Width::W32) => a64!(self.ops ; orr WSP(d), W(d), #(l.value as u32)),
                    (_, Width::W32) => a64!(self.ops ; eor WSP(d), W(d), #(l.value as u32)),
                    (_, Width::W64) => unreachable!("op is And, Or or Xor"),
                }
            }
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                let sh = (imm as u32) & (bits - 1);
                match (op, width) {
                    (AluOp::Lsh, Width::W64) => a64!(self.ops ; lsl X(d), X(d), #sh),
                    (AluOp::Rsh, Width::W64) => a64!(self.ops ; lsr X(d), X(d), #sh),
                    (_, Width::W64) => a64!(self.ops ; asr X(d), X(d), #sh),
                    (AluOp::Lsh, Width::W32) => a64!(self.ops ; lsl W(d), W(d), #sh),
                    (AluOp::Rsh, Width::W32) => a64!(self.ops ; lsr W(d), W(d), #sh),
                    (_, Width::W32) => a64!(self.ops ; asr W(d), W(d), #sh),
                }
            }
            AluOp::Mul | AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => return false,
        }
        true
    }

    pub(super) fn neg(&mut self, width: Width, dst: Reg) -> R {
        let d = self.x(dst)?;
        match width {
            Width::W64 => a64!(self.ops ; neg X(d), X(d)),
            Width::W32 => a64!(self.ops ; neg W(d), W(d)),
        }
        Ok(())
    }

    pub(super) fn movsx(&mut self, width: Width, dst: Reg, src: Reg, from_bits: u8) -> R {
        let (d, s) = (self.x(dst)?, self.x(src)?);
        match (width, from_bits) {
            (Width::W64, 8) => a64!(self.ops ; sxtb X(d), W(s)),
            (Width::W64, 16) => a64!(self.ops ; sxth X(d), W(s)),
            (Width::W64, 32) => a64!(self.ops ; sxtw X(d), W(s)),
            (Width::W32, 8) => a64!(self.ops ; sxtb W(d), W(s)),
            (Width::W32, 16) => a64!(self.ops ; sxth W(d), W(s)),
            _ => return Err(self.unsupported("movsx with this width")),
        }
        Ok(())
    }

    pub(super) fn endian(&mut self, order: ByteOrder, bits: u8, dst: Reg) -> R {
        let d = self.x(dst)?;
        match (order, bits) {
            // Little-endian host: to-LE only truncates.
            (ByteOrder::ToLe, 16) => a64!(self.ops ; uxth W(d), W(d)),
            (ByteOrder::ToLe, 32) => a64!(self.ops ; mov W(d), W(d)),
            (ByteOrder::ToLe, 64) => {}
            (ByteOrder::ToBe | ByteOrder::Swap, 16) => a64!(self.ops ; rev16 W(d), W(d) ; uxth W(d), W(d)),
            (ByteOrder::ToBe | ByteOrder::Swap, 32) => a64!(self.ops ; rev W(d), W(d)),
            (ByteOrder::ToBe | ByteOrder::Swap, 64) => a64!(self.ops ; rev X(d), X(d)),
            _ => return Err(self.unsupported("byte swap of this width")),
        }
        Ok(())
    }

    pub(super) fn ld_imm64(&mut self, dst: Reg, src: LdImm64Src, imm: i32, imm_hi: i32) -> R {
        if src != LdImm64Src::Imm {
            return Err(self.unsupported("ld_imm64 with a pseudo source (maps, BTF ids, functions)"));
        }
        let d = self.x(dst)?;
        self.mov_imm(d, kbpf_isa::Insn::imm64(imm, imm_hi), Width::W64);
        Ok(())
    }
}

/// The operand value of an ALU immediate: sign-extended to 64 bits, or its low 32 bits.
fn imm_value(imm: i32, width: Width) -> u64 {
    match width {
        Width::W64 => imm as i64 as u64,
        Width::W32 => imm as u32 as u64,
    }
}
