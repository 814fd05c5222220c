//! Keeping the tnum, the 64-bit and the 32-bit ranges of a scalar consistent (`reg_bounds_sync`).

use crate::domain::state::RegState;
use crate::domain::tnum::Tnum;
use crate::domain::width::{Bounds, Word};
use crate::messages::bug::RegInvariants;

impl RegState {
    /// 64-bit ranges unbounded.
    pub fn mark_64_unbounded(&mut self) {
        u64::put(self, Bounds::UNBOUNDED);
    }

    /// 32-bit ranges unbounded.
    pub fn mark_32_unbounded(&mut self) {
        u32::put(self, Bounds::UNBOUNDED);
    }

    /// All ranges unbounded.
    pub fn mark_unbounded(&mut self) {
        self.mark_64_unbounded();
        self.mark_32_unbounded();
    }

    /// Low 32 bits known to be `v` (`__mark_reg32_known`).
    pub fn mark_32_known(&mut self, v: u32) {
        self.var_off = self.var_off.const_subreg(v);
        u32::put(self, Bounds::konst(v));
    }

    /// One view intersected with what the tnum allows.
    fn tighten_from_tnum<W: Word>(&mut self) {
        let mut b = W::get(self);
        b.tighten_from_tnum(W::view(self.var_off));
        W::put(self, b);
    }

    fn update_32_bounds(&mut self) {
        self.tighten_from_tnum::<u32>();
    }

    fn update_64_bounds(&mut self) {
        self.tighten_from_tnum::<u64>();
        let t = self.var_off;
        // collapse to a constant when the u64 range and the tnum share exactly one value
        let next = t.step(self.b64.umin);
        let umin_in = (self.b64.umin & !t.mask) == t.value;
        let tmax = t.value | t.mask;
        if umin_in && next > self.b64.umax {
            let v = self.b64.umin;
            self.mark_known_value(v);
        } else if !umin_in && next == tmax {
            self.mark_known_value(tmax);
        } else if !umin_in && next <= self.b64.umax && t.step(next) > self.b64.umax {
            self.mark_known_value(next);
        }
    }

    /// Tighten ranges from the tnum (`__update_reg_bounds`).
    pub fn update_bounds(&mut self) {
        self.update_32_bounds();
        self.update_64_bounds();
    }

    /// 32-bit range from 64-bit knowledge and from the other 32-bit signedness.
    pub fn update_32_bounds_public(&mut self) {
        self.update_32_bounds();
    }

    fn deduce_32(&mut self) {
        if (self.b64.umin >> 32) == (self.b64.umax >> 32) {
            self.b32.umin = self.b32.umin.max(self.b64.umin as u32);
            self.b32.umax = self.b32.umax.min(self.b64.umax as u32);
            if (self.b64.umin as i32) <= (self.b64.umax as i32) {
                self.b32.smin = self.b32.smin.max(self.b64.umin as i32);
                self.b32.smax = self.b32.smax.min(self.b64.umax as i32);
            }
        }
        if (self.b64.smin >> 32) == (self.b64.smax >> 32) {
            if (self.b64.smin as u32) <= (self.b64.smax as u32) {
                self.b32.umin = self.b32.umin.max(self.b64.smin as u32);
                self.b32.umax = self.b32.umax.min(self.b64.smax as u32);
            }
            if (self.b64.smin as i32) <= (self.b64.smax as i32) {
                self.b32.smin = self.b32.smin.max(self.b64.smin as i32);
                self.b32.smax = self.b32.smax.min(self.b64.smax as i32);
            }
        }
        if ((self.b64.umin >> 32) as u32).wrapping_add(1) == (self.b64.umax >> 32) as u32
            && (self.b64.umin as i32) < 0
            && (self.b64.umax as i32) >= 0
        {
            self.b32.smin = self.b32.smin.max(self.b64.umin as i32);
            self.b32.smax = self.b32.smax.min(self.b64.umax as i32);
        }
        if ((self.b64.smin >> 32) as u32).wrapping_add(1) == (self.b64.smax >> 32) as u32
            && (self.b64.smin as i32) < 0
            && (self.b64.smax as i32) >= 0
        {
            self.b32.smin = self.b32.smin.max(self.b64.smin as i32);
            self.b32.smax = self.b32.smax.min(self.b64.smax as i32);
        }
        let mut b = u32::get(self);
        b.intersect_signedness();
        u32::put(self, b);
    }

    fn deduce_64(&mut self) {
        let mut b = u64::get(self);
        b.intersect_signedness();
        u64::put(self, b);
    }

