//! The BPF to x86_64 register map: the kernel's (verifier-architecture.md §7.5).
//!
//! r1..r5 land in rdi, rsi, rdx, rcx, r8, the SysV argument registers, so helper and kfunc calls
//! need no argument moves; r6..r9 and r10 land in callee-saved registers, so they survive native
//! calls for free; r0 is rax, the return register.

use kbpf_isa::Reg;

/// Native register numbers as the x86 encoding uses them.
#[allow(missing_docs)]
pub mod native {
    pub const RAX: u8 = 0;
    pub const RCX: u8 = 1;
    pub const RDX: u8 = 2;
    pub const RBX: u8 = 3;
    pub const RSP: u8 = 4;
    pub const RBP: u8 = 5;
    pub const RSI: u8 = 6;
    pub const RDI: u8 = 7;
    pub const R8: u8 = 8;
    pub const R9: u8 = 9;
    pub const R10: u8 = 10;
    pub const R11: u8 = 11;
    pub const R12: u8 = 12;
    pub const R13: u8 = 13;
    pub const R14: u8 = 14;
    pub const R15: u8 = 15;
}

/// Carries stack argument 6 in both directions (SysV's sixth argument register).
pub const ARG6: u8 = native::R9;
/// Scratch register, never holds a BPF register (the kernel's AUX).
pub const AUX: u8 = native::R10;
/// Second scratch register.
pub const TMP: u8 = native::R11;
/// Holds the `RunCtx` pointer for the whole run (set by the entry trampoline).
pub const CTX: u8 = native::R12;

/// Native register of a BPF register. r11 has no register: its accesses are lowered to r9 or
/// the stack; asking for it yields the scratch register so a bug cannot clobber BPF state.
pub fn x(r: Reg) -> u8 {
    use native::*;
    match r {
        Reg::R0 => RAX,
        Reg::R1 => RDI,
        Reg::R2 => RSI,
        Reg::R3 => RDX,
        Reg::R4 => RCX,
        Reg::R5 => R8,
        Reg::R6 => RBX,
        Reg::R7 => R13,
        Reg::R8 => R14,
        Reg::R9 => R15,
        Reg::R10 => RBP,
        Reg::R11 => TMP,
    }
}

/// Intel names of the 64-bit registers (for messages and tests).
pub fn name64(n: u8) -> &'static str {
    [
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
        "r14", "r15",
    ][(n & 15) as usize]
}
