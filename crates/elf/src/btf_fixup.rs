//! libbpf's DATASEC fix-up before `BPF_BTF_LOAD`: clang leaves every DATASEC's size and its
//! variables' offsets at 0 (they are known only once the object is laid out), and the kernel
//! refuses such BTF (`size == 0`). The sizes come from the ELF sections, the offsets from the
//! variables' symbols.

use crate::btf::BtfError;
use crate::reader::Reader;

const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;

/// Bytes that follow a type's 12-byte header, by kind (`None`: unknown kind).
fn trailing(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        1 | 14 | 17 => 4,             // INT encoding, VAR linkage, DECL_TAG component
        3 => 12,                      // ARRAY
        4 | 5 | 15 | 19 => 12 * vlen, // STRUCT/UNION members, DATASEC vars, ENUM64 values
        6 | 13 => 8 * vlen,           // ENUM values, FUNC_PROTO params
        2 | 7..=12 | 16 | 18 => 0,    // PTR, FWD, TYPEDEF, modifiers, FUNC, FLOAT, TYPE_TAG
        _ => return None,
    })
}

fn cstr(strs: &[u8], off: u32) -> Option<&str> {
    let rest = strs.get(off as usize..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// Returns `blob` with every DATASEC sized by `section_size(name)` and each of its variables
/// placed at `symbol_offset(section, var)`; DATASECs whose section is unknown are left as they
/// are (the kernel then says why it refuses them).
pub fn fixup_datasecs(
    blob: &[u8],
    section_size: impl Fn(&str) -> Option<u32>,
    symbol_offset: impl Fn(&str, &str) -> Option<u32>,
) -> Result<Vec<u8>, BtfError> {
    let mut out = blob.to_vec();
    let mut r = Reader::new(blob);
    let magic = r.u16()?;
    if magic != 0xeb9f {
        return Err(BtfError::Magic(magic));
    }
    r.u8()?;
    r.u8()?;
    let hdr_len = r.u32()? as usize;
    let type_off = r.u32()? as usize;
    let type_len = r.u32()? as usize;
    let str_off = r.u32()? as usize;
    let str_len = r.u32()? as usize;
    let base = Reader::new(blob);
    let strs = base.slice(hdr_len.saturating_add(str_off), str_len)?;
    let types_at = hdr_len.saturating_add(type_off);
    let mut t = Reader::new(base.slice(types_at, type_len)?);
    // (name, linkage record position) of each VAR, by type id (ids start at 1)
    let mut var_names: Vec<Option<String>> = vec![None];
    let mut datasecs: Vec<(usize, String, usize)> = Vec::new(); // header pos, name, vlen
    let mut pos = 0usize;
    while !t.is_empty() {
        let name_off = t.u32()?;
        let info = t.u32()?;
        t.u32()?;
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let id = var_names.len() as u32;
        let extra = trailing(kind, vlen).ok_or(BtfError::Kind { id, kind })?;
        let name = cstr(strs, name_off).map(str::to_string);
        var_names.push(if kind == KIND_VAR { name.clone() } else { None });
        if kind == KIND_DATASEC {
            datasecs.push((pos, name.unwrap_or_default(), vlen));
        }
        t.take(extra)?;
        pos += 12 + extra;
    }
    let put = |out: &mut Vec<u8>, at: usize, v: u32| {
        if let Some(b) = out.get_mut(at..at + 4) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    };
    for (hdr, sec, vlen) in datasecs {
        let Some(size) = section_size(&sec) else { continue };
        let at = types_at + hdr;
        put(&mut out, at + 8, size);
        for i in 0..vlen {
            let rec = at + 12 + 12 * i;
            let var = base.slice(rec, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
            let name = var_names.get(var as usize).and_then(|n| n.as_deref());
            if let Some(off) = name.and_then(|n| symbol_offset(&sec, n)) {
                put(&mut out, rec + 4, off);
            }
        }
    }
    Ok(out)
}
