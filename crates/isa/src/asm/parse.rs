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

    fn stmt(&mut self, wide_ld: bool) -> R<Parsed<'a>> {
        let first = self.next()?;
        let word = match first {
            Tok::Sym("*") => return self.store(),
            Tok::Ident(w) => w,
            t => return Err(format!("expected an instruction, found {t}")),
        };
        if let Some(dst) = parse_reg(word) {
            return self.assign(dst, wide_ld);
        }
        match word {
            "exit" => plain(Insn::Exit),
            "goto" | "ja" => self.jump16(|off| Insn::Ja { off }),
            "may_goto" => self.jump16(|off| Insn::MayGoto { off }),
            "gotol" => match self.target()? {
                Target::Rel(v) => plain(Insn::Gotol { imm: imm_i32(v)? }),
                Target::Label(l) => Ok(Parsed { insn: Insn::Gotol { imm: 0 }, fixup: Some(Fixup::Jump(l)) }),
            },
            "callx" => Ok(Parsed { insn: Insn::Callx { reg: self.reg_of(true)? }, fixup: None }),
            "call" => self.call(),
            "if" => self.cond_jump(),
            "lock" => self.lock(),
            "store_release" => {
                self.expect_sym("(")?;
                let (size, base, off) = self.typed_mem()?;
                self.expect_sym(",")?;
                let src = self.value_reg(size)?;
                self.expect_sym(")")?;
                plain(Insn::Atomic { size, op: AtomicOp::StoreRelease, dst: base, src, off })
            }
            "ld_pseudo" => self.ld_pseudo(),
            w => Err(format!("unknown instruction `{w}`")),
        }
    }

    /// `(u32 *)(r1 +0)` for atomics and stores: unsigned types only.
    fn typed_mem(&mut self) -> R<(Size, Reg, i16)> {
        let (size, signed) = self.cast()?;
        if signed {
            return Err("signed types are only valid in loads".to_string());
        }
        let (base, off) = self.mem()?;
        Ok((size, base, off))
    }

    /// A value register for an access of `size`: `w` only for 32-bit and narrower accesses.
    fn value_reg(&mut self, size: Size) -> R<Reg> {
        let (r, wide) = self.reg()?;
        if !wide && size == Size::DW {
            return Err("a 64-bit access needs an r register".to_string());
        }
        Ok(r)
    }

    fn call(&mut self) -> R<Parsed<'a>> {
        let target = match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Ident("pc")), Some(Tok::Sym("+" | "-"))) => {
                self.i += 1;
                let rel = imm_i32(self.int()?)?;
                // bpftool appends the callee: `call pc+5#bpf_prog_1a2b_f`.
                if self.eat_sym("#") {
                    self.next()?;
                }
                CallTarget::Local(rel)
            }
            (Some(Tok::Sym("+" | "-") | Tok::Num(_)), _) => CallTarget::Helper(imm_i32(self.int()?)?),
            (Some(Tok::Ident("kfunc")), Some(Tok::Sym(":"))) => {
                self.i += 2;
                let btf_id = imm_i32(self.int()?)?;
                let off = if self.eat_sym(":") { off16(self.int()?)? } else { 0 };
                CallTarget::Kfunc { btf_id, off }
            }
            (Some(Tok::Ident("kernel")), Some(Tok::Sym("-"))) => {
                self.i += 2;
                self.expect_ident("function")?;
                self.expect_sym("#")?;
                CallTarget::Kfunc { btf_id: imm_i32(self.int()?)?, off: 0 }
            }
            (Some(Tok::Ident(name)), Some(Tok::Sym("#"))) => {
                self.i += 2;
                let id = imm_i32(self.int()?)?;
                match helper_id(name) {
                    _ if name == "unknown" => CallTarget::Helper(id),
                    Some(h) if h == id => CallTarget::Helper(id),
                    Some(h) => return Err(format!("helper `{name}` has id {h}, not {id}")),
                    // Verifier logs print resolved kfuncs as `name#btf_id`.
                    None => CallTarget::Kfunc { btf_id: id, off: 0 },
                }
            }
            (Some(Tok::Ident(name)), _) => {
                self.i += 1;
                return Ok(Parsed { insn: Insn::Call(CallTarget::Local(0)), fixup: Some(Fixup::Call(name)) });
            }
            _ => return Err(format!("expected a call target, found {}", self.found())),
        };
        plain(Insn::Call(target))
    }

    fn cmp(&mut self) -> R<JmpCond> {
        let signed = self.eat_ident("s");
        let op = match self.next()? {
            Tok::Sym(s) => s,
            t => return Err(format!("expected a comparison, found {t}")),
        };
        Ok(match (signed, op) {
            (false, "==") => JmpCond::Eq,
            (false, "!=") => JmpCond::Ne,
            (false, "&") => JmpCond::Set,
            (false, ">") => JmpCond::Gt,
            (false, ">=") => JmpCond::Ge,
            (false, "<") => JmpCond::Lt,
            (false, "<=") => JmpCond::Le,
            (true, ">") => JmpCond::Sgt,
            (true, ">=") => JmpCond::Sge,
            (true, "<") => JmpCond::Slt,
            (true, "<=") => JmpCond::Sle,
            _ => return Err(format!("unknown comparison `{}{op}`", if signed { "s" } else { "" })),
        })
    }

    fn cond_jump(&mut self) -> R<Parsed<'a>> {
        let (dst, wide) = self.reg()?;
        let cond = self.cmp()?;
        let src = match self.peek_reg() {
            Some(_) => Src::Reg(self.reg_of(wide)?),
            None => Src::Imm(imm_32(self.int()?)?),
        };
        self.expect_ident("goto")?;
        let width = width(wide);
        self.jump16(|off| Insn::Jmp { width, cond, dst, src, off })
    }

    fn lock(&mut self) -> R<Parsed<'a>> {
        self.expect_sym("*")?;
        let (size, base, off) = self.typed_mem()?;
        let op = match self.next()? {
            Tok::Sym("+=") => AtomicOp::Add,
            Tok::Sym("|=") => AtomicOp::Or,
            Tok::Sym("&=") => AtomicOp::And,
            Tok::Sym("^=") => AtomicOp::Xor,
            t => return Err(format!("expected `+=`, `|=`, `&=` or `^=`, found {t}")),
        };
        let src = self.value_reg(size)?;
        plain(Insn::Atomic { size, op, dst: base, src, off })
    }

    fn ld_pseudo(&mut self) -> R<Parsed<'a>> {
        let dst = self.reg_of(true)?;
        self.expect_sym(",")?;
        let kind = self.int()?;
        let src = u8::try_from(kind)
            .ok()
            .and_then(LdImm64Src::from_u8)
            .ok_or_else(|| format!("unknown ld_imm64 source {kind}"))?;
        self.expect_sym(",")?;
        let imm = imm_32(self.int()?)?;
        plain(Insn::LdImm64 { dst, src, imm, imm_hi: 0 })
    }

    /// `*(size *)(base off) = value`.
    fn store(&mut self) -> R<Parsed<'a>> {
        let (size, dst, off) = self.typed_mem()?;
        self.expect_sym("=")?;
        let src = match self.peek_reg() {
            Some(_) => Src::Reg(self.value_reg(size)?),
            None if size == Size::DW => Src::Imm(imm_i32(self.int()?)?),
            None => Src::Imm(imm_32(self.int()?)?),
        };
        plain(Insn::Store { size, dst, off, src })
    }

    /// Compound assignment operator after the destination register.
    fn alu_op(&mut self) -> Option<AluOp> {
        let (op, n) = match (self.peek()?, self.peek_at(1)) {
            (Tok::Ident("s"), Some(Tok::Sym(">>="))) => (AluOp::Arsh, 2),
            (Tok::Ident("s"), Some(Tok::Sym("/="))) => (AluOp::SDiv, 2),
            (Tok::Ident("s"), Some(Tok::Sym("%="))) => (AluOp::SMod, 2),
            (Tok::Sym(s), _) => (AluOp::ALL.into_iter().find(|o| *o != AluOp::Mov && o.operator() == s)?, 1),
            _ => return None,
        };
        self.i += n;
        Some(op)
    }

    /// Everything that starts with a destination register.
    fn assign(&mut self, (dst, wide): (Reg, bool), wide_ld: bool) -> R<Parsed<'a>> {
        let width = width(wide);
        if let Some(op) = self.alu_op() {
            let src = match self.peek_reg() {
                Some(_) => Src::Reg(self.reg_of(wide)?),
                None if wide => Src::Imm(imm_i32(self.int()?)?),
                None => Src::Imm(imm_32(self.int()?)?),
            };
            return plain(Insn::Alu { width, op, dst, src });
        }
        self.expect_sym("=")?;
        let same = |r: Reg, w: bool| {
            if r == dst && w == wide {
                Ok(())
            } else {
                Err(format!("operand must be the destination register {dst}"))
            }
        };
        match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Sym("-")), Some(Tok::Ident(s))) if parse_reg(s).is_some() => {
                self.i += 1;
                let (r, w) = self.reg()?;
                same(r, w)?;
                plain(Insn::Neg { width, dst })
            }
            (Some(Tok::Sym("-" | "+") | Tok::Num(_)), _) => self.constant(dst, wide, wide_ld),
            (Some(Tok::Ident(s)), _) if parse_reg(s).is_some() => {
                plain(Insn::Alu { width, op: AluOp::Mov, dst, src: Src::Reg(self.reg_of(wide)?) })
            }
            (Some(Tok::Sym("(")), _) => {
                self.i += 1;
                let bits = match self.next()? {
                    Tok::Ident("s8") => 8,
                    Tok::Ident("s16") => 16,
                    Tok::Ident("s32") => 32,
                    t => return Err(format!("expected `s8`, `s16` or `s32`, found {t}")),
                };
                self.expect_sym(")")?;
                let src = self.reg_of(wide)?;
                plain(Insn::MovSx { width, dst, src, from_bits: bits })
            }
            (Some(Tok::Sym("*")), _) => {
                self.i += 1;
                self.load(dst, wide)
            }
            (Some(Tok::Ident(name)), _) => {
                self.i += 1;
                self.named(name, dst, wide)
            }
            _ => Err(format!("expected a value, found {}", self.found())),
        }
    }

    /// `rN = imm`, `rN = imm ll`.
    fn constant(&mut self, dst: Reg, wide: bool, wide_ld: bool) -> R<Parsed<'a>> {
        let v = self.int()?;
        if self.eat_ident("ll") || wide_ld {
            if !wide {
                return Err("a 64-bit constant needs an r register".to_string());
            }
            if !(i64::MIN as i128..=u64::MAX as i128).contains(&v) {
                return Err(format!("constant {v} does not fit in 64 bits"));
            }
            let bits = v as u64;
            return plain(Insn::LdImm64 {
                dst,
                src: LdImm64Src::Imm,
                imm: bits as u32 as i32,
                imm_hi: (bits >> 32) as u32 as i32,
            });
        }
        let imm = if wide {
            i32::try_from(v).map_err(|_| {
                format!("immediate {v} does not fit in 32 signed bits (add `ll` for a 64-bit constant)")
            })?
        } else {
            imm_32(v)?
        };
        plain(Insn::Alu { width: width(wide), op: AluOp::Mov, dst, src: Src::Imm(imm) })
    }

    /// `rN = *(type *)(base off)` and the legacy `r0 = *(type *)skb[...]`.
    fn load(&mut self, dst: Reg, wide: bool) -> R<Parsed<'a>> {
        let (size, signed) = self.cast()?;
        if self.eat_ident("skb") {
            if dst != Reg::R0 || signed {
                return Err("packet loads are `r0 = *(u8|u16|u32 *)skb[...]`".to_string());
            }
            self.expect_sym("[")?;
            let insn = match self.peek_reg() {
                Some(_) => {
                    let src = self.reg_of(true)?;
                    let imm = match self.peek() {
                        Some(Tok::Sym("+")) => {
                            self.i += 1;
                            imm_i32(self.int()?)?
                        }
                        Some(Tok::Sym("-")) => {
                            self.i += 1;
                            imm_i32(-self.int()?)?
                        }
                        _ => 0,
                    };
                    Insn::LdInd { size, src, imm }
                }
                None => Insn::LdAbs { size, imm: imm_i32(self.int()?)? },
            };
            self.expect_sym("]")?;
            return plain(insn);
        }
        if !wide && (signed || size == Size::DW) {
            return Err("a w destination needs an unsigned load of at most 32 bits".to_string());
        }
        let (src, off) = self.mem()?;
        plain(Insn::Load { size, signed, dst, src, off })
    }

    /// Right-hand sides that start with a word: byte swaps, casts, atomics, pseudo loads.
    fn named(&mut self, name: &'a str, dst: Reg, wide: bool) -> R<Parsed<'a>> {
        if let Some((order, bits)) = endian(name) {
            let (r, w) = self.reg()?;
            if r != dst || !w || !wide {
                return Err(format!("byte swaps are `{dst} = {name} {dst}` on r registers"));
            }
            return plain(Insn::Endian { order, bits, dst });
        }
        if let Some(src) = pseudo_src(name) {
            return self.pseudo(src, dst, wide);
        }
        // LLVM-style map references: `r1 = map ll` (the map), `r1 = map + 8 ll` (its value).
        if matches!(self.peek(), Some(Tok::Ident("ll")) | Some(Tok::Sym("+"))) {
            if !wide {
                return Err("a 64-bit load needs an r register".to_string());
            }
            let (src, imm_hi) = if self.eat_sym("+") {
                (LdImm64Src::MapValue, imm_32(self.int()?)?)
            } else {
                (LdImm64Src::MapFd, 0)
            };
            self.expect_ident("ll")?;
            return Ok(Parsed {
                insn: Insn::LdImm64 { dst, src, imm: 0, imm_hi },
                fixup: Some(Fixup::Map(name)),
            });
        }
        self.expect_sym("(")?;
        let parsed = self.call_like(name, dst, wide)?;
        self.expect_sym(")")?;
        Ok(parsed)
    }

    /// The inside of `name(...)` forms.
    fn call_like(&mut self, name: &'a str, dst: Reg, wide: bool) -> R<Parsed<'a>> {
        if name == "addr_space_cast" {
            if !wide {
                return Err("addr_space_cast needs r registers".to_string());
            }
            let src = self.reg_of(true)?;
            self.expect_sym(",")?;
            let dst_as = u16_field(self.int()?)?;
            self.expect_sym(",")?;
            let src_as = u16_field(self.int()?)?;
            return plain(Insn::AddrSpaceCast { dst, src, dst_as, src_as });
        }
        if name == "load_acquire" {
            let (size, base, off) = self.typed_mem()?;
            if !wide && size == Size::DW {
                return Err("a 64-bit access needs an r register".to_string());
            }
            return plain(Insn::Atomic { size, op: AtomicOp::LoadAcquire, dst, src: base, off });
        }
        // LLVM's untyped forms: xchg_64(r10 - 8, r2), cmpxchg32_32(r10 - 8, w0, w2).
        if let Some((cmp, size)) = match name {
            "xchg_64" => Some((false, Size::DW)),
            "xchg32_32" => Some((false, Size::W)),
            "cmpxchg_64" => Some((true, Size::DW)),
            "cmpxchg32_32" => Some((true, Size::W)),
            _ => None,
        } {
            let (base, off) = self.addr()?;
            return self.rmw_tail(cmp, size, base, off, dst, wide);
        }
        // Kernel and LLVM typed forms: atomic[64]_fetch_add, atomic[64]_xchg, atomic[64]_cmpxchg.
        let (is64, stem) = match (name.strip_prefix("atomic64_"), name.strip_prefix("atomic_")) {
            (Some(s), _) => (true, s),
            (None, Some(s)) => (false, s),
            _ => return Err(format!("unknown operation `{name}`")),
        };
        let (size, base, off) = self.typed_mem()?;
        if is64 && size != Size::DW {
            return Err(format!("`{name}` needs a u64 operand"));
        }
        if let Some(op) = stem.strip_prefix("fetch_").and_then(fetch_op) {
            self.expect_sym(",")?;
            let src = self.value_reg(size)?;
            self.fetch_result(src, dst, wide, size)?;
            return plain(Insn::Atomic { size, op, dst: base, src, off });
        }
        match stem {
            "xchg" => self.rmw_tail(false, size, base, off, dst, wide),
            "cmpxchg" => self.rmw_tail(true, size, base, off, dst, wide),
            _ => Err(format!("unknown operation `{name}`")),
        }
    }

    /// The result register of a fetching atomic must be the value register (r0 for cmpxchg).
    fn fetch_result(&self, src: Reg, dst: Reg, wide: bool, size: Size) -> R<()> {
        if src != dst {
            return Err(format!("the result register must be the value register {src}"));
        }
        if !wide && size == Size::DW {
            return Err("a 64-bit access needs an r register".to_string());
        }
        Ok(())
    }

    /// `, [r0,] src` of exchange and compare-exchange.
    fn rmw_tail(
        &mut self,
        cmp: bool,
        size: Size,
        base: Reg,
        off: i16,
        dst: Reg,
        wide: bool,
    ) -> R<Parsed<'a>> {
        self.expect_sym(",")?;
        if cmp {
            let (r0, _) = self.reg()?;
            if r0 != Reg::R0 || dst != Reg::R0 {
                return Err("compare-exchange is `r0 = cmpxchg(..., r0, src)`".to_string());
            }
            self.expect_sym(",")?;
            let src = self.value_reg(size)?;
            if !wide && size == Size::DW {
                return Err("a 64-bit access needs an r register".to_string());
            }
            return plain(Insn::Atomic { size, op: AtomicOp::Cmpxchg, dst: base, src, off });
        }
        let src = self.value_reg(size)?;
        self.fetch_result(src, dst, wide, size)?;
        plain(Insn::Atomic { size, op: AtomicOp::Xchg, dst: base, src, off })
    }

    /// kbpf's pseudo `ld_imm64` spellings: `map_fd(5)`, `map_value(5, 16)`, `func(label)`.
    fn pseudo(&mut self, src: LdImm64Src, dst: Reg, wide: bool) -> R<Parsed<'a>> {
        if !wide {
            return Err("a 64-bit load needs an r register".to_string());
        }
        self.expect_sym("(")?;
        let (imm, fixup) = if src == LdImm64Src::Func {
            match self.target()? {
                Target::Rel(v) => (imm_i32(v)?, None),
                Target::Label(l) => (0, Some(Fixup::Func(l))),
            }
        } else if let Some(Tok::Ident(map)) = self.peek() {
            self.i += 1;
            (0, Some(Fixup::Map(map)))
        } else {
            (imm_32(self.int()?)?, None)
        };
        let imm_hi = if self.eat_sym(",") { imm_32(self.int()?)? } else { 0 };
        self.expect_sym(")")?;
        self.eat_ident("ll");
        Ok(Parsed { insn: Insn::LdImm64 { dst, src, imm, imm_hi }, fixup })
    }
}

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
