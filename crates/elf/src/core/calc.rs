//! The values a relocation puts into an instruction: computed once on the local spec (the
//! value clang wrote, checked before patching) and once on the target spec.

use crate::btf::{Btf, BtfType, CoreReloKind, IntEncoding};

use super::Errno;
use super::spec::Spec;

/// A failed computation: instruction poisoning, or an error with libbpf's warning.
#[derive(Debug)]
pub(super) enum Fail {
    /// libbpf's `-EUCLEAN`: the target has no such field/enumerator.
    Poison,
    /// An error, with the warning libbpf prints (if any).
    Err(Errno, Option<String>),
}

/// `struct bpf_core_relo_res`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Res {
    pub orig_val: u64,
    pub new_val: u64,
    pub poison: bool,
    pub validate: bool,
    pub fail_memsz_adjust: bool,
    pub orig_sz: u32,
    pub new_sz: u32,
    pub orig_type_id: u32,
    pub new_type_id: u32,
}

struct Field {
    val: u64,
    sz: u32,
    type_id: u32,
    validate: bool,
}

fn sized(t: &BtfType) -> Option<u32> {
    match t {
        BtfType::Int { size, .. } | BtfType::Enum { size, .. } | BtfType::Enum64 { size, .. } => Some(*size),
        _ => None,
    }
}

fn size(btf: &Btf, id: u32) -> Result<u32, Fail> {
    btf.size_of(id).and_then(|s| u32::try_from(s).ok()).ok_or(Fail::Err(Errno::Inval, None))
}

/// `bpf_core_calc_field_relo`; `at` names the relocation in warnings.
fn field(kind: CoreReloKind, spec: Option<&Spec<'_>>, at: &str) -> Result<Field, Fail> {
    let mut out = Field { val: 0, sz: 0, type_id: 0, validate: true };
    if kind == CoreReloKind::FieldExists {
        out.val = spec.is_some() as u64;
        return Ok(out);
    }
    let spec = spec.ok_or(Fail::Poison)?;
    let acc = spec.acc.last().ok_or(Fail::Err(Errno::Inval, None))?;
    if acc.name.is_none() {
        // an array element (or the root itself)
        let sz = size(spec.btf, acc.type_id)?;
        match kind {
            CoreReloKind::FieldByteOffset => {
                out.val = spec.bit_offset / 8;
                out.sz = sz;
                out.type_id = acc.type_id;
            }
            CoreReloKind::FieldByteSize => out.val = sz as u64,
            _ => {
                return Err(Fail::Err(
                    Errno::Inval,
                    Some(format!("relo {} at {at} can't be applied to array access", kind as u32)),
                ));
            }
        }
        return Ok(out);
    }
    let m = spec
        .btf
        .get(acc.type_id)
        .and_then(BtfType::members)
        .and_then(|m| m.get(acc.idx as usize))
        .ok_or(Fail::Err(Errno::Inval, None))?;
    let (field_type_id, mt) = spec.btf.resolve(m.type_id).ok_or(Fail::Err(Errno::Inval, None))?;
    // libbpf computes these in 32 bits
    let bit_off = spec.bit_offset as u32;
    let mut bit_sz = m.bitfield_size;
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz);
    if bitfield {
        let mut sz = sized(mt).filter(|&s| s > 0).ok_or(Fail::Err(Errno::Inval, None))?;
        let mut off = bit_off / 8 / sz * sz;
        // the smallest load that covers the bitfield
        while (bit_off + bit_sz).wrapping_sub(off * 8) > sz * 8 {
            if sz >= 8 {
                return Err(Fail::Err(
                    Errno::TooBig,
                    Some(format!("relo {} at {at} can't be satisfied for bitfield", kind as u32)),
                ));
            }
            sz *= 2;
            off = bit_off / 8 / sz * sz;
        }
        (byte_off, byte_sz) = (off, sz);
    } else {
        byte_sz = size(spec.btf, field_type_id)?;
        byte_off = bit_off / 8;
        bit_sz = byte_sz.wrapping_mul(8);
    }
    // bitfield offsets and sizes may legitimately differ from clang's: only check the rest
    out.validate = !bitfield;
    out.val = match kind {
        CoreReloKind::FieldByteOffset => {
            if !bitfield {
                (out.sz, out.type_id) = (byte_sz, field_type_id);
            }
            byte_off as u64
        }
        CoreReloKind::FieldByteSize => byte_sz as u64,
        CoreReloKind::FieldSigned => {
            out.validate = true;
            let signed = match mt {
                BtfType::Enum { signed, .. } | BtfType::Enum64 { signed, .. } => *signed,
                BtfType::Int { encoding, .. } => *encoding == IntEncoding::Signed,
                _ => false,
            };
            signed as u64
        }
        CoreReloKind::FieldLshiftU64 => {
            64u32.wrapping_sub((bit_off + bit_sz).wrapping_sub(byte_off * 8)) as u64
        }
        CoreReloKind::FieldRshiftU64 => {
            out.validate = true;
            64u32.wrapping_sub(bit_sz) as u64
        }
        _ => return Err(Fail::Err(Errno::NotSupp, None)),
    };
    Ok(out)
}

