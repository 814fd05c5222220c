//! Scalar ALU transfer functions (`adjust_scalar_min_max_vals` and the `scalar*_min_max_*`
//! family): each operation updates the 32-bit and 64-bit ranges independently, then the tnum,
//! then zero-extends for ALU32 and re-syncs.

use crate::domain::state::RegState;
use crate::domain::width::{Bounds, Word};
use kbpf_isa::AluCode;
use kbpf_isa::AluOp as A;

/// Whether the result range can be computed (`is_safe_to_compute_dst_reg_range`).
pub fn safe_to_compute(op: AluCode, alu32: bool, src: &RegState) -> bool {
    let bits: u64 = if alu32 { 32 } else { 64 };
    let src_const = if alu32 { const_in::<u32>(src) } else { const_in::<u64>(src) };
    match op {
        AluCode::Bin(A::Add)
        | AluCode::Bin(A::Sub)
        | AluCode::Neg
        | AluCode::Bin(A::And)
        | AluCode::Bin(A::Xor)
        | AluCode::Bin(A::Or)
        | AluCode::Bin(A::Mul)
        | AluCode::End => true,
        AluCode::Bin(A::Lsh) | AluCode::Bin(A::Rsh) | AluCode::Bin(A::Arsh) => {
            src_const && src.b64.umax < bits
        }
        _ => false,
    }
}

/// The tnum and both ranges of this view are one value.
fn const_in<W: Word>(r: &RegState) -> bool {
    W::view(r.var_off).is_const() && W::get(r).is_const()
}

/// The add, sub or mul range rule in one view (`scalar{32,}_min_max_{add,sub,mul}`).
fn arith<W: Word>(d: &mut RegState, s: &RegState, op: A) {
    let (mut b, sb) = (W::get(d), W::get(s));
    match op {
        A::Add => b.add(&sb),
        A::Sub => b.sub(&sb),
        _ => b.mul(&sb),
    }
    W::put(d, b);
}

/// The and, or or xor range rule in one view (`scalar{32,}_min_max_{and,or,xor}`); the tnum
/// already holds the result.
fn bitop<W: Word>(d: &mut RegState, s: &RegState, op: A) {
    let t = W::view(d.var_off);
    if W::view(s.var_off).is_const() && t.is_const() {
        W::mark_known(d, W::trunc(t.value));
        return;
    }
    let (mut b, sb) = (W::get(d), W::get(s));
    match op {
        A::And => (b.umin, b.umax) = (W::trunc(t.value), b.umax.min(sb.umax)),
        A::Or => (b.umin, b.umax) = (b.umin.max(sb.umin), W::trunc(t.value | t.mask)),
        _ => (b.umin, b.umax) = (W::trunc(t.value), W::trunc(t.value | t.mask)),
    }
    b.signed_from_unsigned();
    W::put(d, b);
    // only the 64-bit half re-reads the tnum, as in the kernel
    if W::BITS == 64 {
        d.update_bounds();
    }
}

/// A shift's ranges and tnum in one view, by the constant amount in `s`'s same view; the
/// caller settles the other view.
fn shift<W: Word>(d: &mut RegState, s: &RegState, op: A) {
    let amt = W::get(s);
    let (lo, hi) = (amt.umin.widen(), amt.umax.widen());
    let t = W::view(d.var_off);
    let mut b = W::get(d);
    match op {
        A::Lsh => {
            (b.smin, b.smax) = (W::S_MIN, W::S_MAX);
            b.shl_unsigned(lo, hi);
            d.var_off = W::view(t.lshift(lo as u8));
        }
        A::Rsh => {
            (b.smin, b.smax) = (W::S_MIN, W::S_MAX);
            (b.umin, b.umax) = (b.umin.shr(hi as u32), b.umax.shr(lo as u32));
            d.var_off = t.rshift(lo as u8);
        }
        _ => {
            // the amount is below BITS (`safe_to_compute`); the clamp keeps the shift defined
            let n = lo.min(W::BITS as u64 - 1) as u32;
            (b.smin, b.smax) = (W::s_sar(b.smin, n), W::s_sar(b.smax, n));
            (b.umin, b.umax) = (W::ZERO, W::MAX);
            d.var_off = t.arshift(n as u8, W::BITS);
        }
    }
    W::put(d, b);
}

