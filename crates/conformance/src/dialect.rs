//! The suite's assembler dialect, encoded slot by slot as the suite's own assembler does.

use std::collections::HashMap;

use kbpf_isa::{Insn, RawInsn};
use thiserror::Error;

use crate::parse::parse_u64;

/// A line that does not assemble.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct AsmError {
    /// 1-based line of the asm text (0 when not tied to a line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A slot whose offset or immediate still names a label.
enum Fixup {
    None,
    Off(String),
    Imm(String),
}

const CLS_ALU: u8 = 0x04;
const CLS_JMP: u8 = 0x05;
const CLS_JMP32: u8 = 0x06;
const CLS_ALU64: u8 = 0x07;
const SRC_X: u8 = 0x08;

type Res<T> = Result<T, String>;

fn reg(tok: &str) -> Res<u8> {
    tok.strip_prefix("%r")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|&n| n <= 15)
        .ok_or_else(|| format!("invalid register: {tok}"))
}

fn num(tok: &str) -> Res<u64> {
    parse_u64(tok).ok_or_else(|| format!("invalid number: {tok}"))
}

fn imm32(tok: &str) -> Res<i32> {
    Ok(num(tok)? as u32 as i32)
}

fn off16(tok: &str) -> Res<i16> {
    Ok(num(tok)? as u16 as i16)
}

/// `[%rN]`, `[%rN+off]`, `[%rN-off]`.
fn mem_operand(tok: &str) -> Res<(u8, i16)> {
    let inner = tok
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| format!("failed to decode register and offset: {tok}"))?;
    match inner.find(['+', '-']) {
        Some(i) => Ok((reg(&inner[..i])?, off16(&inner[i..])?)),
        None => Ok((reg(inner)?, 0)),
    }
}

fn alu_op(name: &str) -> Option<(u8, i16)> {
    Some(match name {
        "add" => (0x0, 0),
        "sub" => (0x1, 0),
        "mul" => (0x2, 0),
        "div" => (0x3, 0),
        "sdiv" => (0x3, 1),
        "or" => (0x4, 0),
        "and" => (0x5, 0),
        "lsh" => (0x6, 0),
        "rsh" => (0x7, 0),
        "neg" => (0x8, 0),
        "mod" => (0x9, 0),
        "smod" => (0x9, 1),
        "xor" => (0xa, 0),
        "mov" => (0xb, 0),
        "arsh" => (0xc, 0),
        _ => return None,
    })
}

fn jmp_op(name: &str) -> Option<u8> {
    Some(match name {
        "jeq" => 0x1,
        "jgt" => 0x2,
        "jge" => 0x3,
        "jset" => 0x4,
        "jne" => 0x5,
        "jsgt" => 0x6,
        "jsge" => 0x7,
        "jlt" => 0xa,
        "jle" => 0xb,
        "jslt" => 0xc,
        "jsle" => 0xd,
        _ => return None,
    })
}

fn atomic_op(name: &str) -> Option<i32> {
    Some(match name {
        "add" => 0x00,
        "or" => 0x40,
        "and" => 0x50,
        "xor" => 0xa0,
        "xchg" => 0xe1,
        "cmpxchg" => 0xf1,
        _ => return None,
    })
}

/// `name32` -> (name, true), `name64`/`name` -> (name, false).
fn width_suffix(m: &str) -> (&str, bool) {
    if let Some(b) = m.strip_suffix("32") { (b, true) } else { (m.strip_suffix("64").unwrap_or(m), false) }
}

fn want(ops: &[&str], n: usize, m: &str) -> Res<()> {
    if ops.len() == n { Ok(()) } else { Err(format!("{m} takes {n} operands, got {}", ops.len())) }
}

/// A branch target: `+N`/`-N` literal, or a label to resolve later.
fn target(tok: &str) -> Res<Result<i64, String>> {
    if tok.starts_with(['+', '-']) { Ok(Ok(num(tok)? as i64)) } else { Ok(Err(tok.to_string())) }
}

