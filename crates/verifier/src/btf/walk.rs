//! `btf_struct_access`: what a load of `size` bytes at `off` into a kernel struct reads, by
//! walking the struct's BTF through nested structs and unions, arrays (flattened, the trailing
//! flexible one included) and bitfields: a scalar, a pointer to another struct (with the
//! `__rcu` / `__percpu` / `__user` type tags it carries) or a pointer to something else.

use super::{Resolved, is_struct, kind_str, resolve_size, skip_modifiers, struct_size};
use crate::domain::state::{MEM_PERCPU, MEM_RCU, MEM_USER, PTR_UNTRUSTED};
use kbpf_elf::btf::{Btf, BtfType};

/// What the access reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Walked {
    /// A scalar.
    Scalar,
    /// A pointer to the struct `btf_id`, with the flags the walk gathered (type tags, the
    /// union rule) and the member's name (the trust lists name fields).
    Ptr {
        /// Target struct id (modifiers skipped).
        btf_id: u32,
        /// `MEM_RCU` / `MEM_PERCPU` / `MEM_USER` / `PTR_UNTRUSTED`.
        flags: u16,
        /// The pointer member's name.
        field: String,
    },
    /// A pointer to something that is no struct: read-only untrusted memory of size 0.
    UntrustedMem,
}

/// Why the walk refuses the access; `Display` is the kernel's log line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// The type reached is no struct or union.
    #[error("Type '{0}' is not a struct")]
    NotStruct(String),
    /// Past the end of the struct (and not into a trailing flexible array).
    #[error("access beyond struct {0} at off {1} size {2}")]
    BeyondStruct(String, u32, u32),
    /// A member without a size.
    #[error("field {0} doesn't have size")]
    NoSize(String),
    /// A pointer member read partially or with an offset.
    #[error("cannot access ptr member {0} with moff {1} in struct {2} with off {3} size {4}")]
    PtrMember(String, u32, String, u32, u32),
    /// A scalar member read past its end.
    #[error("access beyond the end of member {0} (mend:{1}) in struct {2} with off {3} size {4}")]
    BeyondMember(String, u32, String, u32, u32),
    /// No member at that offset.
    #[error("struct {0} doesn't have field at offset {1}")]
    NoField(String, u32),
}

impl WalkError {
    /// The kernel's errno for the refusal.
    pub fn errno(&self) -> kbpf_passes::Errno {
        use kbpf_passes::Errno;
        match self {
            WalkError::NotStruct(_) | WalkError::NoField(..) => Errno::EINVAL,
            WalkError::NoSize(_) => Errno::EFAULT,
            _ => Errno::EACCES,
        }
    }
}

/// A type or member name as the kernel prints it (`__btf_name_by_offset`: `(anon)` for none).
fn anon(name: &str) -> String {
    if name.is_empty() { "(anon)".to_string() } else { name.to_string() }
}

/// One step of `btf_struct_walk`.
enum Step {
    Scalar,
    /// A nested struct starts exactly at the offset: continue in it at offset 0.
    Struct(u32),
    Ptr(u32, String, u16),
    PtrUntrusted,
}

/// `btf_struct_access` for a kernel object.
pub fn struct_access(btf: &Btf, btf_id: u32, off: u32, size: u32) -> Result<Walked, WalkError> {
    let mut id = btf_id;
    let mut off = off;
    // the union rule's flag accumulates over the whole walk, as the kernel's does
    let mut flag = 0;
    for _ in 0..super::MAX_RESOLVE_DEPTH * 8 {
        let Some(t) = btf.get(id) else { return Err(WalkError::NotStruct(String::new())) };
        match walk_one(btf, t, off, size, &mut flag)? {
            Step::Scalar => return Ok(Walked::Scalar),
            Step::PtrUntrusted => return Ok(Walked::UntrustedMem),
            Step::Ptr(btf_id, field, tag) => {
                return Ok(Walked::Ptr { btf_id, flags: (flag & PTR_UNTRUSTED) | tag, field });
            }
            Step::Struct(next) => {
                id = next;
                off = 0;
            }
        }
    }
    Err(WalkError::NotStruct(String::new()))
}

