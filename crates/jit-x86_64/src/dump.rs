//! `kbpf jit --dump`: the native code in Intel syntax (iced-x86), each BPF instruction heading
//! the block of native instructions it became, like `bpftool prog dump jited`.

use std::fmt::Write;

use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, IntelFormatter};
use kbpf_isa::Program;
use kbpf_isa::disasm::{Resolver, Syntax, format_insn_with};
use kbpf_kfunc::Registry;

use crate::emit::Assembled;

/// Disassembles `code[start..end)` (addresses relative to the code start) into `out`.
pub fn disasm_range(out: &mut String, code: &[u8], start: usize, end: usize) {
    let end = end.min(code.len());
    if start >= end {
        return;
    }
    let mut dec = Decoder::with_ip(64, &code[start..end], start as u64, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut text = String::new();
    while dec.can_decode() {
        let insn = dec.decode();
        text.clear();
        fmt.format(&insn, &mut text);
        let off = insn.ip() as usize;
        let bytes: Vec<String> = code[off..off + insn.len()].iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "  {off:>5x}:  {:<30} {text}", bytes.join(" "));
    }
}

/// `code` in GNU objdump's AT&T style (`push   %rbp`, `mov    0x18(%r12),%rsp`), addresses
/// relative to its start, as `bpftool prog dump jited` prints it through libbfd.
pub fn objdump(code: &[u8]) -> Vec<(usize, usize, String)> {
    let mut fmt = GasFormatter::new();
    let o = fmt.options_mut();
    o.set_uppercase_hex(false);
    o.set_hex_prefix("0x");
    o.set_hex_suffix("");
    o.set_first_operand_char_index(7);
    o.set_space_after_operand_separator(false);
    o.set_branch_leading_zeros(false);
    o.set_leading_zeros(false);
    o.set_small_hex_numbers_in_decimal(false);
    let mut dec = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut out = Vec::new();
    while dec.can_decode() {
        let insn = dec.decode();
        let mut text = String::new();
        fmt.format(&insn, &mut text);
        out.push((insn.ip() as usize, insn.len(), text));
    }
    out
}

/// kfunc names from the registry, for the instruction headings.
struct Names<'a>(&'a Registry);

impl Resolver for Names<'_> {
    fn kfunc_name(&self, btf_id: i32, _off: i16) -> Option<String> {
        self.0.kfunc(btf_id).map(|d| d.name.clone())
    }
}

/// The whole listing.
pub fn listing(prog: &Program, registry: &Registry, a: &Assembled) -> String {
    let mut out = String::new();
    let first = a.func_offsets.first().copied().unwrap_or(0) as usize;
    if a.run_ctx {
        let _ = writeln!(out, "; entry trampoline");
        disasm_range(&mut out, &a.code, a.entry, first);
    }
    let nf = a.func_offsets.len();
    let mut idx = 0;
    for f in 0..nf {
        let fstart = a.func_offsets[f] as usize;
        let fend = a.func_ends[f] as usize;
        let next_func = a.func_offsets.get(f + 1).map(|&o| o as usize).unwrap_or(a.code.len());
        let first_insn = a.insn_offsets.get(idx).map(|&o| o as usize).unwrap_or(fend);
        let _ = writeln!(out, "; func #{f} prologue");
        disasm_range(&mut out, &a.code, fstart, first_insn);
        while idx < a.insn_offsets.len() && (a.insn_offsets[idx] as usize) < fend {
            let start = a.insn_offsets[idx] as usize;
            let end = a.insn_offsets.get(idx + 1).map(|&o| o as usize).unwrap_or(fend).min(fend);
            let pc = prog.pc(idx);
            let text = format_insn_with(&prog.insns()[idx], pc, Syntax::Kernel, &Names(registry));
            let _ = writeln!(out, "{pc}: {text}");
            disasm_range(&mut out, &a.code, start, end);
            idx += 1;
        }
        if fend < next_func {
            let _ = writeln!(out, "; func #{f} fault stubs");
            disasm_range(&mut out, &a.code, fend, next_func);
        }
    }
    out
}
