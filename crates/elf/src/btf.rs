//! BTF: the type information of `.BTF` sections and `/sys/kernel/btf/vmlinux`.
//!
//! Only what kbpf needs is interpreted (functions and their prototypes, sizes of types, struct
//! members for BTF-defined maps); every kind is still parsed so that type ids line up.

use thiserror::Error;

use crate::reader::{Reader, Truncated};

const MAGIC: u16 = 0xeb9f;

/// A malformed BTF blob.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BtfError {
    /// Bad magic number.
    #[error("BTF: bad magic {0:#06x}")]
    Magic(u16),
    /// A section or record runs past the end.
    #[error("BTF: {0}")]
    Truncated(#[from] Truncated),
    /// Unknown type kind.
    #[error("BTF: type id {id} has unknown kind {kind}")]
    Kind {
        /// Type id.
        id: u32,
        /// Kind number.
        kind: u32,
    },
    /// A string offset outside the string section.
    #[error("BTF: string offset {0} out of range")]
    Str(u32),
}

/// Linkage of a `FUNC` (its `vlen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// `static`.
    Static,
    /// Global (verified on its own by the kernel).
    Global,
    /// `extern`.
    Extern,
}

/// A member of a struct or union, or a parameter of a prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Name (may be empty).
    pub name: String,
    /// Type id.
    pub type_id: u32,
    /// Bit offset (members only; 0 for parameters).
    pub offset: u32,
}

/// One BTF type, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BtfType {
    Void,
    Int { name: String, size: u32, encoding: u32 },
    Ptr { type_id: u32 },
    Array { elem: u32, index: u32, nelems: u32 },
    Struct { name: String, size: u32, members: Vec<Member> },
    Union { name: String, size: u32, members: Vec<Member> },
    Enum { name: String, size: u32, values: Vec<(String, i64)> },
    Fwd { name: String },
    Typedef { name: String, type_id: u32 },
    Volatile { type_id: u32 },
    Const { type_id: u32 },
    Restrict { type_id: u32 },
    Func { name: String, proto: u32, linkage: Linkage },
    FuncProto { ret: u32, params: Vec<Member> },
    Var { name: String, type_id: u32, linkage: u32 },
    DataSec { name: String, size: u32, vars: Vec<(u32, u32, u32)> },
    Float { name: String, size: u32 },
    DeclTag { name: String, type_id: u32, component: i32 },
    TypeTag { name: String, type_id: u32 },
}

/// A parsed BTF blob; index by type id (0 is `void`).
#[derive(Clone, Debug, Default)]
pub struct Btf {
    types: Vec<BtfType>,
}

fn string(strs: &[u8], off: u32) -> Result<String, BtfError> {
    let rest = strs.get(off as usize..).ok_or(BtfError::Str(off))?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
}

impl Btf {
    /// Parses a little-endian BTF blob.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        let mut r = Reader::new(data);
        let magic = r.u16()?;
        if magic != MAGIC {
            return Err(BtfError::Magic(magic));
        }
        let _version = r.u8()?;
        let _flags = r.u8()?;
        let hdr_len = r.u32()? as usize;
        let type_off = r.u32()? as usize;
        let type_len = r.u32()? as usize;
        let str_off = r.u32()? as usize;
        let str_len = r.u32()? as usize;
        let types = Reader::new(data).slice(hdr_len + type_off, type_len)?;
        let strs = Reader::new(data).slice(hdr_len + str_off, str_len)?;
        let mut out = vec![BtfType::Void];
        let mut t = Reader::new(types);
        while !t.is_empty() {
            let id = out.len() as u32;
            out.push(parse_type(&mut t, strs, id)?);
        }
        Ok(Btf { types: out })
    }

    /// Type by id.
    pub fn get(&self, id: u32) -> Option<&BtfType> {
        self.types.get(id as usize)
    }

    /// Number of type ids (including `void`).
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether only `void` is present.
    pub fn is_empty(&self) -> bool {
        self.types.len() <= 1
    }

    /// Iterator of `(id, type)`.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &BtfType)> {
        self.types.iter().enumerate().map(|(i, t)| (i as u32, t))
    }

    /// Skips typedefs and qualifiers.
    pub fn resolve(&self, mut id: u32) -> Option<(u32, &BtfType)> {
        for _ in 0..32 {
            match self.get(id)? {
                BtfType::Typedef { type_id, .. }
                | BtfType::Volatile { type_id }
                | BtfType::Const { type_id }
                | BtfType::Restrict { type_id }
                | BtfType::TypeTag { type_id, .. } => id = *type_id,
                t => return Some((id, t)),
            }
        }
        None
    }

    /// Size in bytes of a type, if it has one.
    pub fn size_of(&self, id: u32) -> Option<u64> {
        let (_, t) = self.resolve(id)?;
        Some(match t {
            BtfType::Int { size, .. }
            | BtfType::Struct { size, .. }
            | BtfType::Union { size, .. }
            | BtfType::Enum { size, .. }
            | BtfType::Float { size, .. }
            | BtfType::DataSec { size, .. } => *size as u64,
            BtfType::Ptr { .. } => 8,
            BtfType::Array { elem, nelems, .. } => self.size_of(*elem)? * *nelems as u64,
            _ => return None,
        })
    }

    /// The `FUNC` named `name`, with its id.
    pub fn func_by_name(&self, name: &str) -> Option<(u32, &BtfType)> {
        self.iter().find(|(_, t)| matches!(t, BtfType::Func { name: n, .. } if n == name))
    }

    /// Parameters of the prototype of `FUNC` id `func`.
    pub fn func_params(&self, func: u32) -> Option<&[Member]> {
        let BtfType::Func { proto, .. } = self.get(func)? else { return None };
        match self.get(*proto)? {
            BtfType::FuncProto { params, .. } => Some(params),
            _ => None,
        }
    }
}

