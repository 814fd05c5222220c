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

/// One `reg, [base + disp]` instruction with the shortest addressing form (dynasm, not knowing
/// the base register statically, always emits a SIB byte and a 32-bit displacement).
/// `byte_reg` asks for a REX prefix so that registers 4..7 mean spl/bpl/sil/dil. `k`: the
/// kernel JIT's form, which always has a displacement (`emit_insn_suffix`).
#[allow(clippy::too_many_arguments)]
fn mem_op(
    ops: &mut Ops,
    k: bool,
    lock: bool,
    p66: bool,
    w: bool,
    byte_reg: bool,
    op: &[u8],
    reg: u8,
    base: u8,
    disp: i32,
) {
    let mut buf = [0u8; 16];
    let mut n = 0;
    let mut put = |b: u8| {
        buf[n] = b;
        n += 1;
    };
    if lock {
        put(0xf0);
    }
    if p66 {
        put(0x66);
    }
    let rex = 0x40 | (u8::from(w) << 3) | ((reg >> 3) << 2) | (base >> 3);
    if rex != 0x40 || (byte_reg && (4..8).contains(&reg)) {
        put(rex);
    }
    for &b in op {
        put(b);
    }
    let (md, disp_len) = if disp == 0 && base & 7 != RBP && !k {
        (0u8, 0)
    } else if i8::try_from(disp).is_ok() {
        (1, 1)
    } else {
        (2, 4)
    };
    put((md << 6) | ((reg & 7) << 3) | (base & 7));
    if base & 7 == RSP {
        put(0x24);
    }
    let d = disp.to_le_bytes();
    for &b in &d[..disp_len] {
        put(b);
    }
    ops.extend(buf[..n].iter().copied());
}

/// `d = *(size *)(b + off)`, zero- or sign-extending; `k`: the kernel JIT's encoding (its
/// byte and half-word loads zero-extend to 64 bits with REX.W).
pub fn load(ops: &mut Ops, k: bool, size: Size, signed: bool, d: u8, b: u8, off: i32) {
    match (size, signed) {
        (Size::B, false) => mem_op(ops, k, false, false, k, false, &[0x0f, 0xb6], d, b, off),
        (Size::H, false) => mem_op(ops, k, false, false, k, false, &[0x0f, 0xb7], d, b, off),
        (Size::W, false) => mem_op(ops, k, false, false, false, false, &[0x8b], d, b, off),
        (Size::DW, _) => mem_op(ops, k, false, false, true, false, &[0x8b], d, b, off),
        (Size::B, true) => mem_op(ops, k, false, false, true, false, &[0x0f, 0xbe], d, b, off),
        (Size::H, true) => mem_op(ops, k, false, false, true, false, &[0x0f, 0xbf], d, b, off),
        (Size::W, true) => mem_op(ops, k, false, false, true, false, &[0x63], d, b, off),
    }
}

/// `*(size *)(b + off) = s`.
pub fn store_reg(ops: &mut Ops, k: bool, size: Size, b: u8, off: i32, s: u8) {
    match size {
        Size::B => mem_op(ops, k, false, false, false, true, &[0x88], s, b, off),
        Size::H => mem_op(ops, k, false, true, false, false, &[0x89], s, b, off),
        Size::W => mem_op(ops, k, false, false, false, false, &[0x89], s, b, off),
        Size::DW => mem_op(ops, k, false, false, true, false, &[0x89], s, b, off),
    }
}

/// `*(size *)(b + off) = imm` (sign-extended to 64 bits for DW).
pub fn store_imm(ops: &mut Ops, k: bool, size: Size, b: u8, off: i32, imm: i32) {
    match size {
        Size::B => {
            mem_op(ops, k, false, false, false, false, &[0xc6], 0, b, off);
            ops.push_i8(imm as i8);
        }
        Size::H => {
            mem_op(ops, k, false, true, false, false, &[0xc7], 0, b, off);
            ops.push_i16(imm as i16);
        }
        Size::W | Size::DW => {
            mem_op(ops, k, false, false, size == Size::DW, false, &[0xc7], 0, b, off);
            ops.push_i32(imm);
        }
    }
}

/// Locked read-modify-write `op [b + off], s` (`lock add/or/and/xor/xadd/cmpxchg`, `xchg`).
fn rmw(ops: &mut Ops, lock: bool, w: bool, op: &[u8], b: u8, off: i32, s: u8) {
    mem_op(ops, false, lock, false, w, false, op, s, b, off);
}

/// Atomic `op` on `*(size *)(b + off)` with value register `s` (for load-acquire: `s` is the
/// base and `b` the destination, following the instruction's fields).
pub fn atomic(ops: &mut Ops, size: Size, op: AtomicOp, b: u8, s: u8, off: i32) {
    let w = size == Size::DW;
    match op {
        AtomicOp::LoadAcquire => load(ops, false, size, false, b, s, off),
        AtomicOp::StoreRelease => store_reg(ops, false, size, b, off, s),
        AtomicOp::Add => rmw(ops, true, w, &[0x01], b, off, s),
        AtomicOp::Or => rmw(ops, true, w, &[0x09], b, off, s),
        AtomicOp::And => rmw(ops, true, w, &[0x21], b, off, s),
        AtomicOp::Xor => rmw(ops, true, w, &[0x31], b, off, s),
        // xadd and xchg write the old value into s; the 32-bit forms zero-extend it.
        AtomicOp::FetchAdd => rmw(ops, true, w, &[0x0f, 0xc1], b, off, s),
        AtomicOp::Xchg => rmw(ops, false, w, &[0x87], b, off, s),
        AtomicOp::Cmpxchg if w => rmw(ops, true, w, &[0x0f, 0xb1], b, off, s),
        AtomicOp::Cmpxchg => {
            // On success the 32-bit form leaves rax's upper half alone; r0 must be zero-extended.
            rmw(ops, true, false, &[0x0f, 0xb1], b, off, s);
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
