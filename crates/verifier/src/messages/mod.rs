//! The catalogue of everything the verifier can refuse, with its errno. `Display` is the
//! kernel's text (several lines when the kernel prints context lines before the error).
//!
//! Families with many members live in submodules: [`calls`] (helpers, subprograms,
//! callbacks, references), [`kfunc`] (kfunc arguments, dynptrs, iterators), [`map_args`]
//! (strings and timers in map values), [`stack_args`] (r11), [`btf_info`] (func_info and
//! line_info records), [`attach`] (load attributes `bpf_prog_load` refuses before verifying), [`unsupported`] (what kbpf does
//! not model) and [`bug`] (kbpf's own invariants). [`Reject::kind`] tells the three kinds apart.

pub mod alloc;
pub mod attach;
pub mod btf;
pub mod btf_info;
pub mod bug;
pub mod calls;
pub mod kfunc;
pub mod locks;
pub mod map_args;
pub mod stack_args;
pub mod unsupported;

pub use alloc::AllocReject;
pub use attach::AttachReject;
pub use btf::BtfReject;
pub use btf_info::BtfInfoReject;
pub use bug::Bug;
pub use calls::CallReject;
pub use kfunc::{KfuncReject, ObjMismatch};
pub use locks::LockReject;
pub use map_args::MapArgReject;
pub use stack_args::StackArgError;
pub use unsupported::Unsupported;

use crate::domain::state::RegType;
use kbpf_isa::{DecodeErrorKind as D, KernelMsg};
use kbpf_passes::{Errno, PassError, PassErrorKind, ResolveError};
use std::fmt;
use thiserror::Error;

/// A register as messages name it: `R0`..`R10`, or a stack argument slot `*(R11-8k)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegName {
    /// `R<n>`.
    R(u8),
    /// Outgoing stack argument slot `k` (0-based), i.e. argument `k + 6`: `*(R11-8(k+1))`.
    StackArg(u8),
}

impl RegName {
    /// The name of argument `i` (0-based) of a call: `R1`..`R5`, then the stack slots.
    pub fn arg(i: usize) -> RegName {
        match i.checked_sub(crate::protos::func_info::MAX_REG_ARGS as usize) {
            None => RegName::R(i as u8 + 1),
            Some(k) => RegName::StackArg(k as u8),
        }
    }
}

impl From<u8> for RegName {
    fn from(r: u8) -> RegName {
        RegName::R(r)
    }
}

impl fmt::Display for RegName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegName::R(r) => write!(f, "R{r}"),
            RegName::StackArg(k) => write!(f, "*(R11-{})", (*k as u32 + 1) * 8),
        }
    }
}

/// A register type as messages print it (`map_value_or_null`, `fp`, `ptr_`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeName {
    /// Base type.
    pub ty: RegType,
    /// Type flags (`MAYBE_NULL`, `RDONLY`, ...).
    pub flags: u16,
}

impl TypeName {
    /// The type of a register state with these flags.
    pub fn new(ty: RegType, flags: u16) -> TypeName {
        TypeName { ty, flags }
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::log::reg_type_str(self.ty, self.flags))
    }
}

/// Which of three things a [`Reject`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// The kernel would refuse the program with this message.
    Rejected,
    /// kbpf does not model what the program uses; the kernel's verdict is unknown.
    Unsupported,
    /// kbpf broke one of its own invariants (`verifier bug: ...`).
    Bug,
}

impl RejectKind {
    /// `"rejected"`, `"unsupported"` or `"bug"`.
    pub fn name(self) -> &'static str {
        match self {
            RejectKind::Rejected => "rejected",
            RejectKind::Unsupported => "unsupported",
            RejectKind::Bug => "bug",
        }
    }
}

