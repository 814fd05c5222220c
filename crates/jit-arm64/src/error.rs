//! Code generation errors. Every one carries the instruction index (slot pc) it concerns.

use thiserror::Error;

/// Why a program could not be compiled for arm64.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EmitError {
    /// An instruction the arm64 backend does not implement.
    #[error("insn {index}: {what} is not supported by the arm64 JIT")]
    Unsupported {
        /// Slot index.
        index: usize,
        /// What it is.
        what: &'static str,
    },
    /// `call N` with an id the registry does not know.
    #[error("insn {index}: invalid func unknown#{id}")]
    UnknownHelper {
        /// Slot index.
        index: usize,
        /// Helper id.
        id: i32,
    },
    /// A kfunc call with a BTF id the registry does not know.
    #[error("insn {index}: calling kernel function {btf_id} is not allowed")]
    UnknownKfunc {
        /// Slot index.
        index: usize,
        /// BTF id.
        btf_id: i32,
    },
    /// The registry knows the function but has no native implementation to call.
    #[error("insn {index}: {name} has no native implementation")]
    NoNative {
        /// Slot index.
        index: usize,
        /// Function name.
        name: String,
    },
    /// A stack-argument access outside the seven slots.
    #[error("insn {index}: stack argument offset {off} out of range")]
    StackArg {
        /// Slot index.
        index: usize,
        /// The r11 offset.
        off: i16,
    },
    /// A register that cannot hold a value (r11 outside the stack-argument forms).
    #[error("insn {index}: R{reg} is invalid")]
    InvalidReg {
        /// Slot index.
        index: usize,
        /// Register number.
        reg: u8,
    },
    /// The code is too large for arm64 branches (+-128 MiB).
    #[error("program too large for the arm64 JIT ({bytes} bytes of code)")]
    TooLarge {
        /// Code size reached.
        bytes: usize,
    },
}
