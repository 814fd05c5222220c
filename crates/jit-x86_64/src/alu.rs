//! ALU, ALU64, neg, movsx and byte swaps.
//!
//! 32-bit forms write the 32-bit register, which zero-extends on x86. Division and modulo never
//! trap: a zero divisor and `INT_MIN / -1` are branched around (BPF semantics: `x / 0 = 0`,
//! `x % 0 = x`, `INT_MIN / -1 = INT_MIN`, `INT_MIN % -1 = 0`). Variable shifts need their count
//! in cl, and cl is BPF r4, so r4 is parked in the scratch register around the shift.

use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};
use kbpf_isa::{AluOp, ByteOrder, Src, Width};

use crate::abi::Ops;
use crate::regs::{AUX, TMP, native::*};

/// `$mn dst, src` on 64- or 32-bit registers.
macro_rules! rr {
    ($ops:expr, $w64:expr, $mn:ident, $d:expr, $s:expr) => {
        if $w64 {
            dynasm!($ops ; .arch x64 ; $mn Rq($d), Rq($s))
        } else {
            dynasm!($ops ; .arch x64 ; $mn Rd($d), Rd($s))
        }
    };
}

/// `$mn dst, imm` with the short imm8 form when it fits.
macro_rules! ri {
    ($ops:expr, $w64:expr, $mn:ident, $d:expr, $imm:expr) => {{
        let imm: i32 = $imm;
        match ($w64, i8::try_from(imm)) {
            (true, Ok(b)) => dynasm!($ops ; .arch x64 ; $mn Rq($d), BYTE b as _),
            (true, Err(_)) => dynasm!($ops ; .arch x64 ; $mn Rq($d), DWORD imm),
            (false, Ok(b)) => dynasm!($ops ; .arch x64 ; $mn Rd($d), BYTE b as _),
            (false, Err(_)) => dynasm!($ops ; .arch x64 ; $mn Rd($d), DWORD imm),
        }
    }};
}

pub(crate) use {ri, rr};

/// `mov dst32, dst32`: clears the upper half.
pub fn zext32(ops: &mut Ops, d: u8) {
    dynasm!(ops ; .arch x64 ; mov Rd(d), Rd(d));
}

/// Loads a sign-extended 32-bit immediate into a 64-bit register, shortest form.
pub fn mov_imm64(ops: &mut Ops, d: u8, imm: i64) {
    if imm == 0 {
        dynasm!(ops ; .arch x64 ; xor Rd(d), Rd(d));
    } else if let Ok(u) = u32::try_from(imm) {
        dynasm!(ops ; .arch x64 ; mov Rd(d), DWORD u as i32);
    } else if let Ok(i) = i32::try_from(imm) {
        dynasm!(ops ; .arch x64 ; mov Rq(d), DWORD i);
    } else {
        dynasm!(ops ; .arch x64 ; mov Rq(d), QWORD imm);
    }
}

