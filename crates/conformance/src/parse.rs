//! The `.data` file format: `-- asm`, `-- result`, `-- mem`, `-- raw`, `-- error` sections.

use kbpf_isa::{Insn, RawInsn};
use thiserror::Error;

use crate::dialect::{AsmError, assemble_dialect_raw};

/// One parsed test file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestCase {
    /// The `-- asm` section, comments stripped, one instruction or label per line.
    pub asm: String,
    /// The `-- raw` section (one u64 per slot, opcode in the low byte); replaces `asm` if present.
    pub raw: Option<Vec<u64>>,
    /// The `-- mem` section: the input buffer (empty if absent).
    pub mem: Vec<u8>,
    /// The `-- result` section: expected `r0` (the last line wins).
    pub result: Option<u64>,
    /// The `-- error` section: the expected error message.
    pub error: Option<String>,
}

impl TestCase {
    /// The program's slots: `raw` if the file has it, else the assembled `asm`.
    pub fn slots(&self) -> Result<Vec<RawInsn>, AsmError> {
        match &self.raw {
            Some(raw) => Ok(raw.iter().map(|&v| RawInsn::from_u64(v)).collect()),
            None => assemble_dialect_raw(&self.asm),
        }
    }

    /// The program as little-endian bytes.
    pub fn program_bytes(&self) -> Result<Vec<u8>, AsmError> {
        Ok(self.slots()?.iter().flat_map(|s| s.to_bytes()).collect())
    }

    /// The program decoded.
    pub fn insns(&self) -> Result<Vec<Insn>, AsmError> {
        let slots = self.slots()?;
        kbpf_isa::decode_slots(&slots).map_err(|e| AsmError { line: 0, message: format!("decode: {e}") })
    }
}

/// A malformed `.data` file.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line in the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Asm,
    Result,
    Mem,
    Raw,
    Error,
    Ignored,
}

/// Parses a number the way the suite's C++ `stoull` does: `0x` hex or decimal, a leading `-`
/// wraps modulo 2^64.
pub(crate) fn parse_u64(tok: &str) -> Option<u64> {
    let (neg, t) = match tok.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, tok.strip_prefix('+').unwrap_or(tok)),
    };
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => t.parse::<u64>().ok()?,
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses a `.data` file.
pub fn parse(text: &str) -> Result<TestCase, ParseError> {
    let mut tc = TestCase::default();
    let mut section = Section::None;
    let mut asm = Vec::new();
    let mut raw = Vec::new();
    let mut has_raw = false;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let err = |message: String| ParseError { line: lineno, message };
        let line = line.split('#').next().unwrap_or("").trim_end_matches('\r');
        if line.contains("--") {
            // Substring tests in the suite's own order.
            section = if line.contains("asm") {
                Section::Asm
            } else if line.contains("result") {
                Section::Result
            } else if line.contains("mem") {
                Section::Mem
            } else if line.contains("raw") {
                has_raw = true;
                Section::Raw
            } else if line.contains("no register offset") || line.contains(" c") {
                Section::Ignored
            } else if line.contains("error") {
                Section::Error
            } else {
                return Err(err(format!("unknown directive `{}`", line.trim())));
            };
            continue;
        }
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        match section {
            Section::Asm => asm.push(t.to_string()),
            Section::Result => {
                tc.result = Some(parse_u64(t).ok_or_else(|| err(format!("bad result `{t}`")))?);
            }
            Section::Mem => {
                for tok in t.split_whitespace() {
                    let b = u8::from_str_radix(tok, 16).map_err(|_| err(format!("bad mem byte `{tok}`")))?;
                    tc.mem.push(b);
                }
            }
            Section::Raw => {
                for tok in t.split_whitespace() {
                    let h = tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")).unwrap_or(tok);
                    let v = u64::from_str_radix(h, 16).map_err(|_| err(format!("bad raw slot `{tok}`")))?;
                    raw.push(v);
                }
            }
            Section::Error => tc.error = Some(t.to_string()),
            Section::Ignored => {}
            Section::None => return Err(err(format!("text outside any section: `{t}`"))),
        }
    }
    tc.asm = asm.join("\n");
    if has_raw {
        tc.raw = Some(raw);
    }
    Ok(tc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        let t = "# c\n-- asm\nmov %r0, 1 # one\nexit\n-- mem\n00 ff\n01\n-- result\n0x1\n2\n-- no register offset\ncall x\n";
        let tc = parse(t).unwrap();
        assert_eq!(tc.asm, "mov %r0, 1\nexit");
        assert_eq!(tc.mem, vec![0, 0xff, 1]);
        assert_eq!(tc.result, Some(2));
        assert_eq!(tc.raw, None);
        assert!(parse("-- bogus\n").is_err());
        let e = parse("-- asm\nexit\n-- error\nbad thing\n").unwrap();
        assert_eq!(e.error.as_deref(), Some("bad thing"));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("-1"), Some(u64::MAX));
        assert_eq!(parse_u64("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_u64("+8"), Some(8));
        assert_eq!(parse_u64("x"), None);
    }
}
