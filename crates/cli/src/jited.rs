//! `kbpf dump jited` in `bpftool prog dump jited`'s layout: one block per BPF function headed
//! by its kernel symbol (`bpf_prog_<tag>_<name>:`), each native instruction as
//! `%4x:\t<objdump text>` with offsets from the function's start (bpftool's libbfd output),
//! `; source` lines from line info before the first native instruction of a BPF instruction
//! that has one, `--opcodes` bytes on the next line (`\t` then `%02x ` each), a blank line after
//! each function; `--json` gives bpftool's `[{"name", "insns": [{"pc", "operation",
//! "operands", "opcodes"}]}]`.
//!
//! Where the kernel has addresses kbpf has none: branch and call targets print as offsets from
//! the function's start (bpftool adds the function's kernel address). An entry trampoline (a
//! program that can fault) is part of the main function's block, as is every function's fault
//! stub code.

use std::fmt::Write;

use kbpf::isa::{Insn, LdImm64Src, RawInsn};
use kbpf::jit::Assembly;
use kbpf::verifier::LineInfo;

use crate::listing::json_str;

/// A backend's objdump-style disassembler: `(offset, length, text)` per instruction.
pub type Disasm<'a> = dyn Fn(&[u8]) -> Vec<(usize, usize, String)> + 'a;

/// What to print besides the code.
pub struct Options {
    pub opcodes: bool,
    pub linum: bool,
    pub json: bool,
}

/// One native instruction.
struct Native {
    off: usize,
    bytes: Vec<u8>,
    text: String,
    /// The source line to print before it.
    line: Option<usize>,
}

/// One function's block.
struct Block {
    name: String,
    insns: Vec<Native>,
}

/// Splits objdump text into bpftool's JSON `operation` and `operands` (commas outside
/// parentheses separate operands).
fn split_operands(text: &str) -> (String, Vec<String>) {
    let text = text.trim();
    let Some((op, rest)) = text.split_once([' ', '\t']) else { return (text.to_string(), Vec::new()) };
    let mut ops = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for c in rest.trim().chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                ops.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        ops.push(cur.trim().to_string());
    }
    (op.to_string(), ops)
}

