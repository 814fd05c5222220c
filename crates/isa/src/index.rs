//! Two index spaces that are easy to confuse: a *slot* is one 8-byte `struct bpf_insn` (the
//! kernel's instruction index, what logs, jumps and `insn_aux_data` count), an *instruction* is
//! one decoded [`crate::Insn`] (an `ld_imm64` is one instruction over two slots). Each has its
//! own type so that one cannot be passed for the other.

macro_rules! define_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// The index `i` (programs are at most `u32::MAX` slots long).
            #[inline]
            pub const fn new(i: usize) -> $name {
                $name(i as u32)
            }

            /// The index as a `usize`, for slices.
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

define_index!(
    /// A slot index (the kernel's `insn_idx`, a `pc`).
    SlotIdx
);
define_index!(
    /// A position in a [`crate::Program`]'s decoded instruction list.
    InsnIdx
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Insn, LdImm64Src, Program, Reg};

    #[test]
    fn slots_and_instructions_differ_after_ld_imm64() {
        let ld = Insn::LdImm64 { dst: Reg::R0, src: LdImm64Src::Imm, imm: 1, imm_hi: 0 };
        let p = Program::new(vec![ld, Insn::Exit]).unwrap();
        assert_eq!(p.slot_of(InsnIdx::new(1)), SlotIdx::new(2));
        assert_eq!(p.insn_at(SlotIdx::new(2)), Some(InsnIdx::new(1)));
        assert_eq!(p.insn_at(SlotIdx::new(1)), None);
        assert_eq!(p.insn(InsnIdx::new(1)), &Insn::Exit);
        assert_eq!(SlotIdx::new(7).to_string(), "7");
    }
}
