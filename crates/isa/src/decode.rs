//! Raw slots to [`Insn`]: opcode table, register range and reserved-field checks.

use crate::error::{DecodeError, DecodeErrorKind as E};
use crate::insn::{CallTarget, Insn, RawInsn, Src};
use crate::opcode::bits::*;
use crate::opcode::{AluOp, AtomicOp, ByteOrder, Class, JmpCond, LdImm64Src, Mode, Size, Width};
use crate::reg::Reg;
use crate::stack_arg::StackArgPos;

type Res<T> = Result<T, E>;

fn reg(n: u8) -> Res<Reg> {
    match n {
        0..=10 => Ok(Reg::GENERAL[n as usize]),
        _ => Err(E::InvalidReg(n)),
    }
}

fn reserved(ok: bool, what: &'static str) -> Res<()> {
    if ok { Ok(()) } else { Err(E::ReservedFields(what)) }
}

#[inline]
pub(crate) fn alu_op(code: u8, signed: bool) -> Option<AluOp> {
    Some(match (code & 0xf0, signed) {
        (0x00, false) => AluOp::Add,
        (0x10, false) => AluOp::Sub,
        (0x20, false) => AluOp::Mul,
        (0x30, false) => AluOp::Div,
        (0x30, true) => AluOp::SDiv,
        (0x40, false) => AluOp::Or,
        (0x50, false) => AluOp::And,
        (0x60, false) => AluOp::Lsh,
        (0x70, false) => AluOp::Rsh,
        (0x90, false) => AluOp::Mod,
        (0x90, true) => AluOp::SMod,
        (0xa0, false) => AluOp::Xor,
        (0xb0, false) => AluOp::Mov,
        (0xc0, false) => AluOp::Arsh,
        _ => return None,
    })
}

/// Decodes one slot. `next` is the following slot, needed by `LdImm64`.
///
/// Checks happen in the kernel's order: the opcode table, then each family's reserved fields
/// (read where the kernel's walk reads them, before it looks at any register), then register
/// numbers.
pub fn decode_insn(raw: RawInsn, next: Option<RawInsn>) -> Result<Insn, E> {
    let code = raw.code;
    match Class::of(code) {
        Class::Alu | Class::Alu64 => decode_alu(raw),
        Class::Jmp | Class::Jmp32 => decode_jmp(raw),
        Class::Ld => decode_ld(raw, next),
        Class::Ldx => decode_ldx(raw),
        Class::St => decode_st(raw),
        Class::Stx => decode_stx(raw),
    }
}

fn decode_alu(raw: RawInsn) -> Res<Insn> {
    let code = raw.code;
    let width = if Class::of(code) == Class::Alu64 { Width::W64 } else { Width::W32 };
    let x = code & BPF_X != 0;
    let op = code & 0xf0;
    if matches!(op, 0xe0 | 0xf0) || (op == ALU_END && width == Width::W64 && x) {
        return Err(E::UnknownOpcode(code));
    }
    // reserved fields before register numbers, as `check_alu_op` reads them
    match op {
        ALU_NEG => {
            reserved(!x && raw.src == 0 && raw.off == 0 && raw.imm == 0, "NEG")?;
            Ok(Insn::Neg { width, dst: reg(raw.dst)? })
        }
        ALU_END => {
            reserved(raw.src == 0 && raw.off == 0 && matches!(raw.imm, 16 | 32 | 64), "END")?;
            let order = match (width, x) {
                (Width::W64, _) => ByteOrder::Swap,
                (Width::W32, false) => ByteOrder::ToLe,
                (Width::W32, true) => ByteOrder::ToBe,
            };
            Ok(Insn::Endian { order, bits: raw.imm as u8, dst: reg(raw.dst)? })
        }
        0xb0 => decode_mov(raw, width, x),
        _ => {
            let divmod = matches!(op, 0x30 | 0x90);
            let off_ok = raw.off == 0 || (divmod && raw.off == 1);
            let src = if x {
                reserved(raw.imm == 0 && off_ok, "ALU")?;
                Src::Reg(reg(raw.src)?)
            } else {
                reserved(raw.src == 0 && off_ok, "ALU")?;
                Src::Imm(raw.imm)
            };
            let dst = reg(raw.dst)?;
            let op = alu_op(code, raw.off == 1).ok_or(E::UnknownOpcode(code))?;
            Ok(Insn::Alu { width, op, dst, src })
        }
    }
}

