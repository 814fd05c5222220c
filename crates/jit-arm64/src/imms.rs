//! Typed arm64 immediates with fallible constructors.
//!
//! dynasm checks immediates at run time and panics when one does not fit. Every immediate the
//! emitter hands to dynasm is first built here; when a constructor says no, the emitter takes
//! the scratch-register path instead. So a `Some` from this module is the proof that the
//! dynasm call cannot panic.

use kbpf_isa::Width;

/// A bitmask ("logical") immediate of `and`/`orr`/`eor`/`tst`: a rotated run of ones
/// replicated across the register in elements of 2, 4, ..., 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogicalImm {
    /// The value as the instruction sees it (zero-extended for 32-bit operations).
    pub value: u64,
    /// The `N:immr:imms` fields, for tests and the dump.
    pub n: bool,
    /// Rotation.
    pub immr: u8,
    /// Element size and run length.
    pub imms: u8,
}

impl LogicalImm {
    /// Encodes `value` for an operation of `width`; `None` if it is not a bitmask immediate
    /// (all zeros and all ones never are).
    pub fn new(value: u64, width: Width) -> Option<LogicalImm> {
        let v = match width {
            Width::W64 => value,
            Width::W32 => {
                let lo = value & 0xffff_ffff;
                lo | (lo << 32)
            }
        };
        if v == 0 || v == u64::MAX {
            return None;
        }
        // Smallest element size whose repetition gives v.
        let mut size = 64u32;
        while size > 2 {
            let half = size / 2;
            let mask = (1u64 << half) - 1;
            if v & mask != (v >> half) & mask {
                break;
            }
            size = half;
        }
        let mask = if size == 64 { u64::MAX } else { (1u64 << size) - 1 };
        let elem = v & mask;
        let ones = elem.count_ones();
        let run = if ones == 64 { u64::MAX } else { (1u64 << ones) - 1 };
        // elem must be `run` rotated right by some r within the element.
        let rotl = |x: u64, r: u32| -> u64 { if r == 0 { x } else { ((x << r) | (x >> (size - r))) & mask } };
        let r = (0..size).find(|&r| rotl(elem, r) == run)?;
        let imms = ((!(size - 1) << 1) | (ones - 1)) & 0x3f;
        Some(LogicalImm {
            value: match width {
                Width::W64 => value,
                Width::W32 => value & 0xffff_ffff,
            },
            n: size == 64,
            immr: r as u8,
            imms: imms as u8,
        })
    }
}

/// The 12-bit unsigned immediate of `add`/`sub`/`cmp`/`cmn`, optionally shifted left by 12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddSubImm {
    /// The 12-bit field.
    pub imm12: u32,
    /// Whether the field is shifted left by 12.
    pub lsl12: bool,
}

impl AddSubImm {
    /// Encodes `value`, `None` if it needs more than 12 significant bits.
    pub fn new(value: u64) -> Option<AddSubImm> {
        if value < 4096 {
            Some(AddSubImm { imm12: value as u32, lsl12: false })
        } else if value & 0xfff == 0 && value < (4096 << 12) {
            Some(AddSubImm { imm12: (value >> 12) as u32, lsl12: true })
        } else {
            None
        }
    }
}

/// Operation to apply a signed constant with add/sub immediates: `Add(imm)` or `Sub(imm)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddSub {
    /// `add rd, rn, #imm`.
    Add(AddSubImm),
    /// `sub rd, rn, #imm`.
    Sub(AddSubImm),
}

impl AddSub {
    /// How to add the signed `delta` (already reduced to the operation width) with one
    /// immediate add or sub, if possible.
    pub fn new(delta: i64) -> Option<AddSub> {
        if delta >= 0 {
            AddSubImm::new(delta as u64).map(AddSub::Add)
        } else {
            AddSubImm::new(delta.unsigned_abs()).map(AddSub::Sub)
        }
    }
}

/// The scaled unsigned 12-bit offset of `ldr`/`str` (`[xn, #off]`), in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaledOffset(pub u32);

impl ScaledOffset {
    /// `off` for an access of `size` bytes: non-negative, a multiple of the size, below
    /// `4096 * size`.
    pub fn new(off: i64, size: u32) -> Option<ScaledOffset> {
        let size = size as i64;
        (off >= 0 && off % size == 0 && off / size < 4096).then_some(ScaledOffset(off as u32))
    }
}

/// The signed 9-bit unscaled offset of `ldur`/`stur`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SImm9(pub i32);

impl SImm9 {
    /// `off` if it is in -256..=255.
    pub fn new(off: i64) -> Option<SImm9> {
        (-256..=255).contains(&off).then_some(SImm9(off as i32))
    }
}

/// The scaled signed 7-bit offset of `ldp`/`stp` of X registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairOffset(pub i32);

