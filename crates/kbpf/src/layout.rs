//! The kernel structure offsets `kbpf dump xlated` needs (context conversions, inlined map
//! lookups), read from a target kernel's BTF: they depend on its version and configuration.

use kbpf_elf::btf::{Btf, BtfType, Kind};
use kbpf_verifier::fixups::{FieldLoc, KernelField, KernelLayout};

/// Where `field` is in `struct name`, looking through anonymous unions and structs
/// (`DECLARE_FLEX_ARRAY` and `struct_group` wrap members in them).
fn member(btf: &Btf, name: &str, field: &str) -> Option<FieldLoc> {
    let id = btf.find_by_name_kind(name, Kind::Struct)?;
    find(btf, id, field, 0, 0)
}

fn find(btf: &Btf, id: u32, field: &str, base_bits: u32, depth: u32) -> Option<FieldLoc> {
    if depth > 8 {
        return None;
    }
    for m in btf.members(id)? {
        let at = base_bits + m.offset;
        if m.name == field {
            let size = btf.size_of(m.type_id).and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
            let bits = (m.bitfield_size != 0)
                .then(|| Some((u8::try_from(at % 8).ok()?, u8::try_from(m.bitfield_size).ok()?)))
                .flatten();
            return Some(FieldLoc { off: i32::try_from(at / 8).ok()?, size, bits });
        }
        if m.name.is_empty()
            && let Some(loc) = find(btf, m.type_id, field, at, depth + 1)
        {
            return Some(loc);
        }
    }
    None
}

/// Where variable `var` is in the `DATASEC` called `sec` (per-CPU variables: their offset in
/// the per-CPU area).
fn section_var(btf: &Btf, sec: &str, var: &str) -> Option<FieldLoc> {
    let id = btf.find_by_name_kind(sec, Kind::DataSec)?;
    let Some(BtfType::DataSec { vars, .. }) = btf.get(id) else { return None };
    vars.iter().find_map(|&(vid, off, size)| match btf.get(vid) {
        Some(BtfType::Var { name, .. }) if name == var => {
            Some(FieldLoc { off: i32::try_from(off).ok()?, size, bits: None })
        }
        _ => None,
    })
}

/// The offsets of the target kernel `btf` describes.
pub fn kernel_layout(btf: &Btf) -> KernelLayout {
    let mut layout = KernelLayout::default();
    for f in KernelField::ALL {
        let (s, m) = f.path();
        let loc = if s.starts_with('.') { section_var(btf, s, m) } else { member(btf, s, m) };
        if let Some(loc) = loc {
            layout.set(f, loc);
        }
    }
    layout
}