fn decode_mov(raw: RawInsn, width: Width, x: bool) -> Res<Insn> {
    if !x {
        reserved(raw.src == 0 && raw.off == 0, "MOV")?;
        return Ok(Insn::Alu { width, op: AluOp::Mov, dst: reg(raw.dst)?, src: Src::Imm(raw.imm) });
    }
    let sx = matches!((width, raw.off), (_, 0 | 8 | 16) | (Width::W64, 32));
    let asc = width == Width::W64 && raw.off == 1;
    reserved(asc || (sx && raw.imm == 0), "MOV")?;
    let src = reg(raw.src)?;
    let dst = reg(raw.dst)?;
    Ok(match raw.off {
        0 => Insn::Alu { width, op: AluOp::Mov, dst, src: Src::Reg(src) },
        1 => Insn::AddrSpaceCast {
            dst,
            src,
            dst_as: (raw.imm as u32 >> 16) as u16,
            src_as: raw.imm as u32 as u16,
        },
        _ => Insn::MovSx { width, dst, src, from_bits: raw.off as u8 },
    })
}

fn decode_jmp(raw: RawInsn) -> Res<Insn> {
    let code = raw.code;
    let jmp64 = Class::of(code) == Class::Jmp;
    let width = if jmp64 { Width::W64 } else { Width::W32 };
    let x = code & BPF_X != 0;
    let op = code & 0xf0;
    match op {
        JMP_JA => {
            if x {
                return Err(E::UnknownOpcode(code));
            }
            if jmp64 {
                reserved(raw.src == 0 && raw.dst == 0 && raw.imm == 0, "JA")?;
                Ok(Insn::Ja { off: raw.off })
            } else {
                reserved(raw.src == 0 && raw.dst == 0 && raw.off == 0, "JA")?;
                Ok(Insn::Gotol { imm: raw.imm })
            }
        }
        JMP_CALL if jmp64 => {
            if x {
                let r = reg(raw.dst)?;
                reserved(raw.src == 0 && raw.off == 0 && raw.imm == 0, "CALL")?;
                return Ok(Insn::Callx { reg: r });
            }
            reserved(raw.dst == 0, "CALL")?;
            match raw.src {
                0 => {
                    reserved(raw.off == 0, "CALL")?;
                    Ok(Insn::Call(CallTarget::Helper(raw.imm)))
                }
                1 => {
                    reserved(raw.off == 0, "CALL")?;
                    Ok(Insn::Call(CallTarget::Local(raw.imm)))
                }
                2 => Ok(Insn::Call(CallTarget::Kfunc { btf_id: raw.imm, off: raw.off })),
                _ => Err(E::ReservedFields("CALL")),
            }
        }
        JMP_EXIT if jmp64 => {
            if x {
                return Err(E::UnknownOpcode(code));
            }
            reserved(raw.src == 0 && raw.dst == 0 && raw.off == 0 && raw.imm == 0, "EXIT")?;
            Ok(Insn::Exit)
        }
        JMP_JCOND if jmp64 => {
            if x {
                return Err(E::UnknownOpcode(code));
            }
            if raw.src != 0 || raw.dst != 0 || raw.imm != 0 {
                return Err(E::InvalidMayGoto(raw.imm));
            }
            Ok(Insn::MayGoto { off: raw.off })
        }
        _ => {
            let cond = JmpCond::from_code(op).ok_or(E::UnknownOpcode(code))?;
            let dst = reg(raw.dst)?;
            let src = if x {
                reserved(raw.imm == 0, "JMP/JMP32")?;
                Src::Reg(reg(raw.src)?)
            } else {
                reserved(raw.src == 0, "JMP/JMP32")?;
                Src::Imm(raw.imm)
            };
            Ok(Insn::Jmp { width, cond, dst, src, off: raw.off })
        }
    }
}

