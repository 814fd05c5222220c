//! Errors of the static passes: the kernel's message text and errno for each.

use kbpf_isa::{DecodeErrorKind as D, KernelMsg};
use thiserror::Error;

/// The errno values the verifier can return (the kernel's positive numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    /// Operation not permitted (1).
    EPERM,
    /// No such file or directory (2): a BTF type with no kernel match.
    ENOENT,
    /// Bad file descriptor (9).
    EBADF,
    /// Argument list too long (7): program or processed-insn budget too large.
    E2BIG,
    /// Permission denied (13): memory-safety and type rejections.
    EACCES,
    /// Bad address (14): internal verifier bug.
    EFAULT,
    /// Invalid argument (22): malformed programs.
    EINVAL,
    /// No space left (28): log truncated.
    ENOSPC,
    /// Operation not supported on transport endpoint (95): `-EOPNOTSUPP`, e.g. an `arg:` tag
    /// the kernel does not know.
    EOPNOTSUPP,
    /// Operation not supported (524).
    ENOTSUPP,
    /// Protocol error (71): an `fd_array` index without an `fd_array`.
    EPROTO,
    /// File exists (17): several exception callbacks tagged on one main program.
    EEXIST,
}

impl Errno {
    /// Symbolic name, e.g. `"EACCES"`.
    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::EBADF => "EBADF",
            Errno::E2BIG => "E2BIG",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EINVAL => "EINVAL",
            Errno::ENOSPC => "ENOSPC",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::ENOTSUPP => "ENOTSUPP",
            Errno::EPROTO => "EPROTO",
            Errno::EEXIST => "EEXIST",
        }
    }

    /// The positive errno number.
    pub fn number(self) -> i32 {
        match self {
            Errno::EPERM => 1,
            Errno::ENOENT => 2,
            Errno::E2BIG => 7,
            Errno::EBADF => 9,
            Errno::EACCES => 13,
            Errno::EFAULT => 14,
            Errno::EINVAL => 22,
            Errno::ENOSPC => 28,
            Errno::EOPNOTSUPP => 95,
            Errno::ENOTSUPP => 524,
            Errno::EPROTO => 71,
            Errno::EEXIST => 17,
        }
    }
}

/// What a static pass rejected. `Display` is the kernel's log line (without newline).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PassErrorKind {
    /// Program has no instructions or too many.
    #[error("")]
    BadLength,
    /// A call or function reference outside the program.
    #[error("{}", D::CallOutOfRange)]
    InvalidCallDest,
    /// More than 256 subprograms.
    #[error("too many subprograms")]
    TooManySubprogs,
    /// Jump leaving its subprogram.
    #[error("{}", D::JumpOutOfRange { from: *from, to: *to })]
    JumpOutOfRange {
        /// Jump instruction.
        from: usize,
        /// Target.
        to: i64,
    },
    /// Fall-through off the end of a subprogram.
    #[error("{}", KernelMsg::LastInsnNotExit)]
    LastInsnNotExit,
    /// LDX with a bad mode or non-zero imm.
    #[error("{}", D::ReservedFields("LDX"))]
    LdxReserved,
    /// Malformed ld_imm64 pair.
    #[error("{}", D::InvalidLdImm64)]
    InvalidLdImm64,
    /// Unknown ld_imm64 pseudo source.
    #[error("{}", D::UnrecognizedLdImm64)]
    UnrecognizedLdImm64,
    /// Opcode not in the instruction table.
    #[error("{}", D::UnknownOpcode(*.0))]
    UnknownOpcode(u8),
    /// A map or BTF reference of an ld_imm64 that does not resolve.
    #[error("{0}")]
    Resolve(ResolveError),
    /// Loop in a program loaded without CAP_BPF.
    #[error("back-edge from insn {from} to {to}")]
    BackEdge {
        /// Source.
        from: usize,
        /// Target.
        to: usize,
    },
    /// Instruction no path reaches.
    #[error("unreachable insn {0}")]
    Unreachable(usize),
    /// Jump to the second slot of an ld_imm64.
    #[error("{}", D::JumpIntoLdImm64(*.0))]
    JumpIntoLdImm64(usize),
    /// Recursion through direct calls.
    #[error("recursive call from {caller}() to {callee}()")]
    Recursive {
        /// Calling function's name.
        caller: String,
        /// Called function's name.
        callee: String,
    },
    /// A register number above r10 outside the stack-argument forms.
    #[error("{}", D::InvalidReg(*.0))]
    RegInvalid(u8),
    /// Internal consistency failure.
    #[error("verifier bug: {0}")]
    Bug(&'static str),
}