/// `btf_struct_walk` from struct `t` to the member at `off` (descending into members that
/// contain it without starting at it).
fn walk_one(btf: &Btf, t: &BtfType, mut off: u32, size: u32, flag: &mut u16) -> Result<Step, WalkError> {
    let mut t = t;
    'again: for _ in 0..super::MAX_RESOLVE_DEPTH * 8 {
        if t.is_modifier() || matches!(t, BtfType::Typedef { .. }) {
            let target = t.ref_type().and_then(|r| skip_modifiers(btf, r)).map(|(_, t)| t);
            t = target.ok_or_else(|| WalkError::NotStruct(String::new()))?;
        }
        let tname = anon(t.name());
        let Some(members) = t.members() else { return Err(WalkError::NotStruct(tname)) };
        if matches!(t, BtfType::Union { .. }) && members.len() != 1 {
            // walking a union with several members yields untrusted pointers
            *flag |= PTR_UNTRUSTED;
        }
        if off as u64 + size as u64 > struct_size(t) as u64 {
            // the last member may be a flexible array: read it as its elements
            let beyond = || WalkError::BeyondStruct(tname.clone(), off, size);
            let last = members.last().ok_or_else(beyond)?;
            let (_, mt) = skip_modifiers(btf, last.type_id).ok_or_else(beyond)?;
            let BtfType::Array { elem, nelems: 0, .. } = mt else { return Err(beyond()) };
            let moff = last.offset / 8;
            if off < moff {
                return Err(beyond());
            }
            let (_, et) = skip_modifiers(btf, *elem).ok_or_else(beyond)?;
            if matches!(et, BtfType::Int { .. }) {
                return Ok(Step::Scalar);
            }
            if !is_struct(et) || struct_size(et) == 0 {
                return Err(beyond());
            }
            off = (off - moff) % struct_size(et);
            t = et;
            continue 'again;
        }
        for m in members {
            let mut moff = m.offset / 8;
            if off + size <= moff {
                break;
            }
            if m.bitfield_size != 0 {
                let end_bit = m.offset + m.bitfield_size;
                if off <= moff && end_bit.div_ceil(8) <= off + size {
                    return Ok(Step::Scalar);
                }
                // a partial access of a bitfield is no access to it
                continue;
            }
            if off < moff {
                // a hole
                break;
            }
            let Some(Resolved { ty, id, size: msize, elem, elem_id, nelems }) = resolve_size(btf, m.type_id)
            else {
                return Err(WalkError::NoSize(anon(&m.name)));
            };
            let mtrue_end = moff + msize;
            if off >= mtrue_end {
                continue;
            }
            let (mut mtype, mut mid, mut msize) = (ty, id, msize);
            if matches!(ty, BtfType::Array { .. }) {
                if moff == mtrue_end {
                    continue; // an empty array
                }
                msize /= nelems;
                let elem_idx = (off - moff) / msize;
                moff += elem_idx * msize;
                mtype = elem;
                mid = elem_id;
            }
            if is_struct(mtype) {
                if off == moff {
                    return Ok(Step::Struct(mid));
                }
                off -= moff;
                t = mtype;
                continue 'again;
            }
            if let BtfType::Ptr { type_id } = mtype {
                if msize != size || off != moff {
                    return Err(WalkError::PtrMember(anon(&m.name), moff, tname, off, size));
                }
                let mut tag = 0;
                if let Some(BtfType::TypeTag { name, attr: false, .. }) = btf.get(*type_id) {
                    tag = match name.as_str() {
                        "user" => MEM_USER,
                        "percpu" => MEM_PERCPU,
                        "rcu" => MEM_RCU,
                        _ => 0,
                    };
                }
                return match skip_modifiers(btf, *type_id) {
                    Some((sid, st)) if is_struct(st) => Ok(Step::Ptr(sid, m.name.clone(), tag)),
                    _ => Ok(Step::PtrUntrusted),
                };
            }
            if off + size > mtrue_end && *flag & PTR_UNTRUSTED == 0 {
                return Err(WalkError::BeyondMember(anon(&m.name), mtrue_end, tname, off, size));
            }
            return Ok(Step::Scalar);
        }
        return Err(WalkError::NoField(tname, off));
    }
    Err(WalkError::NotStruct(kind_str(t)))
}

/// `btf_struct_ids_match`: whether the object of struct `id` at offset `off` is (or starts
/// with, through nested first members) the struct `want`.
pub fn struct_ids_match(btf: &Btf, id: u32, off: u32, want: u32, strict: bool) -> bool {
    let same = |a: u32| super::skip_modifiers(btf, a).map(|(i, _)| i) == Some(want);
    if off == 0 && same(id) {
        return true;
    }
    if strict {
        return false;
    }
    let (mut id, mut off) = (id, off);
    for _ in 0..super::MAX_RESOLVE_DEPTH {
        let Some(t) = btf.get(id) else { return false };
        let mut flag = 0;
        match walk_one(btf, t, off, 1, &mut flag) {
            Ok(Step::Struct(next)) => {
                if same(next) {
                    return true;
                }
                id = next;
                off = 0;
            }
            _ => return false,
        }
    }
    false
}
