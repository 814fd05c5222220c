//! Text assembler for both the kernel's and LLVM 19's BPF syntax.
//!
//! One instruction per line. Accepted around the instruction, so that verifier logs, `bpftool`
//! and `llvm-objdump` output can be pasted back:
//! * a pc prefix `12:` and the kernel's opcode prefix `(bf)` (checked against the encoding; a
//!   `(18)` prefix makes the kernel's `r1 = 0x5` a 64-bit load),
//! * labels `name:` (also several, or followed by an instruction on the same line), and
//!   llvm-objdump's `0000000000000030 <name>:` symbol lines and `<name>` target annotations,
//! * comments from `//`, `;` (the verifier's state annotations), or `#` at the start of the line
//!   or after whitespace (`call bpf_map_lookup_elem#1` is not a comment), assembler directives
//!   (`.text`, `.globl f`) and `llvm-objdump -r` relocation lines, which are skipped.
//!
//! Not accepted: the verifier's state lines (`0: R1=ctx() R10=fp0`), the liveness columns of
//! its "Live regs" listing, llvm-objdump's raw instruction bytes, bpftool's `map[id:N]`, and the
//! kernel-internal instructions that have no [`Insn`] (`nospec`, `gotox`, per-cpu `mov`).
//!
//! Both spellings of every form are accepted: `*(u64 *)(r10 -8) = r1` and `(r10 - 8)`,
//! `goto pc+3` and `goto +3`, `atomic64_fetch_add((u64 *)...)` and `atomic_fetch_add`,
//! `atomic64_xchg` and `xchg_64`, `w`/`r` value registers for 32-bit stores and atomics, and so
//! on. Numbers are decimal or `0x` hex, optionally signed. Jump immediates and 32-bit
//! immediates may also be written unsigned (`if r1 > 0xfffffffb`); `r1 = imm` outside the signed
//! 32-bit range needs `ll` (or the `(18)` prefix), because a `mov` sign-extends its immediate.
//!
//! Calls: `call 7` and `call bpf_map_lookup_elem` / `call map_lookup_elem` (helpers),
//! `call bpf_map_lookup_elem#1` and `call unknown#10000` (kernel text; the id must match the
//! name), `call pc+3` or `call my_func` (bpf-to-bpf; a label takes precedence over a helper name;
//! bpftool's `call pc+3#callee` suffix is ignored), and kfuncs, which need a BTF id: `call kfunc:ID`, `call kfunc:ID:MODULE_IDX`,
//! `call kernel-function#ID`, or a verifier log's `call bpf_iter_num_new#64242` (a name that is
//! not a helper's, with its BTF id). Pseudo `ld_imm64` forms are written `r1 = map_fd(5)`,
//! `r1 = map_value(5, 16)`, `r1 = btf_id(7)`, `r1 = func(label)` or `func(pc+3)`, `r1 = map_idx(0)`,
//! `r1 = map_idx_value(0, 8)` (optionally with `ll`), or in LLVM's `ld_pseudo r1, 1, 5`.
//!
//! Every instruction is checked by encoding and decoding it, so anything the assembler returns
//! decodes (r11 only in the stack-argument forms, atomics only in their sizes, and so on);
//! [`assemble_program`] additionally checks branch targets.
//!
//! Malformed programs, for the verifier: [`assemble_module_slots`] skips the decode check, so
//! `r11 = 1` or `r0 = r11` assemble to the slot they spell and the verifier answers
//! `R11 is invalid` as the kernel would; `.insn CODE, DST, SRC, OFF, IMM` writes any slot
//! verbatim (register fields 0..15). The lenient path also takes `r12`..`r15` wherever a
//! register goes (`r12 = 0` is the slot `b7` with dst 12, which the verifier answers with
//! `R12 is invalid`); the other entry points refuse them like any register field above 11.

mod high_regs;
mod lexer;
mod maps;
mod module;
mod parse;

pub use module::{
    AsmProgram, Assembled, AssembledSlots, KfuncResolver, NoKfuncs, assemble_module, assemble_module_slots,
};

use std::collections::HashMap;

use thiserror::Error;

