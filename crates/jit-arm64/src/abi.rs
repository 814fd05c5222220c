//! Native frame layout and the stack-argument ABI.
//!
//! Every BPF function (the main program and each bpf-to-bpf subprogram) is an AAPCS64 function
//! with one fixed frame shape, so that offsets are constants:
//!
//! ```text
//!  high  [x29 + 16 + 8k]  incoming argument 9 + k (the caller's outgoing area)
//!        [x29 + 0]        saved x29, x30
//!        [x29 - 16]       saved x19, x20
//!        [x29 - 32]       saved x21, x22
//!        [x29 - 48]       saved x23, x24 (main function only; unused elsewhere)
//!        [x29 - 64]       saved x25, x26
//!        [x29 - 80]       saved x27, x28
//!        [x29 - 96]       run context: input address, input length (main function only)
//!        [x29 - 104]      may_goto counter (functions that use may_goto)
//!        [x29 - 112]      padding
//!        x25 = x29 - 112  BPF r10: top of the 512-byte BPF stack
//!        [x29 - 624]      bottom of the BPF stack
//!        [sp + 8k]        outgoing argument 9 + k (k = 0..3)
//!  low   sp = x29 - 656   (16-byte aligned)
//! ```
//!
//! Stack arguments (stack-args.md §5.2): outgoing `r11 - 8/16/24` become `mov x5/x6/x7, src`,
//! `r11 - 32..56` become `str src, [sp, #(-off - 32)]`. Incoming `r11 + 32..56` are
//! `ldr dst, [x29, #(off - 16)]`. Incoming `r11 + 8/16/24` arrive in x5..x7, which any call the
//! function makes clobbers; kbpf copies them to x26..x28 in the prologue of every function that
//! reads them, so the loads are `mov dst, x26/x27/x28` and stay valid for the whole function.

use kbpf_isa::MAX_BPF_STACK;

/// Offset from x29 of the saved x19/x20 pair.
pub const SAVE_X19: i32 = -16;
/// Offset from x29 of the saved x21/x22 pair.
pub const SAVE_X21: i32 = -32;
/// Offset from x29 of the saved x23/x24 pair (main function only).
pub const SAVE_X23: i32 = -48;
/// Offset from x29 of the saved x25/x26 pair.
pub const SAVE_X25: i32 = -64;
/// Offset from x29 of the saved x27/x28 pair.
pub const SAVE_X27: i32 = -80;
/// Offset from x29 (of the main frame) of the input buffer address; its length follows.
pub const CTX_DATA: i32 = -96;
/// Offset from x29 (of the main frame) of the input buffer length.
pub const CTX_LEN: i32 = -88;
/// Offset from x29 of the function's may_goto counter.
pub const MAY_GOTO_COUNTER: i32 = -104;
/// x25 (BPF r10) = x29 - this.
pub const BPF_FP_OFFSET: u32 = 112;
/// Bytes of BPF stack per frame.
pub const BPF_STACK: u32 = MAX_BPF_STACK as u32;
/// Bytes of outgoing stack-argument area (arguments 9..12).
pub const OUT_ARGS_AREA: u32 = 32;
/// sp = x29 - this, after the prologue.
pub const FRAME_BELOW_FP: u32 = BPF_FP_OFFSET + BPF_STACK + OUT_ARGS_AREA;
/// Initial may_goto budget of a frame (the kernel's `BPF_MAX_LOOPS`).
pub const BPF_MAX_LOOPS: u64 = 8 * 1024 * 1024;

const _: () = assert!(FRAME_BELOW_FP.is_multiple_of(16), "AAPCS64 needs a 16-byte aligned sp");

/// Where stack-argument slot `k` (argument 6 + k) travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSlot {
    /// In a register: x5..x7 for the caller, the prologue copy x26..x28 for the callee.
    Reg(u8),
    /// On the native stack: `[sp + off]` for the caller, `[x29 + off]` for the callee.
    Stack(u32),
}

/// Outgoing slot for `*(u64 *)(r11 + off) = ...` (`off` negative multiple of 8, -8..=-56).
pub fn outgoing(off: i16) -> Option<ArgSlot> {
    match off {
        -8 => Some(ArgSlot::Reg(5)),
        -16 => Some(ArgSlot::Reg(6)),
        -24 => Some(ArgSlot::Reg(7)),
        -56..=-32 if off % 8 == 0 => Some(ArgSlot::Stack((-(off as i32) - 32) as u32)),
        _ => None,
    }
}

/// Incoming slot for `dst = *(u64 *)(r11 + off)` (`off` positive multiple of 8, 8..=56).
pub fn incoming(off: i16) -> Option<ArgSlot> {
    match off {
        8 => Some(ArgSlot::Reg(crate::regs::IN_ARGS[0])),
        16 => Some(ArgSlot::Reg(crate::regs::IN_ARGS[1])),
        24 => Some(ArgSlot::Reg(crate::regs::IN_ARGS[2])),
        32..=56 if off % 8 == 0 => Some(ArgSlot::Stack((off - 16) as u32)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots() {
        assert_eq!(outgoing(-8), Some(ArgSlot::Reg(5)));
        assert_eq!(outgoing(-24), Some(ArgSlot::Reg(7)));
        assert_eq!(outgoing(-32), Some(ArgSlot::Stack(0)));
        assert_eq!(outgoing(-56), Some(ArgSlot::Stack(24)));
        assert_eq!(outgoing(-64), None);
        assert_eq!(outgoing(-12), None);
        assert_eq!(incoming(8), Some(ArgSlot::Reg(26)));
        assert_eq!(incoming(32), Some(ArgSlot::Stack(16)));
        assert_eq!(incoming(56), Some(ArgSlot::Stack(40)));
        assert_eq!(incoming(64), None);
        // The callee's [x29 + 16] is the caller's [sp]: saved x29/x30 sit in between.
        assert_eq!(FRAME_BELOW_FP, 656);
    }
}
