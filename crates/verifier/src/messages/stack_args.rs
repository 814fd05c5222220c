//! Stack arguments (r11 = `BPF_REG_PARAMS`): the kernel's messages of the series.

use crate::protos::func_info::{MAX_FUNC_ARGS, MAX_REG_ARGS, MAX_STACK_ARG_SLOTS};
use kbpf_passes::Errno;
use thiserror::Error;

/// The kernel's stack-argument messages.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum StackArgError {
    #[error("stack arg write offset {0} exceeds max {MAX_STACK_ARG_SLOTS} stack args")]
    WriteBeyondMax(i32),
    #[error("r11 load must be before any r11 store or call insn")]
    LoadAfterStoreOrCall,
    #[error("invalid read from stack arg off {0} depth {1}")]
    InvalidRead(i32, usize),
    #[error("callee expects {0} args, stack arg{1} is not initialized")]
    NotInitialized(u32, usize),
    #[error("kernel supports at most {MAX_FUNC_ARGS} parameters, function {0} has {1}")]
    TooManyParams(String, u32),
    #[error("global function {0} has {1} > {MAX_REG_ARGS} args, stack args not supported")]
    GlobalTooManyArgs(String, u32),
    #[error("Caller passes invalid args into func#{0} ('{1}')")]
    CallerPassesInvalidArgs(usize, String),
    #[error("func#{0} writes {1} stack arg slots, but calls only require {2}")]
    UnusedSlots(usize, u32, u32),
    #[error("tail_calls are not allowed in programs with stack args")]
    TailCalls,
    #[error("{}", kbpf_isa::KernelMsg::StackArgsNonJit)]
    NonJit,
    #[error("{}", kbpf_isa::KernelMsg::KfuncNonJit)]
    KfuncNonJit,
}

impl StackArgError {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        use StackArgError::*;
        match self {
            InvalidRead(..) => Errno::EACCES,
            NotInitialized(..) | TooManyParams(..) => Errno::EFAULT,
            _ => Errno::EINVAL,
        }
    }
}
