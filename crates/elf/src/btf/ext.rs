//! `.BTF.ext`: func_info, line_info and CO-RE relocation records, per ELF section, with the
//! checks libbpf makes (`btf_ext_parse_hdr`, `btf_ext_setup_info`): record sizes at least the
//! known record and 4-byte aligned, counts that fit, section names that are strings of `.BTF`.
//!
//! Instruction offsets are bytes in the file; records carry them as slot indices (`insn`).

use thiserror::Error;

use super::{Btf, MAGIC};
use crate::reader::{Reader, Truncated};

/// A malformed `.BTF.ext`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ExtError {
    /// Bad magic number.
    #[error(".BTF.ext: bad magic {0:#06x}")]
    Magic(u16),
    /// Unsupported version or flags.
    #[error(".BTF.ext: unsupported version {version} flags {flags:#x}")]
    Version {
        /// Version byte.
        version: u8,
        /// Flags byte.
        flags: u8,
    },
    /// Header or a sub-section out of range.
    #[error(".BTF.ext: {0}")]
    Header(String),
    /// Data runs past the end.
    #[error(".BTF.ext: {0}")]
    Truncated(#[from] Truncated),
    /// A record size below the known record or unaligned.
    #[error(".BTF.ext {part}: incorrect record size {size}")]
    RecordSize {
        /// `func_info`, `line_info` or `core_relo`.
        part: &'static str,
        /// The size the file claims.
        size: u32,
    },
    /// A block header that does not fit, or has no records.
    #[error(".BTF.ext {part}: incorrect section info at byte {at}: {what}")]
    SecInfo {
        /// `func_info`, `line_info` or `core_relo`.
        part: &'static str,
        /// Offset inside the part.
        at: usize,
        /// What is wrong.
        what: String,
    },
    /// A string offset outside `.BTF`'s strings.
    #[error(".BTF.ext {part}: string offset {off} out of range")]
    Str {
        /// Part.
        part: &'static str,
        /// Offset.
        off: u32,
    },
    /// An instruction offset that is not a multiple of 8.
    #[error(".BTF.ext {part}: section {section}: insn_off {off} is not a multiple of 8")]
    InsnOff {
        /// Part.
        part: &'static str,
        /// ELF section.
        section: String,
        /// Byte offset.
        off: u32,
    },
    /// Unknown CO-RE relocation kind.
    #[error(".BTF.ext core_relo: section {section}: insn {insn}: unknown relocation kind {kind}")]
    CoreKind {
        /// ELF section.
        section: String,
        /// Slot index.
        insn: u32,
        /// Kind number.
        kind: u32,
    },
}

/// One `func_info` record: a function starting at `insn` (slot index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    /// Section the record belongs to.
    pub section: String,
    /// Slot index inside the section.
    pub insn: u32,
    /// `FUNC` type id.
    pub type_id: u32,
}

/// One `line_info` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// Section the record belongs to.
    pub section: String,
    /// Slot index inside the section.
    pub insn: u32,
    /// `file_name_off` into `.BTF` strings, and its text.
    pub file_name_off: u32,
    /// The file name.
    pub file: String,
    /// `line_off` into `.BTF` strings.
    pub line_off: u32,
    /// The source line's text.
    pub line: String,
    /// `BPF_LINE_INFO_LINE_NUM(line_col)`: the upper 22 bits.
    pub line_num: u32,
    /// `BPF_LINE_INFO_LINE_COL(line_col)`: the low 10 bits.
    pub column: u32,
}

/// `enum bpf_core_relo_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum CoreReloKind {
    FieldByteOffset,
    FieldByteSize,
    FieldExists,
    FieldSigned,
    FieldLshiftU64,
    FieldRshiftU64,
    TypeIdLocal,
    TypeIdTarget,
    TypeExists,
    TypeSize,
    EnumvalExists,
    EnumvalValue,
    TypeMatches,
}

impl CoreReloKind {
    /// From the record's number.
    pub fn from_u32(n: u32) -> Option<CoreReloKind> {
        use CoreReloKind::*;
        const ALL: [CoreReloKind; 13] = [
            FieldByteOffset,
            FieldByteSize,
            FieldExists,
            FieldSigned,
            FieldLshiftU64,
            FieldRshiftU64,
            TypeIdLocal,
            TypeIdTarget,
            TypeExists,
            TypeSize,
            EnumvalExists,
            EnumvalValue,
            TypeMatches,
        ];
        ALL.get(n as usize).copied()
    }

