//! What kbpf does not model yet: the kernel's verdict is unknown, so these never pass for a
//! kernel rejection (`ENOTSUPP`, kind [`super::RejectKind::Unsupported`]).

use thiserror::Error;

/// A program feature kbpf does not model.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum Unsupported {
    #[error("kbpf: kfunc {kfunc} returns a struct {ty} pointer, which is not modelled")]
    KfuncObjectReturn { kfunc: String, ty: String },
    #[error("kbpf: dynptr constructor {0} is not modelled")]
    DynptrConstructor(String),
    #[error("kbpf: kfunc {kfunc} argument {arg} ({what}) is not modelled")]
    KfuncArg { kfunc: String, arg: String, what: String },
    #[error("kbpf: map {map} has type {map_type} (enum bpf_map_type), which is not modelled")]
    MapType { map: String, map_type: u32 },
    #[error("kbpf: {0} is not modelled")]
    Feature(&'static str),
    #[error("kbpf: kfunc {0} of the target kernel is not modelled")]
    TargetKfunc(String),
    #[error("kbpf: kfunc {kfunc} of the target kernel: {why} is not modelled")]
    TargetKfuncRule { kfunc: String, why: String },
    /// Map creation would fail on the value's special fields (libbpf then retries without
    /// BTF, which kbpf does not model).
    #[error("kbpf: map {map} whose value layout the kernel refuses ({why}) is not modelled")]
    MapRecord { map: String, why: String },
    #[error("kbpf: helper {0} is available to this program type but its prototype is not modelled")]
    Helper(String),
    #[error("kbpf: the struct_ops rules of struct {0} are not modelled")]
    StructOps(String),
}
