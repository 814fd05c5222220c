//! `ProgType::Mem`, kbpf's own type for userspace embedding: the context is a plain buffer of
//! `ctx_size` bytes and the program gets the base helper set.

use super::{CtxAccess, CtxError, CtxField, ProgTypeOps};
use crate::fixups::CtxConv;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::{Proto, base_func_proto};
use kbpf_isa::Insn;
use kbpf_isa::KernelProgType;

/// The memory-context rules.
pub struct Mem {
    /// Context bytes.
    pub ctx_size: u32,
}

impl ProgTypeOps for Mem {
    fn name(&self) -> &'static str {
        "mem"
    }

    /// kbpf's own: no kernel type, so no type-restricted kfunc.
    fn kernel_type(&self) -> Option<KernelProgType> {
        None
    }

    /// The context is plain memory: accesses stay as they are (no `convert_ctx_access`).
    fn convert_ctx_access(&self, insn: &Insn, _cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        Ok(vec![*insn])
    }

    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        (a.off >= 0 && a.off + a.size <= self.ctx_size as i64).then_some(CtxField::Scalar)
    }

    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        base_func_proto(f)
    }

    fn ctx_bytes(&self) -> Option<usize> {
        Some(self.ctx_size as usize)
    }
}
