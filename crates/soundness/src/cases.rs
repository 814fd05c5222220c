//! Regression cases: one file per minimised violation under `tests/soundness/` (LLVM-syntax
//! assembly, `;` comments saying what was found), replayed by `tests/replay.rs`.

use std::path::{Path, PathBuf};

use kbpf_isa::disasm::{Syntax, disassemble};
use kbpf_isa::{Insn, Program};

/// `tests/soundness` of the workspace.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/soundness")
}

/// The text of a case: a comment block, then the program.
pub fn render(insns: &[Insn], comment: &str) -> Result<String, String> {
    let prog = Program::new(insns.to_vec()).map_err(|e| e.to_string())?;
    let mut s = String::new();
    for line in comment.lines() {
        s.push_str(&format!("; {line}\n"));
    }
    s.push_str(&disassemble(&prog, Syntax::Llvm { hex: false }));
    Ok(s)
}

/// Reads a case back.
pub fn parse(text: &str) -> Result<Vec<Insn>, String> {
    kbpf_isa::asm::assemble(text).map_err(|e| e.to_string())
}

/// Every case file, sorted.
pub fn all() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "s"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
