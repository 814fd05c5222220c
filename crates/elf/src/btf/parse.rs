//! Parsing and validating a BTF blob: the header the way libbpf reads it, the string section,
//! and every type record with the kernel's structural checks (kinds, sizes, string offsets,
//! type ids in range), each failure a typed [`BtfError`].

use crate::reader::Reader;

use super::types::{BtfType, EnumValue, IntEncoding, Kind, Linkage, Member, VarLinkage};
use super::{BtfError, MAGIC};

/// `BTF_MAX_TYPE`: the largest type id the kernel accepts.
pub const MAX_TYPE: u32 = 0x000f_ffff;
/// `BTF_MAX_NAME_OFFSET`.
pub const MAX_NAME_OFFSET: u32 = 0x00ff_ffff;
/// `sizeof(struct btf_header)`.
const HDR_LEN: usize = 24;

/// The two sections of a blob, as byte slices.
pub(super) struct Sections<'a> {
    pub types: &'a [u8],
    pub strs: &'a [u8],
}

/// Reads and checks the header (`btf_parse_hdr`, `btf_parse_str_sec`).
pub(super) fn header(data: &[u8], split: bool) -> Result<Sections<'_>, BtfError> {
    let mut r = Reader::new(data);
    let magic = r.u16()?;
    if magic == MAGIC.swap_bytes() {
        return Err(BtfError::BigEndian);
    }
    if magic != MAGIC {
        return Err(BtfError::Magic(magic));
    }
    let version = r.u8()?;
    if version != 1 {
        return Err(BtfError::Version(version));
    }
    let flags = r.u8()?;
    if flags != 0 {
        return Err(BtfError::Flags(flags));
    }
    let hdr_len = r.u32()? as usize;
    if hdr_len < HDR_LEN {
        return Err(BtfError::Header(format!("hdr_len {hdr_len} < {HDR_LEN}")));
    }
    if hdr_len > data.len() {
        return Err(BtfError::Header(format!("hdr_len {hdr_len} > blob size {}", data.len())));
    }
    // a longer header from a newer producer is accepted only when its extra bytes are zero
    if data[HDR_LEN..hdr_len].iter().any(|&b| b != 0) {
        return Err(BtfError::Header("unsupported non-zero header tail".into()));
    }
    let (type_off, type_len, str_off, str_len) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
    let body = &data[hdr_len..];
    let section = |what: &str, off: u32, len: u32| -> Result<&[u8], BtfError> {
        (off as usize).checked_add(len as usize).and_then(|end| body.get(off as usize..end)).ok_or_else(
            || BtfError::Header(format!("{what} section {off}+{len} past the {} data bytes", body.len())),
        )
    };
    if type_off % 4 != 0 {
        return Err(BtfError::Header(format!("unaligned type_off {type_off}")));
    }
    let types = section("type", type_off, type_len)?;
    let strs = section("string", str_off, str_len)?;
    if (type_off as u64) < str_off as u64 + str_len as u64
        && (str_off as u64) < type_off as u64 + type_len as u64
    {
        return Err(BtfError::Header("type and string sections overlap".into()));
    }
    if !(split && strs.is_empty()) {
        if strs.is_empty() || str_len - 1 > MAX_NAME_OFFSET || strs[strs.len() - 1] != 0 {
            return Err(BtfError::StrSection("empty, too long or not NUL-terminated".into()));
        }
        if !split && strs[0] != 0 {
            return Err(BtfError::StrSection("does not start with the empty string".into()));
        }
    }
    Ok(Sections { types, strs })
}

/// Parses the type records; `first_id` is the id of the first one, `max_id` (exclusive) bounds
/// every reference (all types of the blob and its base), `name` resolves string offsets.
pub(super) fn types(
    data: &[u8],
    first_id: u32,
    name: &dyn Fn(u32) -> Result<String, BtfError>,
) -> Result<Vec<BtfType>, BtfError> {
    let mut out = Vec::new();
    let mut t = Reader::new(data);
    while !t.is_empty() {
        let id = first_id + out.len() as u32;
        if id > MAX_TYPE {
            return Err(BtfError::TooManyTypes);
        }
        out.push(one(&mut t, name, id)?);
    }
    Ok(out)
}

fn invalid(id: u32, what: impl Into<String>) -> BtfError {
    BtfError::Invalid { id, what: what.into() }
}

