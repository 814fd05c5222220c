//! Loads, stores, stack arguments and atomics.
//!
//! x86 is TSO, so load-acquire and store-release are plain moves. Read-modify-write atomics use
//! `lock`; the fetch forms of `or`/`and`/`xor` have no x86 instruction and become a
//! `lock cmpxchg` loop, which needs rax (BPF r0): r0 is parked in the scratch register.

use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};
use kbpf_isa::{AtomicOp, Size};

use crate::abi::Ops;
use crate::alu::zext32;
use crate::regs::{AUX, TMP, native::*};

/// `d = *(size *)(b + off)`, zero- or sign-extending.
pub fn load(ops: &mut Ops, size: Size, signed: bool, d: u8, b: u8, off: i32) {
    match (size, signed) {
        (Size::B, false) => dynasm!(ops ; .arch x64 ; movzx Rd(d), BYTE [Rq(b) + off]),
        (Size::H, false) => dynasm!(ops ; .arch x64 ; movzx Rd(d), WORD [Rq(b) + off]),
        (Size::W, false) => dynasm!(ops ; .arch x64 ; mov Rd(d), DWORD [Rq(b) + off]),
        (Size::DW, _) => dynasm!(ops ; .arch x64 ; mov Rq(d), QWORD [Rq(b) + off]),
        (Size::B, true) => dynasm!(ops ; .arch x64 ; movsx Rq(d), BYTE [Rq(b) + off]),
        (Size::H, true) => dynasm!(ops ; .arch x64 ; movsx Rq(d), WORD [Rq(b) + off]),
        (Size::W, true) => dynasm!(ops ; .arch x64 ; movsxd Rq(d), DWORD [Rq(b) + off]),
    }
}

/// `*(size *)(b + off) = s`.
pub fn store_reg(ops: &mut Ops, size: Size, b: u8, off: i32, s: u8) {
    match size {
        Size::B => dynasm!(ops ; .arch x64 ; mov BYTE [Rq(b) + off], Rb(s)),
        Size::H => dynasm!(ops ; .arch x64 ; mov WORD [Rq(b) + off], Rw(s)),
        Size::W => dynasm!(ops ; .arch x64 ; mov DWORD [Rq(b) + off], Rd(s)),
        Size::DW => dynasm!(ops ; .arch x64 ; mov QWORD [Rq(b) + off], Rq(s)),
    }
}

/// `*(size *)(b + off) = imm` (sign-extended to 64 bits for DW).
pub fn store_imm(ops: &mut Ops, size: Size, b: u8, off: i32, imm: i32) {
    match size {
        Size::B => dynasm!(ops ; .arch x64 ; mov BYTE [Rq(b) + off], imm as i8),
        Size::H => dynasm!(ops ; .arch x64 ; mov WORD [Rq(b) + off], imm as i16),
        Size::W => dynasm!(ops ; .arch x64 ; mov DWORD [Rq(b) + off], imm),
        Size::DW => dynasm!(ops ; .arch x64 ; mov QWORD [Rq(b) + off], imm),
    }
}

