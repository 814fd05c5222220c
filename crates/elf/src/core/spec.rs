//! Access specifications: the `"0:1:2"` string of a relocation parsed on the local type (raw
//! indices, the named-field and array "turning points", the bit offset they add up to), matched
//! against a candidate target type, and formatted the way libbpf logs them.

use crate::btf::{Btf, BtfType, CoreReloKind};

use super::Errno;
use super::compat::{essential_name, fields_are_compat, types_are_compat, types_match};

/// libbpf's `BPF_CORE_SPEC_MAX_LEN`.
const MAX_LEN: usize = 64;

/// One turning point: a named member of `type_id` (its index), or an array element (`name`
/// `None`, `type_id` the element type).
#[derive(Clone, Debug)]
pub(super) struct Accessor {
    pub type_id: u32,
    pub idx: u32,
    pub name: Option<String>,
}

/// A spec on one BTF.
#[derive(Clone, Debug)]
pub(super) struct Spec<'b> {
    pub btf: &'b Btf,
    pub root: u32,
    pub kind: CoreReloKind,
    pub raw: Vec<u32>,
    pub acc: Vec<Accessor>,
    pub bit_offset: u64,
}

impl<'b> Spec<'b> {
    fn empty(btf: &'b Btf, root: u32, kind: CoreReloKind) -> Spec<'b> {
        Spec { btf, root, kind, raw: Vec::new(), acc: Vec::new(), bit_offset: 0 }
    }
}

fn add(a: u64, b: u64) -> Result<u64, Errno> {
    a.checked_add(b).filter(|&v| v <= u32::MAX as u64).ok_or(Errno::Inval)
}

fn mul(idx: u32, size: u64) -> Result<u64, Errno> {
    (idx as u64).checked_mul(size).and_then(|v| v.checked_mul(8)).ok_or(Errno::Inval)
}

fn size(btf: &Btf, id: u32) -> Result<u64, Errno> {
    btf.size_of(id).filter(|&s| s <= u32::MAX as u64).ok_or(Errno::Inval)
}

/// An array that is the last member of its struct and has no elements may be indexed past 0.
fn is_flex(btf: &Btf, prev: Option<&Accessor>, nelems: u32) -> bool {
    let Some(prev) = prev.filter(|a| a.name.is_some() && nelems == 0) else { return false };
    btf.get(prev.type_id).and_then(BtfType::members).is_some_and(|m| prev.idx as usize + 1 == m.len())
}

/// The raw indices of an access string: `N(:N)*`.
fn raw_indices(s: &str) -> Result<Vec<u32>, Errno> {
    if s.is_empty() || s.starts_with(':') {
        return Err(Errno::Inval);
    }
    let mut out = Vec::new();
    for part in s.split(':') {
        // libbpf reads each index with %d; negative indices are refused here
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Errno::Inval);
        }
        if out.len() == MAX_LEN {
            return Err(Errno::TooBig);
        }
        out.push(part.parse::<u32>().map_err(|_| Errno::Inval)?);
    }
    Ok(out)
}

/// `bpf_core_parse_spec`.
pub(super) fn parse<'b>(
    btf: &'b Btf,
    root: u32,
    access: &str,
    kind: CoreReloKind,
) -> Result<Spec<'b>, Errno> {
    let mut spec = Spec::empty(btf, root, kind);
    if access.is_empty() || access.starts_with(':') {
        return Err(Errno::Inval);
    }
    if kind.is_type() {
        return if access == "0" { Ok(spec) } else { Err(Errno::Inval) };
    }
    spec.raw = raw_indices(access)?;
    let (mut id, t) = btf.resolve(root).ok_or(Errno::Inval)?;
    let first = spec.raw[0];
    if kind.is_enumval() {
        let values = t.enum_values().ok_or(Errno::Inval)?;
        if spec.raw.len() > 1 {
            return Err(Errno::Inval);
        }
        let v = values.get(first as usize).ok_or(Errno::Inval)?;
        spec.acc.push(Accessor { type_id: id, idx: first, name: Some(v.name.clone()) });
        return Ok(spec);
    }
    spec.acc.push(Accessor { type_id: id, idx: first, name: None });
    spec.bit_offset = mul(first, size(btf, id)?)?;
    for i in 1..spec.raw.len() {
        let (rid, t) = btf.resolve(id).ok_or(Errno::Inval)?;
        id = rid;
        let idx = spec.raw[i];
        match t {
            BtfType::Struct { members, .. } | BtfType::Union { members, .. } => {
                let m = members.get(idx as usize).ok_or(Errno::Inval)?;
                spec.bit_offset = add(spec.bit_offset, m.offset as u64)?;
                if !m.name.is_empty() {
                    spec.acc.push(Accessor { type_id: id, idx, name: Some(m.name.clone()) });
                }
                id = m.type_id;
            }
            BtfType::Array { elem, nelems, .. } => {
                let (eid, _) = btf.resolve(*elem).ok_or(Errno::Inval)?;
                if !is_flex(btf, spec.acc.last(), *nelems) && idx >= *nelems {
                    return Err(Errno::Inval);
                }
                spec.acc.push(Accessor { type_id: eid, idx, name: None });
                spec.bit_offset = add(spec.bit_offset, mul(idx, size(btf, eid)?)?)?;
                id = eid;
            }
            _ => return Err(Errno::Inval),
        }
    }
    Ok(spec)
}