    /// libbpf's name in relocation logs (`core_relo_kind_str`).
    pub fn name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeMatches => "type_matches",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
        }
    }

    /// A field-based relocation (its spec walks members and array elements).
    pub fn is_field(self) -> bool {
        (self as u8) <= CoreReloKind::FieldRshiftU64 as u8
    }

    /// A type-based relocation.
    pub fn is_type(self) -> bool {
        matches!(
            self,
            CoreReloKind::TypeIdLocal
                | CoreReloKind::TypeIdTarget
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeMatches
                | CoreReloKind::TypeSize
        )
    }

    /// An enumerator-based relocation.
    pub fn is_enumval(self) -> bool {
        matches!(self, CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue)
    }
}

/// One `bpf_core_relo` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRelo {
    /// Section the record belongs to.
    pub section: String,
    /// Slot index inside the section.
    pub insn: u32,
    /// Local (program BTF) root type id.
    pub type_id: u32,
    /// The access string (`"0:1:2"`).
    pub access: String,
    /// Relocation kind.
    pub kind: CoreReloKind,
}

/// A parsed `.BTF.ext`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfExt {
    /// Every func_info record, in file order.
    pub func_info: Vec<FuncInfo>,
    /// Every line_info record, in file order.
    pub line_info: Vec<LineInfo>,
    /// Every CO-RE relocation, in file order.
    pub core_relos: Vec<CoreRelo>,
}

type StrAt<'a> = &'a dyn Fn(u32) -> Option<String>;

impl BtfExt {
    /// Parses `.BTF.ext` whose strings live in `btf`.
    pub fn parse(ext: &[u8], btf: &Btf) -> Result<BtfExt, ExtError> {
        BtfExt::parse_with(ext, &|off| btf.string_at(off).ok())
    }

    fn parse_with(ext: &[u8], str_at: StrAt<'_>) -> Result<BtfExt, ExtError> {
        let parts = header(ext)?;
        let mut out = BtfExt::default();
        blocks(parts[0], "func_info", 8, str_at, &mut |sec, rec| {
            let insn = insn_of("func_info", sec, rec.u32()?)?;
            out.func_info.push(FuncInfo { section: sec.to_string(), insn, type_id: rec.u32()? });
            Ok(())
        })?;
        blocks(parts[1], "line_info", 16, str_at, &mut |sec, rec| {
            let insn = insn_of("line_info", sec, rec.u32()?)?;
            let (file_name_off, line_off, line_col) = (rec.u32()?, rec.u32()?, rec.u32()?);
            let s = |off| str_at(off).ok_or(ExtError::Str { part: "line_info", off });
            out.line_info.push(LineInfo {
                section: sec.to_string(),
                insn,
                file_name_off,
                file: s(file_name_off)?,
                line_off,
                line: s(line_off)?,
                line_num: line_col >> 10,
                column: line_col & 0x3ff,
            });
            Ok(())
        })?;
        blocks(parts[2], "core_relo", 16, str_at, &mut |sec, rec| {
            let insn = insn_of("core_relo", sec, rec.u32()?)?;
            let (type_id, access_off, kind) = (rec.u32()?, rec.u32()?, rec.u32()?);
            let access = str_at(access_off).ok_or(ExtError::Str { part: "core_relo", off: access_off })?;
            let kind = CoreReloKind::from_u32(kind).ok_or_else(|| ExtError::CoreKind {
                section: sec.to_string(),
                insn,
                kind,
            })?;
            out.core_relos.push(CoreRelo { section: sec.to_string(), insn, type_id, access, kind });
            Ok(())
        })?;
        Ok(out)
    }

