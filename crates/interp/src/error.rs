//! Interpreter errors. Every variant names the slot index (`pc`, kernel numbering) it happened at.

use kbpf_isa::KernelMsg;
use thiserror::Error;

/// Why a program could not be prepared or did not run to completion.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InterpError {
    /// A load, store or atomic touched memory outside the input buffer and the live stack frames
    /// (or straddled two frames).
    #[error("insn {pc}: invalid memory access of {size} bytes at {addr:#x}")]
    MemoryAccess {
        /// Slot index.
        pc: usize,
        /// Effective address.
        addr: u64,
        /// Access size in bytes.
        size: u8,
    },
    /// The instruction budget ran out.
    #[error("insn {pc}: instruction budget of {budget} exhausted")]
    BudgetExhausted {
        /// Slot index of the instruction that would have exceeded the budget.
        pc: usize,
        /// The budget.
        budget: u64,
    },
    /// A bpf-to-bpf call beyond `MAX_CALL_FRAMES` frames.
    #[error("insn {pc}: {}", KernelMsg::CallStackTooDeep(*frames))]
    CallTooDeep {
        /// Slot index of the call.
        pc: usize,
        /// Frames the call would have needed.
        frames: usize,
    },
    /// `call N` (or `callx`) to a helper id that the registry does not have or cannot run.
    #[error("insn {pc}: {}", KernelMsg::InvalidFunc("unknown".into(), *id))]
    UnknownHelper {
        /// Slot index.
        pc: usize,
        /// Helper id (the register value for `callx`).
        id: i64,
    },
    /// A kfunc call to a BTF id that the registry does not have or cannot run.
    #[error("insn {pc}: kernel function with btf_id {btf_id} is not available")]
    UnknownKfunc {
        /// Slot index.
        pc: usize,
        /// BTF id.
        btf_id: i64,
    },
    /// An incoming stack argument read in the main function, which has no caller.
    #[error("insn {pc}: stack argument load in a frame without a caller")]
    NoCallerFrame {
        /// Slot index.
        pc: usize,
    },
    /// Execution ran past the last instruction.
    #[error("insn {pc}: fell off the end of the program")]
    FellOffEnd {
        /// Slot index of the last instruction executed.
        pc: usize,
    },
    /// A map helper or tail call whose map argument is no map of the run (or the run has no
    /// maps: use `Vm::run_env`).
    #[error("insn {pc}: {addr:#x} is not a map of this run")]
    NoMap {
        /// Slot index.
        pc: usize,
        /// The value passed as the map.
        addr: u64,
    },
    /// A helper or kfunc argument that is not what the native's prototype needs (a pointer
    /// outside the live memory, a size beyond it, an unterminated string, a forged dynptr, a
    /// context the test run did not build...): the native is not called.
    #[error("insn {pc}: {func} argument {arg} ({name}): {why}")]
    BadArgument {
        /// Slot index of the call.
        pc: usize,
        /// The helper or kfunc.
        func: String,
        /// Argument number, from 1 (`arg1` is r1).
        arg: usize,
        /// Parameter name in the prototype.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// An instruction the interpreter cannot execute (see the message).
    #[error("insn {pc}: unsupported: {what}")]
    Unsupported {
        /// Slot index.
        pc: usize,
        /// What is missing.
        what: &'static str,
    },
    /// Refused in kernel-compatible mode, with the kernel's message (printed alone, as the
    /// kernel reports it without an instruction index).
    #[error("{msg}")]
    KernelCompat {
        /// First offending slot.
        pc: usize,
        /// The kernel's message.
        msg: KernelMsg,
    },
}

impl InterpError {
    /// The slot index the error refers to.
    pub fn pc(&self) -> usize {
        match self {
            InterpError::MemoryAccess { pc, .. }
            | InterpError::BudgetExhausted { pc, .. }
            | InterpError::CallTooDeep { pc, .. }
            | InterpError::UnknownHelper { pc, .. }
            | InterpError::UnknownKfunc { pc, .. }
            | InterpError::NoCallerFrame { pc }
            | InterpError::FellOffEnd { pc }
            | InterpError::NoMap { pc, .. }
            | InterpError::BadArgument { pc, .. }
            | InterpError::Unsupported { pc, .. }
            | InterpError::KernelCompat { pc, .. } => *pc,
        }
    }
}
