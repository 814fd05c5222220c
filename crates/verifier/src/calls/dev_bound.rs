//! Device-bound kfuncs (the XDP metadata kfuncs, `bpf_dev_bound_kfunc_id`): the kernel
//! refuses a program calling one before the walk (`add_kfunc_call`) unless it was loaded bound
//! to a device, which kbpf does not model: every such call is refused.

use crate::VerifyOptions;
use crate::messages::{KfuncReject, Reject};
use kbpf_isa::{CallTarget, Insn, SlotTable};

/// The kfuncs only a device-bound program may call.
const DEV_BOUND: &[&str] =
    &["bpf_xdp_metadata_rx_timestamp", "bpf_xdp_metadata_rx_hash", "bpf_xdp_metadata_rx_vlan_tag"];

/// The first kfunc call of `table` to a device-bound kfunc, refused with its slot.
pub(crate) fn check_dev_bound_kfuncs(
    table: &SlotTable<'_>,
    opts: &VerifyOptions,
) -> Result<(), (Reject, usize)> {
    for i in 0..table.len() {
        let Ok(Insn::Call(CallTarget::Kfunc { btf_id, off: 0 })) = table.insn(i) else { continue };
        let name = match opts.kfuncs.get(btf_id) {
            Some(d) => Some(d.name.clone()),
            None => opts.btf.as_ref().and_then(|b| match b.get(btf_id as u32) {
                Some(kbpf_elf::btf::BtfType::Func { name, .. }) => Some(name.clone()),
                _ => None,
            }),
        };
        if name.is_some_and(|n| DEV_BOUND.contains(&n.as_str())) {
            return Err((KfuncReject::MetadataNotDevBound.into(), i));
        }
    }
    Ok(())
}
