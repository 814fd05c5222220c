//! Disassembly of generated code with yaxpeax-arm; works on any host.

use std::fmt::Write;

use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::InstDecoder;

/// One decoded instruction word: its text, or `.word 0x...` when it does not decode.
pub fn disasm_word(word: [u8; 4]) -> String {
    let dec = InstDecoder::default();
    let mut r = U8Reader::new(&word);
    match dec.decode(&mut r) {
        Ok(i) => i.to_string(),
        Err(_) => format!(".word {:#010x}", u32::from_le_bytes(word)),
    }
}

/// Every instruction of `code` as text (trailing bytes that are not a whole word are ignored).
pub fn disasm(code: &[u8]) -> Vec<String> {
    code.chunks_exact(4).map(|c| disasm_word([c[0], c[1], c[2], c[3]])).collect()
}

/// A listing: `offset: word  text`, with a `; pc N` header line before the code of each BPF
/// instruction whose `(pc, offset)` is in `marks` and `; func @pc N` before each function.
pub fn listing(code: &crate::Code) -> String {
    let mut out = String::new();
    let mut marks = code.insn_offsets.iter().peekable();
    let mut funcs = code.functions.iter().peekable();
    for (i, c) in code.bytes.chunks_exact(4).enumerate() {
        let off = i * 4;
        while let Some(&&(pc, _)) = funcs.peek().filter(|(_, o)| *o == off) {
            let _ = writeln!(out, "; func @pc {pc}");
            funcs.next();
        }
        while let Some(&&(pc, _)) = marks.peek().filter(|(_, o)| *o <= off) {
            let _ = writeln!(out, "; pc {pc}");
            marks.next();
        }
        let word = [c[0], c[1], c[2], c[3]];
        let _ = writeln!(out, "{off:6x}: {:08x}  {}", u32::from_le_bytes(word), disasm_word(word));
    }
    out
}
