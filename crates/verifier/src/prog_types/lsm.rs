//! `BPF_PROG_TYPE_LSM` (`lsm_verifier_ops`): BPF programs on LSM hooks (`bpf_lsm_<hook>`),
//! `BPF_LSM_MAC` or per-cgroup `BPF_LSM_CGROUP`. The context is the hook's arguments typed by
//! its BTF prototype ([`crate::btf::ctx::btf_ctx_access`]); int hooks return `-MAX_ERRNO..0`.

use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps};
use crate::messages::AttachReject;
use crate::protos::btf_helpers::lsm_func_proto;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::Proto;
use kbpf_isa::KernelProgType;

/// The LSM rules.
pub struct Lsm;

impl ProgTypeOps for Lsm {
    fn name(&self) -> &'static str {
        "lsm"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::Lsm)
    }

    /// `bpf_prog_load_check_attach`: LSM programs attach by BTF id (judged in the verifier).
    fn check_attach(&self, _: LoadAttach) -> Result<(), AttachReject> {
        Ok(())
    }

    /// Typed by the hook ([`crate::btf::ctx::btf_ctx_access`]); without one nothing is valid.
    fn ctx_access(&self, _: CtxAccess) -> Option<CtxField> {
        None
    }

    /// `bpf_lsm_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        lsm_func_proto(f)
    }
}