fn one(
    t: &mut Reader<'_>,
    strs: &dyn Fn(u32) -> Result<String, BtfError>,
    id: u32,
) -> Result<BtfType, BtfError> {
    let name_off = t.u32()?;
    let info = t.u32()?;
    let size_or_type = t.u32()?;
    let vlen = info & 0xffff;
    let kind_no = (info >> 24) & 0x1f;
    let kind_flag = info >> 31 != 0;
    let kind =
        Kind::from_u32(kind_no).filter(|&k| k != Kind::Void).ok_or(BtfError::Kind { id, kind: kind_no })?;
    if info & 0x60ff_0000 != 0 {
        return Err(invalid(id, "reserved info bits set"));
    }
    let name = || strs(name_off);
    let anonymous = || -> Result<(), BtfError> {
        if name_off != 0 {
            return Err(invalid(id, format!("{} must be anonymous", kind.name())));
        }
        Ok(())
    };
    if vlen != 0
        && !matches!(
            kind,
            Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Func
                | Kind::FuncProto
                | Kind::DataSec
        )
    {
        return Err(invalid(id, format!("{} with vlen {vlen}", kind.name())));
    }
    let flag_ok = matches!(
        kind,
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd | Kind::DeclTag | Kind::TypeTag
    );
    if kind_flag && !flag_ok {
        return Err(invalid(id, format!("{} with kind_flag", kind.name())));
    }
    let members = |t: &mut Reader<'_>| -> Result<Vec<Member>, BtfError> {
        let mut v = Vec::with_capacity(vlen.min(1024) as usize);
        for _ in 0..vlen {
            let (name, type_id, raw) = (strs(t.u32()?)?, t.u32()?, t.u32()?);
            let (offset, bitfield_size) = if kind_flag { (raw & 0x00ff_ffff, raw >> 24) } else { (raw, 0) };
            if (offset as u64 + bitfield_size as u64).div_ceil(8) > size_or_type as u64
                && kind == Kind::Struct
            {
                return Err(invalid(
                    id,
                    format!("member {name} at bit {offset} past the struct's {size_or_type} bytes"),
                ));
            }
            v.push(Member { name, type_id, offset, bitfield_size });
        }
        Ok(v)
    };
    let enum_size = |size: u32| -> Result<u32, BtfError> {
        match size {
            1 | 2 | 4 | 8 => Ok(size),
            // `enum E;`: clang writes a forward-declared enum with no values and size 0
            0 if vlen == 0 => Ok(size),
            _ => Err(invalid(id, format!("enum size {size}"))),
        }
    };
    Ok(match kind {
        Kind::Void => unreachable_void(id)?,
        Kind::Int => {
            let data = t.u32()?;
            let (encoding, offset, bits) = (data >> 24 & 0xf, data >> 16 & 0xff, data & 0xff);
            if data & 0xf000_0000 != 0 || bits > 128 || !matches!(size_or_type, 1 | 2 | 4 | 8 | 16) {
                return Err(invalid(id, format!("int data {data:#x} size {size_or_type}")));
            }
            if offset + bits > size_or_type * 8 {
                return Err(invalid(id, format!("int bits {offset}+{bits} past {size_or_type} bytes")));
            }
            let encoding = match encoding {
                0 => IntEncoding::None,
                1 => IntEncoding::Signed,
                2 => IntEncoding::Char,
                4 => IntEncoding::Bool,
                e => return Err(invalid(id, format!("int encoding {e:#x}"))),
            };
            BtfType::Int { name: name()?, size: size_or_type, encoding, offset, bits }
        }
        Kind::Ptr => {
            anonymous()?;
            BtfType::Ptr { type_id: size_or_type }
        }
        Kind::Array => {
            anonymous()?;
            BtfType::Array { elem: t.u32()?, index: t.u32()?, nelems: t.u32()? }
        }
        Kind::Struct => {
            BtfType::Struct { name: name()?, size: size_or_type, members: members(t)?, kind_flag }
        }
        Kind::Union => BtfType::Union { name: name()?, size: size_or_type, members: members(t)?, kind_flag },
        Kind::Enum => BtfType::Enum {
            name: name()?,
            size: enum_size(size_or_type)?,
            signed: kind_flag,
            values: (0..vlen)
                .map(|_| Ok(EnumValue { name: strs(t.u32()?)?, value: t.u32()? as i32 as i64 }))
                .collect::<Result<_, BtfError>>()?,
        },
        Kind::Enum64 => BtfType::Enum64 {
            name: name()?,
            size: enum_size(size_or_type)?,
            signed: kind_flag,
            values: (0..vlen)
                .map(|_| {
                    let name = strs(t.u32()?)?;
                    let (lo, hi) = (t.u32()? as u64, t.u32()? as u64);
                    Ok(EnumValue { name, value: (hi << 32 | lo) as i64 })
                })
                .collect::<Result<_, BtfError>>()?,
        },
        Kind::Fwd => BtfType::Fwd { name: name()?, union: kind_flag },
        Kind::Typedef => BtfType::Typedef { name: name()?, type_id: size_or_type },
        Kind::Volatile | Kind::Const | Kind::Restrict => {
            anonymous()?;
            let type_id = size_or_type;
            match kind {
                Kind::Volatile => BtfType::Volatile { type_id },
                Kind::Const => BtfType::Const { type_id },
                _ => BtfType::Restrict { type_id },
            }
        }
        Kind::Func => BtfType::Func {
            name: name()?,
            proto: size_or_type,
            linkage: match vlen {
                0 => Linkage::Static,
                1 => Linkage::Global,
                2 => Linkage::Extern,
                l => return Err(invalid(id, format!("func linkage {l}"))),
            },
        },
        Kind::FuncProto => {
            anonymous()?;
            let mut params = Vec::with_capacity(vlen.min(64) as usize);
            let mut variadic = false;
            for i in 0..vlen {
                let (name_off, type_id) = (t.u32()?, t.u32()?);
                if type_id == 0 {
                    // `...`: only as the last, unnamed parameter
                    if i + 1 != vlen || name_off != 0 {
                        return Err(invalid(id, format!("void parameter {i}")));
                    }
                    variadic = true;
                    continue;
                }
                params.push(Member { name: strs(name_off)?, type_id, offset: 0, bitfield_size: 0 });
            }
            BtfType::FuncProto { ret: size_or_type, params, variadic }
        }
        Kind::Var => BtfType::Var {
            name: name()?,
            type_id: size_or_type,
            linkage: match t.u32()? {
                0 => VarLinkage::Static,
                1 => VarLinkage::Global,
                2 => VarLinkage::Extern,
                l => return Err(invalid(id, format!("var linkage {l}"))),
            },
        },
        Kind::DataSec => BtfType::DataSec {
            name: name()?,
            size: size_or_type,
            vars: (0..vlen).map(|_| Ok((t.u32()?, t.u32()?, t.u32()?))).collect::<Result<_, BtfError>>()?,
        },
        Kind::Float => {
            if !matches!(size_or_type, 2 | 4 | 8 | 12 | 16) {
                return Err(invalid(id, format!("float size {size_or_type}")));
            }
            BtfType::Float { name: name()?, size: size_or_type }
        }
        Kind::DeclTag => {
            let component = t.u32()? as i32;
            if component < -1 {
                return Err(invalid(id, format!("decl_tag component {component}")));
            }
            BtfType::DeclTag { name: name()?, type_id: size_or_type, component, attr: kind_flag }
        }
        Kind::TypeTag => BtfType::TypeTag { name: name()?, type_id: size_or_type, attr: kind_flag },
    })
}

