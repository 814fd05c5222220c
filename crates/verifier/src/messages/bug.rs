//! kbpf's own invariants (`verifier bug: ...`, like the kernel's `verifier_bug()`): a state
//! the walk should never reach, reported instead of a panic. `EFAULT`, as in the kernel.

use thiserror::Error;

/// An invariant kbpf broke.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum Bug {
    #[error("kptr field without a pointee type")]
    NoKptrType,
    #[error("invalid insn idx {idx} insn_cnt {len}")]
    InsnIdx { idx: usize, len: usize },
    #[error("no callback in bpf_timer_set_callback")]
    NoTimerCallback,
    #[error("no dynptr in bpf_dynptr_data()")]
    NoDynptrForData,
    #[error("unexpected null map_ptr")]
    NullMapPtr,
    #[error("more than one arg with ref_obj_id R{regno} {have} {first}")]
    TwoRefArgs { regno: u8, have: u32, first: u32 },
    #[error("invalid map_ptr to access map->key")]
    NoMapForKey,
    #[error("target of func call at insn {0} is not a program")]
    CallTargetNotSubprog(usize),
    #[error("stack arg load without a caller frame")]
    StackArgNoCaller,
    #[error("stack arg{0} of the caller is not initialized")]
    StackArgUninit(usize),
    #[error("stack frame out of range")]
    FrameOutOfRange,
    #[error("stack slot out of range")]
    SlotOutOfRange,
    #[error("no frame {0} for a stack access")]
    NoFrame(usize),
    #[error("dynptr slot without its first slot")]
    DynptrNoFirstSlot,
    #[error("dynptr first slot at spi 0")]
    DynptrFirstSlotZero,
    #[error("dynptr slots beyond the allocated stack")]
    DynptrBeyondStack,
    #[error("dynptr constructor without a type")]
    DynptrCtorNoType,
    #[error("dynptr slot without a type")]
    DynptrSlotNoType,
    #[error("no subprog {0}")]
    NoSubprog(usize),
    #[error("iterator beyond the allocated stack")]
    IterBeyondStack,
    #[error("unexpected iterator state")]
    IterState,
    #[error("bad parent state for iter next call")]
    IterParent,
    #[error("unexpected src reg value for ldimm64")]
    LdImm64Src,
    #[error("{0} takes no iterator")]
    KfuncNoIter(String),
    #[error("more than one arg with ref_obj_id")]
    KfuncTwoRefArgs,
    #[error("kfunc {0} reference has not been acquired before")]
    KfuncRefNotAcquired(String),
    #[error("no dynptr type for parent of clone")]
    CloneNoParentType,
    #[error("bpf_dynptr_slice(_rdwr) no constant size")]
    SliceNoConstSize,
    #[error("no dynptr id")]
    NoDynptrId,
    #[error("{0} without prog BTF for its allocated argument")]
    KfuncNoProgBtf(String),
    #[error("Couldn't find btf_record for {0}")]
    KfuncNoRecord(String),
    #[error("{0} without a local type id")]
    KfuncNoTypeId(String),
    #[error("repeating graph root arg")]
    GraphRepeatedRoot,
    #[error("graph node arg without its root")]
    GraphNoRoot,
    #[error("ref state missing for ref_obj_id")]
    GraphOwningRef,
    #[error("ld_imm64 func target {0} is not a subprog")]
    FuncTargetNotSubprog(i64),
    /// An accepted program for which no witness could be built (why, from the witness builder).
    #[error("{0}")]
    Witness(String),
    #[error("ALU check on a {0}-class insn")]
    AluOnClass(String),
    #[error("conditional jump check on opcode {0:02x}")]
    CondJmpOpcode(u8),
    #[error("callback subprog {0} does not exist")]
    NoCallbackSubprog(usize),
    #[error("in callback at {insn}, callsite {callsite} !calls_callback")]
    CallbackCallsite { insn: usize, callsite: usize },
    #[error("no callback in a callback-calling helper")]
    NoCallback,
    #[error("exit without a caller frame")]
    ExitNoCaller,
    #[error("insn {0} passed its structural checks but does not decode")]
    Undecoded(kbpf_isa::SlotIdx),
    /// A register's ranges became empty or disagree with its constant tnum
    /// (`reg_bounds_sanity_check`): printed, then the ranges are reset unless the program
    /// was loaded with `BPF_F_TEST_REG_INVARIANTS`.
    #[error("{0}")]
    RegInvariants(Box<RegInvariants>),
}

/// What `REG INVARIANTS VIOLATION` prints: where, why, and the register's ranges and tnum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegInvariants {
    /// The check's site (`alu`, `true_reg1` .. `false_reg2`).
    pub ctx: &'static str,
    /// Which invariant broke.
    pub msg: &'static str,
    /// umin, umax.
    pub u64: (u64, u64),
    /// smin, smax.
    pub s64: (i64, i64),
    /// u32 min, max.
    pub u32: (u32, u32),
    /// s32 min, max.
    pub s32: (i32, i32),
    /// tnum value, mask.
    pub var_off: (u64, u64),
}

impl std::fmt::Display for RegInvariants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "REG INVARIANTS VIOLATION ({}): {} u64=[{:#x}, {:#x}] s64=[{:#x}, {:#x}] u32=[{:#x}, {:#x}] s32=[{:#x}, {:#x}] var_off=({:#x}, {:#x})",
            self.ctx,
            self.msg,
            self.u64.0,
            self.u64.1,
            self.s64.0 as u64,
            self.s64.1 as u64,
            self.u32.0,
            self.u32.1,
            self.s32.0 as u32,
            self.s32.1 as u32,
            self.var_off.0,
            self.var_off.1
        )
    }
}