    fn deduce_mixed(&mut self) {
        let new_umin = (self.b64.umin & !0xffff_ffff) | self.b32.umin as u64;
        let new_umax = (self.b64.umax & !0xffff_ffff) | self.b32.umax as u64;
        self.b64.umin = self.b64.umin.max(new_umin);
        self.b64.umax = self.b64.umax.min(new_umax);
        let new_smin = ((self.b64.smin as u64 & !0xffff_ffff) | self.b32.umin as u64) as i64;
        let new_smax = ((self.b64.smax as u64 & !0xffff_ffff) | self.b32.umax as u64) as i64;
        self.b64.smin = self.b64.smin.max(new_smin);
        self.b64.smax = self.b64.smax.min(new_smax);
        if self.b32.smin >= 0 && self.b64.smin >= i32::MIN as i64 && self.b64.smax <= i32::MAX as i64 {
            self.b64.smin = self.b32.smin as i64;
            self.b64.smax = self.b32.smax as i64;
            self.b64.umin = self.b32.smin as i64 as u64;
            self.b64.umax = self.b32.smax as i64 as u64;
            self.var_off = self.var_off.intersect(Tnum::range(self.b64.smin as u64, self.b64.smax as u64));
        }
    }

    /// Cross-view deduction (`__reg_deduce_bounds`).
    pub fn deduce_bounds(&mut self) {
        self.deduce_32();
        self.deduce_64();
        self.deduce_mixed();
    }

    /// Tighten the tnum from the unsigned ranges (`__reg_bound_offset`).
    pub fn bound_offset(&mut self) {
        let v64 = self.tnum_within_unsigned::<u64>(self.var_off);
        let v32 = self.tnum_within_unsigned::<u32>(v64);
        self.var_off = v64.clear_subreg().or(v32);
    }

    /// The view `W` of `t` intersected with that view's unsigned range.
    fn tnum_within_unsigned<W: Word>(&self, t: Tnum) -> Tnum {
        let b = W::get(self);
        W::view(t).intersect(Tnum::range(b.umin.widen(), b.umax.widen()))
    }

    /// `reg_bounds_sync`.
    pub fn bounds_sync(&mut self) {
        self.update_bounds();
        self.deduce_bounds();
        self.deduce_bounds();
        self.bound_offset();
        self.update_bounds();
    }

