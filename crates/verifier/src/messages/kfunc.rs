//! kfunc calls and the stack objects their arguments name: dynptrs and open-coded iterators.

use super::{RegName, Reject, TypeName};
use kbpf_isa::KernelMsg;
use kbpf_passes::Errno;
use thiserror::Error;

/// A refused kfunc call or stack object argument.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum KfuncReject {
    #[error("calling kernel function {0} is not allowed")]
    NotAllowed(String),
    #[error("{}", KernelMsg::TooManyArgs(.0.clone(), *.1 as usize))]
    TooManyArgs(String, u32),
    #[error("{0} arena pointer cannot be a stack argument")]
    ArenaStackArg(RegName),
    #[error("{0} prog->aux cannot be a stack argument")]
    ProgAuxStackArg(RegName),
    #[error("{0} is not a scalar")]
    NotScalar(RegName),
    #[error("{0} must be a known constant")]
    NotConst(RegName),
    #[error("arg#{0} expected pointer to ctx, but got {1}")]
    ExpectedCtx(usize, TypeName),
    #[error("Possibly NULL pointer passed to trusted arg{0}")]
    NullTrustedArg(usize),
    #[error("the prog does not allow writes to packet data")]
    NoPacketWrites,
    #[error(
        "{0} type={1} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_"
    )]
    MemArgType(RegName, TypeName),
    /// The memory check's error, then the pair line; the errno is the memory check's.
    #[error("{cause}\n{buf} and {size} memory, len pair leads to invalid memory access")]
    MemLenPair { buf: RegName, size: RegName, cause: Box<Reject> },
    /// The same without stack arguments: the pair named by argument numbers (6.18's line).
    #[error("{cause}\narg#{buf} arg#{size} memory, len pair leads to invalid memory access")]
    MemLenPairArgs { buf: usize, size: usize, cause: Box<Reject> },
    /// `stack_slot_obj_get_spi`: `.0` is `dynptr` or `iter`.
    #[error("{0} has to be at a constant offset")]
    ObjVarOffset(&'static str),
    #[error("cannot pass in {0} at an offset={1}")]
    ObjOffset(&'static str, i64),
    #[error("cannot overwrite referenced dynptr")]
    OverwriteRefDynptr,
    #[error("dynptr to release is not on the stack")]
    ReleaseDynptrNotOnStack,
    #[error("no dynptr to release")]
    NoDynptrToRelease,
    #[error("arg#{0} expected pointer to stack or const struct bpf_dynptr")]
    DynptrNotStack(usize),
    #[error("Dynptr has to be an uninitialized dynptr")]
    DynptrNotUninit,
    #[error("Expected an initialized dynptr as arg #{0}")]
    DynptrNotInit(usize),
    #[error("Expected a dynptr of type {0} as arg #{1}")]
    DynptrType(&'static str, usize),
    #[error("potential write to dynptr at off={0} disallowed")]
    DynptrWrite(i64),
    #[error("arg#{0} expected pointer to an iterator on stack")]
    IterNotStack(usize),
    #[error("expected uninitialized iter_{0} as arg #{1}")]
    IterNotUninit(String, usize),
    #[error("expected an initialized iter_{0} as arg #{1}")]
    IterNotInit(String, usize),
    #[error("{0} must be referenced or trusted")]
    MustBeTrusted(RegName),
    #[error("{0} must be a rcu pointer")]
    MustBeRcu(RegName),
    #[error("release kernel function {0} expects refcounted PTR_TO_BTF_ID")]
    ReleaseNotRefcounted(String),
    #[error("{0}")]
    BtfObjMismatch(Box<ObjMismatch>),
    #[error("arg#{0} pointer type STRUCT {1} must point to scalar, or struct with scalar")]
    NotScalarStruct(usize, String),
    #[error("Unknown type ID {0} passed to kfunc bpf_rdonly_cast")]
    RdonlyCastUnknown(u64),
    #[error("kfunc bpf_rdonly_cast type ID argument must be of a struct or void")]
    RdonlyCastType,
    #[error("sleepable helper {0}#{1} in rcu_read_lock region")]
    SleepInRcu(String, i32),
    #[error("sleepable helper {0}#{1} in non-preemptible region")]
    SleepInPreempt(String, i32),
    #[error("nested rcu read lock (kernel function {0})")]
    NestedRcuLock(String),
    #[error("unmatched rcu read unlock (kernel function {0})")]
    UnmatchedRcuUnlock(String),
    #[error("kernel func {0} requires RCU critical section protection")]
    RcuProtected(String),
    #[error("unmatched attempt to enable preemption (kernel function {0})")]
    UnmatchedPreemptEnable(String),
    #[error("program must be sleepable to call sleepable kfunc {0}")]
    NotSleepable(String),
    /// At an exit or tail call inside an RCU read section.
    #[error("{0} cannot be used inside bpf_rcu_read_lock-ed region")]
    InRcuSection(&'static str),
    /// At an exit or tail call inside a preemption-disabled section.
    #[error("{0} cannot be used inside bpf_preempt_disable-ed region")]
    InPreemptSection(&'static str),
    #[error("css_task_iter is only allowed in bpf_lsm, bpf_iter and sleepable progs")]
    CssTaskIterNotAllowed,
    /// The target kernel (6.18 as built for this machine) refuses every call of this kfunc
    /// once its arguments are checked, `EPERM`.
    #[error("{0}() is not allowed")]
    TargetRefused(String),
    /// `check_max_stack_depth`: a throw in a callback or in what a callback calls.
    #[error("bpf_throw kfunc (insn {insn}) cannot be called from callback subprog {subprog}")]
    ThrowInCallback { insn: usize, subprog: usize },
    /// `bpf_find_exception_callback_insn_off`, before the walk (`EEXIST`).
    #[error("multiple exception callback tags for main subprog")]
    SeveralExceptionCbs,
    /// The exception callback's prototype is not `(int)`.
    #[error("exception cb only supports single integer argument")]
    ExceptionCbArgs,
    /// `btf_prepare_func_args` refused the exception callback's prototype: its line.
    #[error("{0}")]
    ExceptionCbProto(String, Errno),
    /// `bpf_dev_bound_kfunc_check`, before the walk.
    #[error("metadata kfuncs require device-bound program")]
    MetadataNotDevBound,
}

/// A kernel object argument of another struct type (`process_kf_arg_ptr_to_btf_id`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "kernel function {kfunc} args#{argno} expected pointer to STRUCT {want} but {reg} has a pointer to STRUCT {have}"
)]
pub struct ObjMismatch {
    /// The kfunc.
    pub kfunc: String,
    /// The argument (0-based).
    pub argno: usize,
    /// The struct it takes.
    pub want: String,
    /// The register passed.
    pub reg: RegName,
    /// The struct the register points to.
    pub have: String,
}

impl KfuncReject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        use KfuncReject::*;
        match self {
            NotAllowed(_) | NullTrustedArg(_) | MemArgType(..) | DynptrWrite(_) | RcuProtected(_)
            | NotSleepable(_) => Errno::EACCES,
            MemLenPair { cause, .. } | MemLenPairArgs { cause, .. } => cause.errno(),
            TargetRefused(_) => Errno::EPERM,
            SeveralExceptionCbs => Errno::EEXIST,
            ExceptionCbProto(_, e) => *e,
            _ => Errno::EINVAL,
        }
    }

    pub(super) fn reg(&self) -> Option<RegName> {
        use KfuncReject::*;
        match self {
            ArenaStackArg(r) | ProgAuxStackArg(r) | NotScalar(r) | NotConst(r) | MemArgType(r, _) => Some(*r),
            MustBeTrusted(r) | MustBeRcu(r) => Some(*r),
            MemLenPair { buf, .. } => Some(*buf),
            _ => None,
        }
    }

    pub(super) fn rename_reg(&mut self, from: RegName, to: RegName) {
        use KfuncReject::*;
        match self {
            ArenaStackArg(r)
            | ProgAuxStackArg(r)
            | NotScalar(r)
            | NotConst(r)
            | MemArgType(r, _)
            | MustBeTrusted(r)
            | MustBeRcu(r)
                if *r == from =>
            {
                *r = to;
            }
            MemLenPair { cause, .. } | MemLenPairArgs { cause, .. } => cause.rename_in_place(from, to),
            _ => {}
        }
    }
}
