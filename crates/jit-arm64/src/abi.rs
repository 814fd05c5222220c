//! Native frame layout, the entry trampoline's contract and the stack-argument ABI.
//!
//! Every BPF function (the main program and each bpf-to-bpf subprogram) is an AAPCS64 function
//! with one frame shape, so that offsets from x29 are constants:
//!
//! ```text
//!  high  [x29 + 16 + 8k]  incoming argument 9 + k (the caller's outgoing area)
//!        [x29 + 0]        saved x29, x30
//!        [x29 - 16]       saved x19, x20   (r6, r7)
//!        [x29 - 32]       saved x21, x22   (r8, r9)
//!        [x29 - 48]       saved x25, x26   (caller's r10, incoming argument 6)
//!        [x29 - 64]       saved x27, x28   (incoming arguments 7, 8)
//!        [x29 - 72]       may_goto budget of this invocation
//!        [x29 - 80]       padding
//!        x25 = x29 - 80   BPF r10: top of the function's BPF stack
//!        [x25 - depth]    bottom of the BPF stack (depth from kbpf_jit's frame plan; zeroed by the prologue)
//!        [sp + 8k]        outgoing argument 9 + k
//!  low   sp               16-byte aligned
//! ```
//!
//! Stack arguments (stack-args.md §5.2): outgoing `r11 - 8/16/24` become `mov x5/x6/x7, src`,
//! `r11 - 32..56` become `str src, [sp, #(-off - 32)]`. Incoming `r11 + 32..56` are
//! `ldr dst, [x29, #(off - 16)]`. Incoming `r11 + 8/16/24` arrive in x5..x7, which any call the
//! function makes clobbers; kbpf copies them to x26..x28 in the prologue of every function that
//! reads them, so the loads are `mov dst, x26/x27/x28` and stay valid for the whole function.
//!
//! A function saves only the callee-saved pairs it writes ([`Frame::saves`]). A program that
//! can fault or tail-call ([`kbpf_jit::needs_run_ctx`]) is entered through the entry trampoline
//! (offset 0 of the code), called as `(input, len, *mut RunCtx) -> r0`; any other program is
//! entered at its main function. The trampoline saves every callee-saved register, keeps the `RunCtx` address in x23 and its own sp in
//! `RunCtx::saved_sp`, and calls the main function. A fault stub stores its status in the
//! context and jumps to the trampoline's abort path, which restores that sp (dropping every BPF
//! frame at once), restores the registers and returns 0.

use kbpf_isa::StackArgSlot;
use kbpf_jit::{ArgLoc, FuncPlan, StackArgAbi};

/// Offset from x29 of the saved x19/x20 pair.
pub const SAVE_X19: i32 = -16;
/// Offset from x29 of the saved x21/x22 pair.
pub const SAVE_X21: i32 = -32;
/// Offset from x29 of the saved x25/x26 pair.
pub const SAVE_X25: i32 = -48;
/// Offset from x29 of the saved x27/x28 pair.
pub const SAVE_X27: i32 = -64;
/// Offset from x29 of the function's may_goto counter.
pub const MAY_GOTO_COUNTER: i32 = -72;
/// x25 (BPF r10) = x29 - this.
pub const BPF_FP_OFFSET: u32 = 80;
/// Bytes the entry trampoline pushes: x29/x30 and the ten callee-saved registers.
pub const TRAMPOLINE_FRAME: u32 = 96;

/// The native frame of one BPF function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Bytes of BPF stack below r10 (multiple of 16).
    pub depth: u32,
    /// Bytes of outgoing stack-argument area at sp (multiple of 16).
    pub out_area: u32,
    /// Whether the function reads incoming arguments 6..8 (copied from x5..x7 at entry).
    pub reads_in_regs: bool,
    /// Whether the function has a may_goto budget.
    pub may_goto: bool,
    /// Which callee-saved pairs the function saves (x19/x20, x21/x22, x25/x26, x27/x28): only
    /// those it writes, like the kernel's `detect_reg_usage`; their slots are reserved anyway
    /// so that offsets from x29 stay constant.
    pub saves: [bool; 4],
}

