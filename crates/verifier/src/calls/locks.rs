//! Lock sections (`process_spin_lock`): `bpf_spin_lock`/`bpf_spin_unlock` on the lock field of
//! a map value or of an allocated object. A held lock is an entry of the reference array
//! (`acquire_lock_state`) identified by the register's id and what it protects; the state also
//! keeps the last lock taken (`active_lock_id`/`active_lock_ptr`), which the next unlock must
//! release. Calls inside a section are refused by the driver (`check_call_under_lock`).

use crate::btf::record::{FieldKind, Record};
use crate::domain::state::{LockOwner, MEM_ALLOC, RefKind, RefState, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::{LockReject, Reject, Unsupported};
use crate::protos::func_id::BpfFunc;
use std::sync::Arc;

/// Which lock family an operation is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockFlavor {
    /// `bpf_spin_lock`.
    Spin,
    /// `bpf_res_spin_lock` (its kfuncs are not modelled yet).
    #[allow(dead_code)]
    Res,
    /// `bpf_res_spin_lock_irqsave`.
    #[allow(dead_code)]
    ResIrq,
}

impl LockFlavor {
    fn str(self) -> &'static str {
        match self {
            LockFlavor::Spin => "bpf_spin",
            LockFlavor::Res | LockFlavor::ResIrq => "bpf_res_spin",
        }
    }

    fn field(self) -> FieldKind {
        match self {
            LockFlavor::Spin => FieldKind::SpinLock,
            LockFlavor::Res | LockFlavor::ResIrq => FieldKind::ResSpinLock,
        }
    }

    fn kind(self, owner: LockOwner) -> RefKind {
        match self {
            LockFlavor::Spin => RefKind::Lock(owner),
            LockFlavor::Res => RefKind::ResLock(owner),
            LockFlavor::ResIrq => RefKind::ResLockIrq(owner),
        }
    }
}

/// The kfuncs a lock section may call (`kfunc_spin_allowed`): the graph API, the numeric
/// iterator and the resilient locks.
pub(crate) fn kfunc_spin_allowed(name: &str) -> bool {
    const ALLOWED: [&str; 20] = [
        "bpf_list_push_front_impl",
        "bpf_list_push_back_impl",
        "bpf_list_pop_front",
        "bpf_list_pop_back",
        "bpf_list_front",
        "bpf_list_back",
        "bpf_rbtree_add_impl",
        "bpf_rbtree_remove",
        "bpf_rbtree_first",
        "bpf_rbtree_root",
        "bpf_rbtree_left",
        "bpf_rbtree_right",
        "bpf_refcount_acquire_impl",
        "bpf_iter_num_new",
        "bpf_iter_num_next",
        "bpf_iter_num_destroy",
        "bpf_res_spin_lock",
        "bpf_res_spin_unlock",
        "bpf_res_spin_lock_irqsave",
        "bpf_res_spin_unlock_irqrestore",
    ];
    ALLOWED.contains(&name)
}

impl Call<'_, '_> {
    /// `reg_btf_record`: the record of what `reg` points to (a map value's, or an allocated
    /// object's), and the lock owner it would name.
    pub(crate) fn reg_btf_record(&self, reg: &RegState) -> Result<Option<(Arc<Record>, LockOwner)>, Reject> {
        match reg.ty {
            RegType::MapValue => Ok(self
                .maps()
                .get(reg.map as usize)
                .and_then(|d| d.record.clone())
                .map(|r| (r, LockOwner::Map(reg.map)))),
            // the program's own types: their struct metas
            RegType::BtfId if reg.flags & MEM_ALLOC != 0 => {
                let Some(btf) = self.prog.opts.prog_btf.clone() else { return Ok(None) };
                let kernel = self.prog.opts.btf.clone();
                let rec = crate::btf::local::struct_meta(&btf, reg.btf_id, kernel.as_deref())
                    .map_err(|w| Reject::Unsupported(Unsupported::Feature(w)))?;
                Ok(rec.map(|r| (Arc::new(r), LockOwner::Local)))
            }
            _ => Ok(None),
        }
    }

