//! Kptr fields of map values (`check_map_kptr_access`, `map_kptr_match_type`): a load gives a
//! maybe-NULL BTF pointer (untrusted, or RCU-protected inside an RCU section for the types the
//! kernel frees after a grace period), a store takes an unreferenced pointer of the field's type
//! or NULL; referenced kptrs change only through `bpf_kptr_xchg`.

use crate::btf::record::{Field, FieldKind, KptrTarget};
use crate::domain::state::{
    MAYBE_NULL, MEM_ALLOC, MEM_PERCPU, MEM_RCU, PTR_TRUSTED, PTR_UNTRUSTED, RegState, RegType,
};
use crate::env::ctx::Mem;
use crate::log::reg_type_str;
use crate::messages::{Bug, LockReject, Reject, Unsupported};
use kbpf_isa::{Insn, SlotIdx, Src};

/// `rcu_protected_types`: kernel objects freed only after an RCU grace period, which a kptr
/// load may hand out as RCU pointers.
const RCU_PROTECTED: [&str; 5] =
    ["prog_test_ref_kfunc", "cgroup", "bpf_cpumask", "task_struct", "bpf_crypto_ctx"];

/// `rcu_safe_kptr`.
fn rcu_safe(field: &Field, name: &str) -> bool {
    field.kind == FieldKind::KptrPercpu || (field.kind == FieldKind::KptrRef && RCU_PROTECTED.contains(&name))
}

/// The kernel BTF id of a kptr field's pointee, or why kbpf cannot type it.
pub(crate) fn kernel_target(field: &Field) -> Result<(u32, &str), Reject> {
    let Some(k) = &field.kptr else { return Err(Bug::NoKptrType.into()) };
    match k.target {
        KptrTarget::Kernel(id) => Ok((id, k.name.as_str())),
        KptrTarget::Local(_) => Err(Unsupported::Feature("kptrs of program-allocated objects").into()),
        KptrTarget::Unresolved => Err(Unsupported::Feature("kptr fields without a target BTF").into()),
    }
}

impl Mem<'_, '_> {
    /// `check_map_kptr_access`: the load or store at `idx` through `regno` hits the kptr
    /// `field` exactly (`check_map_access` checked offset and size).
    pub(crate) fn check_map_kptr_access(
        &mut self,
        idx: SlotIdx,
        value: Option<u8>,
        field: &Field,
    ) -> Result<(), Reject> {
        let insn = self.prog.decoded(idx)?;
        let (load, imm) = match insn {
            Insn::Load { .. } => (true, None),
            Insn::Store { src: Src::Imm(v), .. } => (false, Some(v)),
            Insn::Store { src: Src::Reg(_), .. } => (false, None),
            _ => return Err(LockReject::KptrMode.into()),
        };
        if !load && matches!(field.kind, FieldKind::KptrRef | FieldKind::KptrPercpu) {
            return Err(LockReject::KptrRefStore.into());
        }
        if !load && field.kind == FieldKind::Uptr {
            return Err(LockReject::UptrStore.into());
        }
        if load {
            if field.kind == FieldKind::Uptr {
                return Err(Unsupported::Feature("uptr fields of task storage").into());
            }
            let (btf_id, name) = kernel_target(field)?;
            let in_rcu_cs = self.cur.active_rcu_lock || self.cur.active_locks > 0 || !self.in_sleepable();
            let mut flags = MAYBE_NULL;
            if rcu_safe(field, name) && in_rcu_cs {
                flags |= MEM_RCU;
                if field.kind == FieldKind::KptrPercpu {
                    flags |= MEM_PERCPU;
                }
            } else {
                flags |= PTR_UNTRUSTED;
            }
            let Some(v) = value else { return Err(Bug::NoKptrType.into()) };
            let r = self.btf_ptr(btf_id, flags);
            self.cur.cur_mut().regs[v as usize] = r;
            return Ok(());
        }
        if let Some(imm) = imm {
            if imm != 0 {
                return Err(LockReject::KptrStImm(field.off).into());
            }
            return Ok(());
        }
        let Some(v) = value else { return Err(Bug::NoKptrType.into()) };
        let val = self.cur.cur().regs[v as usize].clone();
        if val.is_const() && val.var_off.value == 0 {
            return Ok(());
        }
        self.map_kptr_match_type(field, &val, v)
    }

    /// `map_kptr_match_type`: `reg` may be stored in (or exchanged into) the kptr `field`.
    pub(crate) fn map_kptr_match_type(
        &mut self,
        field: &Field,
        reg: &RegState,
        regno: u8,
    ) -> Result<(), Reject> {
        let (want, want_name) = kernel_target(field)?;
        let btf = self.prog.opts.btf.clone();
        let name_of = |id: u32| crate::log::btf_type_name(btf.as_deref(), id);
        let mut perm = MAYBE_NULL | PTR_TRUSTED | MEM_RCU;
        if field.kind == FieldKind::KptrUnref {
            perm |= PTR_UNTRUSTED;
        }
        let bad = |reg_name: String| -> Reject {
            let mut expected = format!("{}{want_name}", reg_type_str(RegType::BtfId, 0));
            if field.kind == FieldKind::KptrUnref {
                expected += &format!(" or {}{want_name}", reg_type_str(RegType::BtfId, PTR_UNTRUSTED));
            }
            LockReject::KptrMatch(
                regno.into(),
                format!("{}{reg_name}", reg_type_str(reg.ty, reg.flags)),
                expected,
            )
            .into()
        };
        if reg.flags & MEM_ALLOC != 0 {
            // a program-allocated object: its BTF is the program's
            return Err(Unsupported::Feature("kptrs of program-allocated objects").into());
        }
        if reg.ty != RegType::BtfId || reg.flags & !perm != 0 {
            return Err(bad(String::new()));
        }
        let reg_name = name_of(reg.btf_id);
        // __check_ptr_off_reg with a fixed offset allowed
        let ty = crate::messages::TypeName::new(reg.ty, reg.flags);
        if reg.off < 0 {
            return Err(Reject::NegativeOffsetPtr(ty, regno.into(), reg.off));
        }
        if !reg.var_off.is_const() || reg.var_off.value != 0 {
            return Err(Reject::VarCtxAccess(ty, reg.var_off.to_string()));
        }
        let Some(kbtf) = btf else { return Err(Bug::NoKptrType.into()) };
        let strict = field.kind != FieldKind::KptrUnref;
        if !crate::btf::walk::struct_ids_match(&kbtf, reg.btf_id, reg.off as u32, want, strict) {
            return Err(bad(reg_name));
        }
        Ok(())
    }
}
