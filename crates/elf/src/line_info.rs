//! `.BTF.ext` line_info: which source line each instruction came from, as clang `-g` records
//! it, with the record's raw string offsets kept so that the same records can be handed to the
//! kernel (`BPF_PROG_LOAD` `line_info`) next to the object's `.BTF`.

use crate::btf::BtfError;
use crate::reader::Reader;

const MAGIC: u16 = 0xeb9f;

/// One `bpf_line_info` record of `.BTF.ext`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineRecord {
    /// Section the record belongs to.
    pub section: String,
    /// Slot index inside the section (the file stores a byte offset).
    pub insn: u32,
    /// Offset of the file name in the BTF string section.
    pub file_name_off: u32,
    /// Offset of the source line text in the BTF string section.
    pub line_off: u32,
    /// `line << 10 | column` (`BPF_LINE_INFO_LINE_NUM` / `_LINE_COL`).
    pub line_col: u32,
    /// The file name (as clang recorded it, with any directory).
    pub file: String,
    /// The source line text (leading whitespace included).
    pub line: String,
}

impl LineRecord {
    /// Line number (`line_col >> 10`).
    pub fn line_num(&self) -> u32 {
        self.line_col >> 10
    }

    /// Column (`line_col & 0x3ff`).
    pub fn column(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

fn string_at(strs: &[u8], off: u32) -> Result<String, BtfError> {
    let rest = strs.get(off as usize..).ok_or(BtfError::Str(off))?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// Parses the `line_info` part of a `.BTF.ext` blob (strings come from the matching `.BTF`).
/// A blob without a line_info part gives no records.
pub fn parse_line_info(ext: &[u8], btf_strings: &[u8]) -> Result<Vec<LineRecord>, BtfError> {
    let mut r = Reader::new(ext);
    let magic = r.u16()?;
    if magic != MAGIC {
        return Err(BtfError::Magic(magic));
    }
    r.u8()?;
    r.u8()?;
    let hdr_len = r.u32()? as usize;
    // func_info off/len, then line_info off/len
    r.u32()?;
    r.u32()?;
    if hdr_len < 24 {
        return Ok(Vec::new());
    }
    let li_off = r.u32()? as usize;
    let li_len = r.u32()? as usize;
    if li_len == 0 {
        return Ok(Vec::new());
    }
    let start = hdr_len.checked_add(li_off).ok_or(BtfError::Str(u32::MAX))?;
    let mut f = Reader::new(Reader::new(ext).slice(start, li_len)?);
    let rec_size = f.u32()? as usize;
    let mut out = Vec::new();
    while !f.is_empty() {
        let section = string_at(btf_strings, f.u32()?)?;
        let n = f.u32()?;
        for _ in 0..n {
            let mut rec = Reader::new(f.take(rec_size.max(16))?);
            let insn = rec.u32()? / 8;
            let file_name_off = rec.u32()?;
            let line_off = rec.u32()?;
            let line_col = rec.u32()?;
            out.push(LineRecord {
                section: section.clone(),
                insn,
                file_name_off,
                line_off,
                line_col,
                file: string_at(btf_strings, file_name_off)?,
                line: string_at(btf_strings, line_off)?,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext_with_lines(recs: &[[u32; 4]], sec_name_off: u32) -> Vec<u8> {
        let mut li = Vec::new();
        li.extend_from_slice(&16u32.to_le_bytes());
        li.extend_from_slice(&sec_name_off.to_le_bytes());
        li.extend_from_slice(&(recs.len() as u32).to_le_bytes());
        for r in recs {
            for w in r {
                li.extend_from_slice(&w.to_le_bytes());
            }
        }
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [32u32, 0, 0, 0, li.len() as u32, 0, 0] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&li);
        out
    }

    #[test]
    fn records_are_decoded_with_their_strings() {
        let strs = b"\0xdp\0/src/a.c\0  return 0;\0";
        let ext = ext_with_lines(&[[16, 5, 14, (7 << 10) | 3]], 1);
        let recs = parse_line_info(&ext, strs).expect("parses");
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!((r.section.as_str(), r.insn, r.line_num(), r.column()), ("xdp", 2, 7, 3));
        assert_eq!((r.file.as_str(), r.line.as_str()), ("/src/a.c", "  return 0;"));
    }

    #[test]
    fn hostile_offsets_are_errors() {
        let strs = b"\0xdp\0";
        let ext = ext_with_lines(&[[0, 999, 0, 0]], 1);
        assert!(parse_line_info(&ext, strs).is_err());
        let mut ext = ext_with_lines(&[[0, 0, 0, 0]], 1);
        ext.truncate(ext.len() - 3);
        assert!(parse_line_info(&ext, strs).is_err());
    }
}