/// `dst op= src` for every binary operation.
pub fn alu(ops: &mut Ops, width: Width, op: AluOp, d: u8, src: Src, s: u8) {
    let w = width == Width::W64;
    match (op, src) {
        (AluOp::Mov, Src::Reg(_)) => {
            if d != s || !w {
                rr!(ops, w, mov, d, s);
            }
        }
        (AluOp::Mov, Src::Imm(i)) => {
            if w {
                mov_imm64(ops, d, i as i64);
            } else {
                mov_imm64(ops, d, i as u32 as i64);
            }
        }
        (AluOp::Add, Src::Reg(_)) => rr!(ops, w, add, d, s),
        (AluOp::Sub, Src::Reg(_)) => rr!(ops, w, sub, d, s),
        (AluOp::And, Src::Reg(_)) => rr!(ops, w, and, d, s),
        (AluOp::Or, Src::Reg(_)) => rr!(ops, w, or, d, s),
        (AluOp::Xor, Src::Reg(_)) => rr!(ops, w, xor, d, s),
        (AluOp::Mul, Src::Reg(_)) => rr!(ops, w, imul, d, s),
        (AluOp::Add | AluOp::Sub | AluOp::Or | AluOp::Xor, Src::Imm(0)) => {
            if !w {
                zext32(ops, d);
            }
        }
        (AluOp::Add, Src::Imm(i)) => ri!(ops, w, add, d, i),
        (AluOp::Sub, Src::Imm(i)) => ri!(ops, w, sub, d, i),
        (AluOp::And, Src::Imm(i)) => ri!(ops, w, and, d, i),
        (AluOp::Or, Src::Imm(i)) => ri!(ops, w, or, d, i),
        (AluOp::Xor, Src::Imm(i)) => ri!(ops, w, xor, d, i),
        (AluOp::Mul, Src::Imm(i)) => match (w, i8::try_from(i)) {
            (true, Ok(b)) => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(d), BYTE b as _),
            (true, Err(_)) => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(d), DWORD i),
            (false, Ok(b)) => dynasm!(ops ; .arch x64 ; imul Rd(d), Rd(d), BYTE b as _),
            (false, Err(_)) => dynasm!(ops ; .arch x64 ; imul Rd(d), Rd(d), DWORD i),
        },
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
    match (op, w) {
        (AluOp::Lsh, true) => dynasm!(ops ; .arch x64 ; shl Rq(d), n),
        (AluOp::Lsh, false) => dynasm!(ops ; .arch x64 ; shl Rd(d), n),
        (AluOp::Rsh, true) => dynasm!(ops ; .arch x64 ; shr Rq(d), n),
        (AluOp::Rsh, false) => dynasm!(ops ; .arch x64 ; shr Rd(d), n),
        (_, true) => dynasm!(ops ; .arch x64 ; sar Rq(d), n),
        (_, false) => dynasm!(ops ; .arch x64 ; sar Rd(d), n),
    }
}

/// Shift by cl; the hardware masks the count to 5 or 6 bits, exactly BPF's masking.
fn shift_cl(ops: &mut Ops, w: bool, op: AluOp, d: u8) {
    match (op, w) {
        (AluOp::Lsh, true) => dynasm!(ops ; .arch x64 ; shl Rq(d), cl),
        (AluOp::Lsh, false) => dynasm!(ops ; .arch x64 ; shl Rd(d), cl),
        (AluOp::Rsh, true) => dynasm!(ops ; .arch x64 ; shr Rq(d), cl),
        (AluOp::Rsh, false) => dynasm!(ops ; .arch x64 ; shr Rd(d), cl),
        (_, true) => dynasm!(ops ; .arch x64 ; sar Rq(d), cl),
        (_, false) => dynasm!(ops ; .arch x64 ; sar Rd(d), cl),
    }
}

fn shift_reg(ops: &mut Ops, w: bool, op: AluOp, d: u8, s: u8) {
    if s == RCX {
        shift_cl(ops, w, op, d);
        return;
    }
    // Park r4 (rcx) in TMP, put the count in cl.
    dynasm!(ops ; .arch x64 ; mov Rq(TMP), rcx ; mov ecx, Rd(s));
    if d == RCX {
        // The value being shifted is r4 itself, now in TMP: shift it there, then it is the result.
        shift_cl(ops, w, op, TMP);
        dynasm!(ops ; .arch x64 ; mov rcx, Rq(TMP));
    } else {
        shift_cl(ops, w, op, d);
        dynasm!(ops ; .arch x64 ; mov rcx, Rq(TMP));
    }
}

/// Result of a division by zero: `div` gives 0, `mod` leaves dst (zero-extended when 32-bit).
fn by_zero(ops: &mut Ops, w: bool, op: AluOp, d: u8) {
    match op {
        AluOp::Div | AluOp::SDiv => dynasm!(ops ; .arch x64 ; xor Rd(d), Rd(d)),
        _ if !w => zext32(ops, d),
        _ => {}
    }
}

