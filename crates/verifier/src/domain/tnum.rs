//! Tristate numbers: `value` holds the known bits, `mask` the unknown ones (`value & mask == 0`).
//!
//! The operations are bit-parallel, so the same code is exact at any width: the exhaustive tests
//! run it on 8-bit values embedded in the low byte and truncate.

use std::fmt;

/// A tnum: the set `{v : v & !mask == value}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Tnum {
    /// Known bits.
    pub value: u64,
    /// Unknown bits.
    pub mask: u64,
}

#[allow(clippy::should_implement_trait)] // kernel names (tnum_add, ...), by-value semantics
impl Tnum {
    /// Everything unknown.
    pub const UNKNOWN: Tnum = Tnum { value: 0, mask: u64::MAX };

    /// Builds a tnum (callers keep `value & mask == 0`).
    pub const fn new(value: u64, mask: u64) -> Tnum {
        Tnum { value, mask }
    }

    /// A single known value.
    pub const fn konst(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// The smallest tnum containing `[min, max]` (common high prefix known).
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum { value: min & !delta, mask: delta }
    }

    /// Whether fully known.
    pub fn is_const(self) -> bool {
        self.mask == 0
    }

    /// Whether fully unknown.
    pub fn is_unknown(self) -> bool {
        self.mask == u64::MAX
    }

    /// Logical shift left.
    pub fn lshift(self, s: u8) -> Tnum {
        let s = (s & 63) as u32;
        Tnum { value: self.value << s, mask: self.mask << s }
    }

    /// Logical shift right.
    pub fn rshift(self, s: u8) -> Tnum {
        let s = (s & 63) as u32;
        Tnum { value: self.value >> s, mask: self.mask >> s }
    }

    /// Arithmetic shift right at 32 or 64 bits (the 32-bit result is zero-extended).
    pub fn arshift(self, s: u8, bits: u32) -> Tnum {
        if bits == 32 {
            let s = (s & 31) as u32;
            Tnum {
                value: ((self.value as u32 as i32) >> s) as u32 as u64,
                mask: ((self.mask as u32 as i32) >> s) as u32 as u64,
            }
        } else {
            let s = (s & 63) as u32;
            Tnum { value: ((self.value as i64) >> s) as u64, mask: ((self.mask as i64) >> s) as u64 }
        }
    }

