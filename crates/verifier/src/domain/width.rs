//! One range type for both views of a scalar: `Bounds<u64>` is the 64-bit view
//! (`RegState::b64`, the kernel's `smin_value..umax_value`), `Bounds<u32>` the 32-bit
//! subregister view (`RegState::b32`, `s32_min_value..u32_max_value`). The kernel
//! writes most range rules twice, once per width; here each rule is written once over [`Word`]
//! and instantiated for both.

use crate::domain::state::RegState;
use crate::domain::tnum::Tnum;
use std::fmt::Debug;

/// An unsigned machine word (`u64` or `u32`) with its signed twin, and where its view of a
/// register lives.
pub trait Word: Copy + Ord + Debug {
    /// The signed twin (`i64` / `i32`).
    type S: Copy + Ord + Debug;
    /// Width in bits.
    const BITS: u32;
    /// Largest value.
    const MAX: Self;
    /// Zero.
    const ZERO: Self;
    /// Smallest signed value.
    const S_MIN: Self::S;
    /// Largest signed value.
    const S_MAX: Self::S;
    /// Same bits read as signed.
    fn to_s(self) -> Self::S;
    /// Same bits read as unsigned.
    fn from_s(s: Self::S) -> Self;
    /// Low `BITS` bits of `v`.
    fn trunc(v: u64) -> Self;
    /// Zero-extended to 64 bits.
    fn widen(self) -> u64;
    /// `overflowing_add`.
    fn add_o(self, o: Self) -> (Self, bool);
    /// `overflowing_sub`.
    fn sub_o(self, o: Self) -> (Self, bool);
    /// `checked_mul`.
    fn mul_c(self, o: Self) -> Option<Self>;
    /// `overflowing_add` of the signed twin.
    fn s_add_o(a: Self::S, b: Self::S) -> (Self::S, bool);
    /// `overflowing_sub` of the signed twin.
    fn s_sub_o(a: Self::S, b: Self::S) -> (Self::S, bool);
    /// `checked_mul` of the signed twin.
    fn s_mul_c(a: Self::S, b: Self::S) -> Option<Self::S>;
    /// `wrapping_add(1)` / `wrapping_sub(1)`.
    fn inc(self) -> Self;
    /// `wrapping_sub(1)`.
    fn dec(self) -> Self;
    /// Signed `wrapping_add(1)`.
    fn s_inc(s: Self::S) -> Self::S;
    /// Signed `wrapping_sub(1)`.
    fn s_dec(s: Self::S) -> Self::S;
    /// `self << n` (`n < BITS`).
    fn shl(self, n: u64) -> Self;
    /// `checked_shr`, zero when `n >= BITS`.
    fn shr(self, n: u32) -> Self;
    /// Arithmetic right shift of the signed twin (`n < BITS`).
    fn s_sar(s: Self::S, n: u32) -> Self::S;
    /// This view of a register's ranges.
    fn get(r: &RegState) -> Bounds<Self>;
    /// Stores this view of a register's ranges.
    fn put(r: &mut RegState, b: Bounds<Self>);
    /// This view of a tnum (the whole tnum, or its low 32 bits).
    fn view(t: Tnum) -> Tnum;
    /// `t` with this view replaced by `v`.
    fn with_view(t: Tnum, v: Tnum) -> Tnum;
    /// This view (and the tnum under it) known to be `v` (`___mark_reg_known` /
    /// `__mark_reg32_known`); the 64-bit form sets the 32-bit view too.
    fn mark_known(r: &mut RegState, v: Self);
    /// Forget the other view and re-read this one from the tnum, after a result computed in
    /// this width only.
    fn drop_other_view(r: &mut RegState);
}

