//! The eBPF instruction set as kbpf understands it.
//!
//! Owns: the raw 8-byte form ([`RawInsn`]) and the kernel's field-level reading of it (class,
//! mode, operation as enums, the kernel's opcode table: every opcode bit pattern of the
//! workspace is read here), the decoded [`Insn`] enum and its exact encode/decode inverse, the
//! per-slot decode table ([`SlotTable`]), structural checks that need no abstract state
//! (register range, reserved fields, branch targets), the stack-argument forms based on r11
//! (`BPF_REG_PARAMS`: [`Insn::StackArgStore`], [`Insn::StackArgLoad`]) and their slot arithmetic
//! ([`StackArgPos`], [`StackArgSlot`]), the slot and instruction index types ([`SlotIdx`],
//! [`InsnIdx`]), the text assembler ([`asm`])
//! and disassembler ([`disasm`]) in kernel and LLVM 19 syntax (with the verifier log's text of
//! any slot), the kernel's helpers as one table of ids, names and [`BpfFunc`] variants
//! ([`helper_names`]) and the uapi enums of program loading ([`uapi`]: [`KernelProgType`],
//! [`AttachType`]).
//!
//! Must not touch: semantics (the interpreter), safety (the verifier), or anything host-specific.
//! Every function here is pure and never panics on untrusted input.

pub mod asm;
mod decode;
pub mod disasm;
mod encode;
mod error;
mod func;
pub mod helper_names;
mod index;
mod insn;
pub mod kernel_msg;
mod maps;
mod opcode;
mod program;
mod reg;
mod stack_arg;
pub mod uapi;
mod view;

pub use decode::{decode_insn, decode_slots};
pub use encode::encode_bytes;
pub use error::{DecodeError, DecodeErrorKind};
pub use func::FuncDecl;
pub use helper_names::{BpfFunc, helper_name};
pub use index::{InsnIdx, SlotIdx};
pub use insn::{CallTarget, Insn, RawInsn, Src};
pub use kernel_msg::KernelMsg;
pub use maps::{MapFlags, MapSpec, MapType, quote};
pub use opcode::{AluOp, AtomicOp, ByteOrder, Class, JmpCond, LdImm64Src, Mode, Size, Width};
pub use program::Program;
pub use reg::Reg;
pub use stack_arg::{StackArgPos, StackArgSlot};
pub use uapi::{AttachType, KernelProgType};
pub use view::{AluCode, CallKind, Decoded, JmpOp, SlotTable};

/// Most arguments a BPF function or kfunc can take (`MAX_BPF_FUNC_ARGS`).
pub const MAX_FUNC_ARGS: usize = 12;
/// Arguments passed in registers r1..r5 (`MAX_BPF_FUNC_REG_ARGS`).
pub const MAX_REG_ARGS: usize = 5;
/// Stack-argument slots addressed through r11 (`MAX_STACK_ARG_SLOTS`).
pub const MAX_STACK_ARG_SLOTS: usize = MAX_FUNC_ARGS - MAX_REG_ARGS;
/// Bytes of BPF stack per frame (`MAX_BPF_STACK`).
pub const MAX_BPF_STACK: usize = 512;
/// Deepest bpf-to-bpf call chain (`MAX_CALL_FRAMES`).
pub const MAX_CALL_FRAMES: usize = 8;