/// Atomic `op` on `*(size *)(b + off)` with value register `s` (for load-acquire: `s` is the
/// base and `b` the destination, following the instruction's fields).
pub fn atomic(ops: &mut Ops, size: Size, op: AtomicOp, b: u8, s: u8, off: i32) {
    let w = size == Size::DW;
    match op {
        AtomicOp::LoadAcquire => load(ops, size, false, b, s, off),
        AtomicOp::StoreRelease => store_reg(ops, size, b, off, s),
        AtomicOp::Add if w => dynasm!(ops ; .arch x64 ; lock add QWORD [Rq(b) + off], Rq(s)),
        AtomicOp::Add => dynasm!(ops ; .arch x64 ; lock add DWORD [Rq(b) + off], Rd(s)),
        AtomicOp::Or if w => dynasm!(ops ; .arch x64 ; lock or QWORD [Rq(b) + off], Rq(s)),
        AtomicOp::Or => dynasm!(ops ; .arch x64 ; lock or DWORD [Rq(b) + off], Rd(s)),
        AtomicOp::And if w => dynasm!(ops ; .arch x64 ; lock and QWORD [Rq(b) + off], Rq(s)),
        AtomicOp::And => dynasm!(ops ; .arch x64 ; lock and DWORD [Rq(b) + off], Rd(s)),
        AtomicOp::Xor if w => dynasm!(ops ; .arch x64 ; lock xor QWORD [Rq(b) + off], Rq(s)),
        AtomicOp::Xor => dynasm!(ops ; .arch x64 ; lock xor DWORD [Rq(b) + off], Rd(s)),
        // xadd and xchg write the old value into s; the 32-bit forms zero-extend it.
        AtomicOp::FetchAdd if w => dynasm!(ops ; .arch x64 ; lock xadd QWORD [Rq(b) + off], Rq(s)),
        AtomicOp::FetchAdd => dynasm!(ops ; .arch x64 ; lock xadd DWORD [Rq(b) + off], Rd(s)),
        AtomicOp::Xchg if w => dynasm!(ops ; .arch x64 ; xchg QWORD [Rq(b) + off], Rq(s)),
        AtomicOp::Xchg => dynasm!(ops ; .arch x64 ; xchg DWORD [Rq(b) + off], Rd(s)),
        AtomicOp::Cmpxchg if w => dynasm!(ops ; .arch x64 ; lock cmpxchg QWORD [Rq(b) + off], Rq(s)),
        AtomicOp::Cmpxchg => {
            // On success the 32-bit form leaves rax's upper half alone; r0 must be zero-extended.
            dynasm!(ops ; .arch x64 ; lock cmpxchg DWORD [Rq(b) + off], Rd(s));
            zext32(ops, RAX);
        }
        AtomicOp::FetchOr | AtomicOp::FetchAnd | AtomicOp::FetchXor => fetch_loop(ops, w, op, b, s, off),
    }
}

/// `s = atomic_fetch_<op>(b + off, s)` with a cmpxchg loop.
fn fetch_loop(ops: &mut Ops, w: bool, op: AtomicOp, b: u8, s: u8, off: i32) {
    // AUX keeps r0; TMP holds the address; `t` (pushed) computes the new value. The operand is
    // read from AUX when it is r0 itself.
    let operand = if s == RAX { AUX } else { s };
    let t = [RCX, RDX, RBX, RSI].into_iter().find(|&r| r != s).unwrap_or(RDI);
    dynasm!(ops ; .arch x64
        ; mov Rq(AUX), rax
        ; lea Rq(TMP), [Rq(b) + off]
        ; push Rq(t)
    );
    if w {
        dynasm!(ops ; .arch x64 ; mov rax, QWORD [Rq(TMP)] ; again: ; mov Rq(t), rax);
        match op {
            AtomicOp::FetchOr => dynasm!(ops ; .arch x64 ; or Rq(t), Rq(operand)),
            AtomicOp::FetchAnd => dynasm!(ops ; .arch x64 ; and Rq(t), Rq(operand)),
            _ => dynasm!(ops ; .arch x64 ; xor Rq(t), Rq(operand)),
        }
        dynasm!(ops ; .arch x64 ; lock cmpxchg QWORD [Rq(TMP)], Rq(t) ; jne <again ; pop Rq(t) ; mov Rq(s), rax);
    } else {
        dynasm!(ops ; .arch x64 ; mov eax, DWORD [Rq(TMP)] ; again: ; mov Rd(t), eax);
        match op {
            AtomicOp::FetchOr => dynasm!(ops ; .arch x64 ; or Rd(t), Rd(operand)),
            AtomicOp::FetchAnd => dynasm!(ops ; .arch x64 ; and Rd(t), Rd(operand)),
            _ => dynasm!(ops ; .arch x64 ; xor Rd(t), Rd(operand)),
        }
        dynasm!(ops ; .arch x64 ; lock cmpxchg DWORD [Rq(TMP)], Rd(t) ; jne <again ; pop Rq(t) ; mov Rd(s), eax);
    }
    if s != RAX {
        dynasm!(ops ; .arch x64 ; mov rax, Rq(AUX));
    }
}