/// Applies `op` with source `s` to the scalar `d`. For `NEG`/`END` the
/// source is ignored (`end_bits`/`to_be` describe the byte swap). Returns with `d` synced.
pub fn scalar_alu(d: &mut RegState, s: &RegState, op: AluCode, alu32: bool, end: Option<(u32, bool)>) {
    if !safe_to_compute(op, alu32, s) {
        let keep_type = d.ty;
        *d = RegState::unknown_scalar();
        d.ty = keep_type;
        return;
    }
    match op {
        AluCode::Bin(op @ (A::Add | A::Sub | A::Mul)) => {
            arith::<u32>(d, s, op);
            arith::<u64>(d, s, op);
            d.var_off = match op {
                A::Add => d.var_off.add(s.var_off),
                A::Sub => d.var_off.sub(s.var_off),
                _ => d.var_off.mul(s.var_off),
            };
        }
        AluCode::Neg => {
            let fake = d.clone();
            d.mark_known_value(0);
            arith::<u32>(d, &fake, A::Sub);
            arith::<u64>(d, &fake, A::Sub);
            d.var_off = fake.var_off.neg();
        }
        AluCode::Bin(op @ (A::And | A::Or | A::Xor)) => {
            d.var_off = match op {
                A::And => d.var_off.and(s.var_off),
                A::Or => d.var_off.or(s.var_off),
                _ => d.var_off.xor(s.var_off),
            };
            bitop::<u32>(d, s, op);
            bitop::<u64>(d, s, op);
        }
        AluCode::Bin(op @ (A::Lsh | A::Rsh | A::Arsh)) => {
            if alu32 {
                shift::<u32>(d, s, op);
                u32::drop_other_view(d);
            } else if op == A::Lsh {
                // `__scalar64_min_max_lsh` keeps a non-negative 32-bit range shifted by exactly
                // 32; the 32-bit view is shifted too, by the 64-bit amounts
                let (b32, exact32) = (u32::get(d), s.b64.umin == 32 && s.b64.umax == 32);
                shift::<u64>(d, s, op);
                if exact32 && b32.smax >= 0 {
                    d.b64.smax = (b32.smax as i64) << 32;
                }
                if exact32 && b32.smin >= 0 {
                    d.b64.smin = (b32.smin as i64) << 32;
                }
                let mut v = Bounds { smin: i32::MIN, smax: i32::MAX, ..b32 };
                v.shl_unsigned(s.b64.umin, s.b64.umax);
                u32::put(d, v);
                d.update_bounds();
            } else {
                shift::<u64>(d, s, op);
                u64::drop_other_view(d);
            }
        }
        AluCode::End => {
            // `scalar_byte_swap`: a swap permutes the known bits and scrambles the ranges,
            // which come back from the tnum; le16/le32 (and a swap of 16 or 32 bits) then
            // truncate like a narrowing move; le64 changes nothing. No zero extension after.
            let (bits, swap) = end.unwrap_or((64, false));
            if swap {
                d.var_off = d.var_off.bswap(bits);
                d.mark_unbounded();
            }
            if bits < 64 {
                d.coerce_to_size((bits / 8) as u8);
            }
            d.bounds_sync();
            return;
        }
        _ => {}
    }
    if alu32 {
        d.zext_32_to_64();
    }
    d.bounds_sync();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_values::{from_set, has as contains};

    fn conc(op: AluCode, alu32: bool, a: u64, b: u64) -> u64 {
        let (a, b) = if alu32 { (a as u32 as u64, b as u32 as u64) } else { (a, b) };
        let bits = if alu32 { 32 } else { 64 };
        let r = match op {
            AluCode::Bin(A::Add) => a.wrapping_add(b),
            AluCode::Bin(A::Sub) => a.wrapping_sub(b),
            AluCode::Bin(A::Mul) => a.wrapping_mul(b),
            AluCode::Bin(A::And) => a & b,
            AluCode::Bin(A::Or) => a | b,
            AluCode::Bin(A::Xor) => a ^ b,
            AluCode::Bin(A::Lsh) => a << (b % bits),
            AluCode::Bin(A::Rsh) => a >> (b % bits),
            AluCode::Bin(A::Arsh) => {
                if alu32 {
                    ((a as u32 as i32) >> (b % 32)) as u32 as u64
                } else {
                    ((a as i64) >> (b % 64)) as u64
                }
            }
            _ => unreachable!(),
        };
        if alu32 { r as u32 as u64 } else { r }
    }

    /// Interesting 8-bit-wide windows placed at every sign/width boundary: each abstract operand
    /// is the hull of a contiguous window of 1..=4 values starting at every offset in 8 values
    /// below and above the boundary, so every concrete result is checked for containment.
    #[test]
    fn alu_sound_on_boundary_windows() {
        let anchors: [u64; 6] =
            [0, 0x7f, 0x7fff_fffc, 0xffff_fffc, 0x7fff_ffff_ffff_fffc, 0xffff_ffff_ffff_fffc];
        let ops = [
            AluCode::Bin(A::Add),
            AluCode::Bin(A::Sub),
            AluCode::Bin(A::Mul),
            AluCode::Bin(A::And),
            AluCode::Bin(A::Or),
            AluCode::Bin(A::Xor),
        ];
        let mut windows: Vec<Vec<u64>> = Vec::new();
        for &a in &anchors {
            for start in 0..8u64 {
                for len in 1..=3u64 {
                    windows.push((0..len).map(|k| a.wrapping_add(start + k)).collect());
                }
            }
        }
        for &alu32 in &[false, true] {
            for &op in &ops {
                for wa in windows.iter().step_by(3) {
                    for wb in windows.iter().step_by(5) {
                        let mut d = from_set(wa);
                        let s = from_set(wb);
                        scalar_alu(&mut d, &s, op, alu32, None);
                        for &x in wa {
                            for &y in wb {
                                let c = conc(op, alu32, x, y);
                                assert!(
                                    contains(&d, c),
                                    "op {op:?} alu32={alu32} {wa:?} {wb:?} -> {c:#x} not in {d:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// Shifts by every constant amount, exhaustive over 8-bit dst windows.
    #[test]
    fn shifts_sound_exhaustive_small() {
        for &alu32 in &[false, true] {
            for op in [AluCode::Bin(A::Lsh), AluCode::Bin(A::Rsh), AluCode::Bin(A::Arsh)] {
                let bits = if alu32 { 32 } else { 64 };
                for sh in 0..bits {
                    for lo in (0..256u64).step_by(17) {
                        for len in [1u64, 2, 5, 16] {
                            let base = if op == AluCode::Bin(A::Arsh) { lo.wrapping_sub(128) } else { lo };
                            let vals: Vec<u64> = (0..len).map(|k| base.wrapping_add(k)).collect();
                            let mut d = from_set(&vals);
                            let s = RegState::known(sh);
                            scalar_alu(&mut d, &s, op, alu32, None);
                            for &x in &vals {
                                let c = conc(op, alu32, x, sh);
                                assert!(
                                    contains(&d, c),
                                    "shift {op:?} by {sh} alu32={alu32} {vals:?} -> {c:#x}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// Constants stay exact (the kernel is exact on known operands).
    #[test]
    fn constants_exact() {
        for a in [0u64, 1, 5, 0x7fff_ffff, 0x8000_0000, u64::MAX, 0x1234_5678_9abc_def0] {
            for b in [0u64, 1, 3, 31, 0xffff_ffff] {
                for op in [
                    AluCode::Bin(A::Add),
                    AluCode::Bin(A::Sub),
                    AluCode::Bin(A::Mul),
                    AluCode::Bin(A::And),
                    AluCode::Bin(A::Or),
                    AluCode::Bin(A::Xor),
                ] {
                    for alu32 in [false, true] {
                        let mut d = RegState::known(a);
                        scalar_alu(&mut d, &RegState::known(b), op, alu32, None);
                        assert!(d.var_off.is_const(), "{op:?} {a:#x} {b:#x}");
                        assert_eq!(d.var_off.value, conc(op, alu32, a, b));
                        assert_eq!(d.bounds_violation(), None);
                    }
                }
            }
        }
    }
}
