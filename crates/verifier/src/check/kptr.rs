//! Kptr fields of map values (`check_map_kptr_access`, `map_kptr_match_type`): a load gives a
//! maybe-NULL BTF pointer (untrusted, or RCU-protected inside an RCU section for the types the
//! kernel frees after a grace period), a store takes an unreferenced pointer of the field's type
//! or NULL; referenced kptrs change only through `bpf_kptr_xchg`. A kptr may also hold an object
//! the program allocated (a type of its own BTF): it loads as an RCU-protected allocated object.

use crate::btf::record::{Field, FieldKind, KptrTarget};
use crate::domain::state::{
    MAYBE_NULL, MEM_ALLOC, MEM_PERCPU, MEM_RCU, NON_OWN_REF, PTR_TRUSTED, PTR_UNTRUSTED, RegState, RegType,
};
use crate::env::ctx::Mem;
use crate::log::reg_type_str;
use crate::messages::{Bug, LockReject, Reject, Unsupported};
use kbpf_isa::{Insn, SlotIdx, Src};

/// `rcu_protected_types`: kernel objects freed only after an RCU grace period, which a kptr
/// load may hand out as RCU pointers.
const RCU_PROTECTED: [&str; 5] =
    ["prog_test_ref_kfunc", "cgroup", "bpf_cpumask", "task_struct", "bpf_crypto_ctx"];

/// What a kptr field points to: a kernel type, or a type of the program's own BTF (an object
/// of `bpf_obj_new`, which kbpf types as `MEM_ALLOC` pointers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// The type id, in the target BTF or (`local`) the program's.
    pub id: u32,
    /// The type's name (the same in either BTF: the kernel resolves kptrs by name).
    pub name: &'a str,
    /// Whether `id` is the program's.
    pub local: bool,
}

/// The type a kptr field points to, or why kbpf cannot type it.
pub(crate) fn target(field: &Field) -> Result<Target<'_>, Reject> {
    let Some(k) = &field.kptr else { return Err(Bug::NoKptrType.into()) };
    let (id, local) = match k.target {
        KptrTarget::Kernel(id) => (id, false),
        KptrTarget::Local(id) => (id, true),
        KptrTarget::Unresolved => {
            return Err(Unsupported::Feature("kptr fields without a target BTF").into());
        }
    };
    Ok(Target { id, name: k.name.as_str(), local })
}

/// `rcu_safe_kptr`: the program's own objects are always freed after a grace period
/// (`rcu_protected_object`).
fn rcu_safe(field: &Field, t: Target<'_>) -> bool {
    field.kind == FieldKind::KptrPercpu
        || (field.kind == FieldKind::KptrRef && (t.local || RCU_PROTECTED.contains(&t.name)))
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
            let t = target(field)?;
            let in_rcu_cs = self.cur.active_rcu_lock || self.cur.active_locks > 0 || !self.in_sleepable();
            let flags = self.kptr_load_flags(field, t, in_rcu_cs)?;
            let Some(v) = value else { return Err(Bug::NoKptrType.into()) };
            let r = self.btf_ptr(t.id, flags);
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

    /// `btf_ld_kptr_type`: the flags of a pointer loaded from kptr `field`. An RCU-protected
    /// object of the program's own type is an allocated object (non-owning when a graph may
    /// hold it); kbpf types the program's BTF only through `MEM_ALLOC`, so the other loads of
    /// such a field (untrusted, per-CPU) have no verdict.
    fn kptr_load_flags(&self, field: &Field, t: Target<'_>, in_rcu_cs: bool) -> Result<u16, Reject> {
        let mut flags = MAYBE_NULL;
        if !(rcu_safe(field, t) && in_rcu_cs) {
            if t.local {
                return Err(Unsupported::Feature("untrusted pointers to program-allocated objects").into());
            }
            return Ok(flags | PTR_UNTRUSTED);
        }
        flags |= MEM_RCU;
        if field.kind == FieldKind::KptrPercpu {
            if t.local {
                return Err(Unsupported::Feature("per-CPU kptrs of program-allocated objects").into());
            }
            return Ok(flags | MEM_PERCPU);
        }
        if t.local {
            flags |= MEM_ALLOC;
            if self.local_graph_node(t.id)? {
                flags |= NON_OWN_REF;
            }
        }
        Ok(flags)
    }

    /// Whether the program's type `id` has a list or rbtree node (`BPF_GRAPH_NODE`).
    fn local_graph_node(&self, id: u32) -> Result<bool, Reject> {
        let Some(btf) = self.prog.opts.prog_btf.clone() else { return Err(Bug::NoKptrType.into()) };
        let kernel = self.prog.opts.btf.clone();
        let rec = crate::btf::local::struct_meta(&btf, id, kernel.as_deref())
            .map_err(|w| Reject::Unsupported(Unsupported::Feature(w)))?;
        Ok(rec.is_some_and(|r| r.has(FieldKind::ListNode) || r.has(FieldKind::RbNode)))
    }

    /// `map_kptr_match_type`: `reg` may be stored in (or exchanged into) the kptr `field`.
    /// An allocated object is typed by the program's BTF, anything else by the target's: the
    /// two never match each other's types.
    pub(crate) fn map_kptr_match_type(
        &mut self,
        field: &Field,
        reg: &RegState,
        regno: u8,
    ) -> Result<(), Reject> {
        let want = target(field)?;
        let alloc = reg.ty == RegType::BtfId && reg.flags & MEM_ALLOC != 0;
        let btf = if alloc { self.prog.opts.prog_btf.clone() } else { self.prog.opts.btf.clone() };
        let perm = if alloc {
            MAYBE_NULL | MEM_ALLOC | if field.kind == FieldKind::KptrPercpu { MEM_PERCPU } else { 0 }
        } else if field.kind == FieldKind::KptrUnref {
            MAYBE_NULL | PTR_TRUSTED | MEM_RCU | PTR_UNTRUSTED
        } else {
            MAYBE_NULL | PTR_TRUSTED | MEM_RCU
        };
        let bad = |reg_name: String| -> Reject {
            let mut expected = format!("{}{}", reg_type_str(RegType::BtfId, 0), want.name);
            if field.kind == FieldKind::KptrUnref {
                expected += &format!(" or {}{}", reg_type_str(RegType::BtfId, PTR_UNTRUSTED), want.name);
            }
            LockReject::KptrMatch(
                regno.into(),
                format!("{}{reg_name}", reg_type_str(reg.ty, reg.flags)),
                expected,
            )
            .into()
        };
        if reg.ty != RegType::BtfId || reg.flags & !perm != 0 {
            return Err(bad(String::new()));
        }
        let reg_name = crate::log::btf_type_name(btf.as_deref(), reg.btf_id);
        // __check_ptr_off_reg with a fixed offset allowed
        let ty = crate::messages::TypeName::new(reg.ty, reg.flags);
        if reg.off < 0 {
            return Err(Reject::NegativeOffsetPtr(ty, regno.into(), reg.off));
        }
        if !reg.var_off.is_const() || reg.var_off.value != 0 {
            return Err(Reject::VarCtxAccess(ty, reg.var_off.to_string()));
        }
        let Some(btf) = btf else { return Err(Bug::NoKptrType.into()) };
        let strict = field.kind != FieldKind::KptrUnref;
        if alloc != want.local
            || !crate::btf::walk::struct_ids_match(&btf, reg.btf_id, reg.off as u32, want.id, strict)
        {
            return Err(bad(reg_name));
        }
        Ok(())
    }
}
