//! One instruction's tokens to an [`Insn`], accepting the kernel's and LLVM 19's spellings.
//!
//! Branch and call targets that name a label come back as a [`Fixup`]; the caller resolves them
//! once every label's position is known.

use super::lexer::Tok;
use crate::helper_names::helper_id;
use crate::insn::{CallTarget, Insn, Src};
use crate::opcode::{AluOp, AtomicOp, ByteOrder, JmpCond, LdImm64Src, Size, Width};
use crate::reg::Reg;

type R<T> = Result<T, String>;

/// A label reference still to be resolved into a relative offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fixup<'a> {
    /// Branch target of a jump (`goto`, `gotol`, `may_goto`, `if`).
    Jump(&'a str),
    /// `call name`: a label (bpf-to-bpf call) or else a helper name.
    Call(&'a str),
    /// `r1 = func(name)`: pseudo `ld_imm64` of a subprogram address.
    Func(&'a str),
    /// `r1 = map_fd(name)`, `r1 = name ll`, `r1 = map_value(name, 8)`: the map's index in the
    /// module's map table goes into `imm`.
    Map(&'a str),
}

/// A parsed instruction; offsets named by `fixup` are still zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Parsed<'a> {
    pub insn: Insn,
    pub fixup: Option<Fixup<'a>>,
}

fn plain<'a>(insn: Insn) -> R<Parsed<'a>> {
    Ok(Parsed { insn, fixup: None })
}

/// A relative target or a label.
enum Target<'a> {
    Rel(i128),
    Label(&'a str),
}

/// `r0`..`r11` / `w0`..`w11`; the bool is true for the 64-bit `r` spelling.
fn parse_reg(s: &str) -> Option<(Reg, bool)> {
    let wide = match s.as_bytes().first()? {
        b'r' => true,
        b'w' => false,
        _ => return None,
    };
    let digits = &s[1..];
    if digits.is_empty() || digits.len() > 2 || (digits.len() == 2 && digits.starts_with('0')) {
        return None;
    }
    let n: u8 = digits.parse().ok()?;
    Reg::from_u8(n).map(|r| (r, wide))
}

fn width(wide: bool) -> Width {
    if wide { Width::W64 } else { Width::W32 }
}

/// A value that must fit the signed 32-bit immediate.
fn imm_i32(v: i128) -> R<i32> {
    i32::try_from(v).map_err(|_| format!("immediate {v} does not fit in 32 signed bits"))
}

/// A 32-bit immediate that may also be written unsigned (`0xffffffff` for -1), for operations
/// where only the low 32 bits matter or the kernel prints them unsigned (jumps).
fn imm_32(v: i128) -> R<i32> {
    if (i32::MIN as i128..=u32::MAX as i128).contains(&v) {
        Ok(v as u32 as i32)
    } else {
        Err(format!("immediate {v} does not fit in 32 bits"))
    }
}

fn off16(v: i128) -> R<i16> {
    i16::try_from(v).map_err(|_| format!("offset {v} does not fit in 16 signed bits"))
}

fn u16_field(v: i128) -> R<u16> {
    u16::try_from(v).map_err(|_| format!("address space {v} does not fit in 16 bits"))
}

fn endian(name: &str) -> Option<(ByteOrder, u8)> {
    let (order, bits) = if let Some(b) = name.strip_prefix("bswap") {
        (ByteOrder::Swap, b)
    } else if let Some(b) = name.strip_prefix("be") {
        (ByteOrder::ToBe, b)
    } else {
        (ByteOrder::ToLe, name.strip_prefix("le")?)
    };
    Some((order, bits.parse().ok().filter(|b| matches!(b, 16 | 32 | 64))?))
}

fn pseudo_src(name: &str) -> Option<LdImm64Src> {
    Some(match name {
        "map_fd" => LdImm64Src::MapFd,
        "map_value" => LdImm64Src::MapValue,
        "btf_id" => LdImm64Src::BtfId,
        "func" => LdImm64Src::Func,
        "map_idx" => LdImm64Src::MapIdx,
        "map_idx_value" => LdImm64Src::MapIdxValue,
        _ => return None,
    })
}

fn fetch_op(stem: &str) -> Option<AtomicOp> {
    Some(match stem {
        "add" => AtomicOp::FetchAdd,
        "or" => AtomicOp::FetchOr,
        "and" => AtomicOp::FetchAnd,
        "xor" => AtomicOp::FetchXor,
        _ => return None,
    })
}

/// Parses a whole instruction. `wide_ld` is set when the line carried the `(18)` opcode prefix,
/// which makes the kernel's `r1 = 0x5` (no `ll`) a 64-bit load.
pub(super) fn parse<'a>(toks: &[Tok<'a>], wide_ld: bool) -> R<Parsed<'a>> {
    let mut p = P { toks, i: 0 };
    let parsed = p.stmt(wide_ld)?;
    // llvm-objdump annotates branch targets with `<symbol>`.
    if p.eat_sym("<") {
        while p.next()? != Tok::Sym(">") {}
    }
    match p.peek() {
        Some(t) => Err(format!("unexpected {t} after the instruction")),
        None => Ok(parsed),
    }
}

struct P<'t, 'a> {
    toks: &'t [Tok<'a>],
    i: usize,
}