fn unreachable_void(id: u32) -> Result<BtfType, BtfError> {
    Err(BtfError::Kind { id, kind: 0 })
}

/// Second pass, once every id is known: references in range and of the right kind.
pub(super) fn check_refs(
    ty: &BtfType,
    id: u32,
    max_id: u32,
    kind_of: &dyn Fn(u32) -> Option<Kind>,
) -> Result<(), BtfError> {
    let in_range = |r: u32| -> Result<(), BtfError> {
        if r >= max_id {
            return Err(BtfError::TypeId { id, target: r });
        }
        Ok(())
    };
    if let Some(r) = ty.ref_type() {
        in_range(r)?;
    }
    match ty {
        BtfType::Array { elem, index, .. } => {
            in_range(*elem)?;
            in_range(*index)?;
        }
        BtfType::Struct { members, .. } | BtfType::Union { members, .. } => {
            for m in members {
                in_range(m.type_id)?;
            }
        }
        BtfType::FuncProto { ret, params, .. } => {
            in_range(*ret)?;
            for p in params {
                in_range(p.type_id)?;
            }
        }
        BtfType::Func { proto, .. } if kind_of(*proto) != Some(Kind::FuncProto) => {
            return Err(invalid(id, format!("func's type {proto} is not a func_proto")));
        }
        BtfType::DataSec { vars, .. } => {
            for &(v, ..) in vars {
                in_range(v)?;
                if !matches!(kind_of(v), Some(Kind::Var | Kind::Func)) {
                    return Err(invalid(id, format!("datasec entry {v} is not a var")));
                }
            }
        }
        _ => {}
    }
    Ok(())
}
