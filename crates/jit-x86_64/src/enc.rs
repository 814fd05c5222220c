//! A small x86_64 encoder for register-only instructions with run-time register numbers.
//!
//! dynasm encodes dynamic registers conservatively (a REX prefix on every 32-bit operation, a
//! SIB byte and 32-bit displacement on every memory operand); the forms here emit what a static
//! assembler would, keeping the hot code small. Jumps, calls and labels stay with dynasm.

use dynasmrt::DynasmApi;

use crate::abi::Ops;

/// Two-operand integer operations with register and immediate forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    Add,
    Or,
    And,
    Sub,
    Xor,
    Cmp,
    Mov,
    Test,
    Imul,
}

impl Bin {
    /// `op r/m, r` opcode (for Imul: `imul r, r/m`).
    fn rr_opcode(self) -> u8 {
        match self {
            Bin::Add => 0x01,
            Bin::Or => 0x09,
            Bin::And => 0x21,
            Bin::Sub => 0x29,
            Bin::Xor => 0x31,
            Bin::Cmp => 0x39,
            Bin::Mov => 0x89,
            Bin::Test => 0x85,
            Bin::Imul => 0xaf,
        }
    }

    /// `/ext` of the 0x81/0x83 immediate group.
    fn group1(self) -> Option<u8> {
        Some(match self {
            Bin::Add => 0,
            Bin::Or => 1,
            Bin::And => 4,
            Bin::Sub => 5,
            Bin::Xor => 6,
            Bin::Cmp => 7,
            _ => return None,
        })
    }
}

/// Shift `/ext` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

fn modrm(reg: u8, rm: u8) -> u8 {
    0xc0 | ((reg & 7) << 3) | (rm & 7)
}

/// REX prefix when needed: 64-bit operand, an extended register, or (for byte operands)
/// registers 4..7, which mean spl/bpl/sil/dil only with a REX prefix.
fn rex(ops: &mut Ops, w: bool, reg: u8, rm: u8, byte_rm: bool) {
    let r = 0x40 | (u8::from(w) << 3) | ((reg >> 3) << 2) | (rm >> 3);
    if r != 0x40 || (byte_rm && (4..8).contains(&rm)) {
        ops.push(r);
    }
}

/// `op dst, src` on 64- or 32-bit registers.
pub fn rr(ops: &mut Ops, w: bool, op: Bin, dst: u8, src: u8) {
    if op == Bin::Imul {
        rex(ops, w, dst, src, false);
        ops.extend([0x0f, 0xaf, modrm(dst, src)]);
    } else {
        rex(ops, w, src, dst, false);
        ops.extend([op.rr_opcode(), modrm(src, dst)]);
    }
}

/// `op dst, imm` (sign-extended imm32; the imm8 form when it fits). Not for `Mov`.
pub fn ri(ops: &mut Ops, w: bool, op: Bin, dst: u8, imm: i32) {
    let short = i8::try_from(imm).ok();
    match (op, op.group1()) {
        (_, Some(ext)) => {
            rex(ops, w, 0, dst, false);
            match short {
                Some(b) => ops.extend([0x83, modrm(ext, dst), b as u8]),
                None => {
                    ops.extend([0x81, modrm(ext, dst)]);
                    ops.push_i32(imm);
                }
            }
        }
        (Bin::Test, _) => {
            rex(ops, w, 0, dst, false);
            ops.extend([0xf7, modrm(0, dst)]);
            ops.push_i32(imm);
        }
        _ => {
            // imul dst, dst, imm
            rex(ops, w, dst, dst, false);
            match short {
                Some(b) => ops.extend([0x6b, modrm(dst, dst), b as u8]),
                None => {
                    ops.extend([0x69, modrm(dst, dst)]);
                    ops.push_i32(imm);
                }
            }
        }
    }
}

/// `mov dst32, imm32` (zero-extends).
pub fn mov_u32(ops: &mut Ops, dst: u8, imm: u32) {
    rex(ops, false, 0, dst, false);
    ops.push(0xb8 + (dst & 7));
    ops.push_u32(imm);
}

/// `mov dst64, simm32`.
pub fn mov_s32(ops: &mut Ops, dst: u8, imm: i32) {
    rex(ops, true, 0, dst, false);
    ops.extend([0xc7, modrm(0, dst)]);
    ops.push_i32(imm);
}

/// `mov dst64, imm64` (movabs).
pub fn movabs(ops: &mut Ops, dst: u8, imm: i64) {
    rex(ops, true, 0, dst, false);
    ops.push(0xb8 + (dst & 7));
    ops.push_i64(imm);
}

/// `shl/shr/sar dst, n`.
pub fn shift_imm(ops: &mut Ops, w: bool, sh: Shift, dst: u8, n: u8) {
    rex(ops, w, 0, dst, false);
    // by one: the shorter `D1 /r` form (the kernel JIT's too)
    if n == 1 {
        ops.extend([0xd1, modrm(sh as u8, dst)]);
    } else {
        ops.extend([0xc1, modrm(sh as u8, dst), n]);
    }
}

/// `shl/shr/sar dst, cl`.
pub fn shift_cl(ops: &mut Ops, w: bool, sh: Shift, dst: u8) {
    rex(ops, w, 0, dst, false);
    ops.extend([0xd3, modrm(sh as u8, dst)]);
}

/// `neg dst`.
pub fn neg(ops: &mut Ops, w: bool, dst: u8) {
    rex(ops, w, 0, dst, false);
    ops.extend([0xf7, modrm(3, dst)]);
}

/// `bswap dst`.
pub fn bswap(ops: &mut Ops, w: bool, dst: u8) {
    rex(ops, w, 0, dst, false);
    ops.extend([0x0f, 0xc8 + (dst & 7)]);
}

/// `ror dst16, 8` (swaps the two low bytes).
pub fn ror16_8(ops: &mut Ops, dst: u8) {
    ops.push(0x66);
    rex(ops, false, 0, dst, false);
    ops.extend([0xc1, modrm(1, dst), 8]);
}

/// `movzx dst32, src16`.
pub fn movzx16(ops: &mut Ops, dst: u8, src: u8) {
    rex(ops, false, dst, src, false);
    ops.extend([0x0f, 0xb7, modrm(dst, src)]);
}

/// `movsx dst, src8/src16` and `movsxd dst64, src32`.
pub fn movsx(ops: &mut Ops, w: bool, bits: u8, dst: u8, src: u8) {
    match bits {
        8 => {
            rex(ops, w, dst, src, true);
            ops.extend([0x0f, 0xbe, modrm(dst, src)]);
        }
        16 => {
            rex(ops, w, dst, src, false);
            ops.extend([0x0f, 0xbf, modrm(dst, src)]);
        }
        _ => {
            rex(ops, true, dst, src, false);
            ops.extend([0x63, modrm(dst, src)]);
        }
    }
}

/// `push r64` / `pop r64`.
pub fn push(ops: &mut Ops, r: u8) {
    rex(ops, false, 0, r, false);
    ops.push(0x50 + (r & 7));
}

/// `pop r64`.
pub fn pop(ops: &mut Ops, r: u8) {
    rex(ops, false, 0, r, false);
    ops.push(0x58 + (r & 7));
}
