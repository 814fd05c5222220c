//! Prototypes the verifier is given beside the instructions: subprogram argument counts and
//! linkage (the BTF `func_info` substitute, from `.func` directives or ELF BTF) and the kfunc
//! table (name, BTF id, parameter kinds), plus the per-subprogram stack-argument counters the
//! walk maintains (`stack_arg_cnt`, `max_out_stack_arg_cnt`).

use kbpf_isa::FuncDecl;
use kbpf_passes::subprogs::Subprogs;

/// Arguments passed in registers (`MAX_BPF_FUNC_REG_ARGS`).
pub const MAX_REG_ARGS: u32 = 5;
/// Most arguments of a call (`MAX_BPF_FUNC_ARGS`).
pub const MAX_FUNC_ARGS: u32 = 12;
/// Stack-argument slots (`MAX_STACK_ARG_SLOTS`).
pub const MAX_STACK_ARG_SLOTS: usize = (MAX_FUNC_ARGS - MAX_REG_ARGS) as usize;

/// What the verifier checks for one kfunc parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KfuncArgKind {
    /// Any scalar.
    Scalar,
    /// A known constant scalar (`__k`).
    Const,
    /// Size of the memory parameter just before it (`__sz`; `__szk` when `constant`).
    MemSize {
        /// Must be a known constant.
        constant: bool,
    },
    /// Pointer to memory: sized by the next parameter, or `size` bytes when given.
    Mem {
        /// Fixed size when no size parameter follows.
        size: Option<u32>,
    },
    /// Pointer to a struct the program owns (kfunc arguments like `struct prog_test_pass1 *`):
    /// any non-NULL memory pointer.
    StructPtr,
    /// The program context.
    Ctx,
    /// Pointer to a kernel object of the target BTF (`KF_ARG_PTR_TO_BTF_ID`): the trusted / RCU
    /// rules of the kfunc's flags and the type match of `process_kf_arg_ptr_to_btf_id`.
    BtfObj {
        /// Struct name.
        name: String,
        /// Its id in the target BTF.
        type_id: u32,
        /// The struct has a pointer member, so it is no "struct with scalar" (a non-BTF
        /// pointer passed for it is refused with the kernel's message).
        has_ptr: bool,
    },
    /// `__arena` pointer: register arguments only.
    Arena,
    /// `struct bpf_prog_aux *`: supplied by the verifier, register arguments only.
    ProgAux,
    /// Ignored (`__ign`).
    Ignored,
    /// `struct bpf_dynptr *`: an initialized dynptr, or an uninitialized stack slot pair when
    /// the parameter name ends in `__uninit` (constructors).
    Dynptr,
    /// Iterator state `struct bpf_iter_<name> *` (the first argument of iterator kfuncs, or a
    /// `__iter` parameter).
    Iter {
        /// Type name without `bpf_iter_`.
        name: String,
        /// `sizeof(struct bpf_iter_<name>)`: a multiple of 8.
        size: u32,
    },
    /// `const char *` to a NUL-terminated string in a read-only, frozen map (`__str`).
    ConstStr,
    /// `struct bpf_timer *` inside a map value.
    Timer,
    /// An allocated object to free (`__alloc`, `KF_ARG_PTR_TO_ALLOC_BTF_ID`).
    AllocObj,
    /// An owning or non-owning reference to a refcounted allocated object
    /// (`__refcounted_kptr`).
    RefcountedKptr,
    /// A graph root or node (`struct bpf_list_head *`, `bpf_list_node`, `bpf_rb_root`,
    /// `bpf_rb_node`): the field kind.
    Graph(crate::btf::record::FieldKind),
    /// A callback: a static subprogram (`KF_ARG_PTR_TO_CALLBACK`).
    Callback,
    /// A kind the verifier does not model (map, callback, kernel object): calls that pass it
    /// are refused with `ENOTSUPP`.
    Unmodelled(String),
}

/// One kfunc parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KfuncArg {
    /// Parameter name (used only for diagnostics of kbpf's own refusals).
    pub name: String,
    /// The check.
    pub kind: KfuncArgKind,
    /// NULL allowed (`__nullable`, `__opt`).
    pub nullable: bool,
}

/// What a kfunc leaves in r0.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum KfuncRet {
    /// `void`: r0 is not readable.
    #[default]
    Void,
    /// A scalar.
    Scalar,
    /// Pointer to `size` bytes of memory.
    Mem(u32),
    /// A kernel object pointer (not modelled: calls are refused with `ENOTSUPP`).
    Object(String),
    /// Pointer to a kernel object of the target BTF: `PTR_TO_BTF_ID` of that id (referenced
    /// when the kfunc acquires).
    BtfObj {
        /// Struct name.
        name: String,
        /// Its id in the target BTF.
        type_id: u32,
    },
}