/// `bpf_core_calc_type_relo`: `(value, validate)`.
fn ty(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<(u64, bool), Fail> {
    let Some(spec) = spec else { return Ok((0, true)) };
    Ok(match kind {
        // type ids change in linking: never checked
        CoreReloKind::TypeIdTarget => (spec.root as u64, false),
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => (1, true),
        CoreReloKind::TypeSize => (size(spec.btf, spec.root)? as u64, true),
        _ => return Err(Fail::Err(Errno::NotSupp, None)),
    })
}

/// `bpf_core_calc_enumval_relo`.
fn enumval(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<u64, Fail> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(spec.is_some() as u64),
        CoreReloKind::EnumvalValue => {
            let spec = spec.ok_or(Fail::Poison)?;
            let acc = spec.acc.first().ok_or(Fail::Err(Errno::Inval, None))?;
            let v = spec
                .btf
                .get(acc.type_id)
                .and_then(BtfType::enum_values)
                .and_then(|v| v.get(acc.idx as usize));
            // ENUM values are already sign-extended from their 32 bits, as libbpf reads them
            Ok(v.ok_or(Fail::Err(Errno::Inval, None))?.value as u64)
        }
        _ => Err(Fail::Err(Errno::NotSupp, None)),
    }
}

/// `bpf_core_calc_relo`: the result for one candidate (`targ` `None`: no candidate matched).
pub(super) fn relo(
    kind: CoreReloKind,
    local: &Spec<'_>,
    targ: Option<&Spec<'_>>,
    at: &str,
) -> Result<Res, Fail> {
    let mut res = Res { validate: true, ..Res::default() };
    let r = (|| -> Result<(), Fail> {
        if kind.is_field() {
            let o = field(kind, Some(local), at)?;
            (res.orig_val, res.orig_sz, res.orig_type_id, res.validate) =
                (o.val, o.sz, o.type_id, o.validate);
            let n = field(kind, targ, at)?;
            (res.new_val, res.new_sz, res.new_type_id) = (n.val, n.sz, n.type_id);
            if res.orig_sz != res.new_sz {
                let ot = local.btf.get(res.orig_type_id);
                let nt = targ.and_then(|t| t.btf.get(res.new_type_id));
                let unsigned_int = |t: Option<&BtfType>| matches!(t, Some(BtfType::Int { encoding, .. }) if *encoding != IntEncoding::Signed);
                let both_ptr = matches!((ot, nt), (Some(BtfType::Ptr { .. }), Some(BtfType::Ptr { .. })));
                // zero-extension keeps pointers and unsigned integers right in a narrower load
                res.fail_memsz_adjust = !(both_ptr || unsigned_int(ot) && unsigned_int(nt));
            }
        } else if kind.is_type() {
            (res.orig_val, res.validate) = ty(kind, Some(local))?;
            res.new_val = ty(kind, targ)?.0;
        } else {
            res.orig_val = enumval(kind, Some(local))?;
            res.new_val = enumval(kind, targ)?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => Ok(res),
        Err(Fail::Poison) => {
            res.poison = true;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}