use crate::decode::decode_insn;
use crate::decode::decode_slots;
use crate::helper_names::helper_id;
use crate::insn::{CallTarget, Insn, RawInsn};
use crate::opcode::LdImm64Src;
use crate::program::Program;
use parse::{Fixup, Parsed};

/// An assembly error: the 1-based line and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct AsmError {
    /// 1-based line number.
    pub line: usize,
    /// Description.
    pub message: String,
}

/// Assembles source text into instructions (no control-flow checks beyond label resolution).
pub fn assemble(src: &str) -> Result<Vec<Insn>, AsmError> {
    let (slots, lines) = slots_of(assemble_lines(src, &NoKfuncs)?.insns);
    decode_slots(&slots).map_err(|e| at_slot(&lines, e.index, e.kind.to_string()))
}

/// Assembles source text into a [`Program`], checking that every branch and call lands on an
/// instruction inside it.
pub fn assemble_program(src: &str) -> Result<Program, AsmError> {
    let (slots, lines) = slots_of(assemble_lines(src, &NoKfuncs)?.insns);
    program_of(&slots, &lines)
}

/// Builds the [`Program`] from assembled slots, mapping a decode or branch-target error back to
/// its source line (`lines[i]` = line of slot `i`).
fn program_of(slots: &[RawInsn], lines: &[usize]) -> Result<Program, AsmError> {
    Program::from_slots(slots).map_err(|e| at_slot(lines, e.index, e.kind.to_string()))
}

fn at_slot(lines: &[usize], index: usize, message: String) -> AsmError {
    AsmError { line: lines.get(index).or(lines.last()).copied().unwrap_or(1), message }
}

/// The slots of the assembled items and the source line of each slot.
fn slots_of(items: Vec<(usize, Item)>) -> (Vec<RawInsn>, Vec<usize>) {
    let mut slots = Vec::with_capacity(items.len());
    let mut lines = Vec::with_capacity(items.len());
    for (line, item) in items {
        let before = slots.len();
        match item {
            Item::Insn(insn) => insn.encode_into(&mut slots),
            Item::Raw(raw) => slots.push(raw),
            Item::Patched(insn, patch) => {
                insn.encode_into(&mut slots);
                patch.apply(&mut slots[before..]);
            }
        }
        lines.extend(std::iter::repeat_n(line, slots.len() - before));
    }
    (slots, lines)
}

/// One assembled line: an instruction, a slot written verbatim with `.insn`, or an instruction
/// whose register fields name r12..r15 (encoded with stand-ins, then patched).
enum Item {
    Insn(Insn),
    Raw(RawInsn),
    Patched(Insn, high_regs::RegPatch),
}

/// One line waiting for its labels.
struct Pending<'a> {
    line: usize,
    pc: usize,
    what: PendingKind<'a>,
    /// Register fields that name r12..r15.
    patch: Option<high_regs::RegPatch>,
}

enum PendingKind<'a> {
    Parsed(Parsed<'a>),
    Raw(RawInsn),
}

/// What one pass over the source produced.
struct Lines<'a> {
    /// Instructions (or raw `.insn` slots) with their source lines.
    insns: Vec<(usize, Item)>,
    /// Label name to slot.
    labels: HashMap<&'a str, usize>,
    /// Directive lines (`.func ...`) with their line numbers, for [`module`].
    directives: Vec<(usize, &'a str)>,
}

/// Names of the maps the source declares (`.map NAME, ...`), in order: a map's index is its
/// pseudo fd.
fn map_names(src: &str) -> Vec<&str> {
    src.lines().filter_map(|l| maps::map_name(strip_comment(l))).collect()
}

/// Comment stripping, except inside the string literals of `.mapdata` lines.
fn strip_line(raw: &str) -> &str {
    if raw.trim_start().starts_with(".mapdata") && raw.contains('"') {
        raw.trim()
    } else {
        strip_comment(raw)
    }
}

fn assemble_lines<'a>(src: &'a str, kfuncs: &dyn KfuncResolver) -> Result<Lines<'a>, AsmError> {
    assemble_lines_with(src, kfuncs, &map_names(src), false)
}

