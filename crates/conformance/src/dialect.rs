//! The suite's assembler dialect: each line becomes a kbpf-isa [`Insn`], encoded by kbpf-isa
//! into the slots the suite's own assembler writes (label offsets patched in afterwards).

use std::collections::HashMap;

use kbpf_isa::{
    AluOp, AtomicOp, ByteOrder, CallTarget, Insn, JmpCond, LdImm64Src, RawInsn, Reg, Size, Src, Width,
};
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

type Res<T> = Result<T, String>;

fn reg(tok: &str) -> Res<Reg> {
    tok.strip_prefix("%r")
        .and_then(|n| n.parse::<u8>().ok())
        .and_then(Reg::from_u8)
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
fn mem_operand(tok: &str) -> Res<(Reg, i16)> {
    let inner = tok
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| format!("failed to decode register and offset: {tok}"))?;
    match inner.find(['+', '-']) {
        Some(i) => Ok((reg(&inner[..i])?, off16(&inner[i..])?)),
        None => Ok((reg(inner)?, 0)),
    }
}

fn alu_op(name: &str) -> Option<AluOp> {
    Some(match name {
        "add" => AluOp::Add,
        "sub" => AluOp::Sub,
        "mul" => AluOp::Mul,
        "div" => AluOp::Div,
        "sdiv" => AluOp::SDiv,
        "or" => AluOp::Or,
        "and" => AluOp::And,
        "lsh" => AluOp::Lsh,
        "rsh" => AluOp::Rsh,
        "mod" => AluOp::Mod,
        "smod" => AluOp::SMod,
        "xor" => AluOp::Xor,
        "mov" => AluOp::Mov,
        "arsh" => AluOp::Arsh,
        _ => return None,
    })
}

fn jmp_cond(name: &str) -> Option<JmpCond> {
    Some(match name {
        "jeq" => JmpCond::Eq,
        "jgt" => JmpCond::Gt,
        "jge" => JmpCond::Ge,
        "jset" => JmpCond::Set,
        "jne" => JmpCond::Ne,
        "jsgt" => JmpCond::Sgt,
        "jsge" => JmpCond::Sge,
        "jlt" => JmpCond::Lt,
        "jle" => JmpCond::Le,
        "jslt" => JmpCond::Slt,
        "jsle" => JmpCond::Sle,
        _ => return None,
    })
}

/// The atomic operation `name`, in its fetching form when `fetch`.
fn atomic_op(name: &str, fetch: bool) -> Option<AtomicOp> {
    Some(match (name, fetch) {
        ("add", false) => AtomicOp::Add,
        ("or", false) => AtomicOp::Or,
        ("and", false) => AtomicOp::And,
        ("xor", false) => AtomicOp::Xor,
        ("add", true) => AtomicOp::FetchAdd,
        ("or", true) => AtomicOp::FetchOr,
        ("and", true) => AtomicOp::FetchAnd,
        ("xor", true) => AtomicOp::FetchXor,
        // the exchanges always fetch; `lock fetch xchg` spells the same instruction
        ("xchg", _) => AtomicOp::Xchg,
        ("cmpxchg", _) => AtomicOp::Cmpxchg,
        _ => return None,
    })
}

/// `name32` -> (name, true), `name64`/`name` -> (name, false).
fn width_suffix(m: &str) -> (&str, bool) {
    if let Some(b) = m.strip_suffix("32") { (b, true) } else { (m.strip_suffix("64").unwrap_or(m), false) }
}

fn width(is32: bool) -> Width {
    if is32 { Width::W32 } else { Width::W64 }
}

fn want(ops: &[&str], n: usize, m: &str) -> Res<()> {
    if ops.len() == n { Ok(()) } else { Err(format!("{m} takes {n} operands, got {}", ops.len())) }
}

/// A branch target: `+N`/`-N` literal, or a label to resolve later.
fn target(tok: &str) -> Res<Result<i64, String>> {
    if tok.starts_with(['+', '-']) { Ok(Ok(num(tok)? as i64)) } else { Ok(Err(tok.to_string())) }
}

/// A relative target in the offset field, or a label to patch there later.
fn off_target(tok: &str) -> Res<(i16, Fixup)> {
    Ok(match target(tok)? {
        Ok(o) => (o as i16, Fixup::None),
        Err(l) => (0, Fixup::Off(l)),
    })
}

/// A relative target in the immediate field, or a label to patch there later.
fn imm_target(tok: &str) -> Res<(i32, Fixup)> {
    Ok(match target(tok)? {
        Ok(o) => (o as i32, Fixup::None),
        Err(l) => (0, Fixup::Imm(l)),
    })
}

/// A register or an immediate operand.
fn operand(tok: &str) -> Res<Src> {
    if tok.starts_with('%') { Ok(Src::Reg(reg(tok)?)) } else { Ok(Src::Imm(imm32(tok)?)) }
}