/// Encodes one instruction line into one or two slots plus a pending label fixup.
fn encode(m: &str, ops: &[&str]) -> Res<(Vec<RawInsn>, Fixup)> {
    let r = |code, dst, src, off, imm| RawInsn::new(code, dst, src, off, imm);
    let one = |i: RawInsn| Ok((vec![i], Fixup::None));
    match m {
        "exit" => return one(r(0x95, 0, 0, 0, 0)),
        "lddw" => {
            want(ops, 2, m)?;
            let v = num(ops[1])?;
            let lo = r(0x18, reg(ops[0])?, 0, 0, v as u32 as i32);
            return Ok((vec![lo, r(0, 0, 0, 0, (v >> 32) as u32 as i32)], Fixup::None));
        }
        "ja" | "ja32" => {
            want(ops, 1, m)?;
            return Ok(match (m, target(ops[0])?) {
                ("ja", Ok(o)) => (vec![r(CLS_JMP, 0, 0, o as i16, 0)], Fixup::None),
                ("ja", Err(l)) => (vec![r(CLS_JMP, 0, 0, 0, 0)], Fixup::Off(l)),
                (_, Ok(o)) => (vec![r(CLS_JMP32, 0, 0, 0, o as i32)], Fixup::None),
                (_, Err(l)) => (vec![r(CLS_JMP32, 0, 0, 0, 0)], Fixup::Imm(l)),
            });
        }
        "call" => {
            return match ops {
                [t] if t.starts_with('%') => one(r(0x85 | SRC_X, reg(t)?, 0, 0, 0)),
                [n] | ["helper", n] => one(r(0x85, 0, 0, 0, imm32(n)?)),
                ["runtime", n] => one(r(0x85, 0, 2, 0, imm32(n)?)),
                ["local", t] => Ok(match target(t)? {
                    Ok(o) => (vec![r(0x85, 0, 1, 0, o as i32)], Fixup::None),
                    Err(l) => (vec![r(0x85, 0, 1, 0, 0)], Fixup::Imm(l)),
                }),
                _ => Err("invalid call mode".to_string()),
            };
        }
        "lock" => return encode_lock(ops),
        _ => {}
    }
    let ldx = [("ldxb", 0x71), ("ldxh", 0x69), ("ldxw", 0x61), ("ldxdw", 0x79)];
    let ldxs = [("ldxsb", 0x91), ("ldxsh", 0x89), ("ldxsw", 0x81)];
    if let Some(&(_, code)) = ldx.iter().chain(&ldxs).find(|(n, _)| *n == m) {
        want(ops, 2, m)?;
        let (src, off) = mem_operand(ops[1])?;
        return one(r(code, reg(ops[0])?, src, off, 0));
    }
    let st = [("stb", 0x72), ("sth", 0x6a), ("stw", 0x62), ("stdw", 0x7a)];
    if let Some(&(_, code)) = st.iter().find(|(n, _)| *n == m) {
        want(ops, 2, m)?;
        let (dst, off) = mem_operand(ops[0])?;
        return one(r(code, dst, 0, off, imm32(ops[1])?));
    }
    let stx = [("stxb", 0x73), ("stxh", 0x6b), ("stxw", 0x63), ("stxdw", 0x7b)];
    if let Some(&(_, code)) = stx.iter().find(|(n, _)| *n == m) {
        want(ops, 2, m)?;
        let (dst, off) = mem_operand(ops[0])?;
        return one(r(code, dst, reg(ops[1])?, off, 0));
    }
    let movsx = [("movsx832", 0xbc, 8), ("movsx1632", 0xbc, 16), ("movsx864", 0xbf, 8)];
    let movsx64 = [("movsx1664", 0xbf, 16), ("movsx3264", 0xbf, 32)];
    if let Some(&(_, code, off)) = movsx.iter().chain(&movsx64).find(|(n, _, _)| *n == m) {
        want(ops, 2, m)?;
        return one(r(code, reg(ops[0])?, reg(ops[1])?, off, 0));
    }
    for (prefix, code) in [("le", 0xd4), ("be", 0xdc), ("bswap", 0xd7), ("swap", 0xd7)] {
        if let Some(bits @ ("16" | "32" | "64")) = m.strip_prefix(prefix) {
            want(ops, 1, m)?;
            return one(r(code, reg(ops[0])?, 0, 0, imm32(bits)?));
        }
    }
    let (base, is32) = width_suffix(m);
    if let Some((op, off)) = alu_op(base) {
        let class = if is32 { CLS_ALU } else { CLS_ALU64 };
        let code = class | (op << 4);
        let dst = reg(ops.first().ok_or_else(|| format!("{m} needs a destination"))?)?;
        if base == "neg" {
            want(ops, 1, m)?;
            return one(r(code, dst, 0, off, 0));
        }
        want(ops, 2, m)?;
        return if ops[1].starts_with('%') {
            one(r(code | SRC_X, dst, reg(ops[1])?, off, 0))
        } else {
            one(r(code, dst, 0, off, imm32(ops[1])?))
        };
    }
    if let Some(op) = jmp_op(base) {
        want(ops, 3, m)?;
        let class = if is32 { CLS_JMP32 } else { CLS_JMP };
        let dst = reg(ops[0])?;
        let (code, src, imm) = if ops[1].starts_with('%') {
            (class | (op << 4) | SRC_X, reg(ops[1])?, 0)
        } else {
            (class | (op << 4), 0, imm32(ops[1])?)
        };
        return Ok(match target(ops[2])? {
            Ok(o) => (vec![r(code, dst, src, o as i16, imm)], Fixup::None),
            Err(l) => (vec![r(code, dst, src, 0, imm)], Fixup::Off(l)),
        });
    }
    Err(format!("Invalid mnemonic: {m}"))
}

