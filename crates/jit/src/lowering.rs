//! Lowering of calls with more than five arguments to a native calling convention.
//!
//! BPF passes arguments 1..5 in r1..r5 and 6..12 through the stack-argument slots addressed by
//! r11 (stack-args.md §1). A native convention has a few more argument registers and then the
//! stack; [`StackArgAbi`] says where each slot lands, for the caller (outgoing) and the callee
//! (incoming).

use kbpf_isa::StackArgSlot;

/// Where one stack-argument slot lives in the native convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    /// The `n`-th extra argument register (x86_64: r9; arm64: x5, x6, x7).
    Reg(usize),
    /// Bytes above the stack pointer at the call instruction (the caller's outgoing area; the
    /// callee finds it above its return address and saved frame pointer).
    Stack(u32),
}

/// The native placement of stack arguments for one architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackArgAbi {
    /// How many slots travel in registers before the rest go on the stack.
    pub reg_slots: usize,
}

impl StackArgAbi {
    /// x86_64 SysV: arg 6 in r9, 7..12 at `[rsp]`, `[rsp+8]`, ...
    pub const X86_64: StackArgAbi = StackArgAbi { reg_slots: 1 };
    /// arm64 AAPCS64: args 6..8 in x5..x7, 9..12 at `[sp]`, `[sp+8]`, ...
    pub const ARM64: StackArgAbi = StackArgAbi { reg_slots: 3 };

    /// Location of slot `slot` (0 = argument 6).
    pub fn slot(&self, slot: usize) -> ArgLoc {
        if slot < self.reg_slots {
            ArgLoc::Reg(slot)
        } else {
            ArgLoc::Stack(StackArgSlot::bytes(slot - self.reg_slots) as u32)
        }
    }

    /// Bytes of outgoing area for `slots` used slots, rounded to 16 so the stack pointer stays
    /// aligned at calls.
    pub fn area_bytes(&self, slots: usize) -> u32 {
        StackArgSlot::bytes(slots.saturating_sub(self.reg_slots)).div_ceil(16) as u32 * 16
    }

    /// Native location of an outgoing slot (`*(u64 *)(r11 - 8(k+1)) = ...`) in the caller.
    pub fn outgoing(&self, slot: StackArgSlot) -> ArgLoc {
        self.slot(slot.index())
    }

    /// Native location of an incoming slot (`r = *(u64 *)(r11 + 8(k+1))`) in the callee: the
    /// same place as the caller's, seen from the other side of the call.
    pub fn incoming(&self, slot: StackArgSlot) -> ArgLoc {
        self.slot(slot.index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(a: StackArgAbi, off: i16) -> Option<ArgLoc> {
        StackArgSlot::from_store_off(off).map(|s| a.outgoing(s))
    }

    #[test]
    fn x86_placement() {
        let a = StackArgAbi::X86_64;
        assert_eq!(out(a, -8), Some(ArgLoc::Reg(0)));
        assert_eq!(out(a, -16), Some(ArgLoc::Stack(0)));
        assert_eq!(out(a, -56), Some(ArgLoc::Stack(40)));
        assert_eq!(out(a, -64), None);
        assert_eq!(StackArgSlot::from_load_off(16).map(|s| a.incoming(s)), Some(ArgLoc::Stack(0)));
        assert_eq!(a.area_bytes(7), 48);
        assert_eq!(a.area_bytes(2), 16);
        assert_eq!(a.area_bytes(1), 0);
    }

    #[test]
    fn arm64_placement() {
        let a = StackArgAbi::ARM64;
        assert_eq!(out(a, -24), Some(ArgLoc::Reg(2)));
        assert_eq!(out(a, -32), Some(ArgLoc::Stack(0)));
        assert_eq!(a.area_bytes(7), 32);
    }
}