/// One pass over `src`. `lenient` keeps instructions that encode but do not decode (r11 outside
/// the stack-argument forms), for the verifier to reject with the kernel's message.
fn assemble_lines_with<'a>(
    src: &'a str,
    kfuncs: &dyn KfuncResolver,
    maps: &[&str],
    lenient: bool,
) -> Result<Lines<'a>, AsmError> {
    let mut labels: HashMap<&str, usize> = HashMap::new();
    let mut directives = Vec::new();
    let mut pending = Vec::new();
    let mut pc = 0usize;
    for (i, raw) in src.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| AsmError { line, message };
        let text = strip_line(raw);
        // data directives: their hex and strings are no instruction tokens
        if text.starts_with(".mapdata") || is_mem_directive(text) {
            directives.push((line, text));
            continue;
        }
        let (text, code) = strip_prefixes(text).map_err(err)?;
        let toks = lexer::lex(text).map_err(err)?;
        let mut toks = &toks[..];
        // Labels, including llvm-objdump's `0000000000000030 <name>:` symbol lines.
        loop {
            match toks {
                [lexer::Tok::Ident(name), lexer::Tok::Sym(":"), rest @ ..] => {
                    define(&mut labels, name, pc).map_err(err)?;
                    toks = rest;
                }
                [
                    lexer::Tok::Num(_),
                    lexer::Tok::Sym("<"),
                    lexer::Tok::Ident(name),
                    lexer::Tok::Sym(">"),
                    lexer::Tok::Sym(":"),
                    rest @ ..,
                ] => {
                    define(&mut labels, name, pc).map_err(err)?;
                    toks = rest;
                }
                _ => break,
            }
        }
        match toks {
            [] => continue,
            // Directives (`.func` is kept for [`module`]), and llvm-objdump -r relocation lines
            // (`0: R_BPF_64_64 map`).
            [lexer::Tok::Ident(".insn"), rest @ ..] => {
                let raw = parse_raw_insn(rest).map_err(err)?;
                pending.push(Pending { line, pc, what: PendingKind::Raw(raw), patch: None });
                pc += 1;
                continue;
            }
            [lexer::Tok::Ident(d), ..] if d.starts_with('.') => {
                directives.push((line, text));
                continue;
            }
            [lexer::Tok::Ident(d), ..] if d.starts_with("R_BPF_") => continue,
            _ => {}
        }
        let highs = high_regs::high_regs(toks);
        let (parsed, patch) = match highs.first() {
            None => (parse::parse(toks, code == Some(0x18)).map_err(err)?, None),
            // Only the lenient path keeps what does not decode, as with r11.
            Some(&n) if !lenient => {
                return Err(err(format!("invalid instruction: {}", crate::DecodeErrorKind::InvalidReg(n))));
            }
            Some(_) => {
                let (p, patch) =
                    high_regs::parse_with_high_regs(toks, code == Some(0x18), &highs).map_err(err)?;
                (p, Some(patch))
            }
        };
        check(&parsed.insn, code, lenient).map_err(err)?;
        pc += parsed.insn.slots();
        pending.push(Pending {
            line,
            pc: pc - parsed.insn.slots(),
            what: PendingKind::Parsed(parsed),
            patch,
        });
    }
    let insns = pending
        .into_iter()
        .map(|p| {
            let patch = p.patch;
            let (line, item) = resolve(&labels, kfuncs, maps, p)?;
            Ok(match (item, patch) {
                (Item::Insn(insn), Some(patch)) => (line, Item::Patched(insn, patch)),
                (item, _) => (line, item),
            })
        })
        .collect::<Result<_, AsmError>>()?;
    Ok(Lines { insns, labels, directives })
}

/// A `.mem HEX...` line (module input; see [`module`]).
fn is_mem_directive(text: &str) -> bool {
    text.trim_start().strip_prefix(".mem").is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace))
}

fn define<'a>(labels: &mut HashMap<&'a str, usize>, name: &'a str, pc: usize) -> Result<(), String> {
    if labels.insert(name, pc).is_some() {
        return Err(format!("label `{name}` defined twice"));
    }
    Ok(())
}