/// Why an ld_imm64's map or BTF reference does not resolve (`check_and_resolve_insns`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ResolveError {
    /// No map has this fd.
    #[error("fd {0} is not pointing to valid bpf_map")]
    BadMapFd(i32),
    /// The fd is open in the loading process but names no map (a literal 0, 1 or 2: the
    /// standard streams).
    #[error("fd {0} is not pointing to valid bpf_map")]
    NotAMap(i32),
    /// `BPF_PSEUDO_MAP_VALUE` offset beyond `BPF_MAX_VAR_OFF`.
    #[error("direct value offset of {0} is not allowed")]
    DirectValueOffset(u32),
    /// The map type has no `map_direct_value_addr`.
    #[error("no direct value access support for this map type")]
    NoDirectValueAccess,
    /// `map_direct_value_addr` refused: `ENOTSUPP` for more than one entry, `EINVAL` for an
    /// offset past the value.
    #[error("invalid access to map value pointer, value_size={value_size} off={off}")]
    MapValuePointer {
        /// The map's value size.
        value_size: u32,
        /// The requested offset.
        off: u32,
        /// What the kernel returns.
        errno: Errno,
    },
    /// A BTF id in a module (the second slot's imm names a BTF fd).
    #[error("invalid module BTF object FD specified.")]
    ModuleBtfFd,
    /// A pseudo source that indexes the load's `fd_array` (`BPF_PSEUDO_MAP_IDX[_VALUE]`): kbpf
    /// has none, like a load that passes none.
    #[error("fd_idx without fd_array is invalid")]
    FdArray,
    /// `check_pseudo_btf_id`: the BTF id names no type of the kernel's BTF.
    #[error("ldimm64 insn specifies invalid btf_id {0}.")]
    InvalidBtfId(i32),
    /// `check_pseudo_btf_id`: the type is neither a variable nor a function.
    #[error("pseudo btf_id {0} in ldimm64 isn't KIND_VAR or KIND_FUNC")]
    NotVarOrFunc(i32),
    /// `check_pseudo_btf_id`: kallsyms has no address for the symbol (a kernel built without
    /// `CONFIG_KALLSYMS_ALL` lists no variables).
    #[error("ldimm64 failed to find the address for kernel symbol '{0}'.")]
    KsymAddress(String),
    /// A BTF-typed kernel symbol kbpf does not model yet (never guessed).
    #[error("kbpf: {0} is not modelled")]
    Unmodelled(&'static str),
    /// `check_map_prog_compatibility`: a kprobe, tracepoint, raw tracepoint or perf event
    /// program uses a map whose value holds a `struct bpf_timer`.
    #[error("tracing progs cannot use bpf_timer yet")]
    TracingTimer,
    /// `check_map_prog_compatibility`: a tracing program uses a map whose value holds a lock,
    /// a graph root or a work item (the field's name as the kernel spells it).
    #[error("tracing progs cannot use {0} yet")]
    TracingField(&'static str),
    /// `check_map_prog_compatibility`: a socket filter uses a map whose value holds a lock.
    #[error("socket filter progs cannot use bpf_spin_lock yet")]
    SocketFilterSpinLock,
    /// `check_map_prog_compatibility`: a struct_ops map is the loader's object, never a
    /// program's.
    #[error("bpf_struct_ops map cannot be used in prog")]
    StructOpsMap,
    /// `check_map_prog_compatibility`: a sleepable program uses a map type outside the
    /// sleepable-safe set (itself, or a map-in-map's inner map).
    #[error(
        "Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps"
    )]
    SleepableMap,
}

impl ResolveError {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        match self {
            ResolveError::BadMapFd(_) => Errno::EBADF,
            ResolveError::FdArray => Errno::EPROTO,
            ResolveError::InvalidBtfId(_) | ResolveError::KsymAddress(_) => Errno::ENOENT,
            ResolveError::Unmodelled(_) => Errno::ENOTSUPP,
            ResolveError::MapValuePointer { errno, .. } => *errno,
            _ => Errno::EINVAL,
        }
    }
}

/// A static-pass rejection with its instruction index.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct PassError {
    /// Instruction the error is attributed to (0 when not instruction-specific).
    pub insn: usize,
    /// What went wrong.
    pub kind: PassErrorKind,
}

impl PassError {
    /// Builds an error.
    pub fn new(insn: usize, kind: PassErrorKind) -> PassError {
        PassError { insn, kind }
    }

    /// The errno the kernel returns for this error.
    pub fn errno(&self) -> Errno {
        match &self.kind {
            PassErrorKind::BadLength | PassErrorKind::TooManySubprogs => Errno::E2BIG,
            PassErrorKind::Resolve(r) => r.errno(),
            PassErrorKind::Bug(_) => Errno::EFAULT,
            _ => Errno::EINVAL,
        }
    }
}