/// Result of a signed division by -1: `sdiv` negates (wrapping, so INT_MIN stays), `smod` is 0.
fn by_minus_one(ops: &mut Ops, w: bool, op: AluOp, d: u8) {
    match (op, w) {
        (AluOp::SDiv, true) => dynasm!(ops ; .arch x64 ; neg Rq(d)),
        (AluOp::SDiv, false) => dynasm!(ops ; .arch x64 ; neg Rd(d)),
        _ => dynasm!(ops ; .arch x64 ; xor Rd(d), Rd(d)),
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
            rr!(ops, w, mov, TMP, s);
            rr!(ops, w, test, TMP, TMP);
            dynasm!(ops ; .arch x64 ; jnz >nonzero);
            by_zero(ops, w, op, d);
            dynasm!(ops ; .arch x64 ; jmp =>done ; nonzero:);
            if signed {
                ri!(ops, w, cmp, TMP, -1);
                dynasm!(ops ; .arch x64 ; jne =>core);
                by_minus_one(ops, w, op, d);
                dynasm!(ops ; .arch x64 ; jmp =>done);
            }
            dynasm!(ops ; .arch x64 ; =>core);
        }
    }
    // Divisor in TMP, non-zero, and not -1 when signed. rax and rdx are r0 and r3: keep them.
    if d != RAX {
        dynasm!(ops ; .arch x64 ; mov Rq(AUX), rax ; mov Rq(RAX), Rq(d));
    }
    if d != RDX {
        dynasm!(ops ; .arch x64 ; push rdx);
    }
    match (signed, w) {
        (false, true) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div Rq(TMP)),
        (false, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div Rd(TMP)),
        (true, true) => dynasm!(ops ; .arch x64 ; cqo ; idiv Rq(TMP)),
        (true, false) => dynasm!(ops ; .arch x64 ; cdq ; idiv Rd(TMP)),
    }
    let result = if matches!(op, AluOp::Div | AluOp::SDiv) { RAX } else { RDX };
    // 32-bit results are zero-extended by the 32-bit mov.
    rr!(ops, w, mov, TMP, result);
    if d != RDX {
        dynasm!(ops ; .arch x64 ; pop rdx);
    }
    if d != RAX {
        dynasm!(ops ; .arch x64 ; mov rax, Rq(AUX));
    }
    dynasm!(ops ; .arch x64 ; mov Rq(d), Rq(TMP) ; =>done);
}

/// `dst = -dst`.
pub fn neg(ops: &mut Ops, width: Width, d: u8) {
    match width {
        Width::W64 => dynasm!(ops ; .arch x64 ; neg Rq(d)),
        Width::W32 => dynasm!(ops ; .arch x64 ; neg Rd(d)),
    }
}

/// `dst = (sN)src`.
pub fn movsx(ops: &mut Ops, width: Width, d: u8, s: u8, bits: u8) {
    match (width, bits) {
        (Width::W64, 8) => dynasm!(ops ; .arch x64 ; movsx Rq(d), Rb(s)),
        (Width::W64, 16) => dynasm!(ops ; .arch x64 ; movsx Rq(d), Rw(s)),
        (Width::W64, _) => dynasm!(ops ; .arch x64 ; movsxd Rq(d), Rd(s)),
        (Width::W32, 8) => dynasm!(ops ; .arch x64 ; movsx Rd(d), Rb(s)),
        (Width::W32, _) => dynasm!(ops ; .arch x64 ; movsx Rd(d), Rw(s)),
    }
}

/// Byte-order conversion of `dst` to `bits`.
pub fn endian(ops: &mut Ops, order: ByteOrder, bits: u8, d: u8) {
    match (order, bits) {
        (ByteOrder::ToLe, 16) => dynasm!(ops ; .arch x64 ; movzx Rd(d), Rw(d)),
        (ByteOrder::ToLe, 32) => zext32(ops, d),
        (ByteOrder::ToLe, _) => {}
        (_, 16) => dynasm!(ops ; .arch x64 ; ror Rw(d), 8 ; movzx Rd(d), Rw(d)),
        (_, 32) => dynasm!(ops ; .arch x64 ; bswap Rd(d)),
        (_, _) => dynasm!(ops ; .arch x64 ; bswap Rq(d)),
    }
}
