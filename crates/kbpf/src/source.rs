//! Program files: raw `.bin` slots, `.s` assembly, and hex text.

use std::path::Path;

use kbpf_elf::{ElfError, Object};
use kbpf_isa::{DecodeError, FuncDecl, Program, asm::AsmError};
use kbpf_kfunc::Registry;
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
    /// An ELF object from `clang -target bpf` (first program, or the one named by `section`).
    Elf,
}

impl SourceKind {
    /// Guess from the file name: `.s`/`.asm` assembly, `.hex` hex, anything else raw.
    pub fn from_path(path: &Path) -> SourceKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some("s" | "S" | "asm") => SourceKind::Asm,
            Some("hex") => SourceKind::Hex,
            Some("o" | "elf") => SourceKind::Elf,
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
    /// A bad ELF object.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// The ELF object has no such program.
    #[error("no program {0:?} in the object")]
    NoProgram(String),
}

/// A program with the facts that travel beside it: declared functions (argument counts), the
/// maps an ELF object defines, and its license.
///
/// It holds the slots as written, which need not decode: the verifier judges malformed
/// programs with the kernel's messages, while the engines ask for [`Module::program`].
#[derive(Clone, Debug)]
pub struct Module {
    /// The instruction slots as written.
    pub slots: Vec<kbpf_isa::RawInsn>,
    /// Source line of each slot (assembly only), for decode errors.
    pub lines: Option<Vec<usize>>,
    /// Declared functions (`.func` in assembly, BTF func_info in ELF).
    pub funcs: Vec<FuncDecl>,
    /// Maps (ELF objects only), indexed by the `imm` of map references.
    pub maps: Vec<kbpf_elf::MapDef>,
    /// ELF section name (it implies the program type), if any.
    pub section: Option<String>,
    /// License string (`GPL` ...), if the source has one.
    pub license: Option<String>,
}

impl Module {
    fn plain(slots: Vec<kbpf_isa::RawInsn>) -> Module {
        Module { slots, lines: None, funcs: Vec::new(), maps: Vec::new(), section: None, license: None }
    }

    /// The decoded program the engines run (branch targets checked); an assembly module
    /// reports the source line of a slot that does not decode.
    pub fn program(&self) -> Result<Program, SourceError> {
        Program::from_slots(&self.slots).map_err(|e| match &self.lines {
            Some(lines) => SourceError::Asm(AsmError {
                line: lines.get(e.index).or(lines.last()).copied().unwrap_or(1),
                message: e.kind.to_string(),
            }),
            None => SourceError::Decode(e),
        })
    }
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

/// Reads and decodes a program file of the given kind (assembly `call NAME` resolves kfuncs of
/// `registry`; `section` picks an ELF program by section or function name).
pub fn read_module(
    path: &Path,
    kind: SourceKind,
    registry: &Registry,
    section: Option<&str>,
) -> Result<Module, SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| SourceError::Io { path: name.clone(), err })?;
    let text = || String::from_utf8(bytes.clone()).map_err(|_| SourceError::NotText(name.clone()));
    match kind {
        SourceKind::Bin => Ok(Module::plain(slots_of_bytes(&bytes)?)),
        SourceKind::Hex => Ok(Module::plain(slots_of_bytes(&parse_hex(&text()?)?)?)),
        SourceKind::Asm => {
            let kfuncs = |n: &str| registry.kfunc_by_name(n).map(|d| d.id);
            let m = kbpf_isa::asm::assemble_module_slots(&text()?, &kfuncs)?;
            Ok(Module { lines: Some(m.lines), funcs: m.funcs, ..Module::plain(m.slots) })
        }
        SourceKind::Elf => {
            let obj = Object::parse(&bytes)?;
            let prog = match section {
                None => obj.programs.first(),
                Some(s) => obj.programs.iter().find(|p| p.section == s || p.name == s),
            }
            .ok_or_else(|| SourceError::NoProgram(section.unwrap_or("").to_string()))?;
            Ok(Module {
                slots: prog.slots.clone(),
                lines: None,
                funcs: prog.funcs.clone(),
                section: Some(prog.section.clone()),
                license: Some(obj.license.clone()),
                maps: obj.maps,
            })
        }
    }
}

/// Raw slots of a `.bin` or hex file, undecoded: the verifier reports malformed instructions in
/// the kernel's order and with its messages, so it wants them as they are. A length that is not
/// a multiple of 8 is an error here (the kernel refuses it before the verifier runs).
pub fn read_raw_slots(path: &Path, kind: SourceKind) -> Result<Vec<kbpf_isa::RawInsn>, SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| SourceError::Io { path: name.clone(), err })?;
    let bytes = match kind {
        SourceKind::Hex => parse_hex(&String::from_utf8(bytes).map_err(|_| SourceError::NotText(name))?)?,
        _ => bytes,
    };
    slots_of_bytes(&bytes)
}

/// Splits bytes into slots; a length that is not a multiple of 8 is an error.
fn slots_of_bytes(bytes: &[u8]) -> Result<Vec<kbpf_isa::RawInsn>, SourceError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(SourceError::Decode(DecodeError {
            index: bytes.len() / 8,
            kind: kbpf_isa::DecodeErrorKind::Truncated(bytes.len()),
        }));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| kbpf_isa::RawInsn::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

/// Reads a program file, with no kfunc names and the first ELF program.
pub fn read_program(path: &Path, kind: SourceKind) -> Result<Program, SourceError> {
    read_module(path, kind, &Registry::new(), None)?.program()
}
