//! `ProgType::Mem`, kbpf's own type for userspace embedding: the context is a plain buffer of
//! `ctx_size` bytes and the program gets the base helper set.

use super::{CtxAccess, CtxField, ProgTypeOps};
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::{Proto, base_func_proto};
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
