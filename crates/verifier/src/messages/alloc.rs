//! Allocated objects (`bpf_obj_new` and friends) and the local types they point to.

use super::RegName;

use kbpf_passes::Errno;
use thiserror::Error;

/// Largest type `bpf_percpu_obj_new` allocates (`BPF_GLOBAL_PERCPU_MA_MAX_SIZE`).
pub const PERCPU_OBJ_MAX_SIZE: u32 = 512;

/// A refused use of an allocated object.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum AllocReject {
    #[error("local type ID argument must be in range [0, U32_MAX]")]
    TypeIdRange,
    #[error("bpf_obj_new/bpf_percpu_obj_new requires prog BTF")]
    NoProgBtf,
    #[error("bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct")]
    NotStruct,
    #[error("bpf_percpu_obj_new type size ({0}) is greater than {PERCPU_OBJ_MAX_SIZE}")]
    PercpuTooBig(u32),
    #[error("bpf_percpu_obj_new type ID argument must be of a struct of scalars")]
    PercpuNotScalars,
    #[error("bpf_percpu_obj_new type ID argument must not contain special fields")]
    PercpuSpecialFields,
    #[error("arg#{0} expected for bpf_obj_drop_impl()")]
    ExpectedObjDrop(usize),
    #[error("arg#{0} expected for bpf_percpu_obj_drop_impl()")]
    ExpectedPercpuObjDrop(usize),
    #[error("arg#{0} expected pointer to allocated object")]
    ExpectedAlloc(usize),
    #[error("allocated object must be referenced")]
    NotReferenced,
    #[error("arg#{0} is neither owning or non-owning ref")]
    NotOwningOrNonOwning(usize),
    #[error("arg#{0} doesn't point to a type with bpf_refcount field")]
    NoRefcount(usize),
    /// `btf_struct_access` on a special field of a local type.
    #[error("direct access to {0} is disallowed")]
    DirectAccess(&'static str),
    #[error("arg#{0} expected pointer to map value or allocated object")]
    ExpectedMapValueOrAlloc(usize),
    #[error("{0} doesn't have constant offset. {1} has to be at the constant offset")]
    GraphVarOffset(RegName, &'static str),
    #[error("{0} not found at offset={1}")]
    GraphFieldNotFound(&'static str, i64),
    /// `check_reg_allocation_locked` failed; `.1` says the held lock is another object's.
    #[error("{}bpf_spin_lock at off={lock_off} must be held for {field}", if *.other { "held lock and object are not in the same allocation\n" } else { "" })]
    LockNotHeld { lock_off: i64, field: &'static str, other: bool },
    #[error("{0}")]
    Node(Box<NodeMismatch>),
    #[error("{0} can only take non-owning or refcounted bpf_rb_node pointer")]
    RbNodeNotOwned(String),
    #[error("{0} not allowed in rbtree cb")]
    NotInRbtreeCb(String),
    #[error("arg{0} expected pointer to func")]
    ExpectedFunc(usize),
    #[error("can't spin_{{lock,unlock}} in rbtree cb")]
    SpinLockInRbtreeCb,
    /// One allocation kfunc call reached with objects of types whose struct metas differ
    /// (the call is rewritten with one meta).
    #[error(
        "same call cannot be used with different types\nuse one call for each type: inline the static function that holds the call,\nor mark the callee with __attribute__((nomerge))"
    )]
    CallTypes,
}

impl AllocReject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        match self {
            AllocReject::DirectAccess(_) | AllocReject::SpinLockInRbtreeCb => Errno::EACCES,
            _ => Errno::EINVAL,
        }
    }
}

/// A graph node argument that is not the node its root holds.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum NodeMismatch {
    #[error(
        "operation on {head} expects arg#1 {node} at offset={want_off} in struct {want_struct}, but arg is at offset={off} in struct {have_struct}"
    )]
    Type {
        head: &'static str,
        node: &'static str,
        want_off: u32,
        want_struct: String,
        off: i64,
        have_struct: String,
    },
    #[error("arg#1 offset={off}, but expected {node} at offset={want_off} in struct {want_struct}")]
    Offset { off: i64, node: &'static str, want_off: u32, want_struct: String },
}
