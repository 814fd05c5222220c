//! Helper arguments that are BTF pointers (`ARG_PTR_TO_BTF_ID`, `_OR_NULL`,
//! `ARG_PTR_TO_BTF_ID_SOCK_COMMON`): the register's type must be one of the BTF pointer
//! types a helper takes, and the object must be (or start with) the struct the helper wants.

use crate::domain::state::{MAYBE_NULL, MEM_RCU, PTR_TRUSTED, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::{Reject, Unsupported};

/// The types `ARG_PTR_TO_BTF_ID` takes (`btf_ptr_types`), as the mismatch message lists them.
const BTF_PTR_TYPES: [&str; 3] = ["ptr_", "trusted_ptr_", "rcu_ptr_"];

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
}
