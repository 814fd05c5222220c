//! `kbpf jit --dump --arch arm64`: the native code disassembled with yaxpeax-arm (any host), each
//! BPF instruction heading the block of arm64 instructions it became, like
//! `bpftool prog dump jited`.

use std::fmt::Write;

use kbpf_isa::Program;
use kbpf_isa::disasm::{Resolver, Syntax, format_insn_with};
use kbpf_kfunc::Registry;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::InstDecoder;

use crate::emit::Code;

/// One instruction word as text, or `.word 0x...` when it does not decode.
pub fn disasm_word(word: [u8; 4]) -> String {
    let dec = InstDecoder::default();
    let mut r = U8Reader::new(&word);
    match dec.decode(&mut r) {
        Ok(i) => i.to_string(),
        Err(_) => format!(".word {:#010x}", u32::from_le_bytes(word)),
    }
}

/// Every instruction of `code` as text (a trailing partial word is ignored).
pub fn disasm(code: &[u8]) -> Vec<String> {
    code.chunks_exact(4).map(|c| disasm_word([c[0], c[1], c[2], c[3]])).collect()
}

/// `code` as GNU objdump prints arm64 (`mnemonic<TAB>operands`), offsets relative to its
/// start, for `kbpf dump jited`.
pub fn objdump(code: &[u8]) -> Vec<(usize, usize, String)> {
    disasm(code)
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let t = match t.split_once(' ') {
                Some((m, ops)) => format!("{m}\t{ops}"),
                None => t,
            };
            (4 * i, 4, t)
        })
        .collect()
}

/// Disassembles `code[start..end)` into `out`, offsets relative to the code start.
fn range(out: &mut String, code: &[u8], start: usize, end: usize) {
    let end = end.min(code.len());
    if start >= end {
        return;
    }
    for (i, c) in code[start..end].chunks_exact(4).enumerate() {
        let word = [c[0], c[1], c[2], c[3]];
        let _ = writeln!(
            out,
            "  {:>5x}:  {:08x}  {}",
            start + 4 * i,
            u32::from_le_bytes(word),
            disasm_word(word)
        );
    }
}

/// kfunc names from the registry, for the instruction headings.
struct Names<'a>(&'a Registry);

impl Resolver for Names<'_> {
    fn kfunc_name(&self, btf_id: i32, _off: i16) -> Option<String> {
        self.0.kfunc(btf_id).map(|d| d.name.clone())
    }
}

/// The whole listing: trampoline, then per function its prologue, each instruction (kernel
/// syntax) heading its block, and the function's epilogue and fault stubs.
pub fn listing(prog: &Program, registry: &Registry, code: &Code) -> String {
    let mut out = String::new();
    let bytes = &code.bytes;
    let first = code.func_offsets.first().copied().unwrap_or(0) as usize;
    if code.run_ctx {
        let _ = writeln!(out, "; entry trampoline");
        range(&mut out, bytes, code.entry, first);
    }
    let mut idx = 0;
    for (f, &fstart) in code.func_offsets.iter().enumerate() {
        let fend = code.func_ends.get(f).copied().unwrap_or(bytes.len() as u32) as usize;
        let next = code.func_offsets.get(f + 1).map(|&o| o as usize).unwrap_or(bytes.len());
        let first_insn = code.insn_offsets.get(idx).map(|&o| o as usize).unwrap_or(fend);
        let _ = writeln!(out, "; func #{f} prologue");
        range(&mut out, bytes, fstart as usize, first_insn);
        while idx < code.insn_offsets.len() && (code.insn_offsets[idx] as usize) < fend {
            let start = code.insn_offsets[idx] as usize;
            let end = code.insn_offsets.get(idx + 1).map(|&o| o as usize).unwrap_or(fend).min(fend);
            let pc = prog.pc(idx);
            let text = format_insn_with(&prog.insns()[idx], pc, Syntax::Kernel, &Names(registry));
            let _ = writeln!(out, "{pc}: {text}");
            range(&mut out, bytes, start, end);
            idx += 1;
        }
        if fend < next {
            let _ = writeln!(out, "; func #{f} fault stubs");
            range(&mut out, bytes, fend, next);
        }
    }
    out
}