impl PairOffset {
    /// `off` if it is a multiple of 8 in -512..=504.
    pub fn new(off: i64) -> Option<PairOffset> {
        (off % 8 == 0 && (-512..=504).contains(&off)).then_some(PairOffset(off as i32))
    }
}

/// One instruction of a constant materialisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovStep {
    /// `movz rd, #imm16, lsl #shift`.
    Movz {
        /// 16-bit chunk.
        imm16: u32,
        /// 0, 16, 32 or 48.
        shift: u32,
    },
    /// `movn rd, #imm16, lsl #shift` (rd = !(imm16 << shift)).
    Movn {
        /// 16-bit chunk (inverted).
        imm16: u32,
        /// 0, 16, 32 or 48.
        shift: u32,
    },
    /// `movk rd, #imm16, lsl #shift`.
    Movk {
        /// 16-bit chunk.
        imm16: u32,
        /// 0, 16, 32 or 48.
        shift: u32,
    },
    /// `orr rd, xzr, #imm` (one instruction for bitmask constants).
    Orr(LogicalImm),
}

/// The shortest plan (at most 4 instructions) to load `value` into a register of `width`
/// (for `W32`, only the low 32 bits count and the result is zero-extended).
pub fn mov_plan(value: u64, width: Width) -> Vec<MovStep> {
    let chunks = match width {
        Width::W64 => 4,
        Width::W32 => 2,
    };
    let value = match width {
        Width::W64 => value,
        Width::W32 => value & 0xffff_ffff,
    };
    let chunk = |i: u32| ((value >> (16 * i)) & 0xffff) as u32;
    let zeros = (0..chunks).filter(|&i| chunk(i) == 0).count();
    let ones = (0..chunks).filter(|&i| chunk(i) == 0xffff).count();
    if zeros == chunks as usize {
        return vec![MovStep::Movz { imm16: 0, shift: 0 }];
    }
    let movz_len = chunks as usize - zeros;
    let movn_len = (chunks as usize - ones).max(1);
    if movz_len > 1
        && movn_len > 1
        && let Some(l) = LogicalImm::new(value, width)
    {
        return vec![MovStep::Orr(l)];
    }
    let mut steps = Vec::with_capacity(4);
    if movn_len < movz_len {
        // Start from all ones and patch the chunks that are not 0xffff.
        let first = (0..chunks).find(|&i| chunk(i) != 0xffff).unwrap_or(0);
        steps.push(MovStep::Movn { imm16: !chunk(first) & 0xffff, shift: 16 * first });
        for i in (first + 1)..chunks {
            if chunk(i) != 0xffff {
                steps.push(MovStep::Movk { imm16: chunk(i), shift: 16 * i });
            }
        }
    } else {
        let first = (0..chunks).find(|&i| chunk(i) != 0).unwrap_or(0);
        steps.push(MovStep::Movz { imm16: chunk(first), shift: 16 * first });
        for i in (first + 1)..chunks {
            if chunk(i) != 0 {
                steps.push(MovStep::Movk { imm16: chunk(i), shift: 16 * i });
            }
        }
    }
    steps
}

/// Evaluates a plan (what the CPU computes), for tests.
pub fn eval_plan(steps: &[MovStep], width: Width) -> u64 {
    let mut v = 0u64;
    for s in steps {
        match *s {
            MovStep::Movz { imm16, shift } => v = (imm16 as u64) << shift,
            MovStep::Movn { imm16, shift } => v = !((imm16 as u64) << shift),
            MovStep::Movk { imm16, shift } => v = (v & !(0xffffu64 << shift)) | ((imm16 as u64) << shift),
            MovStep::Orr(l) => v = l.value,
        }
    }
    match width {
        Width::W64 => v,
        Width::W32 => v & 0xffff_ffff,
    }
}

/// Branch displacement ranges, in bytes from the branch instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchKind {
    /// `b.cond`, `cbz`, `cbnz`, `adr`, `ldr literal`: signed 19-bit word offset (+-1 MiB).
    Imm19,
    /// `tbz`/`tbnz`: signed 14-bit word offset (+-32 KiB).
    Imm14,
    /// `b`, `bl`: signed 26-bit word offset (+-128 MiB).
    Imm26,
}

