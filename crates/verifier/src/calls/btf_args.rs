//! Helper arguments that are BTF pointers (`ARG_PTR_TO_BTF_ID`, `_OR_NULL`,
//! `ARG_PTR_TO_BTF_ID_SOCK_COMMON`): the register's type must be one of the BTF pointer
//! types a helper takes, and the object must be (or start with) the struct the helper wants.

use crate::domain::state::{MAYBE_NULL, MEM_PERCPU, MEM_RCU, PTR_TRUSTED, RDONLY, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::{Reject, Unsupported};

/// The types `ARG_PTR_TO_BTF_ID` takes (`btf_ptr_types`), as the mismatch message lists them.
const BTF_PTR_TYPES: [&str; 3] = ["ptr_", "trusted_ptr_", "rcu_ptr_"];

/// The types `ARG_PTR_TO_PERCPU_BTF_ID` takes (`percpu_btf_ptr_types`).
const PERCPU_BTF_PTR_TYPES: [&str; 3] = ["percpu_ptr_", "percpu_rcu_ptr_", "percpu_trusted_ptr_"];

impl Call<'_, '_> {
    /// `check_reg_type` for a BTF-object argument naming struct `name`.
    pub(super) fn check_btf_obj_arg(
        &self,
        regno: u8,
        reg: &RegState,
        name: &'static str,
        arg_null: bool,
    ) -> Result<(), Reject> {
        let mut flags = reg.flags;
        if arg_null {
            flags &= !MAYBE_NULL;
        }
        let ok = reg.ty == RegType::BtfId && matches!(flags, 0 | PTR_TRUSTED | MEM_RCU);
        if !ok {
            return Err(self.type_mismatch(regno, &BTF_PTR_TYPES));
        }
        let Some(btf) = self.prog.opts.btf.as_ref() else {
            return Err(Reject::Unsupported(Unsupported::Feature(
                "a BTF pointer argument without target BTF",
            )));
        };
        let Some(want) = btf.find_by_name_kind(name, kbpf_elf::btf::Kind::Struct) else {
            return Err(Reject::Unsupported(Unsupported::Feature(
                "a helper struct missing from the target BTF",
            )));
        };
        let off = u32::try_from(reg.off).unwrap_or(u32::MAX);
        if !crate::btf::walk::struct_ids_match(btf, reg.btf_id, off, want, false) {
            let have = crate::btf::type_name(btf, reg.btf_id).to_string();
            return Err(Reject::BtfArgType(regno.into(), have, name.to_string()));
        }
        Ok(())
    }

    /// `ARG_PTR_TO_PERCPU_BTF_ID`: a per-CPU BTF pointer, unmodified (`check_func_arg_reg_off`
    /// allows no fixed offset on it). Returns its type, the kernel's (kbpf types the
    /// program's per-CPU objects only as allocated ones, which this argument refuses).
    pub(super) fn check_percpu_btf_arg(&self, regno: u8, reg: &RegState) -> Result<u32, Reject> {
        let ok = reg.ty == RegType::BtfId
            && [MEM_PERCPU, MEM_PERCPU | MEM_RCU, MEM_PERCPU | PTR_TRUSTED].contains(&reg.flags);
        if !ok {
            return Err(self.type_mismatch(regno, &PERCPU_BTF_PTR_TYPES));
        }
        let ty = crate::messages::TypeName::new(reg.ty, reg.flags);
        if reg.off < 0 {
            return Err(Reject::NegativeOffsetPtr(ty, regno.into(), reg.off));
        }
        if reg.off != 0 {
            return Err(Reject::ModifiedPtr(ty, regno.into(), reg.off));
        }
        if !reg.var_off.is_const() || reg.var_off.value != 0 {
            return Err(Reject::VarCtxAccess(ty, reg.var_off.to_string()));
        }
        Ok(reg.btf_id)
    }

    /// r0 of `bpf_per_cpu_ptr` / `bpf_this_cpu_ptr` (`RET_PTR_TO_MEM_OR_BTF_ID`): a struct
    /// stays a BTF pointer (`MEM_RDONLY` folded away), anything else is read-only memory of
    /// its size.
    pub(super) fn percpu_obj_ret(&mut self, btf_id: u32, null: bool) -> Result<RegState, Reject> {
        let Some(btf) = self.prog.opts.btf.clone() else {
            return Err(Reject::Unsupported(Unsupported::Feature("a per-CPU pointer without target BTF")));
        };
        let mut r = match btf.resolve(btf_id) {
            Some((id, kbpf_elf::btf::BtfType::Struct { .. } | kbpf_elf::btf::BtfType::Union { .. })) => {
                let mut r = RegState::pointer(RegType::BtfId);
                r.btf_id = id;
                r
            }
            _ => {
                let Some(size) = btf.size_of(btf_id).and_then(|s| u32::try_from(s).ok()) else {
                    return Err(Reject::Unsupported(Unsupported::Feature(
                        "a per-CPU object of unresolvable size",
                    )));
                };
                let mut r = RegState::pointer(RegType::Mem);
                r.flags = RDONLY;
                r.mem_size = size;
                r
            }
        };
        if null {
            r.flags |= MAYBE_NULL;
            r.id = self.new_id();
        }
        Ok(r)
    }
}
