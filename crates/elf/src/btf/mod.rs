//! BTF: the type information of `.BTF` sections, `/sys/kernel/btf/vmlinux` and module BTF.
//!
//! Owns the BTF model ([`BtfType`], every kind of Linux 6.18), parsing with the kernel's and
//! libbpf's structural checks (typed [`BtfError`]s, never a panic), split BTF on a base (module
//! BTF whose ids continue after vmlinux), name lookups built once, `.BTF.ext` ([`ext`]) and the
//! target BTF a program is relocated against ([`TargetBtf`]), and BTF as a C header
//! ([`dump_c`], the `vmlinux.h` bpftool generates).
//!
//! Free of ELF types: usable on its own (the verifier will read BTF through it).

mod build;
mod c_dump;
pub mod ext;
mod parse;
mod target;
mod types;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use thiserror::Error;

use crate::reader::Truncated;

pub use build::BtfBuilder;
pub use c_dump::{CDumpError, dump_c};
pub use ext::{BtfExt, CoreRelo, CoreReloKind, ExtError, FuncInfo, LineInfo, parse_func_info};
pub use parse::{MAX_NAME_OFFSET, MAX_TYPE};
pub use target::{KERNEL_BTF_DIR_ENV, SYS_KERNEL_BTF, TargetBtf, TargetError};
pub use types::{BtfType, EnumValue, IntEncoding, Kind, Linkage, Member, VarLinkage};

const MAGIC: u16 = 0xeb9f;

/// A malformed BTF blob.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BtfError {
    /// Bad magic number.
    #[error("BTF: bad magic {0:#06x}")]
    Magic(u16),
    /// Byte-swapped magic: big-endian BTF.
    #[error("BTF: big-endian BTF is not supported")]
    BigEndian,
    /// Unsupported version.
    #[error("BTF: unsupported version {0}")]
    Version(u8),
    /// Unsupported flags.
    #[error("BTF: unsupported flags {0:#x}")]
    Flags(u8),
    /// A header field out of range.
    #[error("BTF: bad header: {0}")]
    Header(String),
    /// A malformed string section.
    #[error("BTF: invalid string section: {0}")]
    StrSection(String),
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
    /// A reference to a type id that does not exist.
    #[error("BTF: type id {id} refers to type id {target}, out of range")]
    TypeId {
        /// Referring type.
        id: u32,
        /// The id it names.
        target: u32,
    },
    /// A type record the kernel would refuse.
    #[error("BTF: type id {id}: {what}")]
    Invalid {
        /// Type id.
        id: u32,
        /// What is wrong.
        what: String,
    },
    /// A malformed `.BTF.ext`.
    #[error("{0}")]
    Ext(#[from] ExtError),
    /// More than `BTF_MAX_TYPE` types.
    #[error("BTF: more than {MAX_TYPE} types")]
    TooManyTypes,
}

/// A parsed BTF blob; index by type id (0 is `void`). Split BTF keeps its base and continues
/// its ids and string offsets.
#[derive(Clone, Debug, Default)]
pub struct Btf {
    base: Option<Arc<Btf>>,
    /// First id of `types` (0 for a base BTF, whose `types[0]` is `void`).
    start_id: u32,
    types: Vec<BtfType>,
    strs: Vec<u8>,
    /// Own ids by name, built on first use.
    names: OnceLock<HashMap<String, Vec<u32>>>,
    /// Own ids by flavor-less name (CO-RE candidates), built on first use.
    essential: OnceLock<HashMap<String, Vec<u32>>>,
}

