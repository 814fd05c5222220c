//! `BPF_PROG_TYPE_LIRC_MODE2` (`lirc_mode2_verifier_ops`): an infrared decoder. The context is
//! one read-only `u32` sample; besides a few base helpers the program reports keys and pointer
//! motion. A kernel built without `CONFIG_BPF_LIRC_MODE2` has no such type
//! ([`crate::KernelConfig::lirc_mode2`]).

use super::{CtxAccess, CtxField, ProgTypeOps};
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::{Arg, Proto, Ret, base_func_proto};
use kbpf_isa::KernelProgType;

/// The lirc_mode2 rules.
pub struct LircMode2;

impl ProgTypeOps for LircMode2 {
    fn name(&self) -> &'static str {
        "lirc_mode2"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::LircMode2)
    }

    /// `lirc_mode2_is_valid_access`: the one `u32`, read whole.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        (!a.write && a.off == 0 && a.size == 4).then_some(CtxField::Scalar)
    }

    /// `lirc_mode2_func_proto`: the rc helpers (GPL-only), the map and time helpers, tail
    /// calls and `bpf_trace_printk`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        use Arg::{Anything as A, Ctx, DontCare as D};
        let gpl = |args| Proto { args, ret: Ret::Integer, gpl_only: true, map_types: &[] };
        match f {
            BpfFunc::RcRepeat => Some(gpl([Ctx, D, D, D, D])),
            BpfFunc::RcKeydown => Some(gpl([Ctx, A, A, A, D])),
            BpfFunc::RcPointerRel => Some(gpl([Ctx, A, A, D, D])),
            BpfFunc::MapLookupElem
            | BpfFunc::MapUpdateElem
            | BpfFunc::MapDeleteElem
            | BpfFunc::MapPushElem
            | BpfFunc::MapPopElem
            | BpfFunc::MapPeekElem
            | BpfFunc::KtimeGetNs
            | BpfFunc::KtimeGetBootNs
            | BpfFunc::TailCall
            | BpfFunc::GetPrandomU32
            | BpfFunc::TracePrintk => base_func_proto(f),
            _ => None,
        }
    }
}