/// Parses one instruction line into an instruction plus a pending label fixup.
fn encode(m: &str, ops: &[&str]) -> Res<(Insn, Fixup)> {
    let one = |i: Insn| Ok((i, Fixup::None));
    match m {
        "exit" => return one(Insn::Exit),
        "lddw" => {
            want(ops, 2, m)?;
            let v = num(ops[1])?;
            let (imm, imm_hi) = (v as u32 as i32, (v >> 32) as u32 as i32);
            return one(Insn::LdImm64 { dst: reg(ops[0])?, src: LdImm64Src::Imm, imm, imm_hi });
        }
        "ja" => {
            want(ops, 1, m)?;
            let (off, fix) = off_target(ops[0])?;
            return Ok((Insn::Ja { off }, fix));
        }
        "ja32" => {
            want(ops, 1, m)?;
            let (imm, fix) = imm_target(ops[0])?;
            return Ok((Insn::Gotol { imm }, fix));
        }
        "call" => {
            return match ops {
                [t] if t.starts_with('%') => one(Insn::Callx { reg: reg(t)? }),
                [n] | ["helper", n] => one(Insn::Call(CallTarget::Helper(imm32(n)?))),
                ["runtime", n] => one(Insn::Call(CallTarget::Kfunc { btf_id: imm32(n)?, off: 0 })),
                ["local", t] => {
                    let (rel, fix) = imm_target(t)?;
                    Ok((Insn::Call(CallTarget::Local(rel)), fix))
                }
                _ => Err("invalid call mode".to_string()),
            };
        }
        "lock" => return encode_lock(ops).map(|i| (i, Fixup::None)),
        _ => {}
    }
    let sized = |prefix: &str| -> Option<Size> {
        Some(match m.strip_prefix(prefix)? {
            "b" => Size::B,
            "h" => Size::H,
            "w" => Size::W,
            "dw" => Size::DW,
            _ => return None,
        })
    };
    if let Some((size, signed)) =
        sized("ldxs").filter(|s| *s != Size::DW).map(|s| (s, true)).or(sized("ldx").map(|s| (s, false)))
    {
        want(ops, 2, m)?;
        let (src, off) = mem_operand(ops[1])?;
        return one(Insn::Load { size, signed, dst: reg(ops[0])?, src, off });
    }
    if let Some(size) = sized("st") {
        want(ops, 2, m)?;
        let (dst, off) = mem_operand(ops[0])?;
        return one(Insn::Store { size, dst, off, src: Src::Imm(imm32(ops[1])?) });
    }
    if let Some(size) = sized("stx") {
        want(ops, 2, m)?;
        let (dst, off) = mem_operand(ops[0])?;
        return one(Insn::Store { size, dst, off, src: Src::Reg(reg(ops[1])?) });
    }
    let movsx = [("movsx832", 8, true), ("movsx1632", 16, true), ("movsx864", 8, false)];
    let movsx64 = [("movsx1664", 16, false), ("movsx3264", 32, false)];
    if let Some(&(_, from_bits, is32)) = movsx.iter().chain(&movsx64).find(|(n, _, _)| *n == m) {
        want(ops, 2, m)?;
        return one(Insn::MovSx { width: width(is32), dst: reg(ops[0])?, src: reg(ops[1])?, from_bits });
    }
    for (prefix, order) in [
        ("le", ByteOrder::ToLe),
        ("be", ByteOrder::ToBe),
        ("bswap", ByteOrder::Swap),
        ("swap", ByteOrder::Swap),
    ] {
        if let Some(bits @ ("16" | "32" | "64")) = m.strip_prefix(prefix) {
            want(ops, 1, m)?;
            return one(Insn::Endian { order, bits: bits.parse().unwrap_or(64), dst: reg(ops[0])? });
        }
    }
    let (base, is32) = width_suffix(m);
    let dst = || reg(ops.first().ok_or_else(|| format!("{m} needs a destination"))?);
    if base == "neg" {
        let dst = dst()?;
        want(ops, 1, m)?;
        return one(Insn::Neg { width: width(is32), dst });
    }
    if let Some(op) = alu_op(base) {
        let dst = dst()?;
        want(ops, 2, m)?;
        return one(Insn::Alu { width: width(is32), op, dst, src: operand(ops[1])? });
    }
    if let Some(cond) = jmp_cond(base) {
        want(ops, 3, m)?;
        let (dst, src) = (reg(ops[0])?, operand(ops[1])?);
        let (off, fix) = off_target(ops[2])?;
        return Ok((Insn::Jmp { width: width(is32), cond, dst, src, off }, fix));
    }
    Err(format!("Invalid mnemonic: {m}"))
}

/// `lock [fetch] add|and|or|xor[32] [dst+off], src`, `lock xchg[32] ...`, `lock cmpxchg[32] ...`.
fn encode_lock(ops: &[&str]) -> Res<Insn> {
    let (fetch, rest) = match ops {
        ["fetch", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let [name, mem, src] = rest else {
        return Err("lock takes an operation, a memory operand and a register".to_string());
    };
    let (base, is32) = width_suffix(name);
    let op = atomic_op(base, fetch).ok_or_else(|| format!("invalid atomic operation: {name}"))?;
    let (dst, off) = mem_operand(mem)?;
    let size = if is32 { Size::W } else { Size::DW };
    Ok(Insn::Atomic { size, op, dst, src: reg(src)?, off })
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
        let (insn, fix) = encode(m, &ops).map_err(err)?;
        if m == "exit" && first_exit.is_none() {
            first_exit = Some(slots.len());
        }
        fixups.push((i + 1, slots.len(), fix));
        insn.encode_into(&mut slots);
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