impl Frame {
    /// The frame of a planned function.
    pub fn new(plan: &FuncPlan) -> Frame {
        use kbpf_isa::Reg;
        let uses = |a: Reg, b: Reg| plan.callee_saved.contains(&a) || plan.callee_saved.contains(&b);
        let reads_in_regs = plan.in_stack_args > 0;
        Frame {
            saves: [
                uses(Reg::R6, Reg::R7),
                uses(Reg::R8, Reg::R9),
                plan.uses_fp || reads_in_regs,
                reads_in_regs,
            ],
            depth: plan.stack_depth,
            out_area: StackArgAbi::ARM64.area_bytes(plan.out_stack_args as usize),
            reads_in_regs,
            may_goto: plan.may_goto,
        }
    }

    /// sp = x29 - this, after the prologue.
    pub fn below_fp(&self) -> u32 {
        BPF_FP_OFFSET + self.depth + self.out_area
    }
}

/// Where stack-argument slot `k` (argument 6 + k) travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSlot {
    /// In a register: x5..x7 for the caller, the prologue copy x26..x28 for the callee.
    Reg(u8),
    /// On the native stack: `[sp + off]` for the caller, `[x29 + off]` for the callee.
    Stack(u32),
}

/// First argument register of the native convention that carries a stack argument (x5).
const FIRST_ARG_REG: u8 = 5;
/// The callee's frame record (saved x29 and x30) between its x29 and the caller's outgoing area.
const FRAME_RECORD: u32 = 16;

/// Where an outgoing slot (`*(u64 *)(r11 - 8(k+1)) = ...`) lives in the caller.
pub fn outgoing(slot: StackArgSlot) -> ArgSlot {
    match StackArgAbi::ARM64.outgoing(slot) {
        ArgLoc::Reg(n) => ArgSlot::Reg(FIRST_ARG_REG + n as u8),
        ArgLoc::Stack(o) => ArgSlot::Stack(o),
    }
}

/// Where an incoming slot (`dst = *(u64 *)(r11 + 8(k+1))`) lives in the callee.
pub fn incoming(slot: StackArgSlot) -> Option<ArgSlot> {
    Some(match StackArgAbi::ARM64.incoming(slot) {
        ArgLoc::Reg(n) => ArgSlot::Reg(*crate::regs::IN_ARGS.get(n)?),
        ArgLoc::Stack(o) => ArgSlot::Stack(o + FRAME_RECORD),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(off: i16) -> Option<ArgSlot> {
        StackArgSlot::from_store_off(off).map(super::outgoing)
    }

    fn incoming(off: i16) -> Option<ArgSlot> {
        StackArgSlot::from_load_off(off).and_then(super::incoming)
    }

    fn common_loc(off: i16, out: bool) -> Option<ArgLoc> {
        let a = StackArgAbi::ARM64;
        if out {
            StackArgSlot::from_store_off(off).map(|s| a.outgoing(s))
        } else {
            StackArgSlot::from_load_off(off).map(|s| a.incoming(s))
        }
    }

    #[test]
    fn slots_agree_with_the_common_abi() {
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
        for k in 1..=8i16 {
            let common = common_loc(-8 * k, true);
            match (outgoing(-8 * k), common) {
                (Some(ArgSlot::Reg(r)), Some(ArgLoc::Reg(n))) => assert_eq!(r as usize, 5 + n),
                (Some(ArgSlot::Stack(o)), Some(ArgLoc::Stack(c))) => assert_eq!(o, c),
                (None, None) => {}
                other => panic!("slot {k}: {other:?}"),
            }
            // The callee's [x29 + 16] is the caller's [sp]: saved x29/x30 sit in between.
            if let (Some(ArgSlot::Stack(o)), Some(ArgLoc::Stack(c))) =
                (incoming(8 * k), common_loc(8 * k, false))
            {
                assert_eq!(o, c + 16);
            }
        }
        assert_eq!(BPF_FP_OFFSET % 16, 0);
    }
}