impl BranchKind {
    /// Whether a branch of this kind reaches `delta` bytes away.
    pub fn reaches(self, delta: i64) -> bool {
        let bits = match self {
            BranchKind::Imm19 => 19,
            BranchKind::Imm14 => 14,
            BranchKind::Imm26 => 26,
        };
        let words = delta / 4;
        delta % 4 == 0 && words >= -(1i64 << (bits - 1)) && words < (1i64 << (bits - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_matches_dynasm_encoder() {
        let mut samples =
            vec![0u64, u64::MAX, 1, 2, 3, 0xff, 0xff00, 0x5555_5555_5555_5555, 0x8000_0000_0000_0000];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x);
            // Runs of ones at random rotations and element sizes are the interesting inputs.
            let size = 2u32 << (x % 6);
            let ones = 1 + (x >> 8) as u32 % (size - 1);
            let rot = (x >> 16) as u32 % size;
            let mut e = (1u64 << ones) - 1;
            if rot != 0 {
                let m = if size == 64 { u64::MAX } else { (1u64 << size) - 1 };
                e = ((e >> rot) | (e << (size - rot))) & m;
            }
            let mut v = 0u64;
            let mut i = 0;
            while i < 64 {
                v |= e << i;
                i += size;
            }
            samples.push(v);
        }
        for v in samples {
            let ours = LogicalImm::new(v, Width::W64);
            let theirs = dynasmrt::aarch64::encode_logical_immediate_64bit(v);
            assert_eq!(ours.is_some(), theirs.is_some(), "{v:#x}");
            if let (Some(o), Some(t)) = (ours, theirs) {
                let bits = ((o.n as u16) << 12) | ((o.immr as u16) << 6) | o.imms as u16;
                assert_eq!(bits, t, "{v:#x}");
            }
            let v32 = v as u32;
            let ours = LogicalImm::new(v32 as u64, Width::W32);
            let theirs = dynasmrt::aarch64::encode_logical_immediate_32bit(v32);
            assert_eq!(ours.is_some(), theirs.is_some(), "{v32:#x}");
        }
    }

    #[test]
    fn add_sub() {
        assert_eq!(AddSubImm::new(4095), Some(AddSubImm { imm12: 4095, lsl12: false }));
        assert_eq!(AddSubImm::new(4096), Some(AddSubImm { imm12: 1, lsl12: true }));
        assert_eq!(AddSubImm::new(4097), None);
        assert_eq!(AddSubImm::new(0xfff000), Some(AddSubImm { imm12: 0xfff, lsl12: true }));
        assert_eq!(AddSubImm::new(0x1000000), None);
        assert_eq!(AddSub::new(-1), Some(AddSub::Sub(AddSubImm { imm12: 1, lsl12: false })));
        assert_eq!(AddSub::new(i64::MIN), None);
    }

    #[test]
    fn offsets() {
        assert_eq!(ScaledOffset::new(8, 8), Some(ScaledOffset(8)));
        assert_eq!(ScaledOffset::new(4, 8), None);
        assert_eq!(ScaledOffset::new(-8, 8), None);
        assert_eq!(ScaledOffset::new(32760, 8), Some(ScaledOffset(32760)));
        assert_eq!(ScaledOffset::new(32768, 8), None);
        assert_eq!(ScaledOffset::new(4095, 1), Some(ScaledOffset(4095)));
        assert_eq!(ScaledOffset::new(4096, 1), None);
        assert_eq!(SImm9::new(-256), Some(SImm9(-256)));
        assert_eq!(SImm9::new(256), None);
        assert_eq!(PairOffset::new(-512), Some(PairOffset(-512)));
        assert_eq!(PairOffset::new(-520), None);
        assert_eq!(PairOffset::new(4), None);
    }

    #[test]
    fn mov_plans_are_correct_and_short() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut values =
            vec![0, 1, u64::MAX, 0xffff_ffff, 0x8000_0000_0000_0000, 0xffff_0000_ffff, 0x1234_5678_9abc_def0];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x);
            values.push(x & 0xffff_0000_ffff_0000);
            values.push(x | 0xffff_ffff_0000_0000);
            values.push(x as i16 as i64 as u64);
        }
        for v in values {
            for w in [Width::W64, Width::W32] {
                let p = mov_plan(v, w);
                assert!(!p.is_empty() && p.len() <= if w == Width::W64 { 4 } else { 2 }, "{v:#x} {p:?}");
                let want = if w == Width::W64 { v } else { v & 0xffff_ffff };
                assert_eq!(eval_plan(&p, w), want, "{v:#x} {w:?} {p:?}");
            }
        }
        assert_eq!(mov_plan(u64::MAX, Width::W64).len(), 1);
        assert_eq!(mov_plan(0xffff_ffff_ffff_fffe, Width::W64).len(), 1);
        assert_eq!(mov_plan(0x5555_5555_5555_5555, Width::W64).len(), 1);
    }

    #[test]
    fn branch_ranges() {
        assert!(BranchKind::Imm19.reaches((1 << 20) - 4));
        assert!(!BranchKind::Imm19.reaches(1 << 20));
        assert!(BranchKind::Imm19.reaches(-(1 << 20)));
        assert!(!BranchKind::Imm19.reaches(-(1 << 20) - 4));
        assert!(BranchKind::Imm26.reaches(100 << 20));
        assert!(!BranchKind::Imm14.reaches(1 << 15));
        assert!(!BranchKind::Imm26.reaches(2));
    }
}
