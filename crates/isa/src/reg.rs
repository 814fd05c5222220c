//! The BPF register file as the ISA sees it: r0..r10 plus the stack-argument base r11.

use std::fmt;

/// A BPF register number.
///
/// `R11` is `BPF_REG_PARAMS`: it is only legal as the base register of the three stack-argument
/// memory forms (see [`crate::Insn::is_stack_arg`]); every other use is rejected by the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Reg {
    R0 = 0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
}

impl Reg {
    /// The frame pointer, read only.
    pub const FP: Reg = Reg::R10;
    /// `BPF_REG_PARAMS`: base of the stack-argument area.
    pub const PARAMS: Reg = Reg::R11;
    /// The eleven general registers r0..r10 (r11 excluded).
    pub const GENERAL: [Reg; 11] =
        [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6, Reg::R7, Reg::R8, Reg::R9, Reg::R10];

    /// Register from its 4-bit field value; `None` above 11.
    pub fn from_u8(n: u8) -> Option<Reg> {
        Some(match n {
            0..=10 => Reg::GENERAL[n as usize],
            11 => Reg::R11,
            _ => return None,
        })
    }

    /// The field value.
    #[inline]
    pub const fn num(self) -> u8 {
        self as u8
    }

    /// Index usable for register arrays.
    pub fn idx(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.num())
    }
}