impl Btf {
    /// Parses a little-endian BTF blob.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        Btf::parse_inner(data, None)
    }

    /// Parses split BTF (a module's `/sys/kernel/btf/<module>`) on top of `base`.
    pub fn parse_split(data: &[u8], base: Arc<Btf>) -> Result<Btf, BtfError> {
        Btf::parse_inner(data, Some(base))
    }

    fn parse_inner(data: &[u8], base: Option<Arc<Btf>>) -> Result<Btf, BtfError> {
        let secs = parse::header(data, base.is_some())?;
        let base_strs = base.as_ref().map_or(0, |b| b.total_str_len());
        let start_id = base.as_ref().map_or(0, |b| b.len() as u32);
        let name = |off: u32| -> Result<String, BtfError> {
            match (&base, (off as usize).checked_sub(base_strs)) {
                (Some(b), None) => b.string_at(off),
                (_, Some(own)) => cstr(secs.strs, own).ok_or(BtfError::Str(off)),
                (None, None) => Err(BtfError::Str(off)),
            }
        };
        let first = if base.is_some() { start_id } else { 1 };
        let mut types = if base.is_some() { Vec::new() } else { vec![BtfType::Void] };
        types.extend(parse::types(secs.types, first, &name)?);
        let btf = Btf {
            base,
            start_id,
            types,
            strs: secs.strs.to_vec(),
            names: OnceLock::new(),
            essential: OnceLock::new(),
        };
        let max = btf.len() as u32;
        let kind_of = |id: u32| btf.get(id).map(BtfType::kind);
        for (i, t) in btf.types.iter().enumerate() {
            parse::check_refs(t, btf.start_id + i as u32, max, &kind_of)?;
        }
        Ok(btf)
    }

    /// Type by id (base ids included for split BTF).
    pub fn get(&self, id: u32) -> Option<&BtfType> {
        match id.checked_sub(self.start_id) {
            Some(own) => self.types.get(own as usize),
            None => self.base.as_ref()?.get(id),
        }
    }

    /// Number of type ids (including `void` and, for split BTF, the base's).
    pub fn len(&self) -> usize {
        self.start_id as usize + self.types.len()
    }

    /// Whether only `void` is present.
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    /// The base of split BTF.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// The ids this blob defines itself (all of them for a base BTF).
    pub fn own_ids(&self) -> std::ops::Range<u32> {
        self.start_id..self.len() as u32
    }

    /// Iterator of `(id, type)` over every id, base first.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &BtfType)> {
        (0..self.len() as u32).filter_map(|id| Some((id, self.get(id)?)))
    }

    /// The raw string section of this blob (without the base's).
    pub fn strings(&self) -> &[u8] {
        &self.strs
    }

    fn total_str_len(&self) -> usize {
        self.base.as_ref().map_or(0, |b| b.total_str_len()) + self.strs.len()
    }

    /// The string at `off` (offsets continue after the base's strings in split BTF).
    pub fn string_at(&self, off: u32) -> Result<String, BtfError> {
        let base_len = self.base.as_ref().map_or(0, |b| b.total_str_len());
        match (off as usize).checked_sub(base_len) {
            Some(own) => cstr(&self.strs, own).ok_or(BtfError::Str(off)),
            None => self.base.as_ref().ok_or(BtfError::Str(off))?.string_at(off),
        }
    }

    fn names(&self) -> &HashMap<String, Vec<u32>> {
        self.names.get_or_init(|| {
            let mut m: HashMap<String, Vec<u32>> = HashMap::new();
            for id in self.own_ids() {
                let Some(t) = self.get(id) else { continue };
                if !t.name().is_empty() {
                    m.entry(t.name().to_string()).or_default().push(id);
                }
            }
            m
        })
    }

    /// The ids this blob defines whose name without its `___flavor` suffix is `essential`,
    /// ascending (the candidates of a CO-RE relocation; the base's are not included).
    pub fn own_ids_by_essential_name(&self, essential: &str) -> &[u32] {
        let index = self.essential.get_or_init(|| {
            let mut m: HashMap<String, Vec<u32>> = HashMap::new();
            for id in self.own_ids() {
                let Some(t) = self.get(id) else { continue };
                if !t.name().is_empty() {
                    m.entry(crate::core::essential_name(t.name()).to_string()).or_default().push(id);
                }
            }
            m
        });
        index.get(essential).map_or(&[], Vec::as_slice)
    }

    /// Every id named `name`, base ids first, ascending.
    pub fn ids_by_name(&self, name: &str) -> Vec<u32> {
        let mut ids = self.base.as_ref().map_or_else(Vec::new, |b| b.ids_by_name(name));
        ids.extend(self.names().get(name).into_iter().flatten());
        ids
    }

    /// The ids named `name` of kind `kind`.
    pub fn ids_by_name_kind(&self, name: &str, kind: Kind) -> Vec<u32> {
        self.ids_by_name(name)
            .into_iter()
            .filter(|&id| self.get(id).map(BtfType::kind) == Some(kind))
            .collect()
    }

    /// The first id named `name` of kind `kind` (libbpf's `btf__find_by_name_kind`).
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<u32> {
        self.ids_by_name_kind(name, kind).into_iter().next()
    }

    /// Skips typedefs and qualifiers (const, volatile, restrict, type tags).
    pub fn resolve(&self, mut id: u32) -> Option<(u32, &BtfType)> {
        // the kernel bounds modifier chains too (MAX_RESOLVE_DEPTH); a loop is an error
        for _ in 0..32 {
            match self.get(id)? {
                t @ (BtfType::Typedef { .. }
                | BtfType::Volatile { .. }
                | BtfType::Const { .. }
                | BtfType::Restrict { .. }
                | BtfType::TypeTag { .. }) => id = t.ref_type()?,
                t => return Some((id, t)),
            }
        }
        None
    }

    /// Skips qualifiers only (not typedefs).
    pub fn skip_modifiers(&self, mut id: u32) -> Option<(u32, &BtfType)> {
        for _ in 0..32 {
            match self.get(id)? {
                t if t.is_modifier() => id = t.ref_type()?,
                t => return Some((id, t)),
            }
        }
        None
    }

    /// Size in bytes of a type, if it has one (libbpf's `btf__resolve_size`).
    pub fn size_of(&self, id: u32) -> Option<u64> {
        let mut id = id;
        let mut mult = 1u64;
        for _ in 0..32 {
            let size = match self.get(id)? {
                BtfType::Int { size, .. }
                | BtfType::Struct { size, .. }
                | BtfType::Union { size, .. }
                | BtfType::Enum { size, .. }
                | BtfType::Enum64 { size, .. }
                | BtfType::Float { size, .. }
                | BtfType::DataSec { size, .. } => *size as u64,
                BtfType::Ptr { .. } => 8,
                BtfType::Array { elem, nelems, .. } => {
                    mult = mult.checked_mul(*nelems as u64)?;
                    id = *elem;
                    continue;
                }
                t @ (BtfType::Typedef { .. }
                | BtfType::Volatile { .. }
                | BtfType::Const { .. }
                | BtfType::Restrict { .. }
                | BtfType::TypeTag { .. }
                | BtfType::Var { .. }
                | BtfType::DeclTag { .. }) => {
                    id = t.ref_type()?;
                    continue;
                }
                _ => return None,
            };
            return size.checked_mul(mult);
        }
        None
    }

    /// The `FUNC` named `name`, with its id.
    pub fn func_by_name(&self, name: &str) -> Option<(u32, &BtfType)> {
        let id = self.find_by_name_kind(name, Kind::Func)?;
        Some((id, self.get(id)?))
    }

    /// Parameters of the prototype of `FUNC` id `func`.
    pub fn func_params(&self, func: u32) -> Option<&[Member]> {
        let BtfType::Func { proto, .. } = self.get(func)? else { return None };
        match self.get(*proto)? {
            BtfType::FuncProto { params, .. } => Some(params),
            _ => None,
        }
    }

    /// Members of the struct or union `id` (after typedefs and qualifiers), with bit offsets.
    pub fn members(&self, id: u32) -> Option<&[Member]> {
        self.resolve(id)?.1.members()
    }
}

fn cstr(strs: &[u8], off: usize) -> Option<String> {
    let rest = strs.get(off..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// The string section of a BTF blob (for [`parse_func_info`]).
pub fn strings(data: &[u8]) -> Result<&[u8], BtfError> {
    Ok(parse::header(data, false)?.strs)
}
