//! `check_struct_ops_btf_id`: a struct_ops program's attach BTF id must name a struct the
//! kernel registered (its `bpf_struct_ops_<name>` wrapper is in the target BTF), and its
//! expected attach type must index a function-pointer member the registration lets BPF
//! implement. The member's prototype becomes the program's context, as for tracing.

use super::attach::{AttachError, AttachInfo};
use crate::prog_types::struct_ops::{KnownOps, StructOpsMember, member_func_proto, registered};
use kbpf_elf::btf::BtfType;
use kbpf_isa::AttachType;
use kbpf_passes::Errno;

/// `check_struct_ops_btf_id` for the program `opts` describes.
pub fn check_struct_ops_btf_id(opts: &crate::VerifyOptions) -> Result<AttachInfo, AttachError> {
    if !opts.gpl {
        return Err(AttachError::StructOpsLicense);
    }
    let id = opts.attach_btf_id;
    if id == 0 {
        return Err(AttachError::StructOpsNoBtfId);
    }
    let Some(btf) = opts.btf.as_ref() else {
        return Err(AttachError::UnmodelledStructOps("(no target BTF)".into()));
    };
    let (sname, members) = match btf.get(id) {
        Some(BtfType::Struct { name, members, .. }) if !name.is_empty() && registered(btf, name) => {
            (name.clone(), members)
        }
        _ => return Err(AttachError::NotSupportedStruct(id)),
    };
    let Some(ops) = KnownOps::by_name(&sname) else {
        return Err(AttachError::UnmodelledStructOps(sname));
    };
    let idx = opts.struct_ops_member;
    let Some(member) = members.get(idx as usize) else {
        return Err(AttachError::InvalidMemberIdx(idx, sname));
    };
    let mname = member.name.clone();
    let Some(proto) = member_func_proto(btf, member.type_id) else {
        return Err(AttachError::InvalidMember(mname, idx, sname));
    };
    if !ops.supported(&mname) {
        return Err(AttachError::UnsupportedMember(mname, sname, Errno::ENOTSUPP));
    }
    if !ops.check_member(&mname, opts.sleepable) {
        return Err(AttachError::UnsupportedMember(mname, sname, Errno::EINVAL));
    }
    let ret_void = matches!(btf.get(proto), Some(BtfType::FuncProto { ret: 0, .. }));
    Ok(AttachInfo {
        attach: AttachType::StructOps,
        proto,
        func_name: mname.clone(),
        trace: false,
        args_trusted: true,
        iter_target: None,
        ret_void,
        struct_ops: Some(StructOpsMember { ops, member: mname, idx }),
    })
}