impl<'a> P<'_, 'a> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<Tok<'a>> {
        self.toks.get(self.i + n).copied()
    }

    fn next(&mut self) -> R<Tok<'a>> {
        let t = self.peek().ok_or_else(|| "unexpected end of line".to_string())?;
        self.i += 1;
        Ok(t)
    }

    fn found(&self) -> String {
        self.peek().map_or_else(|| "end of line".to_string(), |t| t.to_string())
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Sym(x)) if x == s);
        self.i += hit as usize;
        hit
    }

    fn expect_sym(&mut self, s: &str) -> R<()> {
        if self.eat_sym(s) { Ok(()) } else { Err(format!("expected `{s}`, found {}", self.found())) }
    }

    fn eat_ident(&mut self, s: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Ident(x)) if x == s);
        self.i += hit as usize;
        hit
    }

    fn expect_ident(&mut self, s: &str) -> R<()> {
        if self.eat_ident(s) { Ok(()) } else { Err(format!("expected `{s}`, found {}", self.found())) }
    }

    /// A number with an optional sign.
    fn int(&mut self) -> R<i128> {
        let neg = if self.eat_sym("-") {
            true
        } else {
            self.eat_sym("+");
            false
        };
        match self.peek() {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(if neg { -(n as i128) } else { n as i128 })
            }
            _ => Err(format!("expected a number, found {}", self.found())),
        }
    }

    fn peek_reg(&self) -> Option<(Reg, bool)> {
        match self.peek() {
            Some(Tok::Ident(s)) => parse_reg(s),
            _ => None,
        }
    }

    fn reg(&mut self) -> R<(Reg, bool)> {
        let r = self.peek_reg().ok_or_else(|| format!("expected a register, found {}", self.found()))?;
        self.i += 1;
        Ok(r)
    }

    /// A register of the given width (`r` for 64-bit, `w` for 32-bit operations).
    fn reg_of(&mut self, wide: bool) -> R<Reg> {
        let (r, w) = self.reg()?;
        if w != wide {
            return Err(format!("expected a {} register", if wide { "64-bit r" } else { "32-bit w" }));
        }
        Ok(r)
    }

    /// `(u64 *)`: the access size and whether it is a sign-extending type.
    fn cast(&mut self) -> R<(Size, bool)> {
        self.expect_sym("(")?;
        let ty = match self.next()? {
            Tok::Ident(t) => t,
            t => return Err(format!("expected a type like `u64`, found {t}")),
        };
        let signed = ty.starts_with('s');
        let size = ty
            .strip_prefix(['u', 's'])
            .and_then(|b| b.parse::<u32>().ok())
            .and_then(|bits| Size::from_bytes(bits / 8).filter(|_| bits % 8 == 0))
            .ok_or_else(|| format!("unknown type `{ty}`"))?;
        self.expect_sym("*")?;
        self.expect_sym(")")?;
        Ok((size, signed))
    }

    /// `r10 -8`, `r10 - 0x8`, `r1` (offset 0).
    fn addr(&mut self) -> R<(Reg, i16)> {
        let (base, wide) = self.reg()?;
        if !wide {
            return Err("a base address must be an r register".to_string());
        }
        let off = match self.peek() {
            Some(Tok::Sym("+")) => {
                self.i += 1;
                self.int()?
            }
            Some(Tok::Sym("-")) => {
                self.i += 1;
                -self.int()?
            }
            _ => 0,
        };
        Ok((base, off16(off)?))
    }

    /// `(r10 -8)`.
    fn mem(&mut self) -> R<(Reg, i16)> {
        self.expect_sym("(")?;
        let a = self.addr()?;
        self.expect_sym(")")?;
        Ok(a)
    }

    /// `pc+3`, `+3`, `-3`, `3`, or a label.
    fn target(&mut self) -> R<Target<'a>> {
        match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Ident("pc")), Some(Tok::Sym("+" | "-"))) => {
                self.i += 1;
                Ok(Target::Rel(self.int()?))
            }
            (Some(Tok::Sym("+" | "-") | Tok::Num(_)), _) => Ok(Target::Rel(self.int()?)),
            (Some(Tok::Ident(l)), _) if parse_reg(l).is_none() => {
                self.i += 1;
                Ok(Target::Label(l))
            }
            _ => Err(format!("expected a branch target, found {}", self.found())),
        }
    }

    /// A 16-bit branch: builds the instruction from the offset, or records the label.
    fn jump16(&mut self, make: impl Fn(i16) -> Insn) -> R<Parsed<'a>> {
        match self.target()? {
            Target::Rel(v) => plain(make(off16(v)?)),
            Target::Label(l) => Ok(Parsed { insn: make(0), fixup: Some(Fixup::Jump(l)) }),
        }
    }
}

mod stmt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers() {
        assert_eq!(parse_reg("r0"), Some((Reg::R0, true)));
        assert_eq!(parse_reg("w10"), Some((Reg::R10, false)));
        assert_eq!(parse_reg("r11"), Some((Reg::R11, true)));
        assert_eq!(parse_reg("r12"), None);
        assert_eq!(parse_reg("r01"), None);
        assert_eq!(parse_reg("r"), None);
        assert_eq!(parse_reg("ra"), None);
    }

    #[test]
    fn endian_names() {
        assert_eq!(endian("be16"), Some((ByteOrder::ToBe, 16)));
        assert_eq!(endian("le64"), Some((ByteOrder::ToLe, 64)));
        assert_eq!(endian("bswap32"), Some((ByteOrder::Swap, 32)));
        assert_eq!(endian("be8"), None);
        assert_eq!(endian("let"), None);
    }
}