fn parse_type(t: &mut Reader<'_>, strs: &[u8], id: u32) -> Result<BtfType, BtfError> {
    let name_off = t.u32()?;
    let info = t.u32()?;
    let size_or_type = t.u32()?;
    let vlen = info & 0xffff;
    let kind = (info >> 24) & 0x1f;
    let name = || string(strs, name_off);
    let members = |t: &mut Reader<'_>| -> Result<Vec<Member>, BtfError> {
        (0..vlen)
            .map(|_| Ok(Member { name: string(strs, t.u32()?)?, type_id: t.u32()?, offset: t.u32()? }))
            .collect()
    };
    Ok(match kind {
        1 => BtfType::Int { name: name()?, size: size_or_type, encoding: t.u32()? },
        2 => BtfType::Ptr { type_id: size_or_type },
        3 => BtfType::Array { elem: t.u32()?, index: t.u32()?, nelems: t.u32()? },
        4 => BtfType::Struct { name: name()?, size: size_or_type, members: members(t)? },
        5 => BtfType::Union { name: name()?, size: size_or_type, members: members(t)? },
        6 => BtfType::Enum {
            name: name()?,
            size: size_or_type,
            values: (0..vlen)
                .map(|_| Ok((string(strs, t.u32()?)?, t.u32()? as i32 as i64)))
                .collect::<Result<_, BtfError>>()?,
        },
        7 => BtfType::Fwd { name: name()? },
        8 => BtfType::Typedef { name: name()?, type_id: size_or_type },
        9 => BtfType::Volatile { type_id: size_or_type },
        10 => BtfType::Const { type_id: size_or_type },
        11 => BtfType::Restrict { type_id: size_or_type },
        12 => BtfType::Func {
            name: name()?,
            proto: size_or_type,
            linkage: match vlen {
                0 => Linkage::Static,
                1 => Linkage::Global,
                _ => Linkage::Extern,
            },
        },
        13 => BtfType::FuncProto {
            ret: size_or_type,
            params: (0..vlen)
                .map(|_| Ok(Member { name: string(strs, t.u32()?)?, type_id: t.u32()?, offset: 0 }))
                .collect::<Result<_, BtfError>>()?,
        },
        14 => BtfType::Var { name: name()?, type_id: size_or_type, linkage: t.u32()? },
        15 => BtfType::DataSec {
            name: name()?,
            size: size_or_type,
            vars: (0..vlen).map(|_| Ok((t.u32()?, t.u32()?, t.u32()?))).collect::<Result<_, BtfError>>()?,
        },
        16 => BtfType::Float { name: name()?, size: size_or_type },
        17 => BtfType::DeclTag { name: name()?, type_id: size_or_type, component: t.u32()? as i32 },
        18 => BtfType::TypeTag { name: name()?, type_id: size_or_type },
        19 => BtfType::Enum {
            name: name()?,
            size: size_or_type,
            values: (0..vlen)
                .map(|_| {
                    let n = string(strs, t.u32()?)?;
                    let lo = t.u32()? as u64;
                    let hi = t.u32()? as u64;
                    Ok((n, (hi << 32 | lo) as i64))
                })
                .collect::<Result<_, BtfError>>()?,
        },
        _ => return Err(BtfError::Kind { id, kind }),
    })
}

/// One `func_info` record of `.BTF.ext`: a function starting at `insn` (slot index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    /// Section the record belongs to.
    pub section: String,
    /// Slot index inside the section.
    pub insn: u32,
    /// `FUNC` type id.
    pub type_id: u32,
}

/// Parses the `func_info` part of a `.BTF.ext` blob (strings come from the matching `.BTF`).
pub fn parse_func_info(ext: &[u8], btf_strings: &[u8]) -> Result<Vec<FuncInfo>, BtfError> {
    let mut r = Reader::new(ext);
    let magic = r.u16()?;
    if magic != MAGIC {
        return Err(BtfError::Magic(magic));
    }
    r.u8()?;
    r.u8()?;
    let hdr_len = r.u32()? as usize;
    let fi_off = r.u32()? as usize;
    let fi_len = r.u32()? as usize;
    if fi_len == 0 {
        return Ok(Vec::new());
    }
    let mut f = Reader::new(Reader::new(ext).slice(hdr_len + fi_off, fi_len)?);
    let rec_size = f.u32()? as usize;
    let mut out = Vec::new();
    while !f.is_empty() {
        let section = string(btf_strings, f.u32()?)?;
        let n = f.u32()?;
        for _ in 0..n {
            let mut rec = Reader::new(f.take(rec_size.max(8))?);
            out.push(FuncInfo { section: section.clone(), insn: rec.u32()? / 8, type_id: rec.u32()? });
        }
    }
    Ok(out)
}

/// The string section of a BTF blob (for [`parse_func_info`]).
pub fn strings(data: &[u8]) -> Result<&[u8], BtfError> {
    let mut r = Reader::new(data);
    let magic = r.u16()?;
    if magic != MAGIC {
        return Err(BtfError::Magic(magic));
    }
    r.u8()?;
    r.u8()?;
    let hdr_len = r.u32()? as usize;
    let _type_off = r.u32()?;
    let _type_len = r.u32()?;
    let str_off = r.u32()? as usize;
    let str_len = r.u32()? as usize;
    Ok(Reader::new(data).slice(hdr_len + str_off, str_len)?)
}