macro_rules! word {
    ($u:ty, $s:ty, $bits:expr, $($f:tt)*) => {
        impl Word for $u {
            type S = $s;
            const BITS: u32 = $bits;
            const MAX: $u = <$u>::MAX;
            const ZERO: $u = 0;
            const S_MIN: $s = <$s>::MIN;
            const S_MAX: $s = <$s>::MAX;
            #[inline]
            fn to_s(self) -> $s { self as $s }
            #[inline]
            fn from_s(s: $s) -> $u { s as $u }
            #[inline]
            fn trunc(v: u64) -> $u { v as $u }
            #[inline]
            fn widen(self) -> u64 { self as u64 }
            #[inline]
            fn add_o(self, o: $u) -> ($u, bool) { self.overflowing_add(o) }
            #[inline]
            fn sub_o(self, o: $u) -> ($u, bool) { self.overflowing_sub(o) }
            #[inline]
            fn mul_c(self, o: $u) -> Option<$u> { self.checked_mul(o) }
            #[inline]
            fn s_add_o(a: $s, b: $s) -> ($s, bool) { a.overflowing_add(b) }
            #[inline]
            fn s_sub_o(a: $s, b: $s) -> ($s, bool) { a.overflowing_sub(b) }
            #[inline]
            fn s_mul_c(a: $s, b: $s) -> Option<$s> { a.checked_mul(b) }
            #[inline]
            fn inc(self) -> $u { self.wrapping_add(1) }
            #[inline]
            fn dec(self) -> $u { self.wrapping_sub(1) }
            #[inline]
            fn s_inc(s: $s) -> $s { s.wrapping_add(1) }
            #[inline]
            fn s_dec(s: $s) -> $s { s.wrapping_sub(1) }
            #[inline]
            fn shl(self, n: u64) -> $u { self << n }
            #[inline]
            fn shr(self, n: u32) -> $u { self.checked_shr(n).unwrap_or(0) }
            #[inline]
            fn s_sar(s: $s, n: u32) -> $s { s >> n }
            word!(@fields $($f)*);
        }
    };
    (@fields $field:ident, $view:expr, $with:expr,
        $known:expr, $drop:expr) => {
        #[inline]
        fn get(r: &RegState) -> Bounds<Self> {
            r.$field
        }
        #[inline]
        fn put(r: &mut RegState, b: Bounds<Self>) {
            r.$field = b;
        }
        #[inline]
        fn view(t: Tnum) -> Tnum {
            let f: fn(Tnum) -> Tnum = $view;
            f(t)
        }
        #[inline]
        fn with_view(t: Tnum, v: Tnum) -> Tnum {
            let f: fn(Tnum, Tnum) -> Tnum = $with;
            f(t, v)
        }
        #[inline]
        fn mark_known(r: &mut RegState, v: Self) {
            let f: fn(&mut RegState, Self) = $known;
            f(r, v)
        }
        #[inline]
        fn drop_other_view(r: &mut RegState) {
            let f: fn(&mut RegState) = $drop;
            f(r)
        }
    };
}

word!(u64, i64, 64, b64, |t| t, |_, v| v, RegState::mark_known_value, |r| {
    r.mark_32_unbounded();
    r.update_bounds();
});
word!(u32, i32, 32, b32, Tnum::subreg, Tnum::with_subreg, RegState::mark_32_known, |r| {
    r.mark_64_unbounded();
    r.update_32_bounds_public();
});

/// Signed and unsigned ranges of one view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds<W: Word> {
    /// Signed minimum.
    pub smin: W::S,
    /// Signed maximum.
    pub smax: W::S,
    /// Unsigned minimum.
    pub umin: W,
    /// Unsigned maximum.
    pub umax: W,
}

impl<W: Word> Bounds<W> {
    /// Every value.
    pub const UNBOUNDED: Bounds<W> = Bounds { smin: W::S_MIN, smax: W::S_MAX, umin: W::ZERO, umax: W::MAX };

    /// Exactly `v`.
    pub fn konst(v: W) -> Bounds<W> {
        Bounds { smin: v.to_s(), smax: v.to_s(), umin: v, umax: v }
    }

    /// Every value `o` allows is allowed here (the range half of `range_within`).
    pub fn contains(&self, o: &Bounds<W>) -> bool {
        self.umin <= o.umin && self.umax >= o.umax && self.smin <= o.smin && self.smax >= o.smax
    }

    /// Both ranges are a single value.
    pub fn is_const(&self) -> bool {
        self.smin == self.smax && self.umin == self.umax
    }

    /// A range is empty.
    pub fn is_empty(&self) -> bool {
        self.umin > self.umax || self.smin > self.smax
    }

    /// Intersect with what the tnum `t` (this view of it) allows (`__update_reg{32,64}_bounds`
    /// without the 64-bit constant collapse).
    pub fn tighten_from_tnum(&mut self, t: Tnum) {
        let sign = 1u64 << (W::BITS - 1);
        self.smin = self.smin.max(W::trunc(t.value | (t.mask & sign)).to_s());
        self.smax = self.smax.min(W::trunc(t.value | (t.mask & (sign - 1))).to_s());
        self.umin = self.umin.max(W::trunc(t.value));
        self.umax = self.umax.min(W::trunc(t.value | t.mask));
    }

    /// Each signedness tightened by the other where it does not cross the sign boundary;
    /// returns whether the signed range did not cross it (the first half of
    /// `__reg{32,64}_deduce_bounds`).
    pub fn cross_sign(&mut self) -> bool {
        if self.umin.to_s() <= self.umax.to_s() {
            self.smin = self.smin.max(self.umin.to_s());
            self.smax = self.smax.min(self.umax.to_s());
        }
        if W::from_s(self.smin) <= W::from_s(self.smax) {
            self.umin = self.umin.max(W::from_s(self.smin));
            self.umax = self.umax.min(W::from_s(self.smax));
            return true;
        }
        false
    }

    /// Both signednesses intersected, including when the signed range wraps across the sign
    /// boundary and the unsigned range lies wholly in one of its two pieces (the whole of the
    /// in-width part of `__reg{32,64}_deduce_bounds`).
    pub fn intersect_signedness(&mut self) {
        if self.cross_sign() {
            return;
        }
        if self.umax < W::from_s(self.smin) {
            // the unsigned range sits inside the non-negative piece [0, smax]
            self.smin = self.umin.to_s();
            self.umax = self.umax.min(W::from_s(self.smax));
        } else if W::from_s(self.smax) < self.umin {
            // the unsigned range sits inside the negative piece [smin, -1]
            self.smax = self.umax.to_s();
            self.umin = self.umin.max(W::from_s(self.smin));
        }
    }

