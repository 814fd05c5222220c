//! ALU, ALU64, neg, movsx and byte swaps.
//!
//! 32-bit forms write the 32-bit register, which zero-extends on x86. Division and modulo never
//! trap: a zero divisor and `INT_MIN / -1` are branched around (BPF semantics: `x / 0 = 0`,
//! `x % 0 = x`, `INT_MIN / -1 = INT_MIN`, `INT_MIN % -1 = 0`). Variable shifts need their count
//! in cl, and cl is BPF r4, so r4 is parked in the scratch register around the shift.

use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};
use kbpf_isa::{AluOp, ByteOrder, Src, Width};

use crate::abi::Ops;
use crate::enc::{self, Bin, Shift};
use crate::regs::{AUX, TMP, native::*};

/// `mov dst32, dst32`: clears the upper half.
pub fn zext32(ops: &mut Ops, d: u8) {
    enc::rr(ops, false, Bin::Mov, d, d);
}

/// Loads a sign-extended 32-bit immediate into a 64-bit register, shortest form.
pub fn mov_imm64(ops: &mut Ops, d: u8, imm: i64) {
    if imm == 0 {
        enc::rr(ops, false, Bin::Xor, d, d);
    } else if let Ok(u) = u32::try_from(imm) {
        enc::mov_u32(ops, d, u);
    } else if let Ok(i) = i32::try_from(imm) {
        enc::mov_s32(ops, d, i);
    } else {
        enc::movabs(ops, d, imm);
    }
}

/// `dst op= src` for every binary operation.
pub fn alu(ops: &mut Ops, width: Width, op: AluOp, d: u8, src: Src, s: u8) {
    let w = width == Width::W64;
    match (op, src) {
        (AluOp::Mov, Src::Reg(_)) => {
            if d != s || !w {
                enc::rr(ops, w, Bin::Mov, d, s);
            }
        }
        (AluOp::Mov, Src::Imm(i)) => {
            if w {
                mov_imm64(ops, d, i as i64);
            } else {
                mov_imm64(ops, d, i as u32 as i64);
            }
        }
        (AluOp::Add, Src::Reg(_)) => enc::rr(ops, w, Bin::Add, d, s),
        (AluOp::Sub, Src::Reg(_)) => enc::rr(ops, w, Bin::Sub, d, s),
        (AluOp::And, Src::Reg(_)) => enc::rr(ops, w, Bin::And, d, s),
        (AluOp::Or, Src::Reg(_)) => enc::rr(ops, w, Bin::Or, d, s),
        (AluOp::Xor, Src::Reg(_)) => enc::rr(ops, w, Bin::Xor, d, s),
        (AluOp::Mul, Src::Reg(_)) => enc::rr(ops, w, Bin::Imul, d, s),
        (AluOp::Add | AluOp::Sub | AluOp::Or | AluOp::Xor, Src::Imm(0)) => {
            if !w {
                zext32(ops, d);
            }
        }
        (AluOp::Add, Src::Imm(i)) => enc::ri(ops, w, Bin::Add, d, i),
        (AluOp::Sub, Src::Imm(i)) => enc::ri(ops, w, Bin::Sub, d, i),
        (AluOp::And, Src::Imm(i)) => enc::ri(ops, w, Bin::And, d, i),
        (AluOp::Or, Src::Imm(i)) => enc::ri(ops, w, Bin::Or, d, i),
        (AluOp::Xor, Src::Imm(i)) => enc::ri(ops, w, Bin::Xor, d, i),
        // REX only where needed (dynasm's register operands always carry one)
        (AluOp::Mul, Src::Imm(i)) => enc::ri(ops, w, Bin::Imul, d, i),
        (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, Src::Imm(i)) => shift_imm(ops, w, op, d, i),
        (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, Src::Reg(_)) => shift_reg(ops, w, op, d, s),
        (AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod, _) => divmod(ops, w, op, d, src, s),
    }
}

fn shift_imm(ops: &mut Ops, w: bool, op: AluOp, d: u8, imm: i32) {
    let n = (imm as u32 & if w { 63 } else { 31 }) as i8;
    if n == 0 {
        if !w {
            zext32(ops, d);
        }
        return;
    }
    enc::shift_imm(ops, w, shift_kind(op), d, n as u8);
}

/// Shift by cl; the hardware masks the count to 5 or 6 bits, exactly BPF's masking.
fn shift_cl(ops: &mut Ops, w: bool, op: AluOp, d: u8) {
    enc::shift_cl(ops, w, shift_kind(op), d);
}

fn shift_kind(op: AluOp) -> Shift {
    match op {
        AluOp::Lsh => Shift::Shl,
        AluOp::Rsh => Shift::Shr,
        _ => Shift::Sar,
    }
}

