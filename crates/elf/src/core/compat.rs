//! libbpf's type relations for CO-RE: flavor-less names, the kind classes candidates must share,
//! "compatible" (field and type relocations) and "matches" (`TYPE_MATCHES`).
//!
//! Each relation answers `Ok(true)`, `Ok(false)`, or `Err(Unresolved)` where libbpf returns
//! `-EINVAL` (a type chain that cannot be resolved, or recursion deeper than libbpf allows).

use crate::btf::{Btf, BtfType, IntEncoding, Kind};

/// libbpf's recursion budget for both relations.
const LEVEL: i32 = 32;

/// A type chain that cannot be followed, or nesting deeper than libbpf allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CO-RE: unresolvable or too deeply nested type")]
pub struct Unresolved;

/// The answer of a relation.
pub type Rel = Result<bool, Unresolved>;

/// Length of `name` without its `___flavor` suffix: the last `X___Y` separator where neither
/// `X` nor `Y` is an underscore ends the essential name.
pub fn essential_name_len(name: &str) -> usize {
    let b = name.as_bytes();
    let n = b.len();
    (0..n.saturating_sub(4))
        .rev()
        .find(|&i| b[i] != b'_' && &b[i + 1..i + 4] == b"___" && b[i + 4] != b'_')
        .map_or(n, |i| i + 1)
}

/// The essential (flavor-less) part of a name.
pub fn essential_name(name: &str) -> &str {
    &name[..essential_name_len(name)]
}

/// Same kind, or both enums of either width (`btf_kind_core_compat`).
pub(super) fn kind_core_compat(a: &BtfType, b: &BtfType) -> bool {
    a.kind() == b.kind() || (a.is_any_enum() && b.is_any_enum())
}

fn skip(btf: &Btf, id: u32) -> Result<(u32, &BtfType), Unresolved> {
    btf.resolve(id).ok_or(Unresolved)
}

fn int_offset(t: &BtfType) -> u32 {
    match t {
        BtfType::Int { offset, .. } => *offset,
        _ => 0,
    }
}

fn int_signed(t: &BtfType) -> bool {
    matches!(t, BtfType::Int { encoding: IntEncoding::Signed, .. })
}

fn size_field(t: &BtfType) -> Option<u32> {
    match t {
        BtfType::Int { size, .. }
        | BtfType::Enum { size, .. }
        | BtfType::Enum64 { size, .. }
        | BtfType::Struct { size, .. }
        | BtfType::Union { size, .. }
        | BtfType::Float { size, .. } => Some(*size),
        _ => None,
    }
}

/// `bpf_core_types_are_compat`: the relation of type-based relocations (names were matched
/// by the candidate search).
pub fn types_are_compat(local: &Btf, lid: u32, targ: &Btf, tid: u32) -> Rel {
    compat(local, lid, targ, tid, LEVEL)
}

fn compat(local: &Btf, mut lid: u32, targ: &Btf, mut tid: u32, level: i32) -> Rel {
    let (lt, tt) = (local.get(lid).ok_or(Unresolved)?, targ.get(tid).ok_or(Unresolved)?);
    if !kind_core_compat(lt, tt) {
        return Ok(false);
    }
    for _ in 0..LEVEL {
        let ((_, lt), (_, tt)) = (skip(local, lid)?, skip(targ, tid)?);
        if !kind_core_compat(lt, tt) {
            return Ok(false);
        }
        match (lt, tt) {
            (BtfType::Void, _)
            | (BtfType::Struct { .. } | BtfType::Union { .. } | BtfType::Fwd { .. }, _)
            | (BtfType::Enum { .. } | BtfType::Enum64 { .. }, _) => return Ok(true),
            (BtfType::Int { .. }, _) => return Ok(int_offset(lt) == 0 && int_offset(tt) == 0),
            (BtfType::Ptr { type_id: a }, BtfType::Ptr { type_id: b }) => (lid, tid) = (*a, *b),
            (BtfType::Array { elem: a, .. }, BtfType::Array { elem: b, .. }) => (lid, tid) = (*a, *b),
            (
                BtfType::FuncProto { ret: lr, params: lp, variadic: lv },
                BtfType::FuncProto { ret: tr, params: tp, variadic: tv },
            ) => {
                if lp.len() + *lv as usize != tp.len() + *tv as usize {
                    return Ok(false);
                }
                for (a, b) in lp.iter().zip(tp) {
                    if level <= 0 {
                        return Err(Unresolved);
                    }
                    let (a, b) = (skip(local, a.type_id)?.0, skip(targ, b.type_id)?.0);
                    if !compat(local, a, targ, b, level - 1)? {
                        return Ok(false);
                    }
                }
                if lv != tv {
                    // the `...` marker is a void parameter: void against a real type
                    return Ok(false);
                }
                (lid, tid) = (skip(local, *lr)?.0, skip(targ, *tr)?.0);
            }
            _ => return Ok(false),
        }
    }
    Err(Unresolved)
}