    /// The driver's check before any call: inside a lock section only `bpf_spin_unlock`,
    /// `bpf_kptr_xchg` and the lock-safe kfuncs may be called (static subprograms too: their
    /// body is checked on the way).
    pub(crate) fn check_call_under_lock(&self, target: &kbpf_isa::CallTarget) -> Result<(), Reject> {
        if self.cur.active_locks == 0 {
            return Ok(());
        }
        let allowed = match *target {
            kbpf_isa::CallTarget::Helper(id) => {
                matches!(BpfFunc::from_id(id), Some(BpfFunc::SpinUnlock | BpfFunc::KptrXchg))
            }
            kbpf_isa::CallTarget::Kfunc { btf_id, off } => {
                off == 0 && self.prog.opts.kfuncs.get(btf_id).is_some_and(|d| kfunc_spin_allowed(&d.name))
            }
            kbpf_isa::CallTarget::Local(_) => true,
        };
        if allowed { Ok(()) } else { Err(Reject::CallWithLock) }
    }

    /// `process_spin_lock` for the lock argument in `regno` (`lock`: take it, else release).
    pub(crate) fn process_spin_lock(
        &mut self,
        regno: u8,
        flavor: LockFlavor,
        lock: bool,
        insn: usize,
    ) -> Result<(), Reject> {
        let reg = self.cur.cur().regs[regno as usize].clone();
        let lock_str = flavor.str();
        if !reg.var_off.is_const() {
            return Err(LockReject::VarOffset(regno.into(), lock_str).into());
        }
        let rec = self.reg_btf_record(&reg)?;
        let what = if reg.ty == RegType::MapValue { "map" } else { "local" };
        let who = || match reg.ty {
            RegType::MapValue => self.maps().get(reg.map as usize).map_or(String::new(), |d| d.name.clone()),
            _ => "kptr".to_string(),
        };
        let Some((rec, owner)) = rec.filter(|(r, _)| r.has(flavor.field())) else {
            return Err(LockReject::NoLock(what, who(), lock_str).into());
        };
        let field_off = rec.off_of(flavor.field()).unwrap_or(0);
        let off = reg.var_off.value as i64 + reg.off as i64;
        if off != field_off as i64 {
            return Err(LockReject::Offset(off, lock_str, field_off).into());
        }
        let kind = flavor.kind(owner);
        if lock {
            if self.cur.active_locks > 0 {
                if flavor == LockFlavor::Spin
                    && self.cur.refs.iter().any(|r| matches!(r.kind, RefKind::Lock(_)))
                {
                    return Err(LockReject::TwoLocks.into());
                }
                if flavor != LockFlavor::Spin
                    && self.cur.refs.iter().any(|r| {
                        matches!(r.kind, RefKind::ResLock(o) | RefKind::ResLockIrq(o) if o == owner)
                            && r.id == reg.id
                    })
                {
                    return Err(LockReject::AaDeadlock.into());
                }
            }
            // acquire_lock_state: the lock's id is the register's, no new id
            self.cur.refs.push(RefState { id: reg.id, insn, kind });
            self.cur.active_locks += 1;
            self.cur.active_lock = Some((reg.id, owner));
            return Ok(());
        }
        if self.cur.active_locks == 0 {
            return Err(LockReject::UnlockWithout(lock_str).into());
        }
        if !self.cur.refs.iter().any(|r| r.kind == kind && r.id == reg.id) {
            return Err(LockReject::UnlockDifferent(lock_str).into());
        }
        if self.cur.active_lock != Some((reg.id, owner)) {
            return Err(LockReject::UnlockOrder(lock_str).into());
        }
        self.release_lock_state(kind, reg.id);
        self.invalidate_non_owning_refs();
        Ok(())
    }

