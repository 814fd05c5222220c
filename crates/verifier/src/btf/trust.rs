//! How far a BTF pointer is trusted, and what a pointer loaded through it inherits
//! (`check_ptr_to_btf_access` after the walk): the kernel's per-field lists are BTF types in
//! vmlinux (`task_struct__safe_rcu`, `file__safe_trusted`, ...), so they are read from the
//! target BTF, not kept here.

use crate::domain::state::{
    MAYBE_NULL, MEM_ALLOC, MEM_PERCPU, MEM_RCU, MEM_USER, PTR_TRUSTED, PTR_UNTRUSTED, RegState,
    TRUSTED_MODIFIERS,
};
use kbpf_elf::btf::{Btf, BtfType};

/// `is_trusted_reg`: referenced, or trusted / allocated with no other flag.
pub fn is_trusted_reg(r: &RegState) -> bool {
    r.ref_obj_id != 0 || (r.flags & TRUSTED_MODIFIERS != 0 && r.flags & !TRUSTED_MODIFIERS == 0)
}

/// `is_rcu_reg`.
pub fn is_rcu_reg(r: &RegState) -> bool {
    r.flags & MEM_RCU != 0
}

/// `btf_nested_type_is_trusted`: the struct `<name of parent><suffix>` in the target BTF has a
/// pointer member called `field` to the type `btf_id`.
fn listed(btf: &Btf, parent: u32, field: &str, btf_id: u32, suffix: &str) -> bool {
    let Some(walk_type) = btf.get(parent) else { return false };
    let safe = format!("{}{suffix}", walk_type.name());
    // the kernel's buffer is 64 bytes
    if safe.len() >= 64 {
        return false;
    }
    let Some(safe_id) = btf.find_by_name_kind(&safe, walk_type.kind()) else { return false };
    let Some(members) = btf.get(safe_id).and_then(BtfType::members) else { return false };
    members.iter().any(|m| {
        let Some(BtfType::Ptr { type_id }) = btf.get(m.type_id) else { return false };
        super::skip_modifiers(btf, *type_id).is_some_and(|(id, _)| id == btf_id) && m.name == field
    })
}

/// The flags of a pointer to `btf_id` read from member `field` of `reg` (whose walk gathered
/// `walked`), in an RCU read section or not. `plain_compat`: walking a plain (neither trusted
/// nor RCU) pointer gives a plain pointer, the deprecated compat rule of the tracing types;
/// without it (the networking types, kernel-checked on `bpf_skc_to_tcp_sock` results of
/// sock_ops and cgroup_sock_addr programs) the loaded pointer is untrusted.
pub fn loaded_flags(
    btf: &Btf,
    reg: &RegState,
    walked: u16,
    field: &str,
    btf_id: u32,
    in_rcu_cs: bool,
    plain_compat: bool,
) -> u16 {
    let mut flag = walked;
    if reg.flags & PTR_UNTRUSTED != 0 {
        // everything reached from an untrusted pointer stays untrusted
        return PTR_UNTRUSTED;
    }
    if !(is_trusted_reg(reg) || is_rcu_reg(reg)) {
        return if plain_compat { clear_trusted(flag) } else { PTR_UNTRUSTED };
    }
    let parent = reg.btf_id;
    if listed(btf, parent, field, btf_id, "__safe_trusted") {
        flag |= PTR_TRUSTED;
    } else if listed(btf, parent, field, btf_id, "__safe_trusted_or_null") {
        flag |= PTR_TRUSTED | MAYBE_NULL;
    } else if in_rcu_cs && reg.flags & MAYBE_NULL == 0 {
        let rcu_or_null = listed(btf, parent, field, btf_id, "__safe_rcu_or_null");
        if listed(btf, parent, field, btf_id, "__safe_rcu") {
            flag |= MEM_RCU;
        } else if flag & MEM_RCU != 0 || rcu_or_null {
            // `__rcu` pointers may be NULL
            flag |= MEM_RCU | MAYBE_NULL;
            if rcu_or_null && flag & PTR_UNTRUSTED != 0 {
                flag &= !PTR_UNTRUSTED;
            }
        } else if flag & (MEM_PERCPU | MEM_USER) != 0 {
            // kept as they are
        } else {
            // 6.18 marks a pointer walked from a trusted or RCU one through a field no list
            // names untrusted (the captured `btf_ptr` cases: `task->mm`, `->cred`, `->files`)
            flag = clear_trusted(flag) | PTR_UNTRUSTED;
        }
    } else {
        flag = PTR_UNTRUSTED;
    }
    flag
}

/// `clear_trusted_flags`.
fn clear_trusted(flag: u16) -> u16 {
    flag & !(PTR_TRUSTED | MEM_ALLOC | MEM_RCU)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::RegType;

    #[test]
    fn walking_a_plain_pointer_is_compat_for_tracing_untrusted_for_networking() {
        let btf = Btf::default();
        let plain = RegState::pointer(RegType::BtfId);
        assert_eq!(loaded_flags(&btf, &plain, MEM_RCU, "f", 1, true, true), 0);
        assert_eq!(loaded_flags(&btf, &plain, 0, "f", 1, true, false), PTR_UNTRUSTED);
        // a referenced pointer is trusted either way: the trust rules apply, not the compat
        // one, and a field no list names gives an untrusted pointer
        let mut referenced = plain.clone();
        referenced.ref_obj_id = 3;
        assert_eq!(loaded_flags(&btf, &referenced, 0, "f", 1, true, false), PTR_UNTRUSTED);
        assert_eq!(loaded_flags(&btf, &referenced, 0, "f", 1, true, true), PTR_UNTRUSTED);
    }
}