/// A rejection, as the kernel words it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum Reject {
    #[error("{0}")]
    Pass(PassError),
    #[error("{0}")]
    Call(CallReject),
    #[error("{0}")]
    Kfunc(KfuncReject),
    #[error("{0}")]
    Alloc(AllocReject),
    #[error("{0}")]
    MapArg(MapArgReject),
    #[error("{0}")]
    Lock(LockReject),
    #[error("{0}")]
    StackArg(StackArgError),
    #[error("{0}")]
    BtfInfo(BtfInfoReject),
    #[error("{0}")]
    Attach(AttachReject),
    #[error("{0}")]
    Btf(BtfReject),
    #[error("{0}")]
    Unsupported(Unsupported),
    #[error("verifier bug: {0}")]
    Bug(Bug),
    /// The kernel prints `.0` as a context line, then fails with `.1` (whose errno it returns).
    #[error("{0}\n{1}")]
    Preceded(Box<Reject>, Box<Reject>),
    /// The log outgrew the caller's buffer (`ENOSPC`), replacing the verdict `.0` if any.
    #[error("{}", .0.as_ref().map(|r| r.to_string()).unwrap_or_default())]
    LogNoSpace(Option<Box<Reject>>),
    #[error("{0} is invalid")]
    RegInvalid(RegName),
    #[error("{0} !read_ok")]
    NotReadOk(RegName),
    #[error("{}", KernelMsg::FpReadOnly)]
    FpReadOnly,
    #[error("{}", D::ReservedFields(.0))]
    Reserved(&'static str),
    #[error("div by zero")]
    DivByZero,
    #[error("invalid shift {0}")]
    InvalidShift(i32),
    #[error("{0} pointer {1} pointer prohibited")]
    PtrOpPtr(RegName, &'static str),
    #[error("{0} 32-bit pointer arithmetic prohibited")]
    Ptr32Arith(RegName),
    #[error("{0} pointer arithmetic on {1} prohibited, null-check it first")]
    PtrArithNull(RegName, TypeName),
    #[error("{0} pointer arithmetic on {1} prohibited")]
    PtrArithOn(RegName, TypeName),
    #[error("{0} tried to subtract pointer from scalar")]
    SubPtrFromScalar(RegName),
    #[error("{0} subtraction from stack pointer prohibited")]
    SubFromStack(RegName),
    #[error("{0} bitwise operator {1} on pointer prohibited")]
    PtrBitwise(RegName, &'static str),
    #[error("{0} pointer arithmetic with {1} operator prohibited")]
    PtrArithOp(RegName, &'static str),
    #[error("math between {0} pointer and {1} is not allowed")]
    MathConst(TypeName, i64),
    #[error("{0} pointer offset {1} is not allowed")]
    PtrOffNotAllowed(TypeName, i32),
    #[error("math between {0} pointer and register with unbounded min value is not allowed")]
    MathUnboundedMin(TypeName),
    #[error("value {0} makes {1} pointer be out of bounds")]
    ValueOob(i64, TypeName),
    #[error("{0} invalid mem access '{1}'")]
    InvalidMemAccess(RegName, TypeName),
    /// `__check_buffer_access` of a writable tracepoint's buffer: a negative offset.
    #[error("{0} invalid tracepoint buffer access: off={1}, size={2}")]
    TpBufferAccess(RegName, i64, i64),
    /// `__check_buffer_access`: the pointer's offset is not a constant 0.
    #[error("{0} invalid variable buffer offset: off={1}, var_off={2}")]
    BufferVarOff(RegName, i64, String),
    #[error("invalid{0} stack {1} off={2} size={3}")]
    InvalidStack(&'static str, RegName, i64, i64, Errno),
    #[error("invalid variable-offset{0} stack {1} var_off={2} off={3} size={4}")]
    InvalidVarStack(&'static str, RegName, String, i64, i64, Errno),
    #[error("invalid unbounded variable-offset{0} stack {1}")]
    UnboundedVarStack(&'static str, RegName),
    #[error("invalid read from stack off {0}+{1} size {2}")]
    InvalidStackRead(i64, i64, i64),
    #[error("invalid read from stack {0} off {1}+{2} size {3}")]
    InvalidStackReadReg(RegName, i64, i64, i64),
    #[error("invalid size of register fill")]
    InvalidFillSize,
    #[error("invalid size of register spill")]
    InvalidSpillSize,
    #[error("cannot spill pointers to stack into stack frame of the caller")]
    SpillStackPtrToCaller,
    #[error("invalid bpf_context access off={0} size={1}")]
    CtxAccess(i64, i64),
    #[error("invalid access to flow keys off={0} size={1}")]
    FlowKeysAccess(i64, i64),
    #[error("dereference of modified {0} ptr {1} off={2} disallowed")]
    ModifiedPtr(TypeName, RegName, i32),
    #[error("negative offset {0} ptr {1} off={2} disallowed")]
    NegativeOffsetPtr(TypeName, RegName, i32),
    #[error("variable {0} access var_off={1} disallowed")]
    VarCtxAccess(TypeName, String),
    #[error("invalid access to map value, value_size={0} off={1} size={2}")]
    MapValueAccess(u32, i64, i64),
    /// `check_map_access_type`: a store, an atomic or a helper writing into a map that is
    /// `BPF_F_RDONLY_PROG` (value_size, off, size).
    #[error("write into map forbidden, value_size={0} off={1} size={2}")]
    MapWriteForbidden(u32, i64, i64),
    /// `check_map_access_type`: a load, an atomic or a helper reading a `BPF_F_WRONLY_PROG` map.
    #[error("read from map forbidden, value_size={0} off={1} size={2}")]
    MapReadForbidden(u32, i64, i64),
    /// `record_func_map`: `bpf_map_update_elem` and the other element-changing helpers on a
    /// `BPF_F_RDONLY_PROG` map.
    #[error("write into map forbidden")]
    MapOpForbidden,
    /// An error the kernel returns without printing a line (`bpf_map_direct_read` failing).
    #[error("")]
    Silent(Errno),
    #[error("invalid access to map key, key_size={0} off={1} size={2}")]
    MapKeyAccess(u32, i64, i64),
    #[error("{0} min value is negative, either use unsigned index or do a if (index >=0) check.")]
    MinNegative(RegName),
    #[error("{0} unbounded memory access, make sure to bounds check any such access")]
    Unbounded(RegName),
    #[error("{0} min value is outside of the allowed memory range")]
    MinOutside(RegName),
    #[error("{0} max value is outside of the allowed memory range")]
    MaxOutside(RegName),
    #[error("invalid access to packet, off={0} size={1}, {2}(id={3},off={4},r={5})")]
    PacketAccess(i64, i64, RegName, u32, i64, u32),
    /// `EACCES` after a failed range check, `EINVAL` when the pointer's range is negative.
    #[error("{0} offset is outside of the packet")]
    PacketOutside(RegName, Errno),
    #[error("invalid access to memory, mem_size={0} off={1} size={2}")]
    MemAccess(u32, i64, i64),
    #[error("{0} invalid {1} access off={2} size={3}")]
    InvalidSockAccess(RegName, TypeName, i64, i64),
    #[error("cannot write into {0}")]
    CannotWrite(&'static str),
    #[error("{0} cannot write into {1}")]
    RegCannotWrite(RegName, TypeName),
    #[error("write to change key {0} not allowed")]
    WriteToKey(RegName),
    #[error("BPF_ST stores into {0} {1} is not allowed")]
    StInto(RegName, TypeName),
    #[error("BPF_ATOMIC {0} {1} {2} is not allowed")]
    AtomicThrough(&'static str, RegName, TypeName),
    #[error("misaligned {0}access off {1}+{2}+{3} size {4}")]
    Misaligned(&'static str, String, i32, i32, i64),
    #[error("misaligned packet access off {0}+{1}+{2}+{3} size {4}")]
    MisalignedPacket(i64, String, i32, i64, i64),
    #[error("{}", KernelMsg::InvalidFunc(.0.clone(), *.1 as i64))]
    InvalidFunc(String, i32),
    #[error("program of this type cannot use helper {0}#{1}")]
    HelperNotAllowed(String, i32),
    /// The expected types, listed as the kernel lists them.
    #[error("{} type={} expected={}", .0, .1, .2.join(", "))]
    ArgType(RegName, TypeName, &'static [&'static str]),
    #[error("{0} min value is negative, either use unsigned or 'var &= const'")]
    SizeNegative(RegName),
    #[error("{0} invalid zero-sized read: u64=[{1},{2}]")]
    ZeroSizedRead(RegName, u64, u64),
    #[error("{0} unbounded memory access, use 'var &= const' or 'if (var < const)'")]
    SizeUnbounded(RegName),
    #[error("invalid map_ptr to access map->{0}")]
    InvalidMapPtr(&'static str),
    #[error("At program exit the register {0} has {1} should have been in [{2}, {3}]")]
    ExitRange(RegName, String, i64, i64),
    #[error("At program exit the register R0 is not a known value ({0})")]
    ExitNotKnown(TypeName),
    #[error("R0 leaks addr as return value")]
    LeaksAddrReturn,
    #[error("At subprogram exit the register R0 is not a scalar value ({0})")]
    SubprogExitNotScalar(TypeName),
    #[error("Unreleased reference id={0} alloc_insn={1}")]
    UnreleasedRef(u32, usize),
    #[error("BPF program is too large. Processed {0} insn")]
    TooLarge(u64),
    #[error("The sequence of {0} jumps is too complex.")]
    JmpSeqTooComplex(usize),
    #[error("{}", KernelMsg::CallStackTooDeep(*.0))]
    CallStackTooDeep(usize),
    /// `check_max_stack_depth`'s wording (with the space and `!`).
    #[error("the call stack of {0} frames is too deep !")]
    MaxCallDepth(usize),
    /// Printed without a newline, like the kernel.
    #[error("insn {0} cannot call exception cb directly")]
    ExceptionCbCall(usize),
    #[error("combined stack size of {0} calls is {1}. Too large")]
    CombinedStack(usize, i64),
    #[error("infinite loop detected at insn {0}")]
    InfiniteLoop(usize),
    /// The loop message with both states as the kernel dumps them.
    #[error("infinite loop detected at insn {insn}\ncur state:{cur}old state:{old}")]
    InfiniteLoopStates { insn: usize, cur: String, old: String },
    #[error("{0} pointer comparison prohibited")]
    PtrComparison(RegName),
    #[error("invalid atomic operand size")]
    AtomicSize,
    #[error("{}", D::InvalidAtomic(*.0))]
    AtomicOpcode(i32),
    #[error("{0} leaks addr {1}")]
    LeaksAddr(RegName, &'static str),
    #[error("invalid BPF_LD_[ABS|IND] instruction")]
    LdAbsInvalid,
    #[error("BPF_LD_[ABS|IND] instructions not allowed for this program type")]
    LdAbsNotAllowed,
    #[error("at the time of BPF_LD_ABS|IND R6 != pointer to skb")]
    LdAbsCtx,
    #[error("LD_ABS is not allowed in subprogs without BTF")]
    LdAbsInSubprog,
    #[error("tail_call is not allowed in subprogs without BTF")]
    TailCallInSubprog,
    #[error("invalid BPF_LD mode")]
    InvalidLdMode,
    #[error("invalid BPF_LD_IMM insn")]
    InvalidLdImm,
    #[error("invalid BPF_ALU opcode {0:x}")]
    InvalidAluOpcode(u8),
    #[error("{}", D::InvalidMayGoto(*.0))]
    InvalidMayGotoImm(i32),
    #[error("same insn cannot be used with different pointers")]
    DifferentPointers,
    #[error("{}", KernelMsg::KfuncNotFunc(*.0 as i64))]
    KfuncNotFunc(u32),
    #[error("calling kernel function is not supported")]
    KfuncUnsupported,
    #[error("fd {0} is not pointing to valid bpf_map")]
    BadMapFd(i32),
    #[error("sign-extension part of pointer")]
    SextPointer,
    #[error("{0} sign-extension part of pointer")]
    RegSextPointer(RegName),
    #[error("{0} partial copy of pointer")]
    PartialCopy(RegName),
    #[error("addr_space_cast insn can only be used in a program that has an associated arena")]
    NoArena,
    #[error("addr_space_cast insn can only convert between address space 1 and 0")]
    AddrSpaceCastDirection,
    #[error("unknown insn class {0}")]
    UnknownClass(u8),
    #[error("invalid BPF_JMP/JMP32 opcode {0:x}")]
    InvalidJmpOpcode(u8),
    #[error("function calls are not allowed while holding a lock")]
    CallWithLock,
    #[error("caller passes invalid args into func#{0} ('{1}')")]
    InvalidArgsToFunc(usize, String),
    #[error("cannot pass in dynptr at an offset")]
    DynptrOffset,
    #[error("{0} is of type {1} but {2} is expected")]
    BtfArgType(RegName, String, String),
}

impl Reject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        use Reject::*;
        match self {
            Pass(p) => p.errno(),
            Call(c) => c.errno(),
            Kfunc(k) => k.errno(),
            Alloc(a) => a.errno(),
            MapArg(m) => m.errno(),
            Lock(l) => l.errno(),
            StackArg(s) => s.errno(),
            BtfInfo(b) => b.errno(),
            Attach(a) => a.errno(),
            Btf(b) => b.errno(),
            Unsupported(_) => Errno::ENOTSUPP,
            Bug(_) => Errno::EFAULT,
            Preceded(_, last) => last.errno(),
            LogNoSpace(_) => Errno::ENOSPC,
            InvalidStack(.., e) | InvalidVarStack(.., e) | PacketOutside(_, e) => *e,
            RegInvalid(_)
            | Reserved(_)
            | DivByZero
            | InvalidShift(_)
            | MathConst(..)
            | PtrOffNotAllowed(..)
            | MathUnboundedMin(_)
            | ValueOob(..)
            | InvalidFunc(..)
            | HelperNotAllowed(..)
            | ExitRange(..)
            | ExitNotKnown(_)
            | SubprogExitNotScalar(_)
            | UnreleasedRef(..)
            | InfiniteLoop(_)
            | InfiniteLoopStates { .. }
            | AtomicSize
            | AtomicOpcode(_)
            | LdAbsInvalid
            | LdAbsNotAllowed
            | LdAbsCtx
            | LdAbsInSubprog
            | TailCallInSubprog
            | InvalidLdMode
            | InvalidLdImm
            | InvalidAluOpcode(_)
            | InvalidMayGotoImm(_)
            | DifferentPointers
            | KfuncNotFunc(_)
            | NoArena
            | AddrSpaceCastDirection
            | UnknownClass(_)
            | InvalidJmpOpcode(_)
            | CallWithLock
            | InvalidArgsToFunc(..)
            | SpillStackPtrToCaller
            | SextPointer
            | DynptrOffset
            | ExceptionCbCall(_) => Errno::EINVAL,
            CombinedStack(..) => Errno::EACCES,
            TooLarge(_) | CallStackTooDeep(_) | MaxCallDepth(_) => Errno::E2BIG,
            JmpSeqTooComplex(_) => Errno::EFAULT,
            BadMapFd(_) => Errno::EBADF,
            KfuncUnsupported => Errno::ENOTSUPP,
            Silent(e) => *e,
            _ => Errno::EACCES,
        }
    }

    /// Refused by `bpf_prog_load` before the verifier ran: the kernel's log is empty, so its
    /// error line is too (the message here is kbpf's explanation).
    pub fn before_verifier(&self) -> bool {
        matches!(self, Reject::Attach(_) | Reject::Btf(BtfReject::TrampolineRefused(_)))
    }

    /// Whether the program is refused, not modelled, or kbpf failed.
    pub fn kind(&self) -> RejectKind {
        match self {
            Reject::Unsupported(_)
            | Reject::Pass(PassError { kind: PassErrorKind::Resolve(ResolveError::Unmodelled(_)), .. }) => {
                RejectKind::Unsupported
            }
            Reject::Bug(_) | Reject::Pass(PassError { kind: PassErrorKind::Bug(_), .. }) => RejectKind::Bug,
            Reject::Preceded(_, last) => last.kind(),
            Reject::LogNoSpace(Some(r)) => r.kind(),
            Reject::Kfunc(
                KfuncReject::MemLenPair { cause, .. } | KfuncReject::MemLenPairArgs { cause, .. },
            ) => cause.kind(),
            _ => RejectKind::Rejected,
        }
    }

    /// The register the error line names, if it names one.
    pub fn reg(&self) -> Option<RegName> {
        use Reject::*;
        match self {
            Preceded(_, last) => last.reg(),
            LogNoSpace(r) => r.as_ref().and_then(|r| r.reg()),
            Call(c) => c.reg(),
            Kfunc(k) => k.reg(),
            MapArg(m) => m.reg(),
            Lock(l) => l.reg(),
            _ => self.clone().own_reg_mut().copied(),
        }
    }

    /// This rejection with every mention of register `from` renamed to `to`: the shared memory
    /// checks run on a stack argument as the placeholder register `R11` and the message names
    /// the slot instead.
    pub fn rename_reg(mut self, from: RegName, to: RegName) -> Reject {
        self.rename_in_place(from, to);
        self
    }

    pub(super) fn rename_in_place(&mut self, from: RegName, to: RegName) {
        use Reject::*;
        match self {
            Preceded(a, b) => {
                a.rename_in_place(from, to);
                b.rename_in_place(from, to);
            }
            LogNoSpace(Some(r)) => r.rename_in_place(from, to),
            Call(c) => c.rename_reg(from, to),
            Kfunc(k) => k.rename_reg(from, to),
            MapArg(m) => m.rename_reg(from, to),
            Lock(l) => l.rename_reg(from, to),
            _ => {
                if let Some(r) = self.own_reg_mut()
                    && *r == from
                {
                    *r = to;
                }
            }
        }
    }

    fn own_reg_mut(&mut self) -> Option<&mut RegName> {
        use Reject::*;
        match self {
            RegInvalid(r)
            | NotReadOk(r)
            | PtrOpPtr(r, _)
            | Ptr32Arith(r)
            | PtrArithNull(r, _)
            | PtrArithOn(r, _)
            | SubPtrFromScalar(r)
            | SubFromStack(r)
            | PtrBitwise(r, _)
            | PtrArithOp(r, _)
            | InvalidMemAccess(r, _)
            | TpBufferAccess(r, ..)
            | BufferVarOff(r, ..)
            | InvalidStack(_, r, ..)
            | InvalidVarStack(_, r, ..)
            | UnboundedVarStack(_, r)
            | InvalidStackReadReg(r, ..)
            | ModifiedPtr(_, r, _)
            | NegativeOffsetPtr(_, r, _)
            | MinNegative(r)
            | Unbounded(r)
            | MinOutside(r)
            | MaxOutside(r)
            | PacketAccess(_, _, r, ..)
            | PacketOutside(r, _)
            | InvalidSockAccess(r, ..)
            | RegCannotWrite(r, _)
            | WriteToKey(r)
            | StInto(r, _)
            | AtomicThrough(_, r, _)
            | ArgType(r, ..)
            | SizeNegative(r)
            | ZeroSizedRead(r, ..)
            | SizeUnbounded(r)
            | ExitRange(r, ..)
            | PtrComparison(r)
            | LeaksAddr(r, _)
            | RegSextPointer(r)
            | PartialCopy(r) => Some(r),
            _ => None,
        }
    }

    /// `self` printed as a context line before `last`.
    pub fn then(self, last: Reject) -> Reject {
        Reject::Preceded(Box::new(self), Box::new(last))
    }

    /// The kernel's last error line (the one `bpf()` callers grep for).
    pub fn last_line(&self) -> String {
        self.to_string().lines().last().unwrap_or("").to_string()
    }
}

macro_rules! family {
    ($($ty:ident => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Reject {
            fn from(e: $ty) -> Reject {
                Reject::$variant(e)
            }
        }
    )*};
}

family!(
    PassError => Pass,
    CallReject => Call,
    KfuncReject => Kfunc,
    AllocReject => Alloc,
    MapArgReject => MapArg,
    LockReject => Lock,
    StackArgError => StackArg,
    BtfInfoReject => BtfInfo,
    AttachReject => Attach,
    BtfReject => Btf,
    Unsupported => Unsupported,
    Bug => Bug,
);

#[cfg(test)]
mod tests;
