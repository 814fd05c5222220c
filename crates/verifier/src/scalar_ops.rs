//! Scalar ALU transfer functions (`adjust_scalar_min_max_vals` and the `scalar*_min_max_*`
//! family): each operation updates the 32-bit and 64-bit ranges independently, then the tnum,
//! then zero-extends for ALU32 and re-syncs.

use crate::state::RegState;
#[cfg(test)]
use crate::tnum::Tnum;
use kbpf_isa::AluCode;
use kbpf_isa::AluOp as A;

/// Whether the result range can be computed (`is_safe_to_compute_dst_reg_range`).
pub fn safe_to_compute(op: AluCode, alu32: bool, src: &RegState) -> bool {
    let bits: u64 = if alu32 { 32 } else { 64 };
    let src_const = if alu32 {
        src.var_off.subreg_is_const() && src.s32_min == src.s32_max && src.u32_min == src.u32_max
    } else {
        src.var_off.is_const() && src.smin == src.smax && src.umin == src.umax
    };
    match op {
        AluCode::Bin(A::Add)
        | AluCode::Bin(A::Sub)
        | AluCode::Neg
        | AluCode::Bin(A::And)
        | AluCode::Bin(A::Xor)
        | AluCode::Bin(A::Or)
        | AluCode::Bin(A::Mul)
        | AluCode::End => true,
        AluCode::Bin(A::Lsh) | AluCode::Bin(A::Rsh) | AluCode::Bin(A::Arsh) => src_const && src.umax < bits,
        _ => false,
    }
}

/// Defines the add, sub and mul bound transfers for one width: `$smin/$smax/$umin/$umax` are
/// that width's bound fields, `$s/$u` its signed and unsigned types. The 32- and 64-bit halves
/// follow the same kernel rules (`scalar{32,}_min_max_{add,sub,mul}`).
macro_rules! arith_bounds {
    ($add:ident, $sub:ident, $mul:ident, $smin:ident, $smax:ident, $umin:ident, $umax:ident, $s:ty, $u:ty) => {
        fn $add(d: &mut RegState, s: &RegState) {
            let (a, o1) = d.$smin.overflowing_add(s.$smin);
            let (b, o2) = d.$smax.overflowing_add(s.$smax);
            if o1 || o2 {
                d.$smin = <$s>::MIN;
                d.$smax = <$s>::MAX;
            } else {
                d.$smin = a;
                d.$smax = b;
            }
            // Both ends wrapping keeps the (wrapped) range; only the top end wrapping loses it.
            let (umin, mo) = d.$umin.overflowing_add(s.$umin);
            let (umax, xo) = d.$umax.overflowing_add(s.$umax);
            d.$umin = umin;
            d.$umax = umax;
            if !mo && xo {
                d.$umin = 0;
                d.$umax = <$u>::MAX;
            }
        }

        fn $sub(d: &mut RegState, s: &RegState) {
            let (a, o1) = d.$smin.overflowing_sub(s.$smax);
            let (b, o2) = d.$smax.overflowing_sub(s.$smin);
            if o1 || o2 {
                d.$smin = <$s>::MIN;
                d.$smax = <$s>::MAX;
            } else {
                d.$smin = a;
                d.$smax = b;
            }
            let (umin, mu) = d.$umin.overflowing_sub(s.$umax);
            let (umax, xu) = d.$umax.overflowing_sub(s.$umin);
            d.$umin = umin;
            d.$umax = umax;
            if mu && !xu {
                d.$umin = 0;
                d.$umax = <$u>::MAX;
            }
        }

        fn $mul(d: &mut RegState, s: &RegState) {
            let umax = d.$umax.checked_mul(s.$umax);
            let umin = umax.and(d.$umin.checked_mul(s.$umin));
            match (umax, umin) {
                (Some(x), Some(n)) => {
                    d.$umax = x;
                    d.$umin = n;
                }
                _ => {
                    d.$umin = 0;
                    d.$umax = <$u>::MAX;
                }
            }
            let p = [
                d.$smin.checked_mul(s.$smin),
                d.$smin.checked_mul(s.$smax),
                d.$smax.checked_mul(s.$smin),
                d.$smax.checked_mul(s.$smax),
            ];
            if p.iter().all(|x| x.is_some()) {
                let v: Vec<$s> = p.iter().flatten().copied().collect();
                d.$smin = v.iter().copied().min().unwrap_or(<$s>::MIN);
                d.$smax = v.iter().copied().max().unwrap_or(<$s>::MAX);
            } else {
                d.$smin = <$s>::MIN;
                d.$smax = <$s>::MAX;
            }
        }
    };
}