fn decode_ld(raw: RawInsn, next: Option<RawInsn>) -> Res<Insn> {
    let code = raw.code;
    let size = Size::of(code);
    match Mode::of(code) {
        Some(Mode::Imm) if size == Size::DW => {
            let Some(n) = next else {
                return Err(E::InvalidLdImm64);
            };
            if n.code != 0 || n.dst != 0 || n.src != 0 || n.off != 0 {
                return Err(E::InvalidLdImm64);
            }
            let src = LdImm64Src::from_u8(raw.src).ok_or(E::UnrecognizedLdImm64)?;
            // the first slot's offset is checked by the walk (`check_ld_imm`), after the pair
            reserved(raw.off == 0, "LD_IMM64")?;
            let dst = reg(raw.dst)?;
            Ok(Insn::LdImm64 { dst, src, imm: raw.imm, imm_hi: n.imm })
        }
        Some(Mode::Abs) if size != Size::DW => {
            reserved(raw.dst == 0 && raw.src == 0 && raw.off == 0, "LD_[ABS|IND]")?;
            Ok(Insn::LdAbs { size, imm: raw.imm })
        }
        Some(Mode::Ind) if size != Size::DW => {
            reserved(raw.dst == 0 && raw.off == 0, "LD_[ABS|IND]")?;
            Ok(Insn::LdInd { size, src: reg(raw.src)?, imm: raw.imm })
        }
        _ => Err(E::UnknownOpcode(code)),
    }
}

fn decode_ldx(raw: RawInsn) -> Res<Insn> {
    let code = raw.code;
    let size = Size::of(code);
    let signed = match Mode::of(code) {
        Some(Mode::Mem) => false,
        Some(Mode::MemSx) if size != Size::DW => true,
        _ => return Err(E::UnknownOpcode(code)),
    };
    let dst = reg(raw.dst)?;
    // r11 is legal only as the base of an 8-byte incoming stack-argument load.
    let pos = if raw.is_stack_arg_load() { StackArgPos::from_load_off(raw.off) } else { None };
    let src = if pos.is_some() { Reg::R11 } else { reg(raw.src)? };
    reserved(raw.imm == 0, "LDX")?;
    Ok(match pos {
        Some(pos) => Insn::StackArgLoad { dst, pos },
        None => Insn::Load { size, signed, dst, src, off: raw.off },
    })
}

/// The position of an outgoing stack-argument store, or the base register of any other store.
fn store_base(raw: RawInsn) -> Res<Result<StackArgPos, Reg>> {
    match StackArgPos::from_store_off(raw.off).filter(|_| raw.is_stack_arg_store()) {
        Some(pos) => Ok(Ok(pos)),
        None => reg(raw.dst).map(Err),
    }
}

/// A store to `base` of `src`: the stack-argument form or a plain store.
fn store(size: Size, base: Result<StackArgPos, Reg>, off: i16, src: Src) -> Insn {
    match base {
        Ok(pos) => Insn::StackArgStore { pos, src },
        Err(dst) => Insn::Store { size, dst, off, src },
    }
}

fn decode_st(raw: RawInsn) -> Res<Insn> {
    let code = raw.code;
    let size = Size::of(code);
    if Mode::of(code) != Some(Mode::Mem) {
        return Err(E::UnknownOpcode(code));
    }
    reserved(raw.src == 0, "ST")?;
    let base = store_base(raw)?;
    Ok(store(size, base, raw.off, Src::Imm(raw.imm)))
}

fn decode_stx(raw: RawInsn) -> Res<Insn> {
    let code = raw.code;
    let size = Size::of(code);
    match Mode::of(code) {
        Some(Mode::Mem) => {
            reserved(raw.imm == 0, "STX")?;
            let base = store_base(raw)?;
            let src = reg(raw.src)?;
            Ok(store(size, base, raw.off, Src::Reg(src)))
        }
        Some(Mode::Atomic) => {
            let dst = reg(raw.dst)?;
            let src = reg(raw.src)?;
            let op = AtomicOp::from_imm(raw.imm).ok_or(E::InvalidAtomic(raw.imm))?;
            if !matches!(size, Size::W | Size::DW) && !op.allows_narrow() {
                return Err(E::UnknownOpcode(code));
            }
            Ok(Insn::Atomic { size, op, dst, src, off: raw.off })
        }
        _ => Err(E::UnknownOpcode(code)),
    }
}

/// Decodes a whole slot sequence into instructions, without control-flow checks.
pub fn decode_slots(slots: &[RawInsn]) -> Result<Vec<Insn>, DecodeError> {
    let mut out = Vec::with_capacity(slots.len());
    let mut i = 0;
    while i < slots.len() {
        let insn = decode_insn(slots[i], slots.get(i + 1).copied())
            .map_err(|kind| DecodeError { index: i, kind })?;
        i += insn.slots();
        out.push(insn);
    }
    Ok(out)
}
