//! Kernel-syntax disassembly of one slot, as the verifier log prints it (`(b7) r0 = 42`).
//!
//! Decodable slots print through `kbpf_isa::disasm`; the raw printer below serves only the slots
//! the decoder rejects, which the kernel prints anyway (it checks reserved fields when the walk
//! reaches them).

use crate::helper_names::helper_name;
use kbpf_isa::disasm::{Resolver, Syntax};
use kbpf_isa::{Insn, RawInsn};

const SIZES: [&str; 4] = ["u32", "u16", "u8", "u64"];
const SSIZES: [&str; 4] = ["s32", "s16", "s8", "s64"];
const ALU_OPS: [&str; 16] =
    ["+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=", "=", "s>>=", "endian", "", ""];
const JMP_OPS: [&str; 16] =
    ["jmp", "==", ">", ">=", "&", "!=", "s>", "s>=", "call", "exit", "<", "<=", "s<", "s<=", "", ""];
const ATOMIC_OPS: [&str; 16] = ["add", "", "", "", "or", "and", "", "", "", "", "xor", "", "", "", "", ""];

/// [`insn_text`] with kfunc calls named from the prototype table, as the kernel names them
/// from BTF.
pub fn insn_text_named(insn: &RawInsn, next: Option<&RawInsn>, kfuncs: &[crate::KfuncDecl]) -> String {
    // the kernel names kfunc calls from BTF: `call bpf_dynptr_size#63883`
    if insn.code == 0x85
        && insn.src == 2
        && let Some(k) = kfuncs.iter().find(|k| k.btf_id == insn.imm)
    {
        return format!("(85) call {}#{}", k.name, insn.imm);
    }
    insn_text(insn, next)
}

/// Disassembles `insn` (with `next` for ld_imm64) in the verifier's format, without the index:
/// the ISA's kernel-syntax printer for every slot that decodes, this module's raw printer for
/// the slots that do not (the log shows those too, before their error). kfunc calls print as
/// `kernel-function` (see [`insn_text_named`]).
pub fn insn_text(insn: &RawInsn, next: Option<&RawInsn>) -> String {
    match kbpf_isa::decode_insn(*insn, next.copied()) {
        Ok(decoded) => {
            let text = kbpf_isa::disasm::format_insn_with(&decoded, 0, Syntax::Kernel, &RawImm);
            format!("({:02x}) {text}", decoded.opcode())
        }
        Err(_) => raw_text(insn, next),
    }
}

/// Every `ld_imm64` prints its raw 64-bit value: kbpf has no kernel addresses for maps, and the
/// kernel's privileged log prints the value it holds there (an address) in the same `0x` form.
struct RawImm;

impl Resolver for RawImm {
    fn ld_imm64(&self, insn: &Insn) -> Option<String> {
        match *insn {
            Insn::LdImm64 { imm, imm_hi, .. } => Some(format!("{:#x}", Insn::imm64(imm, imm_hi))),
            _ => None,
        }
    }
}