/// `lock [fetch] add|and|or|xor[32] [dst+off], src`, `lock xchg[32] ...`, `lock cmpxchg[32] ...`.
fn encode_lock(ops: &[&str]) -> Res<(Vec<RawInsn>, Fixup)> {
    let (fetch, rest) = match ops {
        ["fetch", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let [name, mem, src] = rest else {
        return Err("lock takes an operation, a memory operand and a register".to_string());
    };
    let (base, is32) = width_suffix(name);
    let mut imm = atomic_op(base).ok_or_else(|| format!("invalid atomic operation: {name}"))?;
    if fetch {
        imm |= 0x01;
    }
    let (dst, off) = mem_operand(mem)?;
    let code = if is32 { 0xc3 } else { 0xdb };
    Ok((vec![RawInsn::new(code, dst, reg(src)?, off, imm)], Fixup::None))
}

/// Assembles the dialect into raw slots. Labels are `name:` lines; the label `exit` is implicit
/// at the first `exit` instruction unless defined explicitly.
pub fn assemble_dialect_raw(asm: &str) -> Result<Vec<RawInsn>, AsmError> {
    let mut slots: Vec<RawInsn> = Vec::new();
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut fixups: Vec<(usize, usize, Fixup)> = Vec::new();
    let mut first_exit = None;
    for (i, line) in asm.lines().enumerate() {
        let err = |message: String| AsmError { line: i + 1, message };
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(label) = line.strip_suffix(':') {
            labels.insert(label.trim().to_string(), slots.len());
            continue;
        }
        let mut toks = line.split([' ', '\t', ',']).filter(|t| !t.is_empty());
        let m = toks.next().unwrap_or("");
        let ops: Vec<&str> = toks.collect();
        let (enc, fix) = encode(m, &ops).map_err(err)?;
        if m == "exit" && first_exit.is_none() {
            first_exit = Some(slots.len());
        }
        fixups.push((i + 1, slots.len(), fix));
        slots.extend(enc);
    }
    if let Some(pc) = first_exit {
        labels.entry("exit".to_string()).or_insert(pc);
    }
    for (line, pc, fix) in fixups {
        let (name, is_imm) = match fix {
            Fixup::None => continue,
            Fixup::Off(n) => (n, false),
            Fixup::Imm(n) => (n, true),
        };
        let to =
            *labels.get(&name).ok_or_else(|| AsmError { line, message: format!("unknown label: {name}") })?;
        let rel = to as i64 - (pc as i64 + 1);
        let slot = &mut slots[pc];
        if is_imm {
            slot.imm = rel as i32;
        } else {
            slot.off = i16::try_from(rel)
                .map_err(|_| AsmError { line, message: format!("jump to {name} out of range") })?;
        }
    }
    Ok(slots)
}

/// Assembles the dialect and decodes it with `kbpf-isa` (so malformed encodings are errors).
pub fn assemble_dialect(asm: &str) -> Result<Vec<Insn>, AsmError> {
    let slots = assemble_dialect_raw(asm)?;
    kbpf_isa::decode_slots(&slots).map_err(|e| AsmError { line: 0, message: format!("decode: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> u64 {
        assemble_dialect_raw(s).unwrap()[0].to_u64()
    }

    #[test]
    fn encodings() {
        assert_eq!(one("mov %r0, 1"), 0x0000_0001_0000_00b7);
        assert_eq!(one("mov32 %r0, -1"), 0xffff_ffff_0000_00b4);
        assert_eq!(one("ldxw %r0, [%r1+4]"), 0x0000_0000_0004_1061);
        assert_eq!(one("stxdw [%r10-8], %r1"), 0x0000_0000_fff8_1a7b);
        assert_eq!(one("lock fetch add32 [%r10-4], %r3"), 0x0000_0001_fffc_3ac3);
        assert_eq!(one("lock cmpxchg [%r10-8], %r1"), 0x0000_00f1_fff8_1adb);
        assert_eq!(one("call %r2"), 0x0000_0000_0000_028d);
        assert_eq!(one("call 5"), 0x0000_0005_0000_0085);
        assert_eq!(one("sdiv32 %r0, 3"), 0x0000_0003_0001_0034);
        assert_eq!(one("movsx3264 %r0, %r1"), 0x0000_0000_0020_10bf);
        assert_eq!(one("bswap16 %r0"), 0x0000_0010_0000_00d7);
        assert_eq!(one("be32 %r3"), 0x0000_0020_0000_03dc);
        assert_eq!(one("neg32 %r1"), 0x0000_0000_0000_0184);
        assert_eq!(one("jslt32 %r1, %r2, +3"), 0x0000_0000_0003_21ce);
    }

    #[test]
    fn labels() {
        let s =
            assemble_dialect_raw("jne %r0, 2, exit\nja32 l\nl:\nlddw %r0, 0x100000002\ncall local l\nexit")
                .unwrap();
        assert_eq!(s[0].off, 4); // implicit exit label at slot 5
        assert_eq!(s[1].imm, 0);
        assert_eq!(s[4].imm, -3);
        assert_eq!(s[3].imm, 1);
        assert!(assemble_dialect_raw("ja nowhere").is_err());
        assert!(assemble_dialect_raw("frob %r0").is_err());
        assert!(assemble_dialect_raw("mov %r16, 1").is_err());
    }
}