/// The iterator protocol role of a kfunc (`KF_ITER_NEW` / `KF_ITER_NEXT` / `KF_ITER_DESTROY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IterRole {
    /// Constructor: takes an uninitialized iterator.
    New,
    /// Step: returns the next element or NULL; the loop-convergence point.
    Next,
    /// Destructor: releases the iterator's reference.
    Destroy,
}

/// A kfunc prototype as the verifier sees it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct KfuncDecl {
    /// BTF id (the call's `imm`).
    pub btf_id: i32,
    /// Name.
    pub name: String,
    /// All parameters of the BTF `FUNC_PROTO`, in order.
    pub args: Vec<KfuncArg>,
    /// Return.
    pub ret: KfuncRet,
    /// `KF_RET_NULL`.
    pub ret_null: bool,
    /// `KF_ITER_*`.
    pub iter: Option<IterRole>,
    /// Program types the kfunc is registered for; `None` = all.
    pub prog_types: Option<Vec<kbpf_isa::KernelProgType>>,
    /// The `KF_*` flags beyond the iterator and NULL ones.
    pub traits: KfuncTraits,
    /// Why kbpf cannot check a call to it (a kfunc of the target kernel whose semantics are
    /// not modelled): a call is refused as unsupported once the program type may make it.
    pub unmodelled: Option<String>,
}

/// The `KF_*` flags the argument and return rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KfuncTraits {
    /// `KF_ACQUIRE`: returns a referenced object.
    pub acquire: bool,
    /// `KF_RELEASE`: releases its referenced argument.
    pub release: bool,
    /// `KF_TRUSTED_ARGS`: pointer arguments must be trusted or referenced.
    pub trusted_args: bool,
    /// `KF_RCU`: pointer arguments may be RCU-protected.
    pub rcu: bool,
    /// `KF_SLEEPABLE`.
    pub sleepable: bool,
    /// `KF_RCU_PROTECTED`: only inside an RCU read section.
    pub rcu_protected: bool,
    /// The target kernel's build refuses every call once its arguments are checked (`EPERM`,
    /// `NAME() is not allowed`): Linux 6.18 as built for this machine does so for
    /// `bpf_dynptr_slice_rdwr`, whatever the program type or dynptr; upstream does not.
    pub refused_after_args: bool,
}

/// Per-subprogram argument facts and counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct SubprogArgs {
    /// BTF parameter count (0 without a prototype).
    pub arg_cnt: Vec<u32>,
    /// Name from the prototype.
    pub name: Vec<String>,
    /// Global linkage.
    pub global: Vec<bool>,
    /// Has a prototype (BTF `func_info` / `.func`).
    pub declared: Vec<bool>,
    /// The BTF shapes of the parameters (empty for `.func` declarations).
    pub params: Vec<Vec<kbpf_isa::Param>>,
    /// Incoming + largest outgoing stack-argument count (`stack_arg_cnt`).
    pub stack_arg_cnt: Vec<u32>,
    /// Highest outgoing slot written on any path, plus one (`max_out_stack_arg_cnt`).
    pub max_out: Vec<u32>,
}

impl SubprogArgs {
    /// Matches each subprogram's first instruction with a declaration.
    pub fn new(subprogs: &Subprogs, funcs: &[FuncDecl]) -> SubprogArgs {
        let n = subprogs.list.len();
        let mut s = SubprogArgs {
            arg_cnt: vec![0; n],
            name: vec![String::new(); n],
            global: vec![false; n],
            declared: vec![false; n],
            params: vec![Vec::new(); n],
            stack_arg_cnt: vec![0; n],
            max_out: vec![0; n],
        };
        for (i, sp) in subprogs.list.iter().enumerate() {
            // the main program is ctx-only whatever is declared for it
            if i == 0 {
                continue;
            }
            if let Some(d) = funcs.iter().find(|d| d.pc == sp.start.index()) {
                s.arg_cnt[i] = d.nargs;
                s.name[i] = d.name.clone();
                s.global[i] = d.global;
                s.declared[i] = true;
                s.params[i] = d.params.clone();
                s.stack_arg_cnt[i] = s.in_args(i) as u32;
            }
        }
        s
    }

    /// Incoming stack arguments of subprogram `sp` (`bpf_in_stack_arg_cnt`).
    pub fn in_args(&self, sp: usize) -> usize {
        self.arg_cnt.get(sp).map_or(0, |&n| n.saturating_sub(MAX_REG_ARGS) as usize)
    }

    /// Display name of subprogram `sp` (`func#N` when undeclared).
    pub fn name_of(&self, sp: usize) -> String {
        match self.name.get(sp) {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("func#{sp}"),
        }
    }
}