/// Drops `//` and `;` comments anywhere and `#` comments at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let mut end = line.len();
    for (needle, needs_space) in [("//", false), (";", false), ("#", true)] {
        let mut from = 0;
        while let Some(at) = line[from..end].find(needle).map(|a| a + from) {
            let before = line[..at].chars().next_back();
            if !needs_space || before.is_none_or(char::is_whitespace) {
                end = at;
                break;
            }
            from = at + needle.len();
        }
    }
    &line[..end]
}

/// Removes a leading `12:` pc and a `(bf)` opcode prefix; returns the opcode if present.
fn strip_prefixes(text: &str) -> Result<(&str, Option<u8>), String> {
    let mut t = text.trim_start();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits > 0 && t[digits..].starts_with(':') {
        t = t[digits + 1..].trim_start();
    }
    let b = t.as_bytes();
    if b.len() >= 4 && b[0] == b'(' && b[3] == b')' && b[1].is_ascii_hexdigit() && b[2].is_ascii_hexdigit() {
        let code = u8::from_str_radix(&t[1..3], 16).map_err(|e| e.to_string())?;
        return Ok((t[4..].trim_start(), Some(code)));
    }
    Ok((t, None))
}

/// `.insn CODE, DST, SRC, OFF, IMM`: one slot, verbatim (registers as numbers or `rN`, N < 16).
fn parse_raw_insn(toks: &[lexer::Tok<'_>]) -> Result<RawInsn, String> {
    use lexer::Tok::{Ident, Num, Sym};
    const USAGE: &str = "expected `.insn CODE, DST, SRC, OFF, IMM`";
    let mut fields = Vec::new();
    let mut neg = false;
    for t in toks {
        match t {
            Sym(",") => {}
            Sym("-") => neg = true,
            Num(n) => {
                let v = i64::try_from(*n).map_err(|_| format!("{USAGE}: {n} out of range"))?;
                fields.push(if neg { -v } else { v });
                neg = false;
            }
            Ident(r) => {
                let n = r
                    .strip_prefix('r')
                    .and_then(|d| d.parse::<i64>().ok())
                    .filter(|n| (0..16).contains(n))
                    .ok_or_else(|| format!("{USAGE}: bad register `{r}`"))?;
                fields.push(n);
            }
            other => return Err(format!("{USAGE}: unexpected {other}")),
        }
    }
    let [code, dst, src, off, imm] = fields[..] else { return Err(USAGE.to_string()) };
    let field = |v: i64, lo: i64, hi: i64, what: &str| {
        if (lo..=hi).contains(&v) { Ok(v) } else { Err(format!("{USAGE}: {what} {v} out of range")) }
    };
    Ok(RawInsn {
        code: field(code, 0, 0xff, "code")? as u8,
        dst: field(dst, 0, 15, "dst")? as u8,
        src: field(src, 0, 15, "src")? as u8,
        off: field(off, i16::MIN.into(), u16::MAX.into(), "off")? as u16 as i16,
        imm: field(imm, i32::MIN.into(), u32::MAX.into(), "imm")? as u32 as i32,
    })
}

/// Rejects instructions that do not decode (unless `lenient`), and opcode prefixes that
/// disagree with the encoding.
fn check(insn: &Insn, code: Option<u8>, lenient: bool) -> Result<(), String> {
    let slots = insn.encode();
    let first = slots[0];
    if let Some(c) = code
        && c != first.code
    {
        return Err(format!("opcode prefix ({c:02x}) does not match the instruction ({:02x})", first.code));
    }
    match decode_insn(first, slots.get(1).copied()) {
        Ok(back) if back == *insn => Ok(()),
        _ if lenient => Ok(()),
        Ok(back) => Err(format!("instruction does not survive encoding (decodes as {back:?})")),
        Err(e) => Err(format!("invalid instruction: {e}")),
    }
}

/// Fills in label offsets.
fn resolve(
    labels: &HashMap<&str, usize>,
    kfuncs: &dyn KfuncResolver,
    maps: &[&str],
    p: Pending<'_>,
) -> Result<(usize, Item), AsmError> {
    let err = |message: String| AsmError { line: p.line, message };
    let parsed = match p.what {
        PendingKind::Raw(raw) => return Ok((p.line, Item::Raw(raw))),
        PendingKind::Parsed(parsed) => parsed,
    };
    let Some(fixup) = parsed.fixup else {
        return Ok((p.line, Item::Insn(parsed.insn)));
    };
    let name = match fixup {
        Fixup::Jump(name) | Fixup::Call(name) | Fixup::Func(name) => name,
        Fixup::Map(name) => {
            return resolve_map(maps, parsed.insn, name).map(|i| (p.line, Item::Insn(i))).map_err(err);
        }
    };
    let rel = match labels.get(name) {
        Some(&to) => to as i64 - (p.pc as i64 + 1),
        None => {
            // `call NAME`: a label, else a kfunc of the registry, else a helper.
            if let Fixup::Call(n) = fixup {
                if let Some(btf_id) = kfuncs.kfunc_id(n) {
                    return Ok((p.line, Item::Insn(Insn::Call(CallTarget::Kfunc { btf_id, off: 0 }))));
                }
                if let Some(id) = helper_id(n) {
                    return Ok((p.line, Item::Insn(Insn::Call(CallTarget::Helper(id)))));
                }
            }
            return Err(err(format!("unknown label `{name}`")));
        }
    };
    let out_of_range = || err(format!("label `{name}` is out of range ({rel:+} slots)"));
    let off16 = || i16::try_from(rel).map_err(|_| out_of_range());
    let imm32 = || i32::try_from(rel).map_err(|_| out_of_range());
    let insn = match parsed.insn {
        Insn::Ja { .. } => Insn::Ja { off: off16()? },
        Insn::MayGoto { .. } => Insn::MayGoto { off: off16()? },
        Insn::Jmp { width, cond, dst, src, .. } => Insn::Jmp { width, cond, dst, src, off: off16()? },
        Insn::Gotol { .. } => Insn::Gotol { imm: imm32()? },
        Insn::Call(_) => Insn::Call(CallTarget::Local(imm32()?)),
        Insn::LdImm64 { dst, src, imm_hi, .. } => Insn::LdImm64 { dst, src, imm: imm32()?, imm_hi },
        other => other,
    };
    Ok((p.line, Item::Insn(insn)))
}

/// Puts the index of map `name` into a pseudo `ld_imm64`.
fn resolve_map(maps: &[&str], insn: Insn, name: &str) -> Result<Insn, String> {
    let Insn::LdImm64 { dst, src, imm_hi, .. } = insn else {
        return Err(format!("`{name}` is no map reference"));
    };
    if !matches!(src, LdImm64Src::MapFd | LdImm64Src::MapValue | LdImm64Src::MapIdx | LdImm64Src::MapIdxValue)
    {
        return Err(format!("`{name}`: only map references take a map name"));
    }
    let idx = maps
        .iter()
        .position(|m| *m == name)
        .ok_or_else(|| format!("no map `{name}` (declare it with `.map`)"))?;
    Ok(Insn::LdImm64 { dst, src, imm: idx as i32, imm_hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments() {
        assert_eq!(strip_comment("r0 = 1 // x"), "r0 = 1 ");
        assert_eq!(strip_comment("r0 = 1 ; R0_w=1"), "r0 = 1 ");
        assert_eq!(strip_comment("# all"), "");
        assert_eq!(strip_comment("call bpf_map_lookup_elem#1 # c"), "call bpf_map_lookup_elem#1 ");
        assert_eq!(strip_comment("call bpf_map_lookup_elem#1"), "call bpf_map_lookup_elem#1");
    }

    #[test]
    fn prefixes() {
        assert_eq!(strip_prefixes("12: (bf) r6 = r1").unwrap(), ("r6 = r1", Some(0xbf)));
        assert_eq!(strip_prefixes("  r6 = r1").unwrap(), ("r6 = r1", None));
        assert_eq!(strip_prefixes("3:\tr0 = 1").unwrap(), ("r0 = 1", None));
    }
}
