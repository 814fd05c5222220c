//! Statements: the forms an instruction line can take once its first tokens are known
//! (assignments, loads, stores, calls, jumps, atomics, pseudo loads).

use super::*;

impl<'a> P<'_, 'a> {
    pub(super) fn stmt(&mut self, wide_ld: bool) -> R<Parsed<'a>> {
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
        plain(Insn::Store { size, dst, off, src }.canonical())
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
        plain(Insn::Load { size, signed, dst, src, off }.canonical())
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