arith_bounds!(add32, sub32, mul32, s32_min, s32_max, u32_min, u32_max, i32, u32);
arith_bounds!(add64, sub64, mul64, smin, smax, umin, umax, i64, u64);

fn signed32_from_unsigned(d: &mut RegState) {
    if (d.u32_min as i32) <= (d.u32_max as i32) {
        d.s32_min = d.u32_min as i32;
        d.s32_max = d.u32_max as i32;
    } else {
        d.s32_min = i32::MIN;
        d.s32_max = i32::MAX;
    }
}

fn signed64_from_unsigned(d: &mut RegState) {
    if (d.umin as i64) <= (d.umax as i64) {
        d.smin = d.umin as i64;
        d.smax = d.umax as i64;
    } else {
        d.smin = i64::MIN;
        d.smax = i64::MAX;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Bit {
    And,
    Or,
    Xor,
}

fn bitop32(d: &mut RegState, s: &RegState, k: Bit) {
    let src_known = s.var_off.subreg_is_const();
    let dst_known = d.var_off.subreg_is_const();
    let t = d.var_off.subreg();
    if src_known && dst_known {
        d.mark_32_known(t.value as u32);
        return;
    }
    match k {
        Bit::And => {
            d.u32_min = t.value as u32;
            d.u32_max = d.u32_max.min(s.u32_max);
        }
        Bit::Or => {
            d.u32_min = d.u32_min.max(s.u32_min);
            d.u32_max = (t.value | t.mask) as u32;
        }
        Bit::Xor => {
            d.u32_min = t.value as u32;
            d.u32_max = (t.value | t.mask) as u32;
        }
    }
    signed32_from_unsigned(d);
}

fn bitop64(d: &mut RegState, s: &RegState, k: Bit) {
    let src_known = s.var_off.is_const();
    let dst_known = d.var_off.is_const();
    if src_known && dst_known {
        let v = d.var_off.value;
        d.mark_known_value(v);
        return;
    }
    let t = d.var_off;
    match k {
        Bit::And => {
            d.umin = t.value;
            d.umax = d.umax.min(s.umax);
        }
        Bit::Or => {
            d.umin = d.umin.max(s.umin);
            d.umax = t.value | t.mask;
        }
        Bit::Xor => {
            d.umin = t.value;
            d.umax = t.value | t.mask;
        }
    }
    signed64_from_unsigned(d);
    d.update_bounds();
}

fn lsh32_bounds(d: &mut RegState, umin: u64, umax: u64) {
    d.s32_min = i32::MIN;
    d.s32_max = i32::MAX;
    if umax > 31 || (d.u32_max as u64) > (1u64 << (31 - umax)) {
        d.u32_min = 0;
        d.u32_max = u32::MAX;
    } else {
        d.u32_min <<= umin;
        d.u32_max <<= umax;
    }
}

fn lsh64_bounds(d: &mut RegState, umin: u64, umax: u64) {
    d.smax = if umin == 32 && umax == 32 && d.s32_max >= 0 { (d.s32_max as i64) << 32 } else { i64::MAX };
    d.smin = if umin == 32 && umax == 32 && d.s32_min >= 0 { (d.s32_min as i64) << 32 } else { i64::MIN };
    if umax > 63 || d.umax > (1u64 << (63 - umax)) {
        d.umin = 0;
        d.umax = u64::MAX;
    } else {
        d.umin <<= umin;
        d.umax <<= umax;
    }
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
        AluCode::Bin(A::Add) => {
            add32(d, s);
            add64(d, s);
            d.var_off = d.var_off.add(s.var_off);
        }
        AluCode::Bin(A::Sub) => {
            sub32(d, s);
            sub64(d, s);
            d.var_off = d.var_off.sub(s.var_off);
        }
        AluCode::Neg => {
            let fake = d.clone();
            d.mark_known_value(0);
            sub32(d, &fake);
            sub64(d, &fake);
            d.var_off = fake.var_off.neg();
        }
        AluCode::Bin(A::Mul) => {
            d.var_off = d.var_off.mul(s.var_off);
            mul32(d, s);
            mul64(d, s);
        }
        AluCode::Bin(A::And) => {
            d.var_off = d.var_off.and(s.var_off);
            bitop32(d, s, Bit::And);
            bitop64(d, s, Bit::And);
        }
        AluCode::Bin(A::Or) => {
            d.var_off = d.var_off.or(s.var_off);
            bitop32(d, s, Bit::Or);
            bitop64(d, s, Bit::Or);
        }
        AluCode::Bin(A::Xor) => {
            d.var_off = d.var_off.xor(s.var_off);
            bitop32(d, s, Bit::Xor);
            bitop64(d, s, Bit::Xor);
        }
        AluCode::Bin(A::Lsh) => {
            if alu32 {
                let sub = d.var_off.subreg();
                lsh32_bounds(d, s.u32_min as u64, s.u32_max as u64);
                d.var_off = sub.lshift(s.u32_min as u8).subreg();
                d.mark_64_unbounded();
                d.update_32_bounds_public();
            } else {
                lsh64_bounds(d, s.umin, s.umax);
                lsh32_bounds(d, s.umin, s.umax);
                d.var_off = d.var_off.lshift(s.umin as u8);
                d.update_bounds();
            }
        }
        AluCode::Bin(A::Rsh) => {
            if alu32 {
                let sub = d.var_off.subreg();
                d.s32_min = i32::MIN;
                d.s32_max = i32::MAX;
                d.var_off = sub.rshift(s.u32_min as u8);
                d.u32_min = d.u32_min.checked_shr(s.u32_max).unwrap_or(0);
                d.u32_max = d.u32_max.checked_shr(s.u32_min).unwrap_or(0);
                d.mark_64_unbounded();
                d.update_32_bounds_public();
            } else {
                d.smin = i64::MIN;
                d.smax = i64::MAX;
                d.var_off = d.var_off.rshift(s.umin as u8);
                d.umin = d.umin.checked_shr(s.umax as u32).unwrap_or(0);
                d.umax = d.umax.checked_shr(s.umin as u32).unwrap_or(0);
                d.mark_32_unbounded();
                d.update_bounds();
            }
        }
        AluCode::Bin(A::Arsh) => {
            if alu32 {
                let sh = s.u32_min;
                d.s32_min >>= sh.min(31);
                d.s32_max >>= sh.min(31);
                d.var_off = d.var_off.subreg().arshift(sh as u8, 32);
                d.u32_min = 0;
                d.u32_max = u32::MAX;
                d.mark_64_unbounded();
                d.update_32_bounds_public();
            } else {
                let sh = s.umin.min(63) as u32;
                d.smin >>= sh;
                d.smax >>= sh;
                d.var_off = d.var_off.arshift(sh as u8, 64);
                d.umin = 0;
                d.umax = u64::MAX;
                d.mark_32_unbounded();
                d.update_bounds();
            }
        }
        AluCode::End => {
            let (bits, swap) = end.unwrap_or((64, false));
            let t = if swap { d.var_off.bswap(bits) } else { d.var_off.cast((bits / 8) as u8) };
            d.var_off = t;
            d.mark_unbounded();
            d.update_bounds();
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

    /// A scalar whose views are the exact hull of `vals` (then synced).
    fn from_set(vals: &[u64]) -> RegState {
        let mut r = RegState::unknown_scalar();
        r.var_off = vals
            .iter()
            .fold(None::<Tnum>, |a, &v| Some(a.map_or(Tnum::konst(v), |a| a.union(Tnum::konst(v)))))
            .unwrap();
        r.umin = *vals.iter().min().unwrap();
        r.umax = *vals.iter().max().unwrap();
        r.smin = vals.iter().map(|&v| v as i64).min().unwrap();
        r.smax = vals.iter().map(|&v| v as i64).max().unwrap();
        r.u32_min = vals.iter().map(|&v| v as u32).min().unwrap();
        r.u32_max = vals.iter().map(|&v| v as u32).max().unwrap();
        r.s32_min = vals.iter().map(|&v| v as i32).min().unwrap();
        r.s32_max = vals.iter().map(|&v| v as i32).max().unwrap();
        r.bounds_sync();
        r
    }

    fn contains(r: &RegState, v: u64) -> bool {
        r.var_off.has(v)
            && r.umin <= v
            && v <= r.umax
            && r.smin <= v as i64
            && v as i64 <= r.smax
            && r.u32_min <= v as u32
            && v as u32 <= r.u32_max
            && r.s32_min <= v as i32
            && v as i32 <= r.s32_max
    }

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
