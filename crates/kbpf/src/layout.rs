//! The kernel structure offsets `kbpf dump xlated` needs to show the map lookups the kernel
//! inlines, read from a target kernel's BTF (they depend on its configuration).

use kbpf_elf::btf::{Btf, Kind};
use kbpf_verifier::fixups::KernelLayout;

/// Byte offset of `field` in `struct name`, looking through anonymous unions and structs
/// (`DECLARE_FLEX_ARRAY` wraps a flexible array in one).
fn member_offset(btf: &Btf, name: &str, field: &str) -> Option<i32> {
    let id = btf.find_by_name_kind(name, Kind::Struct)?;
    find(btf, id, field, 0, 0)
}

fn find(btf: &Btf, id: u32, field: &str, base_bits: u32, depth: u32) -> Option<i32> {
    if depth > 8 {
        return None;
    }
    for m in btf.members(id)? {
        let at = base_bits + m.offset;
        if m.name == field {
            return i32::try_from(at / 8).ok();
        }
        if m.name.is_empty()
            && let Some(off) = find(btf, m.type_id, field, at, depth + 1)
        {
            return Some(off);
        }
    }
    None
}

/// The offsets of the target kernel `btf` describes.
pub fn kernel_layout(btf: &Btf) -> KernelLayout {
    KernelLayout {
        bpf_array_value: member_offset(btf, "bpf_array", "value"),
        htab_elem_key: member_offset(btf, "htab_elem", "key"),
    }
}
