//! Program files: raw `.bin` slots, `.s` assembly, and hex text.

use std::path::Path;

use kbpf_isa::{DecodeError, Program, asm::AsmError};
use thiserror::Error;

/// How a program file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Little-endian 8-byte slots.
    Bin,
    /// Assembly in kernel or LLVM syntax.
    Asm,
    /// Hex bytes separated by white space (`b7 00 00 00 2a 00 00 00`), or one 16-digit slot a line.
    Hex,
}

impl SourceKind {
    /// Guess from the file name: `.s`/`.asm` assembly, `.hex` hex, anything else raw.
    pub fn from_path(path: &Path) -> SourceKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some("s" | "S" | "asm") => SourceKind::Asm,
            Some("hex") => SourceKind::Hex,
            _ => SourceKind::Bin,
        }
    }
}

/// Why a program could not be read.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("{path}: {err}")]
    Io {
        /// File name.
        path: String,
        /// The OS error.
        err: std::io::Error,
    },
    /// Not valid hex.
    #[error("bad hex at token {token}: {text:?}")]
    Hex {
        /// 0-based token index.
        token: usize,
        /// The token.
        text: String,
    },
    /// Assembly error.
    #[error("line {}: {}", .0.line, .0.message)]
    Asm(#[from] AsmError),
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Not UTF-8 text where text was expected.
    #[error("{0}: not UTF-8 text")]
    NotText(String),
}

/// Parses hex program text: white-space separated byte tokens (`b7`, `0xb7`), or 16-digit tokens
/// each holding one slot in memory order (the `shared/bench/*.hex` form).
pub fn parse_hex(text: &str) -> Result<Vec<u8>, SourceError> {
    let mut out = Vec::new();
    for (token, t) in text.split_whitespace().enumerate() {
        let digits = t.strip_prefix("0x").unwrap_or(t);
        let bad = || SourceError::Hex { token, text: t.to_string() };
        if digits.is_empty() || digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        for pair in digits.as_bytes().chunks(2) {
            let s = std::str::from_utf8(pair).map_err(|_| bad())?;
            out.push(u8::from_str_radix(s, 16).map_err(|_| bad())?);
        }
    }
    Ok(out)
}

/// Reads and decodes a program file of the given kind.
pub fn read_program(path: &Path, kind: SourceKind) -> Result<Program, SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| SourceError::Io { path: name.clone(), err })?;
    let text = || String::from_utf8(bytes.clone()).map_err(|_| SourceError::NotText(name.clone()));
    match kind {
        SourceKind::Bin => Ok(Program::from_bytes(&bytes)?),
        SourceKind::Hex => Ok(Program::from_bytes(&parse_hex(&text()?)?)?),
        SourceKind::Asm => Ok(kbpf_isa::asm::assemble_program(&text()?)?),
    }
}
