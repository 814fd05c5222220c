//! Local types: the structs of the program's own BTF that `bpf_obj_new` allocates, and the
//! special fields in them the program may not touch directly (the kernel's struct metas,
//! `btf_parse_struct_metas`: only a struct with such a field as a direct member has one).

use kbpf_elf::btf::{Btf, BtfType};

/// A special field kind of a local type (`enum btf_field_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// `struct bpf_spin_lock`.
    SpinLock,
    /// `struct bpf_res_spin_lock`.
    ResSpinLock,
    /// `struct bpf_list_head`.
    ListHead,
    /// `struct bpf_list_node`.
    ListNode,
    /// `struct bpf_rb_root`.
    RbRoot,
    /// `struct bpf_rb_node`.
    RbNode,
    /// `struct bpf_refcount`.
    Refcount,
}

impl FieldKind {
    fn of_struct(name: &str) -> Option<FieldKind> {
        Some(match name {
            "bpf_spin_lock" => FieldKind::SpinLock,
            "bpf_res_spin_lock" => FieldKind::ResSpinLock,
            "bpf_list_head" => FieldKind::ListHead,
            "bpf_list_node" => FieldKind::ListNode,
            "bpf_rb_root" => FieldKind::RbRoot,
            "bpf_rb_node" => FieldKind::RbNode,
            "bpf_refcount" => FieldKind::Refcount,
            _ => return None,
        })
    }

    /// `btf_field_type_name`.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::SpinLock => "bpf_spin_lock",
            FieldKind::ResSpinLock => "bpf_res_spin_lock",
            FieldKind::ListHead => "bpf_list_head",
            FieldKind::ListNode => "bpf_list_node",
            FieldKind::RbRoot => "bpf_rb_root",
            FieldKind::RbNode => "bpf_rb_node",
            FieldKind::Refcount => "bpf_refcount",
        }
    }
}

/// One special field: kind, byte offset, size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Kind.
    pub kind: FieldKind,
    /// Byte offset in the struct.
    pub off: u32,
    /// Size in bytes.
    pub size: u32,
}

/// The special fields of local type `id`, when the kernel keeps a struct meta for it; `None`
/// when it keeps none. `Err` names what kbpf does not model (special fields in arrays, kptr
/// fields).
pub fn struct_meta(btf: &Btf, id: u32) -> Result<Option<Vec<Field>>, &'static str> {
    let Some((_, BtfType::Struct { members, .. })) = btf.resolve(id) else { return Ok(None) };
    let direct = members.iter().any(|m| special_struct(btf, m.type_id).is_some());
    if !direct {
        return Ok(None);
    }
    let mut out = Vec::new();
    collect(btf, id, 0, 0, &mut out)?;
    Ok(Some(out))
}

/// The special field kind a member type (modifiers and typedefs skipped) is, with its size.
fn special_struct(btf: &Btf, type_id: u32) -> Option<(FieldKind, u32)> {
    match btf.resolve(type_id)? {
        (_, BtfType::Struct { name, size, .. }) => FieldKind::of_struct(name).map(|k| (k, *size)),
        _ => None,
    }
}

const MAX_DEPTH: u32 = 8;

fn collect(btf: &Btf, id: u32, base: u32, depth: u32, out: &mut Vec<Field>) -> Result<(), &'static str> {
    if depth > MAX_DEPTH {
        return Err("special fields nested this deep");
    }
    let Some((_, BtfType::Struct { members, .. } | BtfType::Union { members, .. })) = btf.resolve(id) else {
        return Ok(());
    };
    for m in members {
        let off = base + m.offset / 8;
        if let Some((kind, size)) = special_struct(btf, m.type_id) {
            out.push(Field { kind, off, size });
            continue;
        }
        match btf.resolve(m.type_id) {
            Some((sid, BtfType::Struct { .. } | BtfType::Union { .. })) => {
                collect(btf, sid, off, depth + 1, out)?
            }
            Some((_, BtfType::Array { elem, .. })) if contains_special(btf, *elem, depth + 1) => {
                return Err("special fields in arrays of a local type");
            }
            Some((_, BtfType::Ptr { type_id })) if is_kptr_tag(btf, *type_id) => {
                return Err("kptr fields of a local type");
            }
            _ => {}
        }
    }
    Ok(())
}

fn contains_special(btf: &Btf, id: u32, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    if special_struct(btf, id).is_some() {
        return true;
    }
    match btf.resolve(id) {
        Some((_, BtfType::Struct { members, .. } | BtfType::Union { members, .. })) => {
            members.iter().any(|m| contains_special(btf, m.type_id, depth + 1))
        }
        Some((_, BtfType::Array { elem, .. })) => contains_special(btf, *elem, depth + 1),
        _ => false,
    }
}

/// A pointer target carrying a `kptr`-family type tag.
fn is_kptr_tag(btf: &Btf, mut id: u32) -> bool {
    for _ in 0..MAX_DEPTH {
        match btf.get(id) {
            Some(BtfType::TypeTag { name, type_id, .. }) => {
                if matches!(name.as_str(), "kptr" | "kptr_untrusted" | "percpu_kptr") {
                    return true;
                }
                id = *type_id;
            }
            Some(
                BtfType::Const { type_id } | BtfType::Volatile { type_id } | BtfType::Restrict { type_id },
            ) => id = *type_id,
            _ => return false,
        }
    }
    false
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
        let f = struct_meta(&btf, foo).unwrap().unwrap();
        assert_eq!(
            f,
            vec![
                Field { kind: FieldKind::ListNode, off: 0, size: 24 },
                Field { kind: FieldKind::SpinLock, off: 32, size: 4 }
            ]
        );
        assert_eq!(struct_meta(&btf, plain).unwrap(), None);
        // the special fields of a nested struct give no meta to the outer one
        assert_eq!(struct_meta(&btf, wraps).unwrap(), None);
        assert!(is_scalar_struct(&btf, plain, 0));
        // the lock is a struct of an int: scalars too (the special-field check comes after)
        assert!(is_scalar_struct(&btf, foo, 0));
        assert!(!is_scalar_struct(&btf, with_ptr, 0));
    }
}