    /// Whether the ranges are non-empty and agree with a constant tnum
    /// (`reg_bounds_sanity_check`); returns a description of the first violation.
    pub fn bounds_violation(&self) -> Option<&'static str> {
        if u64::get(self).is_empty() || u32::get(self).is_empty() {
            return Some("range bounds violation");
        }
        if !self.const_in_sync::<u64>() {
            return Some("const tnum out of sync with range bounds");
        }
        if !self.const_in_sync::<u32>() {
            return Some("const subreg tnum out of sync with range bounds");
        }
        None
    }

    /// `reg_bounds_sanity_check` on one register: on a violation, the report, and the
    /// ranges reset to unbounded with the tnum kept (`__mark_reg_unbounded`), as the kernel
    /// goes on when the program did not ask for `BPF_F_TEST_REG_INVARIANTS`.
    pub fn sanitize_bounds(&mut self, ctx: &'static str) -> Option<RegInvariants> {
        let msg = self.bounds_violation()?;
        let report = RegInvariants {
            ctx,
            msg,
            u64: (self.b64.umin, self.b64.umax),
            s64: (self.b64.smin, self.b64.smax),
            u32: (self.b32.umin, self.b32.umax),
            s32: (self.b32.smin, self.b32.smax),
            var_off: (self.var_off.value, self.var_off.mask),
        };
        self.mark_unbounded();
        Some(report)
    }

    /// A view whose tnum is constant has exactly that value as its ranges.
    fn const_in_sync<W: Word>(&self) -> bool {
        let t = W::view(self.var_off);
        !t.is_const() || W::get(self) == Bounds::konst(W::trunc(t.value))
    }

    /// Zero-extend the 32-bit result into 64 bits (`zext_32_to_64`).
    pub fn zext_32_to_64(&mut self) {
        self.var_off = self.var_off.subreg();
        self.assign_32_into_64();
    }

    /// `__reg_assign_32_into_64`.
    pub fn assign_32_into_64(&mut self) {
        self.b64.umin = self.b32.umin as u64;
        self.b64.umax = self.b32.umax as u64;
        if self.b32.smin >= 0 && self.b32.smax >= 0 {
            self.b64.smin = self.b32.smin as i64;
            self.b64.smax = self.b32.smax as i64;
        } else {
            self.b64.smin = 0;
            self.b64.smax = u32::MAX as i64;
        }
    }

    /// Truncate to `size` (< 8) bytes, zero-extending (`coerce_reg_to_size`).
    pub fn coerce_to_size(&mut self, size: u8) {
        if size >= 8 {
            return;
        }
        self.var_off = self.var_off.cast(size);
        let mask = (1u64 << (size as u32 * 8)) - 1;
        if (self.b64.umin & !mask) == (self.b64.umax & !mask) {
            self.b64.umin &= mask;
            self.b64.umax &= mask;
        } else {
            self.b64.umin = 0;
            self.b64.umax = mask;
        }
        self.b64.smin = self.b64.umin as i64;
        self.b64.smax = self.b64.umax as i64;
        if size < 4 {
            self.mark_32_unbounded();
        }
        self.bounds_sync();
    }

    /// Sign-extend from `size` (1, 2, 4) bytes to 64 bits (`coerce_reg_to_size_sx`); no sync,
    /// like the kernel.
    pub fn coerce_to_size_sx(&mut self, size: u8) {
        let bits = size as u32 * 8;
        let sext = |v: u64| -> i64 { ((v << (64 - bits)) as i64) >> (64 - bits) };
        if self.var_off.is_const() {
            let v = sext(self.var_off.value) as u64;
            self.mark_known_value(v);
            return;
        }
        let top_max = ((self.b64.smax as u64) >> bits) << bits;
        let top_min = ((self.b64.smin as u64) >> bits) << bits;
        if top_max == top_min {
            let (a, b) = (sext(self.b64.smax as u64), sext(self.b64.smin as u64));
            let (hi, lo) = (a.max(b), a.min(b));
            if (hi >= 0) == (lo >= 0) {
                self.b64.smin = lo;
                self.b64.smax = hi;
                self.b32.smin = lo as i32;
                self.b32.smax = hi as i32;
                self.b64.umin = lo as u64;
                self.b64.umax = hi as u64;
                self.b32.umin = lo as u32;
                self.b32.umax = hi as u32;
                self.var_off = Tnum::range(lo as u64, hi as u64);
                return;
            }
        }
        let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
        self.b64.smin = lo;
        self.b64.smax = hi;
        self.b32.smin = lo.max(i32::MIN as i64) as i32;
        self.b32.smax = hi.min(i32::MAX as i64) as i32;
        self.b64.umin = 0;
        self.b32.umin = 0;
        self.b64.umax = u64::MAX;
        self.b32.umax = u32::MAX;
        self.var_off = Tnum::UNKNOWN;
    }

    /// Sign-extend the low `size` (1, 2) bytes into the 32-bit subregister
    /// (`coerce_subreg_to_size_sx`); the caller zero-extends.
    pub fn coerce_subreg_to_size_sx(&mut self, size: u8) {
        let bits = size as u32 * 8;
        let sext = |v: u32| -> i32 { ((v << (32 - bits)) as i32) >> (32 - bits) };
        if self.var_off.is_const() {
            let v = sext(self.var_off.value as u32);
            self.var_off = Tnum::konst(v as i64 as u64);
            self.b32.smin = v;
            self.b32.smax = v;
            self.b32.umin = v as u32;
            self.b32.umax = v as u32;
            return;
        }
        let top_max = ((self.b32.smax as u32) >> bits) << bits;
        let top_min = ((self.b32.smin as u32) >> bits) << bits;
        if top_max == top_min {
            let (a, b) = (sext(self.b32.smax as u32), sext(self.b32.smin as u32));
            let (hi, lo) = (a.max(b), a.min(b));
            if (hi >= 0) == (lo >= 0) {
                self.b32.smin = lo;
                self.b32.smax = hi;
                self.b32.umin = lo as u32;
                self.b32.umax = hi as u32;
                self.var_off = Tnum::range(lo as i64 as u64, hi as i64 as u64).subreg();
                return;
            }
        }
        self.b32.smin = -(1i32 << (bits - 1));
        self.b32.smax = (1i32 << (bits - 1)) - 1;
        self.b32.umin = 0;
        self.b32.umax = u32::MAX;
        self.var_off = Tnum::UNKNOWN.subreg();
    }

    /// Known value in every view, keeping type and ids (`___mark_reg_known`).
    pub fn mark_known_value(&mut self, v: u64) {
        self.var_off = Tnum::konst(v);
        u64::put(self, Bounds::konst(v));
        u32::put(self, Bounds::konst(v as u32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sync never removes a value that was inside all three views (exhaustive over small
    /// unsigned ranges crossing 0, 2^31, 2^32 and 2^63 boundaries).
    #[test]
    fn sync_is_sound_on_boundary_ranges() {
        let bases: [u64; 5] = [0, 0x7fff_fff8, 0xffff_fff8, 0x7fff_ffff_ffff_fff8, 0xffff_ffff_ffff_fff8];
        for &b in &bases {
            for lo in 0..16u64 {
                for hi in lo..16u64 {
                    let (a, z) = (b.wrapping_add(lo), b.wrapping_add(hi));
                    if a > z {
                        continue;
                    }
                    let mut r = RegState::unknown_scalar();
                    r.b64.umin = a;
                    r.b64.umax = z;
                    r.bounds_sync();
                    for v in a..=z {
                        assert!(r.var_off.has(v), "{v:#x} lost from tnum");
                        assert!(r.b64.smin <= v as i64 && v as i64 <= r.b64.smax);
                        assert!(r.b64.umin <= v && v <= r.b64.umax);
                        assert!(r.b32.umin <= v as u32 && v as u32 <= r.b32.umax);
                        assert!(r.b32.smin <= v as i32 && v as i32 <= r.b32.smax);
                    }
                    if a == z {
                        assert!(r.var_off.is_const());
                    }
                }
            }
        }
    }
}
