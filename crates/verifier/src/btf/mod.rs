//! The kernel's BTF world as the verifier sees it: the target kernel's BTF ([`KernelBtf`]),
//! the struct walk behind loads through `PTR_TO_BTF_ID` ([`walk`], `btf_struct_access`), the
//! trust a loaded pointer inherits ([`trust`]), the context of BTF-attached programs
//! ([`ctx`], `btf_ctx_access`) and the attach target checks ([`attach`],
//! `bpf_check_attach_target`).
//!
//! Owns: every rule that reads target BTF. Must not touch: the BTF model itself (kbpf-elf's
//! `btf`, of which only the type graph is used here), program loading.

pub mod attach;
pub mod ctx;
pub mod local;
pub mod record;
mod record_walk;
pub mod struct_ops;
pub mod trust;
pub mod walk;

use kbpf_elf::btf::{Btf, BtfType, Kind};
use std::sync::Arc;

/// The target kernel's BTF (vmlinux), shared between the options of many verifications.
/// Two values are equal when they are the same BTF.
#[derive(Clone, Debug)]
pub struct KernelBtf(pub Arc<Btf>);

impl PartialEq for KernelBtf {
    fn eq(&self, other: &KernelBtf) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for KernelBtf {}

impl std::ops::Deref for KernelBtf {
    type Target = Btf;
    fn deref(&self) -> &Btf {
        &self.0
    }
}

/// Deepest modifier or array chain followed (`MAX_RESOLVE_DEPTH`).
const MAX_RESOLVE_DEPTH: usize = 32;

/// `btf_type_skip_modifiers`: typedefs, qualifiers and type tags skipped (the kernel counts
/// typedefs as modifiers).
pub fn skip_modifiers(btf: &Btf, id: u32) -> Option<(u32, &BtfType)> {
    btf.resolve(id)
}

/// `btf_type_str`: the kernel's upper-case kind name (`STRUCT`, `PTR`, `UNKN` for void).
pub fn kind_str(t: &BtfType) -> String {
    match t.kind() {
        Kind::Void => "UNKN".into(),
        k => k.name().to_ascii_uppercase(),
    }
}

/// `btf_type_is_small_int`: an integer of at most 8 bytes.
pub fn is_small_int(t: &BtfType) -> bool {
    matches!(t, BtfType::Int { size, .. } if *size <= 8)
}

/// `btf_type_is_struct`: a struct or a union.
pub fn is_struct(t: &BtfType) -> bool {
    t.is_composite()
}

/// The size of a struct or union.
pub fn struct_size(t: &BtfType) -> u32 {
    match t {
        BtfType::Struct { size, .. } | BtfType::Union { size, .. } => *size,
        _ => 0,
    }
}

/// `is_int_ptr`: a pointer whose target (modifiers skipped) is an integer.
pub fn is_int_ptr(btf: &Btf, ptr: &BtfType) -> bool {
    let Some(target) = ptr.ref_type() else { return false };
    skip_modifiers(btf, target).is_some_and(|(_, t)| matches!(t, BtfType::Int { .. }))
}

/// `__btf_resolve_size`: a member's type with modifiers and (multi-dimensional) arrays
/// resolved. `size` is the whole member's size, `elem` the innermost element type (the
/// member's type when it is no array) and `nelems` the element count.
pub struct Resolved<'a> {
    /// The member's type after modifiers: the outermost array, or the resolved type.
    pub ty: &'a BtfType,
    /// Id of `ty` (the last modifier's target, or the member's own id).
    pub id: u32,
    /// Size in bytes of the whole member.
    pub size: u32,
    /// The innermost element type and its id (the array's element id as BTF names it).
    pub elem: &'a BtfType,
    /// Id of the innermost array's element (0 when no array).
    pub elem_id: u32,
    /// Number of elements (1 when no array).
    pub nelems: u32,
}

/// `__btf_resolve_size` (see [`Resolved`]); `None` for a type without a size.
pub fn resolve_size(btf: &Btf, id: u32) -> Option<Resolved<'_>> {
    let mut ty = btf.get(id)?;
    let mut cur_id = id;
    let mut outer: Option<(&BtfType, u32)> = None;
    let mut elem_id = 0;
    let mut nelems: u32 = 1;
    let mut last_mod = None;
    for _ in 0..MAX_RESOLVE_DEPTH {
        let size = match ty {
            BtfType::Int { size, .. }
            | BtfType::Struct { size, .. }
            | BtfType::Union { size, .. }
            | BtfType::Enum { size, .. }
            | BtfType::Enum64 { size, .. }
            | BtfType::Float { size, .. } => *size,
            BtfType::Ptr { .. } => 8,
            BtfType::Typedef { type_id, .. }
            | BtfType::Volatile { type_id }
            | BtfType::Const { type_id }
            | BtfType::Restrict { type_id }
            | BtfType::TypeTag { type_id, .. } => {
                cur_id = *type_id;
                last_mod = Some(*type_id);
                ty = btf.get(*type_id)?;
                continue;
            }
            BtfType::Array { elem, nelems: n, .. } => {
                if outer.is_none() {
                    outer = Some((ty, cur_id));
                }
                if nelems != 0 && *n > u32::MAX / nelems {
                    return None;
                }
                nelems *= *n;
                elem_id = *elem;
                cur_id = *elem;
                ty = btf.get(*elem)?;
                continue;
            }
            _ => return None,
        };
        if nelems != 0 && size > u32::MAX / nelems {
            return None;
        }
        let (rty, rid) = match outer {
            Some((a, aid)) => (a, aid),
            None => (ty, last_mod.unwrap_or(id)),
        };
        return Some(Resolved { ty: rty, id: rid, size: nelems * size, elem: ty, elem_id, nelems });
    }
    None
}

/// The name of BTF type `id` (empty when anonymous or unknown).
pub fn type_name(btf: &Btf, id: u32) -> &str {
    btf.get(id).map_or("", BtfType::name)
}

#[cfg(test)]
mod struct_ops_tests;
#[cfg(test)]
mod tests;
