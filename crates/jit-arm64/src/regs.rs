//! The BPF -> arm64 register map.
//!
//! It is the map of the kernel's arm64 JIT after the stack-arguments series: BPF r0 lives in x8
//! (not x7 as in released kernels) so that x0..x7 are exactly the eight AAPCS64 argument
//! registers: r1..r5 -> x0..x4, arguments 6..8 -> x5..x7, arguments 9..12 on the native stack.
//! Callee-saved x19..x22 hold r6..r9 and x25 the BPF frame pointer, so helper and kfunc calls
//! preserve them for free.
//!
//! kbpf has no tail calls, private stacks or arenas, so the kernel's uses of x26..x28 are free;
//! kbpf gives them and x23/x24 the roles listed on the constants below.

use kbpf_isa::Reg;

/// An arm64 general register number (0..=30; 31 is `sp` or `xzr` depending on the instruction).
pub type XReg = u8;

/// BPF r0 (return value).
pub const R0: XReg = 8;
/// BPF r10, the read-only frame pointer: top of the frame's 512-byte BPF stack.
pub const BPF_FP: XReg = 25;
/// Scratch register 1 (addresses, materialised offsets, call targets).
pub const TMP1: XReg = 10;
/// Scratch register 2 (immediate operands, old values of atomics).
pub const TMP2: XReg = 11;
/// Scratch register 3 (new values of LL/SC loops, quotients).
pub const TMP3: XReg = 12;
/// The kernel's `BPF_REG_AX`: blinding scratch there, the exclusive-store status here.
pub const AX: XReg = 9;
/// Native frame pointer (x29).
pub const FP: XReg = 29;
/// Link register (x30).
pub const LR: XReg = 30;
/// Address of the run's `kbpf_jit::RunCtx` (fault status, input buffer, saved sp), set by the
/// entry trampoline and never changed by BPF functions.
pub const CTX: XReg = 23;
/// Copies of the incoming stack arguments 6, 7, 8 (x5..x7 at entry), taken in the prologue of a
/// function that reads them, because any call made by the function clobbers x5..x7.
pub const IN_ARGS: [XReg; 3] = [26, 27, 28];
/// Argument registers of AAPCS64 (arguments 1..8).
pub const ARGS: [XReg; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// AAPCS64 callee-saved registers; the entry trampoline saves all of them so that a fault can
/// unwind every BPF frame at once.
pub const CALLEE_SAVED: [XReg; 10] = [19, 20, 21, 22, 23, 24, 25, 26, 27, 28];

/// arm64 register holding BPF register `r`; `None` for r11, which is not a value register.
pub fn map(r: Reg) -> Option<XReg> {
    Some(match r {
        Reg::R0 => R0,
        Reg::R1 => 0,
        Reg::R2 => 1,
        Reg::R3 => 2,
        Reg::R4 => 3,
        Reg::R5 => 4,
        Reg::R6 => 19,
        Reg::R7 => 20,
        Reg::R8 => 21,
        Reg::R9 => 22,
        Reg::R10 => BPF_FP,
        Reg::R11 => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_is_injective_and_avoids_scratch() {
        let mut seen = std::collections::HashSet::new();
        for r in Reg::GENERAL {
            let x = map(r).expect("general register");
            assert!(seen.insert(x), "{r} collides");
            assert!(![TMP1, TMP2, TMP3, AX, FP, LR, CTX].contains(&x));
            assert!(!IN_ARGS.contains(&x));
        }
        assert_eq!(map(Reg::R11), None);
        // r1..r5 are the first five argument registers, so helpers need no marshalling.
        for (i, r) in [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5].into_iter().enumerate() {
            assert_eq!(map(r), Some(ARGS[i]));
        }
    }
}
