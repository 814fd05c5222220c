//! The stack-argument slots addressed through r11 (`BPF_REG_PARAMS`, stack-args.md §1):
//! arguments 6..12 of a call travel in seven 8-byte slots; the caller writes slot `k` at
//! `r11 - 8(k+1)`, the callee reads it at `r11 + 8(k+1)`.
//!
//! This is the one place that converts between offsets, slot indices and argument numbers; the
//! verifier, the interpreter and both JITs go through it.

use crate::{MAX_REG_ARGS, MAX_STACK_ARG_SLOTS};

/// Bytes per slot.
const SLOT_BYTES: i32 = 8;

/// One of the seven stack-argument slots: slot 0 carries argument 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StackArgSlot(u8);

impl StackArgSlot {
    /// Slot `index`, if it exists (`index < MAX_STACK_ARG_SLOTS`).
    #[inline]
    pub fn new(index: usize) -> Option<StackArgSlot> {
        (index < MAX_STACK_ARG_SLOTS).then_some(StackArgSlot(index as u8))
    }

    /// The slot carrying 0-based argument `arg` (5 for the sixth argument), if it is one.
    #[inline]
    pub fn of_arg(arg: usize) -> Option<StackArgSlot> {
        StackArgSlot::new(arg.checked_sub(MAX_REG_ARGS)?)
    }

    /// The slot an outgoing store `*(u64 *)(r11 + off) = ..` writes: `off` a negative multiple
    /// of 8 within the seven slots.
    #[inline]
    pub fn from_store_off(off: i16) -> Option<StackArgSlot> {
        Self::from_distance(-(off as i32))
    }

    /// The slot an incoming load `dst = *(u64 *)(r11 + off)` reads: `off` a positive multiple
    /// of 8 within the seven slots.
    #[inline]
    pub fn from_load_off(off: i16) -> Option<StackArgSlot> {
        Self::from_distance(off as i32)
    }

    #[inline]
    fn from_distance(d: i32) -> Option<StackArgSlot> {
        if d <= 0 || d % SLOT_BYTES != 0 {
            return None;
        }
        StackArgSlot::new((d / SLOT_BYTES - 1) as usize)
    }

    /// Index 0..7.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// 0-based argument number (5 for slot 0).
    #[inline]
    pub fn arg(self) -> usize {
        MAX_REG_ARGS + self.index()
    }

    /// Offset from r11 of the caller's store (`-8`, `-16`, ...).
    #[inline]
    pub fn store_off(self) -> i16 {
        -self.load_off()
    }

    /// Offset from r11 of the callee's load (`8`, `16`, ...).
    #[inline]
    pub fn load_off(self) -> i16 {
        ((self.index() as i32 + 1) * SLOT_BYTES) as i16
    }

    /// Bit `index` of a slot mask.
    #[inline]
    pub fn bit(self) -> u8 {
        1 << self.0
    }

    /// Bytes taken by `count` slots (the incoming area a callee may read, a native outgoing
    /// area).
    #[inline]
    pub fn bytes(count: usize) -> usize {
        count * SLOT_BYTES as usize
    }

    /// Every slot, in order.
    #[inline]
    pub fn all() -> impl Iterator<Item = StackArgSlot> {
        (0..MAX_STACK_ARG_SLOTS).map(|i| StackArgSlot(i as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_arguments() {
        let s = StackArgSlot::from_store_off(-8).unwrap();
        assert_eq!((s.index(), s.arg(), s.store_off(), s.load_off()), (0, 5, -8, 8));
        assert_eq!(StackArgSlot::from_load_off(56).map(StackArgSlot::index), Some(6));
        assert_eq!(StackArgSlot::from_store_off(-64), None);
        assert_eq!(StackArgSlot::from_store_off(-12), None);
        assert_eq!(StackArgSlot::from_store_off(8), None);
        assert_eq!(StackArgSlot::from_load_off(0), None);
        assert_eq!(StackArgSlot::of_arg(4), None);
        assert_eq!(StackArgSlot::of_arg(11).map(StackArgSlot::store_off), Some(-56));
        assert_eq!(StackArgSlot::of_arg(12), None);
        assert_eq!(StackArgSlot::all().count(), 7);
        for s in StackArgSlot::all() {
            assert_eq!(StackArgSlot::from_store_off(s.store_off()), Some(s));
            assert_eq!(StackArgSlot::from_load_off(s.load_off()), Some(s));
        }
    }
}
