//! Compile-time errors of every backend.

use kbpf_isa::{DecodeErrorKind, KernelMsg};
use thiserror::Error;

/// Why a program could not be compiled. Every variant that concerns an instruction carries its
/// `pc` (slot index, as in verifier messages).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum JitError {
    /// `call N` names a helper the registry does not have.
    #[error("insn {pc}: {}", KernelMsg::InvalidFunc("unknown".into(), *id as i64))]
    UnknownHelper {
        /// Instruction.
        pc: usize,
        /// Helper id.
        id: i32,
    },
    /// `call` of a kfunc BTF id the registry does not have.
    #[error("insn {pc}: {}", KernelMsg::KfuncNotFunc(*btf_id as i64))]
    UnknownKfunc {
        /// Instruction.
        pc: usize,
        /// BTF id.
        btf_id: i32,
    },
    /// The registry knows the function but has no native implementation to call.
    #[error("insn {pc}: function {name} has no native implementation")]
    NoNative {
        /// Instruction.
        pc: usize,
        /// Function name.
        name: String,
    },
    /// A bpf-to-bpf call cycle (the kernel verifier: "recursive call").
    #[error("insn {pc}: recursive call from {caller} to {callee}")]
    Recursion {
        /// Call instruction.
        pc: usize,
        /// Calling subprogram start pc.
        caller: usize,
        /// Called subprogram start pc.
        callee: usize,
    },
    /// The call chain is deeper than `MAX_CALL_FRAMES`.
    #[error("insn {pc}: {}", KernelMsg::CallStackTooDeep(*frames))]
    CallDepth {
        /// Call instruction that goes one frame too deep.
        pc: usize,
        /// Frames reached.
        frames: usize,
    },
    /// A frame-pointer access outside the frame's 512-byte stack.
    #[error("insn {pc}: invalid stack off={off} size={size}")]
    StackOutOfBounds {
        /// Instruction.
        pc: usize,
        /// Offset from r10.
        off: i16,
        /// Access size in bytes.
        size: u32,
    },
    /// An instruction that writes r10 (the JIT keeps the frame pointer in a machine register
    /// it relies on).
    #[error("insn {pc}: {}", KernelMsg::FpReadOnly)]
    FramePointerWrite {
        /// Instruction.
        pc: usize,
    },
    /// A stack-argument slot beyond the seven that exist.
    #[error("insn {pc}: stack arg offset {off} exceeds max 7 stack args")]
    StackArg {
        /// Instruction.
        pc: usize,
        /// r11 offset.
        off: i16,
    },
    /// A function whose last instruction can fall through into the next one.
    #[error("insn {pc}: {}", KernelMsg::LastInsnNotExit)]
    FallThrough {
        /// Last instruction of the function.
        pc: usize,
    },
    /// A jump into another function.
    #[error("{}", DecodeErrorKind::JumpOutOfRange { from: *pc, to: *to as i64 })]
    JumpOutOfRange {
        /// Jump instruction.
        pc: usize,
        /// Target slot.
        to: usize,
    },
    /// An instruction this backend does not execute (maps, arena casts, ...).
    #[error("insn {pc}: {what} is not supported by the JIT")]
    Unsupported {
        /// Instruction.
        pc: usize,
        /// What it is.
        what: &'static str,
    },
    /// An immediate or displacement the target cannot encode.
    #[error("insn {pc}: cannot encode {what}")]
    Encoding {
        /// Instruction.
        pc: usize,
        /// What could not be encoded.
        what: &'static str,
    },
    /// The witness calls a helper or kfunc the registry does not have.
    #[error("{kind:?} {name} (id {id}) is not in the registry this engine runs with")]
    Missing {
        /// Helper or kfunc.
        kind: kbpf_kfunc::FuncKind,
        /// Name the verifier checked.
        name: String,
        /// Helper id or BTF id.
        id: i32,
    },
    /// The registry's function under the witness's id is not the one the verifier checked.
    #[error("id {id}: verified as {verified}, registered as {registered} ({what} differs)")]
    Mismatch {
        /// Helper id or BTF id.
        id: i32,
        /// What the verifier checked.
        verified: String,
        /// What the registry has.
        registered: String,
        /// `name` or `arity`.
        what: &'static str,
    },
    /// The witness's references do not fit the run (maps, callbacks, options).
    #[error("link: {0}")]
    Link(String),
    /// The assembler failed to resolve labels (a backend bug, reported rather than panicking).
    #[error("assembler: {0}")]
    Assembler(String),
    /// mmap/mprotect failed.
    #[error("executable memory: {0}")]
    Memory(String),
}