/// The raw printer, for slots the decoder rejects.
fn raw_text(insn: &RawInsn, next: Option<&RawInsn>) -> String {
    let c = insn.code;
    let class = c & 7;
    let sz = ((c >> 3) & 3) as usize;
    let (d, s) = (insn.dst, insn.src);
    let body = match class {
        4 | 7 => {
            let w = if class == 7 { 'r' } else { 'w' };
            let op = c & 0xf0;
            if op == 0xd0 {
                if class == 7 {
                    format!("r{d} = bswap{} r{d}", insn.imm)
                } else {
                    format!("r{d} = {}{} r{d}", if c & 8 != 0 { "be" } else { "le" }, insn.imm)
                }
            } else if op == 0x80 {
                format!("{w}{d} = -{w}{d}")
            } else if op == 0xb0 && c & 8 != 0 && insn.off == 1 && class == 7 {
                format!("r{d} = addr_space_cast(r{s}, {}, {})", (insn.imm as u32) >> 16, insn.imm & 0xffff)
            } else if op == 0xb0 && c & 8 != 0 && insn.off != 0 {
                format!("{w}{d} = (s{}){w}{s}", insn.off)
            } else {
                let opstr = match (op, insn.off) {
                    (0x30, 1) => "s/=",
                    (0x90, 1) => "s%=",
                    _ => ALU_OPS[(op >> 4) as usize],
                };
                if c & 8 != 0 {
                    format!("{w}{d} {opstr} {w}{s}")
                } else {
                    format!("{w}{d} {opstr} {}", insn.imm)
                }
            }
        }
        3 => {
            let mode = c & 0xe0;
            if mode == 0x60 {
                format!("*({} *)(r{d} {:+}) = r{s}", SIZES[sz], insn.off)
            } else if mode == 0xc0 {
                let ty = SIZES[sz];
                let off = insn.off;
                let imm = insn.imm;
                match imm {
                    0x00 | 0x40 | 0x50 | 0xa0 => {
                        format!("lock *({ty} *)(r{d} {off:+}) {} r{s}", ALU_OPS[(imm >> 4) as usize & 15])
                    }
                    0x01 | 0x41 | 0x51 | 0xa1 => format!(
                        "r{s} = atomic{}_fetch_{}(({ty} *)(r{d} {off:+}), r{s})",
                        if sz == 3 { "64" } else { "" },
                        ATOMIC_OPS[(imm >> 4) as usize & 15]
                    ),
                    0xe1 => format!(
                        "r{s} = atomic{}_xchg(({ty} *)(r{d} {off:+}), r{s})",
                        if sz == 3 { "64" } else { "" }
                    ),
                    0xf1 => {
                        format!(
                            "r0 = atomic{}_cmpxchg(({ty} *)(r{d} {off:+}), r0, r{s})",
                            if sz == 3 { "64" } else { "" }
                        )
                    }
                    0x100 => format!("r{d} = load_acquire(({ty} *)(r{s} {off:+}))"),
                    0x110 => format!("store_release(({ty} *)(r{d} {off:+}), r{s})"),
                    _ => return format!("BUG_{c:02x}"),
                }
            } else {
                return format!("BUG_{c:02x}");
            }
        }
        2 => {
            if c & 0xe0 == 0x60 {
                format!("*({} *)(r{d} {:+}) = {}", SIZES[sz], insn.off, insn.imm)
            } else {
                return format!("BUG_st_{c:02x}");
            }
        }
        1 => {
            let mode = c & 0xe0;
            if mode == 0x60 || mode == 0x80 {
                let ty = if mode == 0x80 { SSIZES[sz] } else { SIZES[sz] };
                format!("r{d} = *({ty} *)(r{s} {:+})", insn.off)
            } else {
                return format!("BUG_ldx_{c:02x}");
            }
        }
        0 => {
            let mode = c & 0xe0;
            if mode == 0x20 {
                format!("r0 = *({} *)skb[{}]", SIZES[sz], insn.imm)
            } else if mode == 0x40 {
                format!("r0 = *({} *)skb[r{s} + {}]", SIZES[sz], insn.imm)
            } else if mode == 0 && sz == 3 {
                let hi = next.map_or(0, |n| n.imm);
                let v = (insn.imm as u32 as u64) | ((hi as u32 as u64) << 32);
                format!("r{d} = {v:#x}")
            } else {
                return format!("BUG_ld_{c:02x}");
            }
        }
        _ => {
            let op = c & 0xf0;
            let w = if class == 6 { 'w' } else { 'r' };
            match op {
                0x80 => {
                    if s == 1 {
                        format!("call pc{:+}", insn.imm)
                    } else if s == 2 {
                        format!("call kernel-function#{}", insn.imm)
                    } else {
                        format!(
                            "call {}#{}",
                            helper_name(insn.imm).unwrap_or_else(|| "unknown".into()),
                            insn.imm
                        )
                    }
                }
                0x90 => "exit".to_string(),
                0x00 => {
                    if class == 6 {
                        format!("gotol pc{:+}", insn.imm)
                    } else {
                        format!("goto pc{:+}", insn.off)
                    }
                }
                0xe0 => format!("may_goto pc{:+}", insn.off),
                _ if !JMP_OPS[(op >> 4) as usize].is_empty() => {
                    let o = JMP_OPS[(op >> 4) as usize];
                    if c & 8 != 0 {
                        format!("if {w}{d} {o} {w}{s} goto pc{:+}", insn.off)
                    } else {
                        format!("if {w}{d} {o} {:#x} goto pc{:+}", insn.imm as u32, insn.off)
                    }
                }
                _ => return format!("BUG_{c:02x}"),
            }
        }
    };
    format!("({c:02x}) {body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> String {
        insn_text(&RawInsn::new(code, dst, src, off, imm), None)
    }

    #[test]
    fn kernel_examples() {
        assert_eq!(t(0xb7, 0, 0, 0, 42), "(b7) r0 = 42");
        assert_eq!(t(0x07, 2, 0, 0, -8), "(07) r2 += -8");
        assert_eq!(t(0x14, 2, 0, 0, 3), "(14) w2 -= 3");
        assert_eq!(t(0x3f, 2, 3, 1, 0), "(3f) r2 s/= r3");
        assert_eq!(t(0xbf, 4, 2, 8, 0), "(bf) r4 = (s8)r2");
        assert_eq!(t(0x87, 2, 0, 0, 0), "(87) r2 = -r2");
        assert_eq!(t(0xdc, 2, 0, 0, 16), "(dc) r2 = be16 r2");
        assert_eq!(t(0xd7, 2, 0, 0, 64), "(d7) r2 = bswap64 r2");
        assert_eq!(t(0x79, 5, 10, -8, 0), "(79) r5 = *(u64 *)(r10 -8)");
        assert_eq!(t(0x61, 1, 0, 0, 0), "(61) r1 = *(u32 *)(r0 +0)");
        assert_eq!(t(0x91, 5, 10, -8, 0), "(91) r5 = *(s8 *)(r10 -8)");
        assert_eq!(t(0x7b, 10, 2, -8, 0), "(7b) *(u64 *)(r10 -8) = r2");
        assert_eq!(t(0x62, 10, 0, -16, 0), "(62) *(u32 *)(r10 -16) = 0");
        assert_eq!(t(0xdb, 10, 2, -8, 0), "(db) lock *(u64 *)(r10 -8) += r2");
        assert_eq!(t(0xdb, 10, 2, -8, 1), "(db) r2 = atomic64_fetch_add((u64 *)(r10 -8), r2)");
        assert_eq!(t(0xc3, 10, 2, -16, 0x51), "(c3) r2 = atomic_fetch_and((u32 *)(r10 -16), r2)");
        assert_eq!(t(0xdb, 10, 2, -8, 0xf1), "(db) r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r2)");
        assert_eq!(t(0x25, 2, 0, 0, 42), "(25) if r2 > 0x2a goto pc+0");
        assert_eq!(t(0x65, 2, 0, 0, -5), "(65) if r2 s> 0xfffffffb goto pc+0");
        assert_eq!(t(0xce, 2, 3, 0, 0), "(ce) if w2 s< w3 goto pc+0");
        assert_eq!(t(0x05, 0, 0, -3, 0), "(05) goto pc-3");
        assert_eq!(t(0x06, 0, 0, 0, 0), "(06) gotol pc+0");
        assert_eq!(t(0xe5, 0, 0, 2, 0), "(e5) may_goto pc+2");
        assert_eq!(t(0x85, 0, 0, 0, 1), "(85) call bpf_map_lookup_elem#1");
        assert_eq!(t(0x85, 0, 0, 0, 10000), "(85) call unknown#10000");
        assert_eq!(t(0x85, 0, 1, 0, 1), "(85) call pc+1");
        assert_eq!(t(0x95, 0, 0, 0, 0), "(95) exit");
        assert_eq!(t(0x30, 0, 0, 0, 12), "(30) r0 = *(u8 *)skb[12]");
        assert_eq!(t(0x48, 0, 7, 0, 0), "(48) r0 = *(u16 *)skb[r7 + 0]");
        let hi = RawInsn::new(0, 0, 0, 0, 0x11223344);
        assert_eq!(
            insn_text(&RawInsn::new(0x18, 1, 0, 0, 0x55667788), Some(&hi)),
            "(18) r1 = 0x1122334455667788"
        );
    }
}
