//! `BPF_PROG_TYPE_NETFILTER` (`netfilter_verifier_ops`): a program on a netfilter hook. The
//! context is `struct bpf_nf_ctx`, two trusted kernel pointers read whole and never written
//! (the hook state at 0, the `sk_buff` at 8); the helpers are the base set; the verdict is
//! `NF_DROP` (0) or `NF_ACCEPT` (1). The context is the kernel's own struct: no conversion.

use super::{CtxAccess, CtxError, CtxField, LoadAttach, ProgTypeOps, attach_one_of};
use crate::domain::state::PTR_TRUSTED;
use crate::fixups::CtxConv;
use crate::messages::AttachReject;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::{Proto, base_func_proto};
use kbpf_isa::{AttachType, Insn, KernelProgType};

/// The netfilter rules.
pub struct Netfilter;

impl ProgTypeOps for Netfilter {
    fn name(&self) -> &'static str {
        "netfilter"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::Netfilter)
    }

    /// `bpf_prog_load_check_attach`: only `BPF_NETFILTER`.
    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        attach_one_of(self.name(), a, &[AttachType::Netfilter])
    }

    /// `nf_is_valid_access`: `state` and `skb`, 8-byte reads only.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        if a.write || a.size != 8 {
            return None;
        }
        let name = match a.off {
            0 => "nf_hook_state",
            8 => "sk_buff",
            _ => return None,
        };
        Some(CtxField::BtfNamed { name, flags: PTR_TRUSTED })
    }

    /// The context is the kernel's struct: loads stay as they are.
    fn convert_ctx_access(&self, insn: &Insn, _cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        Ok(vec![*insn])
    }

    /// `bpf_nf_func_proto`: the base set.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        base_func_proto(f)
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProgType;

    fn read(t: ProgType, off: i64, size: i64, write: bool) -> Option<CtxField> {
        t.ops().ctx_access(CtxAccess { off, size, write, ldsx: false, attach: None })
    }

    #[test]
    fn netfilter_context_helpers_and_verdicts() {
        let nf = ProgType::Netfilter;
        assert_eq!(
            read(nf, 0, 8, false),
            Some(CtxField::BtfNamed { name: "nf_hook_state", flags: PTR_TRUSTED })
        );
        assert_eq!(read(nf, 8, 8, false), Some(CtxField::BtfNamed { name: "sk_buff", flags: PTR_TRUSTED }));
        for (off, size, write) in [(0, 1, false), (8, 2, false), (16, 8, false), (0, 8, true), (4, 8, false)]
        {
            assert_eq!(read(nf, off, size, write), None, "{off} {size} {write}");
        }
        assert_eq!(nf.ops().retval_range(), Some((0, 1)));
        assert!(nf.ops().func_proto(BpfFunc::MapLookupElem).is_some());
        assert!(nf.ops().func_proto(BpfFunc::SkbLoadBytes).is_none());
        let at = |t| LoadAttach { expected_attach_type: t, attach_btf_id: 0 };
        assert_eq!(nf.ops().check_attach(at(Some(AttachType::Netfilter))), Ok(()));
        assert!(nf.ops().check_attach(at(None)).is_err());
        assert_eq!(nf.ops().kernel_type().map(KernelProgType::name), Some("netfilter"));
    }

    #[test]
    fn lirc_and_tc_actions() {
        let lirc = ProgType::LircMode2;
        assert_eq!(read(lirc, 0, 4, false), Some(CtxField::Scalar));
        assert_eq!(read(lirc, 0, 4, true), None);
        assert_eq!(read(lirc, 0, 8, false), None);
        assert!(lirc.ops().func_proto(BpfFunc::RcKeydown).is_some_and(|p| p.gpl_only));
        assert!(lirc.ops().func_proto(BpfFunc::GetCurrentPidTgid).is_none());
        // a kernel without CONFIG_BPF_LIRC_MODE2 refuses the type before verifying
        let exit = [kbpf_isa::RawInsn::new(0xb7, 0, 0, 0, 0), kbpf_isa::RawInsn::new(0x95, 0, 0, 0, 0)];
        let o = crate::VerifyOptions { prog_type: lirc, ..Default::default() };
        let out = crate::verify(&exit, &o);
        assert_eq!(out.error.map(|e| e.errno()), Some(kbpf_passes::Errno::EINVAL));
        assert!(out.log.is_empty());
        let with = crate::KernelConfig { lirc_mode2: true, ..Default::default() };
        assert!(crate::verify(&exit, &crate::VerifyOptions { kernel_config: with, ..o }).accepted);
        // tc actions are classifiers under another name
        let act = ProgType::SchedAct;
        assert_eq!(act.ops().name(), "sched_act");
        assert_eq!(act.ops().kernel_type(), Some(KernelProgType::SchedAct));
        assert!(act.ops().func_proto(BpfFunc::SkbLoadBytes).is_some());
        assert!(act.ops().may_write_packet() && act.ops().may_access_skb());
        assert_eq!(read(act, 76, 4, false), read(ProgType::SchedCls, 76, 4, false));
    }
}
