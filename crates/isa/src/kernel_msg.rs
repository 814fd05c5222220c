//! Kernel verifier messages that more than one crate reports (the verifier when it refuses a
//! program, the static passes, the JITs and the interpreter when they meet an unverified one):
//! each text is declared once, here, and the crates' error enums render through it.
//! Decoding messages live in [`crate::DecodeErrorKind`].

use thiserror::Error;

/// A kernel message shared by several crates' errors.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KernelMsg {
    /// A call chain deeper than `MAX_CALL_FRAMES`.
    #[error("the call stack of {0} frames is too deep")]
    CallStackTooDeep(usize),
    /// A write to r10.
    #[error("frame pointer is read only")]
    FpReadOnly,
    /// A helper id with no prototype (name `unknown` when the id has no name either).
    #[error("invalid func {0}#{1}")]
    InvalidFunc(String, i64),
    /// A kfunc call to a BTF id that names no function.
    #[error("kernel btf_id {0} is not a function")]
    KfuncNotFunc(i64),
    /// A subprogram whose last instruction falls through.
    #[error("last insn is not an exit or jmp")]
    LastInsnNotExit,
    /// A kfunc prototype with more than `MAX_BPF_FUNC_ARGS` parameters.
    #[error("Function {0} has {1} > 12 args")]
    TooManyArgs(String, usize),
    /// Stack arguments in a program bound for the kernel's interpreter.
    #[error("stack args are not supported in non-JITed programs")]
    StackArgsNonJit,
    /// kfunc calls in a program bound for the kernel's interpreter.
    #[error("calling kernel functions are not allowed in non-JITed programs")]
    KfuncNonJit,
}