/// The program tag the kernel computes at load (`bpf_prog_calc_tag`): the first 8 bytes of the
/// SHA-256 of the instructions as loaded, with the immediates of map references zeroed.
pub fn prog_tag(slots: &[RawInsn]) -> String {
    let mut bytes = Vec::with_capacity(slots.len() * 8);
    let mut was_map = false;
    for (k, s) in slots.iter().enumerate() {
        let mut b = s.to_bytes();
        let is_map = matches!(
            kbpf::isa::decode_insn(*s, slots.get(k + 1).copied()),
            Ok(Insn::LdImm64 { src: LdImm64Src::MapFd | LdImm64Src::MapValue, .. })
        );
        // the second slot of a map reference: code, registers and offset all zero
        let second = was_map && b[..4] == [0, 0, 0, 0];
        if (is_map && !was_map) || second {
            b[4..8].fill(0);
        }
        was_map = is_map && !was_map;
        bytes.extend_from_slice(&b);
    }
    sha256(&bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4), for the program tag only (Linux 6.18 tags programs with it).
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let [a, b, c, d, e, f, g, hh] = v;
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// The listing. `lines[i]`: the line info entry to print before BPF instruction `i` (of the
/// assembled program); `names[f]`: each function's name (`None`: no name, as the kernel's
/// symbol of a program without BTF and name).
pub fn render(
    a: &Assembly,
    disasm: &Disasm<'_>,
    tag: &str,
    names: &[Option<String>],
    lines: &[Option<usize>],
    linfo: &[LineInfo],
    o: &Options,
) -> String {
    let n = a.func_offsets.len();
    let mut blocks = Vec::with_capacity(n);
    for f in 0..n {
        // the main function's block starts at 0: the entry trampoline, if any, precedes it
        let start = if f == 0 { 0 } else { a.func_offsets[f] as usize };
        let end = a.func_offsets.get(f + 1).map_or(a.code.len(), |&e| e as usize).min(a.code.len());
        let code = &a.code[start.min(end)..end];
        // the first BPF instruction starting at each native offset that has a line
        let mut line_at = std::collections::HashMap::new();
        for (i, &off) in a.insn_offsets.iter().enumerate() {
            let off = off as usize;
            if (start..end).contains(&off)
                && let Some(l) = lines.get(i).copied().flatten()
            {
                line_at.entry(off - start).or_insert(l);
            }
        }
        let insns = disasm(code)
            .into_iter()
            .map(|(off, len, text)| Native {
                off,
                bytes: code[off..(off + len).min(code.len())].to_vec(),
                text,
                line: line_at.get(&off).copied(),
            })
            .collect();
        let suffix = names.get(f).cloned().flatten().map_or(String::new(), |n| format!("_{n}"));
        blocks.push(Block { name: format!("bpf_prog_{tag}{suffix}"), insns });
    }
    if o.json { json(&blocks, linfo, o) } else { text(&blocks, linfo, o) }
}

fn text(blocks: &[Block], linfo: &[LineInfo], o: &Options) -> String {
    let mut out = String::new();
    for b in blocks {
        let _ = writeln!(out, "{}:", b.name);
        for i in &b.insns {
            if let Some(l) = i.line.and_then(|l| crate::dump::source_line(&linfo[l], o.linum)) {
                let _ = writeln!(out, "; {l}");
            }
            let _ = write!(out, "{:4x}:\t{}", i.off, i.text);
            if o.opcodes {
                out.push_str("\n\t");
                for byte in &i.bytes {
                    let _ = write!(out, "{byte:02x} ");
                }
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn json(blocks: &[Block], linfo: &[LineInfo], o: &Options) -> String {
    let funcs: Vec<String> = blocks
        .iter()
        .map(|b| {
            let insns: Vec<String> = b
                .insns
                .iter()
                .map(|i| {
                    let mut fields = Vec::new();
                    if let Some(l) = i.line.map(|l| &linfo[l])
                        && let Some(src) = l.line.as_deref()
                    {
                        fields.push(format!("\"src\":{}", json_str(src.trim_start())));
                        if o.linum {
                            fields.push(format!("\"file\":{}", json_str(l.file.as_deref().unwrap_or(""))));
                            fields.push(format!("\"line_num\":{},\"line_col\":{}", l.line_num, l.column));
                        }
                    }
                    fields.push(format!("\"pc\":\"0x{:x}\"", i.off));
                    let (op, operands) = split_operands(&i.text);
                    fields.push(format!("\"operation\":{}", json_str(&op)));
                    let operands = if operands.is_empty() {
                        "null".to_string()
                    } else {
                        operands.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(",")
                    };
                    fields.push(format!("\"operands\":[{operands}]"));
                    if o.opcodes {
                        let b: Vec<String> = i.bytes.iter().map(|b| format!("\"0x{b:02x}\"")).collect();
                        fields.push(format!("\"opcodes\":[{}]", b.join(",")));
                    }
                    format!("{{{}}}", fields.join(","))
                })
                .collect();
            format!("{{\"name\":{},\"insns\":[{}]}}", json_str(&b.name), insns.join(","))
        })
        .collect();
    format!("[{}]\n", funcs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answers_and_the_kernels_tag() {
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha256(long)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        // `w0 = 2; exit`, tagged d4f8542f2b42fac5 by Linux 6.18 (bpftool prog show)
        let slots = kbpf::isa::asm::assemble_program("w0 = 2\nexit\n").unwrap().to_slots();
        assert_eq!(prog_tag(&slots), "d4f8542f2b42fac5");
    }

    #[test]
    fn operands_split_outside_parentheses() {
        assert_eq!(split_operands("mov    0x18(%r12,%rax,8),%rsp").1, ["0x18(%r12,%rax,8)", "%rsp"]);
        assert_eq!(split_operands("ret").0, "ret");
        assert!(split_operands("ret").1.is_empty());
        assert_eq!(split_operands("stp\tx29, x30, [sp, #-0x10]!").1, ["x29", "x30", "[sp, #-0x10]!"]);
    }
}
