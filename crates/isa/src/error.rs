//! Typed decoding errors. Messages mirror the kernel verifier's wording where it has one.

use thiserror::Error;

/// Why an instruction stream could not be decoded; `index` is the slot index (kernel numbering).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("insn {index}: {kind}")]
pub struct DecodeError {
    /// Slot index of the offending instruction.
    pub index: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// The decoding failures, each with the kernel's message text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    /// Opcode byte not in the instruction table.
    #[error("unknown opcode {0:02x}")]
    UnknownOpcode(u8),
    /// A register field above 10 outside the stack-argument forms.
    #[error("R{0} is invalid")]
    InvalidReg(u8),
    /// A field that must be zero (or from a small set) is not, for the named instruction group
    /// (`ALU`, `MOV`, `NEG`, `END`, `JA`, `CALL`, `EXIT`, `JMP/JMP32`, `LDX`, `ST`, `STX`,
    /// `LD_[ABS|IND]`, `LD_IMM64`).
    #[error("BPF_{0} uses reserved fields")]
    ReservedFields(&'static str),
    /// `may_goto` with a register, a destination or an immediate.
    #[error("invalid may_goto imm {0}")]
    InvalidMayGoto(i32),
    /// Atomic with an unknown operation or a size it does not take.
    #[error("BPF_ATOMIC uses invalid atomic opcode {0:02x}")]
    InvalidAtomic(i32),
    /// Malformed or truncated two-slot load.
    #[error("invalid bpf_ld_imm64 insn")]
    InvalidLdImm64,
    /// Unknown pseudo source of a two-slot load.
    #[error("unrecognized bpf_ld_imm64 insn")]
    UnrecognizedLdImm64,
    /// Branch target outside the program.
    #[error("jump out of range from insn {from} to {to}")]
    JumpOutOfRange {
        /// Slot of the jump.
        from: usize,
        /// Target slot.
        to: i64,
    },
    /// Branch into the second slot of an `LdImm64`.
    #[error("jump into the middle of ldimm64 insn {0}")]
    JumpIntoLdImm64(usize),
    /// bpf-to-bpf call target outside the program.
    #[error("call to invalid destination")]
    CallOutOfRange,
    /// Byte length not a multiple of 8.
    #[error("program length {0} is not a multiple of 8 bytes")]
    Truncated(usize),
    /// No instruction at all.
    #[error("empty program")]
    Empty,
}