    /// `release_lock_state`: drops the lock entry and makes the previous held lock the
    /// active one.
    fn release_lock_state(&mut self, kind: RefKind, id: u32) {
        let mut prev = None;
        for i in 0..self.cur.refs.len() {
            let r = self.cur.refs[i];
            if r.kind == kind && r.id == id {
                self.cur.refs.remove(i);
                self.cur.active_locks -= 1;
                self.cur.active_lock = prev;
                return;
            }
            if let Some(o) = r.kind.owner() {
                prev = Some((r.id, o));
            }
        }
    }
}

/// `bpf_kptr_xchg`'s arguments (`process_kptr_func` and the source's type match).
impl Call<'_, '_> {
    /// `process_kptr_func`: `reg` points at a referenced kptr field; returns it.
    pub(crate) fn process_kptr_func(
        &mut self,
        regno: u8,
        reg: &RegState,
    ) -> Result<crate::btf::record::Field, Reject> {
        let rec = self.reg_btf_record(reg)?.map(|(r, _)| r);
        if !reg.var_off.is_const() {
            return Err(LockReject::KptrXchgVarOff(regno.into()).into());
        }
        let Some(rec) =
            rec.filter(|r| r.fields.iter().any(|f| f.kind.is_kptr() && f.kind != FieldKind::Uptr))
        else {
            return Err(LockReject::NoKptr(regno.into()).into());
        };
        let off = (reg.off as i64 + reg.var_off.value as i64) as u32;
        let Some(field) =
            rec.fields.iter().find(|f| f.off == off && f.kind.is_kptr() && f.kind != FieldKind::Uptr)
        else {
            return Err(LockReject::NotKptr(off).into());
        };
        if !matches!(field.kind, FieldKind::KptrRef | FieldKind::KptrPercpu) {
            return Err(LockReject::KptrNotRef(off).into());
        }
        Ok(field.clone())
    }

    /// `check_reg_type` for `bpf_kptr_xchg`'s source: a BTF pointer (allocated objects' flags
    /// folded), not maybe-NULL, of the field's type, at offset 0.
    pub(super) fn check_kptr_xchg_src(
        &mut self,
        regno: u8,
        reg: &RegState,
        meta: &super::helper::Meta,
    ) -> Result<(), Reject> {
        use crate::domain::state::{MAYBE_NULL, MEM_PERCPU, MEM_RCU, PTR_TRUSTED};
        let mut flags = reg.flags & !MAYBE_NULL;
        if flags & MEM_ALLOC != 0 {
            flags &= !(MEM_ALLOC | MEM_PERCPU);
        }
        if reg.ty != RegType::BtfId || !matches!(flags, 0 | PTR_TRUSTED | MEM_RCU) {
            return Err(self.type_mismatch(regno, &["ptr_", "trusted_ptr_", "rcu_ptr_"]));
        }
        if reg.flags & MAYBE_NULL != 0 {
            return Err(LockReject::NullToHelper(regno).into());
        }
        let Some(field) = meta.kptr_field.clone() else {
            return Err(crate::messages::Bug::NoKptrType.into());
        };
        self.mem().map_kptr_match_type(&field, reg, regno)?;
        // in an RCU section the kernel keeps a stashed per-CPU object usable as an RCU
        // pointer typed by the program's BTF, which kbpf does not type
        let in_rcu_cs = self.cur.active_rcu_lock || self.cur.active_locks > 0 || !self.in_sleepable();
        if reg.flags & (MEM_ALLOC | MEM_PERCPU) == MEM_ALLOC | MEM_PERCPU && in_rcu_cs {
            return Err(
                crate::messages::Unsupported::Feature("per-CPU kptrs of program-allocated objects").into()
            );
        }
        // check_func_arg_reg_off: a released pointer is the object itself
        if reg.off != 0 {
            return Err(crate::messages::CallReject::ReleaseOffset(regno.into()).into());
        }
        Ok(())
    }
}