    /// The func_info records of ELF section `section`.
    pub fn func_info_of<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a FuncInfo> + 'a {
        self.func_info.iter().filter(move |r| r.section == section)
    }

    /// The line_info records of ELF section `section`.
    pub fn line_info_of<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a LineInfo> + 'a {
        self.line_info.iter().filter(move |r| r.section == section)
    }

    /// The CO-RE relocations of ELF section `section`.
    pub fn core_relos_of<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a CoreRelo> + 'a {
        self.core_relos.iter().filter(move |r| r.section == section)
    }
}

fn insn_of(part: &'static str, section: &str, off: u32) -> Result<u32, ExtError> {
    if !off.is_multiple_of(8) {
        return Err(ExtError::InsnOff { part, section: section.to_string(), off });
    }
    Ok(off / 8)
}

/// The three parts (func_info, line_info, core_relo), empty when absent.
fn header(ext: &[u8]) -> Result<[&[u8]; 3], ExtError> {
    let mut r = Reader::new(ext);
    let magic = r.u16()?;
    if magic != MAGIC {
        return Err(ExtError::Magic(magic));
    }
    let (version, flags) = (r.u8()?, r.u8()?);
    if version != 1 || flags != 0 {
        return Err(ExtError::Version { version, flags });
    }
    let hdr_len = r.u32()? as usize;
    // libbpf needs at least the func_info and line_info fields
    if hdr_len < 24 || hdr_len > ext.len() {
        return Err(ExtError::Header(format!("hdr_len {hdr_len} outside the {} bytes", ext.len())));
    }
    let body = &ext[hdr_len..];
    let hdr = &ext[..hdr_len];
    let mut parts: [&[u8]; 3] = [&[], &[], &[]];
    for (i, name) in ["func_info", "line_info", "core_relo"].into_iter().enumerate() {
        // older producers end the header before core_relo: that part is then absent
        let at = 8 + i * 8;
        let Ok(f) = Reader::new(hdr).slice(at, 8) else { break };
        let off = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
        let len = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
        if len == 0 {
            continue;
        }
        if off % 4 != 0 {
            return Err(ExtError::Header(format!("{name} section is not aligned to 4 bytes")));
        }
        parts[i] = (off as usize)
            .checked_add(len as usize)
            .and_then(|end| body.get(off as usize..end))
            .ok_or_else(|| ExtError::Header(format!("{name} section {off}+{len} past the end")))?;
    }
    Ok(parts)
}

/// Walks `rec_size`, then blocks of `{sec_name_off, num_info, records}`.
fn blocks(
    data: &[u8],
    part: &'static str,
    min_rec: u32,
    str_at: StrAt<'_>,
    each: &mut dyn FnMut(&str, &mut Reader<'_>) -> Result<(), ExtError>,
) -> Result<(), ExtError> {
    if data.is_empty() {
        return Ok(());
    }
    let mut r = Reader::new(data);
    let rec_size = r.u32()?;
    if rec_size < min_rec || rec_size % 4 != 0 {
        return Err(ExtError::RecordSize { part, size: rec_size });
    }
    let mut at = 4;
    while at < data.len() {
        let sec_err = |what: String| ExtError::SecInfo { part, at, what };
        let hdr = Reader::new(data).slice(at, 8).map_err(|_| sec_err("block header truncated".into()))?;
        let name_off = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let n = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        let section = str_at(name_off).ok_or(ExtError::Str { part, off: name_off })?;
        if n == 0 {
            return Err(sec_err(format!("section {section} has no records")));
        }
        let total = (n as u64) * rec_size as u64;
        let recs =
            usize::try_from(total).ok().and_then(|t| Reader::new(data).slice(at + 8, t).ok()).ok_or_else(
                || sec_err(format!("section {section}: {n} records of {rec_size} bytes do not fit")),
            )?;
        for rec in recs.chunks_exact(rec_size as usize) {
            each(&section, &mut Reader::new(rec))?;
        }
        at += 8 + recs.len();
    }
    Ok(())
}

/// Parses the `func_info` part of a `.BTF.ext` blob (strings from the matching `.BTF`'s
/// string section, see [`super::strings`]).
pub fn parse_func_info(ext: &[u8], btf_strings: &[u8]) -> Result<Vec<FuncInfo>, super::BtfError> {
    let str_at = |off: u32| super::cstr(btf_strings, off as usize);
    Ok(BtfExt::parse_with(ext, &str_at)?.func_info)
}
