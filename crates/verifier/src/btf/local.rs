//! Local types: the structs of the program's own BTF that `bpf_obj_new` allocates, and their
//! records (the kernel's struct metas, `btf_parse_struct_metas`: only a struct with a special
//! field as a direct member has one; its fields are [`super::record`]'s walk).

use super::record::{FieldKind, FieldMask, Record, parse};
use kbpf_elf::btf::{Btf, BtfType};

/// The struct names whose presence as a direct member gives a local type a struct meta
/// (the kernel's allowed object fields).
const DIRECT: [&str; 7] = [
    "bpf_spin_lock",
    "bpf_res_spin_lock",
    "bpf_list_head",
    "bpf_list_node",
    "bpf_rb_root",
    "bpf_rb_node",
    "bpf_refcount",
];

/// The record of local type `id` (`btf_find_struct_meta`), when the kernel keeps a struct
/// meta for it; `None` when it keeps none. `Err` names what kbpf does not model (a layout
/// the kernel refuses when it loads the BTF, workqueue fields in local types). Kptr fields
/// are kept: [`crate::check::kptr`] types what they hold.
pub fn struct_meta(btf: &Btf, id: u32, kernel: Option<&Btf>) -> Result<Option<Record>, &'static str> {
    let Some(BtfType::Struct { members, size, .. }) = btf.get(id) else { return Ok(None) };
    let direct = members.iter().any(|m| {
        // the member's own type id, as the kernel compares it: no modifiers skipped
        matches!(btf.get(m.type_id), Some(BtfType::Struct { name, .. }) if DIRECT.contains(&name.as_str()))
            || is_kptr_type(btf, m.type_id)
    });
    if !direct {
        return Ok(None);
    }
    let rec = match parse(btf, id, FieldMask::LOCAL_OBJECT, *size, kernel) {
        Ok(r) => r,
        Err(_) => return Err("a local type whose special fields the kernel refuses"),
    };
    if rec.as_ref().is_some_and(|r| r.fields.iter().any(|f| f.kind == FieldKind::Wq)) {
        return Err("workqueue fields of a local type");
    }
    Ok(rec)
}

/// A type `btf_find_kptr` takes for a kptr (a pointer, maybe volatile, to one flavour tag):
/// such member types give a struct a meta too.
fn is_kptr_type(btf: &Btf, id: u32) -> bool {
    let mut t = btf.get(id);
    if let Some(BtfType::Volatile { type_id }) = t {
        t = btf.get(*type_id);
    }
    let Some(BtfType::Ptr { type_id }) = t else { return false };
    matches!(btf.get(*type_id), Some(BtfType::TypeTag { name, attr: false, .. })
        if ["kptr", "kptr_untrusted", "percpu_kptr", "uptr"].contains(&name.as_str()))
}

/// `__btf_type_is_scalar_struct`: a struct whose members are integers, enums, non-empty
/// arrays of them, or such structs nested at most three deep (`depth` starts at 0).
pub fn is_scalar_struct(btf: &Btf, id: u32, depth: u32) -> bool {
    let Some((_, t)) = btf.resolve(id) else { return false };
    let members = match t {
        BtfType::Struct { members, .. } | BtfType::Union { members, .. } => members,
        _ => return false,
    };
    let scalar = |t: Option<(u32, &BtfType)>| {
        matches!(t, Some((_, BtfType::Int { .. } | BtfType::Enum { .. } | BtfType::Enum64 { .. })))
    };
    members.iter().all(|m| match btf.resolve(m.type_id) {
        Some((sid, BtfType::Struct { .. } | BtfType::Union { .. })) => {
            depth < 3 && is_scalar_struct(btf, sid, depth + 1)
        }
        Some((_, BtfType::Array { elem, nelems, .. })) => *nelems != 0 && scalar(btf.resolve(*elem)),
        other => scalar(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_elf::btf::{BtfBuilder, IntEncoding, Member};

    fn st(b: &mut BtfBuilder, name: &str, size: u32, members: Vec<Member>) -> u32 {
        b.add(BtfType::Struct { name: name.into(), size, members, kind_flag: false })
    }

    fn m(name: &str, type_id: u32, bits: u32) -> Member {
        Member { name: name.into(), type_id, offset: bits, bitfield_size: 0 }
    }

    #[test]
    fn metas_exist_for_direct_special_members_only() {
        let mut b = BtfBuilder::new();
        let int = b.add(BtfType::Int {
            name: "int".into(),
            size: 4,
            encoding: IntEncoding::Signed,
            offset: 0,
            bits: 32,
        });
        let node = st(&mut b, "bpf_list_node", 24, vec![]);
        let lock = st(&mut b, "bpf_spin_lock", 4, vec![m("val", int, 0)]);
        let foo = st(&mut b, "foo", 40, vec![m("node", node, 0), m("data", int, 192), m("lock", lock, 256)]);
        let plain = st(&mut b, "plain", 8, vec![m("a", int, 0), m("b", int, 32)]);
        let wraps = st(&mut b, "wraps", 40, vec![m("inner", foo, 0)]);
        let ptr = b.add(BtfType::Ptr { type_id: int });
        let with_ptr = st(&mut b, "with_ptr", 8, vec![m("p", ptr, 0)]);
        let btf = Btf::parse(&b.build()).unwrap();
        let f = struct_meta(&btf, foo, None).unwrap().unwrap();
        let kinds: Vec<_> = f.fields.iter().map(|f| (f.kind, f.off)).collect();
        assert_eq!(kinds, vec![(FieldKind::ListNode, 0), (FieldKind::SpinLock, 32)]);
        assert_eq!(struct_meta(&btf, plain, None).unwrap(), None);
        // the special fields of a nested struct give no meta to the outer one
        assert_eq!(struct_meta(&btf, wraps, None).unwrap(), None);
        assert!(is_scalar_struct(&btf, plain, 0));
        // the lock is a struct of an int: scalars too (the special-field check comes after)
        assert!(is_scalar_struct(&btf, foo, 0));
        assert!(!is_scalar_struct(&btf, with_ptr, 0));
    }
}
