//! `BPF_PROG_TYPE_TRACING` (`tracing_verifier_ops`): fentry, fexit, fmod_ret, tp_btf and
//! iterators. The context is the attach target's arguments as u64 slots, typed by its BTF
//! prototype: the rules live in [`crate::btf::ctx`], which reads the target resolved before
//! the walk; the attach target itself is checked by [`crate::btf::attach`].

use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps};
use crate::messages::AttachReject;
use crate::protos::btf_helpers::tracing_func_proto;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::Proto;
use kbpf_isa::KernelProgType;

/// The tracing rules.
pub struct Tracing;

impl ProgTypeOps for Tracing {
    fn name(&self) -> &'static str {
        "tracing"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::Tracing)
    }

    /// `bpf_prog_load_check_attach`: tracing programs attach by BTF id; the id and the
    /// expected attach type are judged by `check_attach_btf_id` in the verifier.
    fn check_attach(&self, _: LoadAttach) -> Result<(), AttachReject> {
        Ok(())
    }

    /// Typed by the attach target ([`crate::btf::ctx::tracing_access`]); without one nothing
    /// is valid.
    fn ctx_access(&self, _: CtxAccess) -> Option<CtxField> {
        None
    }

    /// `tracing_prog_func_proto` (the expected attach type refines it where the walk asks).
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        tracing_func_proto(f, None)
    }
}
