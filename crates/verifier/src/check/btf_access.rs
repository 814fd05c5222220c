//! Loads through BTF pointers (`check_ptr_to_btf_access`) and the context of BTF-attached
//! programs: the rules are in [`crate::btf`]; this is where they meet the walk's state.

use crate::btf::ctx::{btf_ctx_access, tracing_access};
use crate::btf::trust::loaded_flags;
use crate::btf::walk::{Walked, struct_access};
use crate::domain::state::{
    MAYBE_NULL, MEM_ALLOC, MEM_PERCPU, MEM_USER, PTR_UNTRUSTED, RDONLY, RegState, RegType,
};
use crate::env::ctx::Mem;
use crate::messages::{AllocReject, BtfReject, Reject, Unsupported};
use crate::prog_types::CtxField;

impl Mem<'_, '_> {
    /// The context field `off`/`size` of a BTF-attached program, logging what
    /// `btf_ctx_access` logs on the way; `None` = invalid.
    pub(super) fn btf_ctx_field(&mut self, off: i64, size: i64, write: bool) -> Option<CtxField> {
        let (Some(at), Some(btf)) = (self.prog.attach.as_ref(), self.prog.opts.btf.as_ref()) else {
            return None;
        };
        let res = if self.prog.opts.prog_type == crate::ProgType::Lsm {
            if write {
                return None;
            }
            btf_ctx_access(btf, at, off, size)
        } else {
            tracing_access(btf, at, off, size, write)
        };
        for line in &res.log {
            self.log.put(&format!("{line}\n"));
        }
        match &at.struct_ops {
            Some(so) => res.field.map(|f| so.promote(btf, f)),
            None => res.field,
        }
    }

    /// A fresh `PTR_TO_BTF_ID` (`mark_btf_ld_reg`): a pointer that may be NULL gets an id.
    pub(super) fn btf_ptr(&mut self, btf_id: u32, flags: u16) -> RegState {
        let mut r = RegState::pointer(RegType::BtfId);
        r.btf_id = btf_id;
        r.flags = flags;
        if flags & MAYBE_NULL != 0 {
            r.id = self.new_id();
        }
        r
    }

    /// `check_ptr_to_btf_access`: a load (stores are refused) of `size` bytes at `off` into
    /// the kernel object `reg` points to.
    pub(crate) fn check_ptr_to_btf_access(
        &mut self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        write: bool,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        // allocated objects are typed by the program's BTF
        let alloc = reg.flags & MEM_ALLOC != 0;
        let btf = if alloc { self.prog.opts.prog_btf.clone() } else { self.prog.opts.btf.clone() };
        let Some(btf) = btf else {
            return Err(Reject::Unsupported(Unsupported::Feature("a BTF pointer without target BTF")));
        };
        let tname = crate::btf::type_name(&btf, reg.btf_id).to_string();
        if !self.prog.opts.gpl && !alloc {
            return Err(BtfReject::NonGpl(tname).into());
        }
        if off < 0 {
            return Err(BtfReject::NegativeAccess(regno.into(), tname, off).into());
        }
        if !reg.var_off.is_const() || reg.var_off.value != 0 {
            return Err(BtfReject::VariableOffset(regno.into(), tname, off, reg.var_off.to_string()).into());
        }
        if reg.flags & MEM_USER != 0 {
            return Err(BtfReject::UserMemory(regno.into(), tname, off).into());
        }
        if reg.flags & MEM_PERCPU != 0 {
            return Err(BtfReject::PercpuMemory(regno.into(), tname, off).into());
        }
        // the program may write its own objects; the kernel's only through the struct_ops
        // verifier ops' btf_struct_access
        if write && !alloc {
            use kbpf_isa::KernelProgType as T;
            if matches!(self.prog.ops().kernel_type(), Some(T::SchedCls | T::SchedAct | T::Xdp)) {
                return super::nf_conn::nf_conn_write(&btf, reg.btf_id, off, size);
            }
            let Some(so) = self.prog.attach.as_ref().and_then(|a| a.struct_ops.as_ref()) else {
                return Err(BtfReject::OnlyRead.into());
            };
            return so
                .btf_struct_write(&btf, reg.btf_id, off, size)
                .map_err(|l| BtfReject::StructOpsWrite(l).into());
        }
        if alloc {
            self.local_special_fields(&btf, reg.btf_id, off, size)?;
        }
        let walked = struct_access(&btf, reg.btf_id, off as u32, size as u32).map_err(BtfReject::Walk)?;
        // a store reads nothing into a register
        let Some(v) = value.filter(|_| !write) else { return Ok(()) };
        let r = match walked {
            // a pointer read from a local type is a number: it never becomes a pointer again
            Walked::Scalar | Walked::Ptr { .. } if alloc => RegState::unknown_scalar(),
            Walked::Scalar => RegState::unknown_scalar(),
            Walked::UntrustedMem => {
                let mut r = RegState::pointer(RegType::Mem);
                r.flags = RDONLY | PTR_UNTRUSTED;
                r
            }
            Walked::Ptr { btf_id, flags, field } => {
                let in_rcu_cs = self.cur.active_rcu_lock || self.cur.active_locks > 0 || !self.in_sleepable();
                let flags = loaded_flags(&btf, reg, flags, &field, btf_id, in_rcu_cs);
                self.btf_ptr(btf_id, flags)
            }
        };
        self.cur.cur_mut().regs[v as usize] = r;
        Ok(())
    }

    /// The special fields of an allocated object's local type are off limits to loads and
    /// stores (`btf_struct_access`).
    fn local_special_fields(
        &self,
        btf: &kbpf_elf::btf::Btf,
        id: u32,
        off: i64,
        size: i64,
    ) -> Result<(), Reject> {
        let kernel = self.prog.opts.btf.clone();
        let rec = crate::btf::local::struct_meta(btf, id, kernel.as_deref())
            .map_err(|w| Reject::Unsupported(Unsupported::Feature(w)))?
            .unwrap_or_default();
        for f in rec.fields {
            if off < (f.off + f.size) as i64 && (f.off as i64) < off + size {
                return Err(AllocReject::DirectAccess(f.kind.name()).into());
            }
        }
        Ok(())
    }
}