fn shift_reg(ops: &mut Ops, w: bool, op: AluOp, d: u8, s: u8) {
    if s == RCX {
        shift_cl(ops, w, op, d);
        return;
    }
    // Park r4 (rcx) in TMP, put the count in cl.
    enc::rr(ops, true, Bin::Mov, TMP, RCX);
    enc::rr(ops, false, Bin::Mov, RCX, s);
    // When the value being shifted is r4 itself, it is now in TMP: shift it there, and it is
    // the result that goes back to rcx.
    shift_cl(ops, w, op, if d == RCX { TMP } else { d });
    enc::rr(ops, true, Bin::Mov, RCX, TMP);
}

/// Result of a division by zero: `div` gives 0, `mod` leaves dst (zero-extended when 32-bit).
fn by_zero(ops: &mut Ops, w: bool, op: AluOp, d: u8) {
    match op {
        AluOp::Div | AluOp::SDiv => enc::rr(ops, false, Bin::Xor, d, d),
        _ if !w => zext32(ops, d),
        _ => {}
    }
}

/// Result of a signed division by -1: `sdiv` negates (wrapping, so INT_MIN stays), `smod` is 0.
fn by_minus_one(ops: &mut Ops, w: bool, op: AluOp, d: u8) {
    match op {
        AluOp::SDiv => enc::neg(ops, w, d),
        _ => enc::rr(ops, false, Bin::Xor, d, d),
    }
}

fn divmod(ops: &mut Ops, w: bool, op: AluOp, d: u8, src: Src, s: u8) {
    let signed = matches!(op, AluOp::SDiv | AluOp::SMod);
    let done = ops.new_dynamic_label();
    match src {
        Src::Imm(0) => return by_zero(ops, w, op, d),
        Src::Imm(-1) if signed => return by_minus_one(ops, w, op, d),
        Src::Imm(i) => {
            if w {
                mov_imm64(ops, TMP, i as i64);
            } else {
                mov_imm64(ops, TMP, i as u32 as i64);
            }
        }
        Src::Reg(_) => {
            let core = ops.new_dynamic_label();
            enc::rr(ops, w, Bin::Mov, TMP, s);
            enc::rr(ops, w, Bin::Test, TMP, TMP);
            dynasm!(ops ; .arch x64 ; jnz >nonzero);
            by_zero(ops, w, op, d);
            dynasm!(ops ; .arch x64 ; jmp =>done ; nonzero:);
            if signed {
                enc::ri(ops, w, Bin::Cmp, TMP, -1);
                dynasm!(ops ; .arch x64 ; jne =>core);
                by_minus_one(ops, w, op, d);
                dynasm!(ops ; .arch x64 ; jmp =>done);
            }
            dynasm!(ops ; .arch x64 ; =>core);
        }
    }
    // Divisor in TMP, non-zero, and not -1 when signed. rax and rdx are r0 and r3: keep them.
    if d != RAX {
        enc::rr(ops, true, Bin::Mov, AUX, RAX);
        enc::rr(ops, true, Bin::Mov, RAX, d);
    }
    if d != RDX {
        enc::push(ops, RDX);
    }
    match (signed, w) {
        (false, true) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div Rq(TMP)),
        (false, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div Rd(TMP)),
        (true, true) => dynasm!(ops ; .arch x64 ; cqo ; idiv Rq(TMP)),
        (true, false) => dynasm!(ops ; .arch x64 ; cdq ; idiv Rd(TMP)),
    }
    let result = if matches!(op, AluOp::Div | AluOp::SDiv) { RAX } else { RDX };
    // 32-bit results are zero-extended by the 32-bit mov.
    enc::rr(ops, w, Bin::Mov, TMP, result);
    if d != RDX {
        enc::pop(ops, RDX);
    }
    if d != RAX {
        enc::rr(ops, true, Bin::Mov, RAX, AUX);
    }
    enc::rr(ops, true, Bin::Mov, d, TMP);
    dynasm!(ops ; .arch x64 ; =>done);
}

/// `dst = -dst`.
pub fn neg(ops: &mut Ops, width: Width, d: u8) {
    enc::neg(ops, width == Width::W64, d);
}

/// `dst = (sN)src`.
pub fn movsx(ops: &mut Ops, width: Width, d: u8, s: u8, bits: u8) {
    enc::movsx(ops, width == Width::W64, bits, d, s);
}

/// Byte-order conversion of `dst` to `bits`.
pub fn endian(ops: &mut Ops, order: ByteOrder, bits: u8, d: u8) {
    match (order, bits) {
        (ByteOrder::ToLe, 16) => enc::movzx16(ops, d, d),
        (ByteOrder::ToLe, 32) => zext32(ops, d),
        (ByteOrder::ToLe, _) => {}
        (_, 16) => {
            enc::ror16_8(ops, d);
            enc::movzx16(ops, d, d);
        }
        (_, 32) => enc::bswap(ops, false, d),
        (_, _) => enc::bswap(ops, true, d),
    }
}
