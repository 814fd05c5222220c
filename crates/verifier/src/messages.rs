//! Every error line the verifier can print, with its errno. `Display` is the kernel's text.

use kbpf_passes::{Errno, PassError};
use thiserror::Error;

/// A rejection, as the kernel words it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum Reject {
    #[error("{0}")]
    Pass(PassError),
    #[error("R{0} is invalid")]
    RegInvalid(u8),
    #[error("R{0} !read_ok")]
    NotReadOk(u8),
    #[error("frame pointer is read only")]
    FpReadOnly,
    #[error("BPF_{0} uses reserved fields")]
    Reserved(&'static str),
    #[error("div by zero")]
    DivByZero,
    #[error("invalid shift {0}")]
    InvalidShift(i32),
    #[error("R{0} pointer {1} pointer prohibited")]
    PtrOpPtr(u8, &'static str),
    #[error("R{0} 32-bit pointer arithmetic prohibited")]
    Ptr32Arith(u8),
    #[error("R{0} pointer arithmetic on {1} prohibited, null-check it first")]
    PtrArithNull(u8, String),
    #[error("R{0} pointer arithmetic on {1} prohibited")]
    PtrArithOn(u8, String),
    #[error("R{0} tried to subtract pointer from scalar")]
    SubPtrFromScalar(u8),
    #[error("R{0} subtraction from stack pointer prohibited")]
    SubFromStack(u8),
    #[error("R{0} bitwise operator {1} on pointer prohibited")]
    PtrBitwise(u8, &'static str),
    #[error("R{0} pointer arithmetic with {1} operator prohibited")]
    PtrArithOp(u8, &'static str),
    #[error("math between {0} pointer and {1} is not allowed")]
    MathConst(String, i64),
    #[error("{0} pointer offset {1} is not allowed")]
    PtrOffNotAllowed(String, i32),
    #[error("math between {0} pointer and register with unbounded min value is not allowed")]
    MathUnboundedMin(String),
    #[error("value {0} makes {1} pointer be out of bounds")]
    ValueOob(i64, String),
    #[error("R{0} invalid mem access '{1}'")]
    InvalidMemAccess(u8, String),
    #[error("invalid {0}stack {1} off={2} size={3}")]
    InvalidStack(&'static str, String, i64, i64),
    #[error("invalid variable-offset{0} stack R{1} var_off={2} off={3} size={4}")]
    InvalidVarStack(&'static str, u8, String, i32, i64),
    #[error("invalid read from stack off {0}+{1} size {2}")]
    InvalidStackRead(i64, i64, i64),
    #[error("invalid read from stack R{0} off {1}+{2} size {3}")]
    InvalidStackReadReg(u8, i64, i64, i64),
    #[error("invalid size of register fill")]
    InvalidFillSize,
    #[error("invalid size of register spill")]
    InvalidSpillSize,
    #[error("invalid bpf_context access off={0} size={1}")]
    CtxAccess(i64, i64),
    #[error("dereference of modified {0} ptr R{1} off={2} disallowed")]
    ModifiedPtr(String, u8, i32),
    #[error("variable {0} access var_off={1} disallowed")]
    VarCtxAccess(String, String),
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
    #[error("R{0} min value is negative, either use unsigned index or do a if (index >=0) check.")]
    MinNegative(u8),
    #[error("R{0} unbounded memory access, make sure to bounds check any such access")]
    Unbounded(u8),
    #[error("R{0} min value is outside of the allowed memory range")]
    MinOutside(u8),
    #[error("R{0} max value is outside of the allowed memory range")]
    MaxOutside(u8),
    #[error("invalid access to packet, off={0} size={1}, R{2}(id={3},off={4},r={5})")]
    PacketAccess(i64, i64, u8, u32, i32, i32),
    #[error("R{0} offset is outside of the packet")]
    PacketOutside(u8),
    #[error("invalid access to memory, mem_size={0} off={1} size={2}")]
    MemAccess(u32, i64, i64),
    #[error("cannot write into {0}")]
    CannotWrite(String),
    #[error("R{0} cannot write into {1}")]
    RegCannotWrite(u8, String),
    #[error("BPF_ST stores into R{0} {1} is not allowed")]
    StInto(u8, String),
    #[error("misaligned {0}access off {1}+{2}+{3} size {4}")]
    Misaligned(&'static str, String, i32, i32, i64),
    #[error("invalid func {0}#{1}")]
    InvalidFunc(String, i32),
    #[error("program of this type cannot use helper {0}#{1}")]
    HelperNotAllowed(String, i32),
    #[error("R{0} type={1} expected={2}")]
    ArgType(u8, String, String),
    #[error("R{0} min value is negative, either use unsigned or 'var &= const'")]
    SizeNegative(u8),
    #[error("R{0} invalid zero-sized read: u64=[{1},{2}]")]
    ZeroSizedRead(u8, u64, u64),
    #[error("R{0} unbounded memory access, use 'var &= const' or 'if (var < const)'")]
    SizeUnbounded(u8),
    #[error("invalid map_ptr to access map->{0}")]
    InvalidMapPtr(&'static str),
    #[error("At program exit the register R{0} has {1} should have been in [{2}, {3}]")]
    ExitRange(u8, String, i64, i64),
    #[error("R0 leaks addr as return value")]
    LeaksAddrReturn,
    #[error("Unreleased reference id={0} alloc_insn={1}")]
    UnreleasedRef(u32, usize),
    #[error("BPF program is too large. Processed {0} insn")]
    TooLarge(u64),
    #[error("The sequence of {0} jumps is too complex.")]
    JmpSeqTooComplex(usize),
    #[error("the call stack of {0} frames is too deep")]
    CallStackTooDeep(usize),
    #[error("combined stack size of {0} calls is {1}. Too large")]
    CombinedStack(usize, i64),
    #[error("infinite loop detected at insn {0}")]
    InfiniteLoop(usize),
    #[error("R{0} pointer comparison prohibited")]
    PtrComparison(u8),
    #[error("invalid atomic operand size")]
    AtomicSize,
    #[error("BPF_ATOMIC uses invalid atomic opcode {0:02x}")]
    AtomicOpcode(i32),
    #[error("R{0} leaks addr into {1}")]
    LeaksAddr(u8, &'static str),
    #[error("invalid BPF_LD_[ABS|IND] instruction")]
    LdAbsInvalid,
    #[error("BPF_LD_[ABS|IND] instructions not allowed for this program type")]
    LdAbsNotAllowed,
    #[error("at the time of BPF_LD_ABS|IND R6 != pointer to skb")]
    LdAbsCtx,
    #[error("kernel btf_id {0} is not a function")]
    KfuncNotFunc(u32),
    #[error("calling kernel function is not supported")]
    KfuncUnsupported,
    #[error("fd {0} is not pointing to valid bpf_map")]
    BadMapFd(i32),
    #[error("sign-extension part of pointer")]
    SextPointer,
    #[error("R{0} sign-extension part of pointer")]
    RegSextPointer(u8),
    #[error("R{0} partial copy of pointer")]
    PartialCopy(u8),
    #[error("addr_space_cast insn can only be used in a program that has an associated arena")]
    NoArena,
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
    #[error("verifier bug: {0}")]
    Bug(String),
    #[error("{0}")]
    Other(String, Errno),
}

impl Reject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        use Reject::*;
        match self {
            Pass(p) => p.errno(),
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
            | UnreleasedRef(..)
            | InfiniteLoop(_)
            | AtomicSize
            | AtomicOpcode(_)
            | LdAbsInvalid
            | LdAbsNotAllowed
            | LdAbsCtx
            | KfuncNotFunc(_)
            | NoArena
            | UnknownClass(_)
            | InvalidJmpOpcode(_)
            | CallWithLock
            | InvalidArgsToFunc(..)
            | SextPointer
            | DynptrOffset => Errno::EINVAL,
            CombinedStack(..) => Errno::EACCES,
            TooLarge(_) | CallStackTooDeep(_) => Errno::E2BIG,
            JmpSeqTooComplex(_) => Errno::EFAULT,
            BadMapFd(_) => Errno::EBADF,
            KfuncUnsupported => Errno::ENOTSUPP,
            Bug(_) => Errno::EFAULT,
            Other(_, e) | Silent(e) => *e,
            _ => Errno::EACCES,
        }
    }
}