/// `bpf_core_match_member`: finds the local named member in target composite `tid`, through
/// anonymous members, extending `spec`; `next` receives the matched member's type.
fn match_member(
    local: &Btf,
    lacc: &Accessor,
    targ: &Btf,
    tid: u32,
    spec: &mut Spec<'_>,
    next: &mut u32,
) -> Result<bool, Errno> {
    let (tid, tt) = targ.resolve(tid).ok_or(Errno::Inval)?;
    let Some(tm) = tt.members() else { return Ok(false) };
    let lm = local.get(lacc.type_id).and_then(BtfType::members).and_then(|m| m.get(lacc.idx as usize));
    let lm = lm.ok_or(Errno::Inval)?;
    for (i, m) in tm.iter().enumerate() {
        if spec.raw.len() == MAX_LEN {
            return Err(Errno::TooBig);
        }
        spec.bit_offset = add(spec.bit_offset, m.offset as u64)?;
        spec.raw.push(i as u32);
        if m.name.is_empty() {
            if match_member(local, lacc, targ, m.type_id, spec, next)? {
                return Ok(true);
            }
        } else if m.name == lm.name {
            spec.acc.push(Accessor { type_id: tid, idx: i as u32, name: Some(m.name.clone()) });
            *next = m.type_id;
            let ok = fields_are_compat(local, lm.type_id, targ, m.type_id).map_err(|_| Errno::Inval)?;
            if !ok {
                spec.acc.pop();
            }
            return Ok(ok);
        }
        spec.bit_offset -= m.offset as u64;
        spec.raw.pop();
    }
    Ok(false)
}

/// `bpf_core_spec_match`: the candidate's spec, and whether it matches.
pub(super) fn matching<'b>(local: &Spec<'_>, targ: &'b Btf, tid: u32) -> (Result<bool, Errno>, Spec<'b>) {
    let mut spec = Spec::empty(targ, tid, local.kind);
    let r = match_into(local, targ, tid, &mut spec);
    (r, spec)
}

fn match_into(local: &Spec<'_>, targ: &Btf, tid: u32, spec: &mut Spec<'_>) -> Result<bool, Errno> {
    if local.kind.is_type() {
        let rel = if local.kind == CoreReloKind::TypeMatches {
            types_match(local.btf, local.root, targ, tid)
        } else {
            types_are_compat(local.btf, local.root, targ, tid)
        };
        return rel.map_err(|_| Errno::Inval);
    }
    let lacc = local.acc.first().ok_or(Errno::Inval)?;
    if local.kind.is_enumval() {
        let (tid, tt) = targ.resolve(tid).ok_or(Errno::Inval)?;
        let Some(values) = tt.enum_values() else { return Ok(false) };
        let want = essential_name(lacc.name.as_deref().unwrap_or(""));
        for (i, v) in values.iter().enumerate() {
            if essential_name(&v.name) == want {
                spec.acc.push(Accessor { type_id: tid, idx: i as u32, name: Some(v.name.clone()) });
                spec.raw.push(i as u32);
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let mut tid = tid;
    for (i, la) in local.acc.iter().enumerate() {
        let (rid, tt) = targ.resolve(tid).ok_or(Errno::Inval)?;
        tid = rid;
        if la.name.is_some() {
            if !match_member(local.btf, la, targ, tid, spec, &mut tid)? {
                return Ok(false);
            }
            continue;
        }
        if i > 0 {
            let BtfType::Array { elem, nelems, .. } = tt else { return Ok(false) };
            if !is_flex(targ, spec.acc.last(), *nelems) && la.idx >= *nelems {
                return Ok(false);
            }
            tid = targ.resolve(*elem).ok_or(Errno::Inval)?.0;
        }
        if spec.raw.len() == MAX_LEN {
            return Err(Errno::TooBig);
        }
        spec.acc.push(Accessor { type_id: tid, idx: la.idx, name: None });
        spec.raw.push(la.idx);
        spec.bit_offset = add(spec.bit_offset, mul(la.idx, size(targ, tid)?)?)?;
    }
    Ok(true)
}

/// `bpf_core_format_spec`: `<kind> [id] struct name.field[2] (0:1:2 @ offset 8)`.
pub(super) fn format(spec: &Spec<'_>) -> String {
    let t = spec.btf.get(spec.root);
    let (kind, name) = t.map_or(("unknown", ""), |t| (t.kind().name(), t.name()));
    let mut s = format!(
        "<{}> [{}] {} {}",
        spec.kind.name(),
        spec.root,
        kind,
        if name.is_empty() { "<anon>" } else { name }
    );
    if spec.kind.is_type() {
        return s;
    }
    if spec.kind.is_enumval() {
        let t = spec.btf.resolve(spec.root).map(|(_, t)| t);
        let idx = spec.raw.first().copied().unwrap_or(0) as usize;
        if let Some((t, v)) = t.and_then(|t| Some((t, t.enum_values()?.get(idx)?))) {
            let signed =
                matches!(t, BtfType::Enum { signed: true, .. } | BtfType::Enum64 { signed: true, .. });
            let val = match (t, signed) {
                (BtfType::Enum { .. }, true) => (v.value as i32).to_string(),
                (BtfType::Enum { .. }, false) => (v.value as u32).to_string(),
                (_, true) => v.value.to_string(),
                _ => (v.value as u64).to_string(),
            };
            s += &format!("::{} = {val}", v.name);
        }
        return s;
    }
    for (i, a) in spec.acc.iter().enumerate() {
        match &a.name {
            Some(n) => s += &format!(".{n}"),
            None if i > 0 || a.idx > 0 => s += &format!("[{}]", a.idx),
            None => {}
        }
    }
    let raw: Vec<String> = spec.raw.iter().map(u32::to_string).collect();
    s += &format!(" ({}", raw.join(":"));
    if !spec.bit_offset.is_multiple_of(8) {
        s += &format!(" @ offset {}.{})", spec.bit_offset / 8, spec.bit_offset % 8);
    } else {
        s += &format!(" @ offset {})", spec.bit_offset / 8);
    }
    s
}
