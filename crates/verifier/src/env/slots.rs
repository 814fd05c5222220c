//! A per-slot table indexed by [`SlotIdx`] only, so a decoded-instruction position or a
//! checkpoint number cannot index it by mistake.

use kbpf_isa::SlotIdx;

/// One `T` per instruction slot.
#[derive(Clone, Debug, Default)]
pub(crate) struct SlotVec<T>(Vec<T>);

impl<T: Clone> SlotVec<T> {
    /// `slots` copies of `v`.
    pub(crate) fn filled(slots: usize, v: T) -> SlotVec<T> {
        SlotVec(vec![v; slots])
    }
}

impl<T> SlotVec<T> {
    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The entry of slot `s`, if the table covers it.
    pub(crate) fn get(&self, s: SlotIdx) -> Option<&T> {
        self.0.get(s.index())
    }

    /// The entry of slot `s` to write, if the table covers it.
    pub(crate) fn get_mut(&mut self, s: SlotIdx) -> Option<&mut T> {
        self.0.get_mut(s.index())
    }
}

impl<T> std::ops::Index<SlotIdx> for SlotVec<T> {
    type Output = T;
    fn index(&self, s: SlotIdx) -> &T {
        &self.0[s.index()]
    }
}

impl<T> std::ops::IndexMut<SlotIdx> for SlotVec<T> {
    fn index_mut(&mut self, s: SlotIdx) -> &mut T {
        &mut self.0[s.index()]
    }
}

/// The slot `n` after `s` (the next instruction, the slot after an `ld_imm64`'s pair).
pub(crate) fn after(s: SlotIdx, n: usize) -> SlotIdx {
    SlotIdx::new(s.index() + n)
}