/// `bpf_core_fields_are_compat`: the relation of a matched member's types.
pub(super) fn fields_are_compat(local: &Btf, mut lid: u32, targ: &Btf, mut tid: u32) -> Rel {
    for _ in 0..LEVEL {
        let ((_, lt), (_, tt)) = (skip(local, lid)?, skip(targ, tid)?);
        if lt.is_composite() && tt.is_composite() {
            return Ok(true);
        }
        if !kind_core_compat(lt, tt) {
            return Ok(false);
        }
        match (lt, tt) {
            (BtfType::Ptr { .. } | BtfType::Float { .. }, _) => return Ok(true),
            (BtfType::Fwd { .. } | BtfType::Enum { .. } | BtfType::Enum64 { .. }, _) => {
                let (a, b) = (essential_name(lt.name()), essential_name(tt.name()));
                return Ok(a.is_empty() || b.is_empty() || a == b);
            }
            (BtfType::Int { .. }, _) => return Ok(int_offset(lt) == 0 && int_offset(tt) == 0),
            (BtfType::Array { elem: a, .. }, BtfType::Array { elem: b, .. }) => (lid, tid) = (*a, *b),
            _ => return Ok(false),
        }
    }
    Err(Unresolved)
}

/// `bpf_core_names_match`: an anonymous target matches only an anonymous local name.
fn names_match(local: &str, targ: &str) -> bool {
    if targ.is_empty() {
        return local.is_empty();
    }
    essential_name(local) == essential_name(targ)
}

/// `bpf_core_types_match` (`TYPE_MATCHES`).
pub fn types_match(local: &Btf, lid: u32, targ: &Btf, tid: u32) -> Rel {
    matches(local, lid, targ, tid, false, LEVEL)
}

fn matches(local: &Btf, mut lid: u32, targ: &Btf, mut tid: u32, mut behind_ptr: bool, level: i32) -> Rel {
    if level <= 0 {
        return Err(Unresolved);
    }
    for _ in 0..LEVEL {
        let ((_, lt), (_, tt)) = (skip(local, lid)?, skip(targ, tid)?);
        if !names_match(lt.name(), tt.name()) {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind(), tt.kind());
        match lt {
            BtfType::Void => return Ok(lk == tk),
            BtfType::Fwd { union, .. } => {
                return Ok(match tt {
                    BtfType::Fwd { union: tu, .. } => union == tu,
                    BtfType::Struct { .. } if behind_ptr => !union,
                    BtfType::Union { .. } if behind_ptr => *union,
                    _ => false,
                });
            }
            BtfType::Enum { .. } | BtfType::Enum64 { .. } => {
                if !tt.is_any_enum() {
                    return Ok(false);
                }
                return Ok(enums_match(lt, tt));
            }
            BtfType::Struct { .. } | BtfType::Union { .. } => {
                if behind_ptr {
                    if lk == tk {
                        return Ok(true);
                    }
                    return Ok(matches!(tt, BtfType::Fwd { union, .. } if *union == (lk == Kind::Union)));
                }
                if lk != tk {
                    return Ok(false);
                }
                return composites_match(local, lt, targ, tt, behind_ptr, level);
            }
            BtfType::Int { size, .. } => {
                return Ok(lk == tk && size_field(tt) == Some(*size) && int_signed(lt) == int_signed(tt));
            }
            BtfType::Ptr { type_id } => {
                let BtfType::Ptr { type_id: t } = tt else { return Ok(false) };
                behind_ptr = true;
                (lid, tid) = (*type_id, *t);
            }
            BtfType::Array { elem, nelems, .. } => {
                let BtfType::Array { elem: te, nelems: tn, .. } = tt else { return Ok(false) };
                if nelems != tn {
                    return Ok(false);
                }
                (lid, tid) = (*elem, *te);
            }
            BtfType::FuncProto { ret, params, variadic } => {
                let BtfType::FuncProto { ret: tr, params: tp, variadic: tv } = tt else { return Ok(false) };
                if params.len() + *variadic as usize != tp.len() + *tv as usize {
                    return Ok(false);
                }
                for (a, b) in params.iter().zip(tp) {
                    if !matches(local, a.type_id, targ, b.type_id, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                if variadic != tv {
                    return Ok(false);
                }
                (lid, tid) = (*ret, *tr);
            }
            _ => return Ok(false),
        }
    }
    Err(Unresolved)
}

/// `bpf_core_enums_match`: same size; every local enumerator named in the target.
fn enums_match(lt: &BtfType, tt: &BtfType) -> bool {
    let (Some(lv), Some(tv)) = (lt.enum_values(), tt.enum_values()) else { return false };
    if size_field(lt) != size_field(tt) || lv.len() > tv.len() {
        return false;
    }
    lv.iter().all(|l| tv.iter().any(|t| names_match(&l.name, &t.name)))
}

/// `bpf_core_composites_match`: every local member has a same-named matching target member.
fn composites_match(
    local: &Btf,
    lt: &BtfType,
    targ: &Btf,
    tt: &BtfType,
    behind_ptr: bool,
    level: i32,
) -> Rel {
    let (Some(lm), Some(tm)) = (lt.members(), tt.members()) else { return Ok(false) };
    if lm.len() > tm.len() {
        return Ok(false);
    }
    for l in lm {
        let mut found = false;
        for t in tm {
            if !names_match(&l.name, &t.name) {
                continue;
            }
            if matches(local, l.type_id, targ, t.type_id, behind_ptr, level - 1)? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}