    /// The signed range read off the unsigned one, unbounded when it crosses the sign
    /// boundary.
    pub fn signed_from_unsigned(&mut self) {
        if self.umin.to_s() <= self.umax.to_s() {
            self.smin = self.umin.to_s();
            self.smax = self.umax.to_s();
        } else {
            self.smin = W::S_MIN;
            self.smax = W::S_MAX;
        }
    }

    /// `scalar{32,}_min_max_add`.
    pub fn add(&mut self, s: &Bounds<W>) {
        let (a, o1) = W::s_add_o(self.smin, s.smin);
        let (b, o2) = W::s_add_o(self.smax, s.smax);
        (self.smin, self.smax) = if o1 || o2 { (W::S_MIN, W::S_MAX) } else { (a, b) };
        // Both ends wrapping keeps the (wrapped) range; only the top end wrapping loses it.
        let (umin, mo) = self.umin.add_o(s.umin);
        let (umax, xo) = self.umax.add_o(s.umax);
        (self.umin, self.umax) = if !mo && xo { (W::ZERO, W::MAX) } else { (umin, umax) };
    }

    /// `scalar{32,}_min_max_sub`.
    pub fn sub(&mut self, s: &Bounds<W>) {
        let (a, o1) = W::s_sub_o(self.smin, s.smax);
        let (b, o2) = W::s_sub_o(self.smax, s.smin);
        (self.smin, self.smax) = if o1 || o2 { (W::S_MIN, W::S_MAX) } else { (a, b) };
        let (umin, mu) = self.umin.sub_o(s.umax);
        let (umax, xu) = self.umax.sub_o(s.umin);
        (self.umin, self.umax) = if mu && !xu { (W::ZERO, W::MAX) } else { (umin, umax) };
    }

    /// `scalar{32,}_min_max_mul`.
    pub fn mul(&mut self, s: &Bounds<W>) {
        let umax = self.umax.mul_c(s.umax);
        let umin = umax.and(self.umin.mul_c(s.umin));
        (self.umin, self.umax) = match (umin, umax) {
            (Some(n), Some(x)) => (n, x),
            _ => (W::ZERO, W::MAX),
        };
        let p = [
            W::s_mul_c(self.smin, s.smin),
            W::s_mul_c(self.smin, s.smax),
            W::s_mul_c(self.smax, s.smin),
            W::s_mul_c(self.smax, s.smax),
        ];
        (self.smin, self.smax) = match p {
            [Some(a), Some(b), Some(c), Some(d)] => (a.min(b).min(c).min(d), a.max(b).max(c).max(d)),
            _ => (W::S_MIN, W::S_MAX),
        };
    }

    /// The unsigned range shifted left by `lo..=hi`, unbounded if a bit could leave the word
    /// (the unsigned half of `__scalar{32,64}_min_max_lsh`).
    pub fn shl_unsigned(&mut self, lo: u64, hi: u64) {
        let top = (W::BITS - 1) as u64;
        if hi > top || self.umax.widen() > (1u64 << (top - hi)) {
            (self.umin, self.umax) = (W::ZERO, W::MAX);
        } else {
            (self.umin, self.umax) = (self.umin.shl(lo), self.umax.shl(hi));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Intersecting the signednesses keeps every value both ranges held, for ranges whose
    /// ends sit on or next to 0, the sign boundary and the top.
    #[test]
    fn intersect_signedness_is_sound_32() {
        let pts: [u32; 12] = [
            0,
            1,
            3,
            5,
            0x7fff_fffe,
            0x7fff_ffff,
            0x8000_0000,
            0x8000_0003,
            0xffff_fffc,
            0xffff_fffd,
            0xffff_fffe,
            0xffff_ffff,
        ];
        let probes: Vec<u32> = pts.iter().flat_map(|&p| [p.wrapping_sub(1), p, p.wrapping_add(1)]).collect();
        for &umin in &pts {
            for &umax in pts.iter().filter(|&&x| x >= umin) {
                for &smin in &pts {
                    for &smax in pts.iter().filter(|&&x| x as i32 >= smin as i32) {
                        let orig = Bounds::<u32> { smin: smin as i32, smax: smax as i32, umin, umax };
                        let mut b = orig;
                        b.intersect_signedness();
                        let inside = |r: &Bounds<u32>, v: u32| {
                            r.umin <= v && v <= r.umax && r.smin <= v as i32 && v as i32 <= r.smax
                        };
                        for &v in probes.iter().filter(|&&v| inside(&orig, v)) {
                            assert!(inside(&b, v), "{v:#x} lost: {orig:?} -> {b:?}");
                        }
                    }
                }
            }
        }
    }
}