    /// Addition.
    pub fn add(self, b: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(b.mask);
        let sv = self.value.wrapping_add(b.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | b.mask;
        Tnum { value: sv & !mu, mask: mu }
    }

    /// Subtraction.
    pub fn sub(self, b: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(b.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(b.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | b.mask;
        Tnum { value: dv & !mu, mask: mu }
    }

    /// Negation (`0 - self`).
    pub fn neg(self) -> Tnum {
        Tnum::konst(0).sub(self)
    }

    /// Bitwise and.
    pub fn and(self, b: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = b.value | b.mask;
        let v = self.value & b.value;
        Tnum { value: v, mask: alpha & beta & !v }
    }

    /// Bitwise or.
    pub fn or(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v, mask: mu & !v }
    }

    /// Bitwise xor.
    pub fn xor(self, b: Tnum) -> Tnum {
        let v = self.value ^ b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// Multiplication: long multiplication over the bits of `self`; an unknown bit takes the
    /// union of "added" and "not added".
    pub fn mul(self, b: Tnum) -> Tnum {
        let mut a = self;
        let mut b = b;
        let mut acc = Tnum::konst(0);
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                acc = acc.add(b);
            } else if a.mask & 1 != 0 {
                acc = acc.union(acc.add(b));
            }
            a = a.rshift(1);
            b = b.lshift(1);
        }
        acc
    }

    /// Meet: values in both (meaningless if the two disagree on a known bit).
    pub fn intersect(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask & b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// Join: agreeing known bits stay known.
    pub fn union(self, b: Tnum) -> Tnum {
        let chi = (self.value ^ b.value) | self.mask | b.mask;
        Tnum { value: self.value & !chi, mask: chi }
    }

    /// Truncation to `size` bytes.
    pub fn cast(self, size: u8) -> Tnum {
        if size >= 8 {
            return self;
        }
        let m = (1u64 << (size as u32 * 8)) - 1;
        Tnum { value: self.value & m, mask: self.mask & m }
    }

    /// Whether every member is a multiple of `size` (a power of two).
    pub fn is_aligned(self, size: u64) -> bool {
        if size == 0 {
            return true;
        }
        (self.value | self.mask) & (size - 1) == 0
    }

    /// Whether `b` ⊆ `self`.
    pub fn contains(self, b: Tnum) -> bool {
        if b.mask & !self.mask != 0 {
            return false;
        }
        self.value == b.value & !self.mask
    }

    /// Whether `v` is a member.
    pub fn has(self, v: u64) -> bool {
        v & !self.mask == self.value
    }

    /// Whether the two sets share a value.
    pub fn overlaps(self, b: Tnum) -> bool {
        let mu = self.mask | b.mask;
        (self.value & !mu) == (b.value & !mu)
    }

    /// Low 32 bits.
    pub fn subreg(self) -> Tnum {
        self.cast(4)
    }

    /// High 32 bits only (low half known zero).
    pub fn clear_subreg(self) -> Tnum {
        self.rshift(32).lshift(32)
    }

    /// High half of `self` with the low half of `sub`.
    pub fn with_subreg(self, sub: Tnum) -> Tnum {
        self.clear_subreg().or(sub.subreg())
    }

    /// High half of `self` with the low half known to be `v`.
    pub fn const_subreg(self, v: u32) -> Tnum {
        self.with_subreg(Tnum::konst(v as u64))
    }

    /// Whether the low 32 bits are known.
    pub fn subreg_is_const(self) -> bool {
        self.subreg().mask == 0
    }

    /// Smallest member `>= c`, if any.
    pub fn min_member_ge(self, c: u64) -> Option<u64> {
        if (c & !self.mask) == self.value {
            return Some(c);
        }
        let diff = (c ^ self.value) & !self.mask;
        let h = 63 - diff.leading_zeros();
        let low = |b: u32| if b >= 63 { u64::MAX } else { (2u64 << b) - 1 };
        if self.value & (1 << h) != 0 {
            // c has 0 where the fixed bit is 1: take c's prefix, then the minimum below
            return Some((c & !low(h)) | (self.value & low(h)));
        }
        // c has 1 where the fixed bit is 0: carry into the lowest free mask bit above h
        let cand = self.mask & !c & !low(h);
        if cand == 0 {
            return None;
        }
        let p = cand.trailing_zeros();
        let below = (1u64 << p) - 1;
        Some((c & !low(p)) | (1 << p) | (self.value & below))
    }

    /// `tnum_step`: the smallest member strictly greater than `z`; saturates at the largest
    /// member when `z` is at or above it (the kernel's answer there, which its bounds sync
    /// relies on to collapse a register whose range lies above the tnum onto that member).
    pub fn step(self, z: u64) -> u64 {
        let tmax = self.value | self.mask;
        if z >= tmax {
            return tmax;
        }
        // z < tmax, so z + 1 does not overflow and some member is >= it
        self.min_member_ge(z + 1).unwrap_or(tmax)
    }

    /// Byte swap of the low `bits` bits (16, 32, 64); higher bits become zero.
    pub fn bswap(self, bits: u32) -> Tnum {
        match bits {
            16 => Tnum::new((self.value as u16).swap_bytes() as u64, (self.mask as u16).swap_bytes() as u64),
            32 => Tnum::new((self.value as u32).swap_bytes() as u64, (self.mask as u32).swap_bytes() as u64),
            _ => Tnum::new(self.value.swap_bytes(), self.mask.swap_bytes()),
        }
    }
}

impl fmt::Display for Tnum {
    /// `(0x<value>; 0x<mask>)` as the kernel log prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All 8-bit tnums (3^8 of them).
    fn all8() -> Vec<Tnum> {
        let mut v = Vec::new();
        for mask in 0..=255u64 {
            for value in 0..=255u64 {
                if value & mask == 0 {
                    v.push(Tnum::new(value, mask));
                }
            }
        }
        v
    }

    fn members(t: Tnum) -> impl Iterator<Item = u64> {
        (0..=255u64).filter(move |x| t.has(*x))
    }

    fn all4() -> Vec<Tnum> {
        all8().into_iter().filter(|t| (t.value | t.mask) < 16).collect()
    }

    /// The best (smallest) tnum over a set of 8-bit values.
    fn best(vals: impl Iterator<Item = u64>) -> Option<Tnum> {
        let mut acc: Option<Tnum> = None;
        for v in vals {
            let t = Tnum::konst(v);
            acc = Some(acc.map_or(t, |a| a.union(t)));
        }
        acc
    }

    #[test]
    fn range_exhaustive_8bit() {
        for lo in 0..=255u64 {
            for hi in lo..=255u64 {
                let t = Tnum::range(lo, hi);
                for v in lo..=hi {
                    assert!(t.has(v));
                }
                // exact prefix rule
                let bits = 64 - (lo ^ hi).leading_zeros();
                assert_eq!(t.mask, (1u64 << bits) - 1);
            }
        }
    }

    #[test]
    fn binary_ops_sound_exhaustive_4bit() {
        type Op = (fn(Tnum, Tnum) -> Tnum, fn(u64, u64) -> u64, bool);
        let ops: [Op; 6] = [
            (Tnum::add, u64::wrapping_add, true),
            (Tnum::sub, u64::wrapping_sub, true),
            (Tnum::and, |a, b| a & b, true),
            (Tnum::or, |a, b| a | b, true),
            (Tnum::xor, |a, b| a ^ b, true),
            (Tnum::mul, u64::wrapping_mul, false),
        ];
        let ts = all4();
        for (i, (op, conc, exact_bitwise)) in ops.iter().enumerate() {
            for &a in &ts {
                for &b in &ts {
                    let r = op(a, b).cast(1);
                    let mut vals = Vec::new();
                    for x in members(a) {
                        for y in members(b) {
                            let c = conc(x, y) & 0xff;
                            assert!(r.has(c), "op {i}: {a} {b} -> {r} misses {c}");
                            vals.push(c);
                        }
                    }
                    // and/or/xor are optimal; add/sub are optimal too (the kernel's
                    // carry-based formulas are exact for tnums).
                    if *exact_bitwise && i >= 2 {
                        assert_eq!(Some(r), best(vals.into_iter()), "op {i} precision {a} {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn unary_ops_sound_exhaustive_8bit() {
        for t in all8() {
            let n = t.neg().cast(1);
            let ls = t.lshift(3).cast(1);
            let rs = t.rshift(3);
            let ars = Tnum::new(t.value << 56, t.mask << 56).arshift(3, 64);
            for x in members(t) {
                assert!(n.has(x.wrapping_neg() & 0xff));
                assert!(ls.has((x << 3) & 0xff));
                assert!(rs.has(x >> 3));
                assert!(ars.has((((x << 56) as i64) >> 3) as u64));
            }
        }
    }

    #[test]
    fn set_relations_exhaustive_4bit() {
        let ts = all4();
        for &a in &ts {
            for &b in &ts {
                let ma: Vec<u64> = members(a).collect();
                let mb: Vec<u64> = members(b).collect();
                let subset = mb.iter().all(|x| ma.contains(x));
                assert_eq!(a.contains(b), subset, "{a} ⊇ {b}");
                let inter = ma.iter().any(|x| mb.contains(x));
                assert_eq!(a.overlaps(b), inter, "{a} overlaps {b}");
                if inter {
                    let i = a.intersect(b);
                    let want: Vec<u64> = ma.iter().copied().filter(|x| mb.contains(x)).collect();
                    assert_eq!(members(i).collect::<Vec<_>>(), want);
                }
                let u = a.union(b);
                assert!(ma.iter().chain(mb.iter()).all(|x| u.has(*x)));
            }
        }
    }

    #[test]
    fn step_exhaustive_8bit() {
        for t in all8() {
            for z in 0..=255u64 {
                let tmax = t.value | t.mask;
                let want = members(t).find(|&m| m > z).unwrap_or(tmax);
                assert_eq!(t.step(z), want, "step({t}, {z})");
            }
        }
    }

    #[test]
    fn display() {
        assert_eq!(Tnum::new(0, 0xf).to_string(), "(0x0; 0xf)");
    }
}
