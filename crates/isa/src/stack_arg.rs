//! The stack-argument slots addressed through r11 (`BPF_REG_PARAMS`, stack-args.md §1):
//! arguments 6..12 of a call travel in seven 8-byte slots; the caller writes slot `k` at
//! `r11 - 8(k+1)`, the callee reads it at `r11 + 8(k+1)`.
//!
//! This is the one place that converts between offsets, slot indices and argument numbers; the
//! decoder, the verifier, the interpreter and both JITs go through it. An instruction holds a
//! [`StackArgPos`] (any 8-aligned distance on the right side of r11, as the kernel's recogniser
//! accepts); whether that position is one of the seven slots is [`StackArgPos::slot`], which the
//! verifier turns into the kernel's range messages.

use crate::{MAX_REG_ARGS, MAX_STACK_ARG_SLOTS};

/// Bytes per slot.
const SLOT_BYTES: i32 = 8;

/// Where a stack-argument instruction points: `8 * n` bytes below r11 for the caller's store,
/// above it for the callee's load (`n >= 1`; the side is the instruction's). Positions beyond the
/// seventh slot are representable so that the verifier can report them with the kernel's
/// messages; [`StackArgPos::slot`] is the checked view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StackArgPos(std::num::NonZeroU16);

impl StackArgPos {
    /// The position of an outgoing store `*(u64 *)(r11 + off) = ..`: `off` a negative multiple
    /// of 8.
    #[inline]
    pub fn from_store_off(off: i16) -> Option<StackArgPos> {
        Self::from_distance(-(off as i32))
    }

    /// The position of an incoming load `dst = *(u64 *)(r11 + off)`: `off` a positive multiple
    /// of 8.
    #[inline]
    pub fn from_load_off(off: i16) -> Option<StackArgPos> {
        Self::from_distance(off as i32)
    }

    #[inline]
    fn from_distance(d: i32) -> Option<StackArgPos> {
        if d <= 0 || d % SLOT_BYTES != 0 {
            return None;
        }
        std::num::NonZeroU16::new((d / SLOT_BYTES) as u16).map(StackArgPos)
    }

    /// The slot at this position, if it is one of the seven.
    #[inline]
    pub fn slot(self) -> Option<StackArgSlot> {
        StackArgSlot::new(self.0.get() as usize - 1)
    }

    /// Offset from r11 as a caller's store writes it (`-8`, `-16`, ...).
    #[inline]
    pub fn store_off(self) -> i16 {
        // from_store_off reaches -32768, whose distance has no positive i16
        (-(self.0.get() as i32) * SLOT_BYTES) as i16
    }

    /// Offset from r11 as a callee's load reads it (`8`, `16`, ...).
    #[inline]
    pub fn load_off(self) -> i16 {
        (self.0.get() as i32 * SLOT_BYTES) as i16
    }
}

impl From<StackArgSlot> for StackArgPos {
    fn from(s: StackArgSlot) -> StackArgPos {
        StackArgPos(std::num::NonZeroU16::MIN.saturating_add(s.0 as u16))
    }
}

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
        StackArgPos::from_store_off(off)?.slot()
    }

    /// The slot an incoming load `dst = *(u64 *)(r11 + off)` reads: `off` a positive multiple
    /// of 8 within the seven slots.
    #[inline]
    pub fn from_load_off(off: i16) -> Option<StackArgSlot> {
        StackArgPos::from_load_off(off)?.slot()
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
        StackArgPos::from(self).store_off()
    }

    /// Offset from r11 of the callee's load (`8`, `16`, ...).
    #[inline]
    pub fn load_off(self) -> i16 {
        StackArgPos::from(self).load_off()
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
        let far = StackArgPos::from_store_off(-64).unwrap();
        assert_eq!((far.slot(), far.store_off(), far.load_off()), (None, -64, 64));
        assert_eq!(StackArgPos::from_load_off(-8), None);
        assert_eq!(StackArgPos::from_store_off(i16::MIN).map(StackArgPos::store_off), Some(i16::MIN));
        for s in StackArgSlot::all() {
            assert_eq!(StackArgPos::from(s).slot(), Some(s));
            assert_eq!(StackArgSlot::from_store_off(s.store_off()), Some(s));
            assert_eq!(StackArgSlot::from_load_off(s.load_off()), Some(s));
        }
    }
}
