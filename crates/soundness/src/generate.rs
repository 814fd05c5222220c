//! Programs aimed at the verifier's edges, for a `syscall` program (the context is a plain
//! buffer, so every run can feed it fresh random bytes): ALU32/64 on values whose bounds and
//! tnums the walk tracks, every conditional jump in both widths (refinement), shifts, sign
//! extension, `movsx`/`sdiv`/`smod`, variable-offset stack accesses bounded by masks or by
//! jumps, spills and fills (full, partial, narrow; pointers too), context loads, bpf-to-bpf
//! calls with scalar and stack-pointer arguments, up to seven of them through r11 (the
//! stack-argument ABI: scalars, constants and pointers into the caller's stack, read by the
//! callee's prologue), variable- and constant-offset accesses into an array map's value,
//! counted loops and `may_goto` loops, helpers.
//!
//! Register roles: r6 = context, r1 = pointer temporary, r9 = loop counter, the rest values.
//! The choices come from a [`Choices`] source: a seeded generator for the harness, or the
//! fuzzer's bytes ([`Choices::from_bytes`]) so that coverage guidance mutates decisions.

use kbpf_isa::{
    AluOp, ByteOrder, CallTarget, Insn, JmpCond, Reg, Size, Src, StackArgPos, StackArgSlot, Width,
};

pub use crate::choices::Choices;

/// Value registers of the main function.
const VALS: [Reg; 7] = [Reg::R0, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R7, Reg::R8];
/// Value registers of the subprogram (its arguments and r0).
const SUB_VALS: [Reg; 6] = [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5];

/// An instruction whose branch target is a label, resolved in [`layout`].
#[derive(Clone, Copy)]
enum Item {
    I(Insn),
    /// A conditional jump, `ja` or `may_goto` to label `.1`.
    Jump(Insn, usize),
    /// `call` of the subprogram.
    CallSub,
    Label(usize),
}

struct Gen<'c, 'a> {
    c: &'c mut Choices<'a>,
    items: Vec<Item>,
    labels: usize,
    /// Labels to place after `.1` more blocks.
    pending: Vec<(usize, usize)>,
    has_sub: bool,
    /// The subprogram's arguments 6.. (r11 slots): what each carries.
    stack_args: Vec<StackArg>,
    /// The program reaches into the value of an array map ([`MAP_VALUE_BYTES`]).
    uses_map: bool,
}

/// Bytes of the one map value a program may address (an array map of one element, map index 0).
pub const MAP_VALUE_BYTES: u32 = 64;

/// What a call passes in one stack-argument slot.
#[derive(Clone, Copy)]
enum StackArg {
    /// A value register's content.
    Value,
    /// An immediate.
    Imm,
    /// `fp - 8k` of the caller, which the callee dereferences.
    StackPtr,
}

/// Generates one program (main function, then possibly one subprogram).
pub fn program(c: &mut Choices<'_>) -> Vec<Insn> {
    let mut g = Gen {
        c,
        items: Vec::new(),
        labels: 0,
        pending: Vec::new(),
        has_sub: false,
        stack_args: Vec::new(),
        uses_map: false,
    };
    g.has_sub = g.c.chance(30);
    g.uses_map = g.c.chance(35);
    if g.has_sub && g.c.chance(35) {
        let n = 1 + g.c.below(kbpf_isa::MAX_STACK_ARG_SLOTS as u64) as usize;
        g.stack_args =
            (0..n).map(|_| g.c.pick(&[StackArg::Value, StackArg::Imm, StackArg::StackPtr])).collect();
    }
    g.prologue();
    let blocks = 4 + g.c.below(24) as usize;
    for _ in 0..blocks {
        g.block(&VALS, 0);
        g.tick();
    }
    g.flush();
    // a subprogram nobody calls is an unreachable insn: call it at least once
    if g.has_sub && !g.items.iter().any(|i| matches!(i, Item::CallSub)) {
        g.call_sub();
    }
    let r = g.c.pick(&VALS);
    g.i(mov64(Reg::R0, Src::Reg(r)));
    g.i(Insn::Exit);
    let main = std::mem::take(&mut g.items);
    let mut sub = Vec::new();
    if g.has_sub {
        g.i(mov64(Reg::R0, Src::Reg(Reg::R1)));
        // incoming stack arguments come first: nothing may be loaded from r11 after a call or
        // an r11 store in this frame
        g.stack_arg_loads();
        // privileged programs may read stack they never wrote: every engine gives zeros
        if g.c.chance(30) {
            let d = g.c.pick(&SUB_VALS);
            let off = -8 * (1 + g.c.below(8) as i16);
            g.i(Insn::Load { size: Size::DW, signed: false, dst: d, src: Reg::R10, off });
        }
        for _ in 0..2 + g.c.below(8) {
            g.block(&SUB_VALS, 1);
            g.tick();
        }
        g.flush();
        g.i(Insn::Exit);
        sub = std::mem::take(&mut g.items);
    }
    layout(&main, &sub)
}

fn mov64(dst: Reg, src: Src) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src }
}

fn alu(width: Width, op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width, op, dst, src }
}

fn size_bytes(s: Size) -> i16 {
    match s {
        Size::B => 1,
        Size::H => 2,
        Size::W => 4,
        Size::DW => 8,
    }
}

impl Gen<'_, '_> {
    fn i(&mut self, insn: Insn) {
        self.items.push(Item::I(insn));
    }

    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels - 1
    }

    /// One block done: place the labels whose countdown ran out.
    fn tick(&mut self) {
        let mut k = 0;
        while k < self.pending.len() {
            if self.pending[k].1 == 0 {
                let (l, _) = self.pending.remove(k);
                self.items.push(Item::Label(l));
            } else {
                self.pending[k].1 -= 1;
                k += 1;
            }
        }
    }

    fn flush(&mut self) {
        for (l, _) in std::mem::take(&mut self.pending) {
            self.items.push(Item::Label(l));
        }
    }

    fn prologue(&mut self) {
        self.i(mov64(Reg::R6, Src::Reg(Reg::R1)));
        // fp-64..fp initialised (most of the time), the target of variable-offset accesses
        for k in 1..=8i16 {
            if self.c.chance(90) {
                let imm = self.c.imm();
                self.i(Insn::Store { size: Size::DW, dst: Reg::R10, off: -8 * k, src: Src::Imm(imm) });
            }
        }
        if self.c.chance(20) {
            self.i(Insn::Call(CallTarget::Helper(7)));
        }
        for &r in &VALS {
            self.init(r);
        }
        self.i(mov64(Reg::R9, Src::Imm(0)));
    }

    /// Gives `r` a value: a context load (plain or sign-extending), a constant, a 64-bit one.
    fn init(&mut self, r: Reg) {
        match self.c.below(4) {
            0 | 1 => self.ctx_load(r),
            2 => {
                let imm = self.c.imm();
                self.i(mov64(r, Src::Imm(imm)));
            }
            _ => {
                let v = self.c.value();
                self.i(Insn::LdImm64 {
                    dst: r,
                    src: kbpf_isa::LdImm64Src::Imm,
                    imm: v as u32 as i32,
                    imm_hi: (v >> 32) as u32 as i32,
                });
            }
        }
    }

    fn ctx_load(&mut self, r: Reg) {
        let size = self.c.pick(&[Size::B, Size::H, Size::W, Size::DW]);
        let n = size_bytes(size);
        let off = n * self.c.below((256 / n) as u64) as i16;
        let signed = size != Size::DW && self.c.chance(25);
        self.i(Insn::Load { size, signed, dst: r, src: Reg::R6, off });
    }

    /// One block for a function with value registers `vals` (`depth` 1 = the subprogram).
    fn block(&mut self, vals: &[Reg], depth: usize) {
        let main = depth == 0;
        match self.c.below(20) {
            0..=5 => self.alu(vals),
            6..=8 => self.cond_jump(vals),
            9..=10 => self.stack_var(vals),
            11 if main => {
                let r = self.c.pick(vals);
                self.ctx_load(r);
            }
            12 => self.spill_fill(vals),
            13 if main => self.pointer_spill(vals),
            14 if main && self.has_sub => self.call_sub(),
            15 if main => self.helper(),
            16 if main => self.counted_loop(vals),
            17 if main && self.c.chance(30) => self.may_goto_loop(vals),
            18 => self.extend(vals),
            19 if self.uses_map => self.map_var(vals),
            _ => self.alu(vals),
        }
    }

    fn alu(&mut self, vals: &[Reg]) {
        let width = self.c.pick(&[Width::W32, Width::W64]);
        let bits = if width == Width::W64 { 64 } else { 32 };
        let dst = self.c.pick(vals);
        let op = self.c.pick(&AluOp::ALL);
        let src = match op {
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh if self.c.chance(60) => Src::Imm(self.c.below(bits) as i32),
            AluOp::Div | AluOp::Mod | AluOp::SDiv | AluOp::SMod if self.c.chance(50) => {
                let mut v = self.c.imm();
                if v == 0 {
                    v = 3;
                }
                Src::Imm(v)
            }
            _ if self.c.chance(50) => Src::Imm(self.c.imm()),
            _ => Src::Reg(self.c.pick(vals)),
        };
        match self.c.below(12) {
            0 => self.items.push(Item::I(Insn::Neg { width, dst })),
            1 => {
                let order = self.c.pick(&[ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]);
                let bits = self.c.pick(&[16, 32, 64]);
                self.i(Insn::Endian { order, bits, dst });
            }
            _ => self.i(alu(width, op, dst, src)),
        }
    }

    /// `movsx` and sign-extending loads' register form.
    fn extend(&mut self, vals: &[Reg]) {
        let width = self.c.pick(&[Width::W32, Width::W64]);
        let from_bits = if width == Width::W64 { self.c.pick(&[8, 16, 32]) } else { self.c.pick(&[8, 16]) };
        let (dst, src) = (self.c.pick(vals), self.c.pick(vals));
        self.i(Insn::MovSx { width, dst, src, from_bits });
    }

    fn cond_jump(&mut self, vals: &[Reg]) {
        let width = self.c.pick(&[Width::W32, Width::W64]);
        let cond = self.c.pick(&JmpCond::ALL);
        let dst = self.c.pick(vals);
        let src = if self.c.chance(50) { Src::Imm(self.c.imm()) } else { Src::Reg(self.c.pick(vals)) };
        let l = self.label();
        self.items.push(Item::Jump(Insn::Jmp { width, cond, dst, src, off: 0 }, l));
        let after = self.c.below(4) as usize;
        self.pending.push((l, after));
    }

    /// Bounds `r` to `[0, limit]` by a mask or by jumps (which must refine it right).
    fn bound(&mut self, r: Reg, limit: u64, align: i16) {
        let skip = self.label();
        match self.c.below(4) {
            0 => self.i(alu(Width::W64, AluOp::And, r, Src::Imm(limit as i32))),
            1 => {
                let w = self.c.pick(&[Width::W32, Width::W64]);
                self.items.push(Item::Jump(
                    Insn::Jmp { width: w, cond: JmpCond::Gt, dst: r, src: Src::Imm(limit as i32), off: 0 },
                    skip,
                ));
                if w == Width::W32 {
                    // the upper half stays unknown after a 32-bit test: drop it
                    self.i(alu(Width::W32, AluOp::Mov, r, Src::Reg(r)));
                }
            }
            2 => {
                self.items.push(Item::Jump(
                    Insn::Jmp {
                        width: Width::W64,
                        cond: JmpCond::Sgt,
                        dst: r,
                        src: Src::Imm(limit as i32),
                        off: 0,
                    },
                    skip,
                ));
                self.items.push(Item::Jump(
                    Insn::Jmp { width: Width::W64, cond: JmpCond::Slt, dst: r, src: Src::Imm(0), off: 0 },
                    skip,
                ));
            }
            _ => {
                self.i(alu(Width::W64, AluOp::Rsh, r, Src::Imm(58)));
                self.i(alu(Width::W64, AluOp::And, r, Src::Imm(limit as i32)));
            }
        }
        if align > 1 {
            self.i(alu(Width::W64, AluOp::And, r, Src::Imm(!(align as i32 - 1))));
        }
        self.pending.push((skip, 1 + self.c.below(2) as usize));
    }

    /// `r1 = fp - 64 + bounded value`, then a load or a store through it.
    fn stack_var(&mut self, vals: &[Reg]) {
        let size = self.c.pick(&[Size::B, Size::H, Size::W, Size::DW]);
        let n = size_bytes(size);
        let mut o = self.c.pick(vals);
        if o == Reg::R1 {
            o = Reg::R0;
        }
        self.i(mov64(Reg::R1, Src::Reg(Reg::R10)));
        self.i(alu(Width::W64, AluOp::Add, Reg::R1, Src::Imm(-64)));
        let limit = (64 - n) as u64;
        self.bound(o, limit, n);
        self.i(alu(Width::W64, AluOp::Add, Reg::R1, Src::Reg(o)));
        if self.c.chance(50) {
            let d = self.c.pick(vals);
            let d = if d == Reg::R1 { Reg::R0 } else { d };
            self.i(Insn::Load { size, signed: false, dst: d, src: Reg::R1, off: 0 });
        } else {
            let s = self.c.pick(vals);
            let s = if s == Reg::R1 { Reg::R0 } else { s };
            self.i(Insn::Store { size, dst: Reg::R1, off: 0, src: Src::Reg(s) });
        }
        // r1 is a value again (the subprogram's argument register)
        let imm = self.c.imm();
        self.i(mov64(Reg::R1, Src::Imm(imm)));
    }

    /// `r1 = &map_value + c`, then a bounded variable offset added or not, then a load or a
    /// store through it (what `stack_var` does for the stack, on a map value).
    fn map_var(&mut self, vals: &[Reg]) {
        let size = self.c.pick(&[Size::B, Size::H, Size::W, Size::DW]);
        let n = size_bytes(size);
        let room = MAP_VALUE_BYTES as i16 - n;
        let variable = self.c.chance(70);
        let base = if variable { 0 } else { n * self.c.below((room / n + 1) as u64) as i16 };
        self.i(Insn::LdImm64 {
            dst: Reg::R1,
            src: kbpf_isa::LdImm64Src::MapValue,
            imm: 0,
            imm_hi: base as i32,
        });
        if variable {
            let mut o = self.c.pick(vals);
            if o == Reg::R1 {
                o = Reg::R0;
            }
            self.bound(o, room as u64, n);
            self.i(alu(Width::W64, AluOp::Add, Reg::R1, Src::Reg(o)));
        }
        let v = match self.c.pick(vals) {
            Reg::R1 => Reg::R0,
            r => r,
        };
        if self.c.chance(50) {
            let signed = size != Size::DW && self.c.chance(20);
            self.i(Insn::Load { size, signed, dst: v, src: Reg::R1, off: 0 });
        } else {
            self.i(Insn::Store { size, dst: Reg::R1, off: 0, src: Src::Reg(v) });
        }
        let imm = self.c.imm();
        self.i(mov64(Reg::R1, Src::Imm(imm)));
    }

    /// Spill to fp-72..fp-128 and fill back, full or partial, wide or narrow.
    fn spill_fill(&mut self, vals: &[Reg]) {
        let slot = -8 * (9 + self.c.below(8) as i16);
        let (s, d) = (self.c.pick(vals), self.c.pick(vals));
        let ssize = self.c.pick(&[Size::DW, Size::DW, Size::W, Size::H, Size::B]);
        self.i(Insn::Store { size: ssize, dst: Reg::R10, off: slot, src: Src::Reg(s) });
        if self.c.chance(50) {
            self.alu(vals);
        }
        let fsize = self.c.pick(&[Size::DW, Size::W, Size::H, Size::B]);
        let n = size_bytes(fsize);
        let off = slot + n * self.c.below((8 / n) as u64) as i16;
        let signed = fsize != Size::DW && self.c.chance(20);
        self.i(Insn::Load { size: fsize, signed, dst: d, src: Reg::R10, off });
    }

    /// A stack pointer with a constant offset spilled, filled back and dereferenced.
    fn pointer_spill(&mut self, vals: &[Reg]) {
        let k = 1 + self.c.below(8) as i32;
        self.i(mov64(Reg::R1, Src::Reg(Reg::R10)));
        self.i(alu(Width::W64, AluOp::Add, Reg::R1, Src::Imm(-8 * k)));
        self.i(Insn::Store { size: Size::DW, dst: Reg::R10, off: -136, src: Src::Reg(Reg::R1) });
        self.i(mov64(Reg::R1, Src::Imm(0)));
        self.i(Insn::Load { size: Size::DW, signed: false, dst: Reg::R1, src: Reg::R10, off: -136 });
        let d = self.c.pick(vals);
        self.i(Insn::Load { size: Size::DW, signed: false, dst: d, src: Reg::R1, off: 0 });
    }

    /// After a call r1..r5 are unreadable: the values among them get new ones.
    fn reinit_args(&mut self) {
        for r in [Reg::R2, Reg::R3, Reg::R4, Reg::R5] {
            self.init(r);
        }
    }

    /// The callee's prologue: some of its incoming stack arguments into value registers (the
    /// last slot always, so that the callee declares them all); a stack pointer is read through.
    fn stack_arg_loads(&mut self) {
        let n = self.stack_args.len();
        for k in 0..n {
            if k + 1 < n && self.c.chance(30) {
                continue;
            }
            let Some(slot) = StackArgSlot::new(k) else { continue };
            let dst = self.c.pick(&SUB_VALS[1..]);
            self.i(Insn::StackArgLoad { dst, pos: StackArgPos::from(slot) });
            if matches!(self.stack_args[k], StackArg::StackPtr) {
                self.i(Insn::Load { size: Size::DW, signed: false, dst, src: dst, off: 0 });
            }
        }
    }

    /// The caller's side: every stack argument the callee takes, written before the call.
    fn stack_arg_stores(&mut self) {
        for k in 0..self.stack_args.len() {
            let Some(slot) = StackArgSlot::new(k) else { continue };
            let pos = StackArgPos::from(slot);
            let src = match self.stack_args[k] {
                StackArg::Value => Src::Reg(self.c.pick(&VALS)),
                StackArg::Imm => Src::Imm(self.c.imm()),
                StackArg::StackPtr => {
                    let off = -8 * (1 + self.c.below(8) as i32);
                    self.i(mov64(Reg::R1, Src::Reg(Reg::R10)));
                    self.i(alu(Width::W64, AluOp::Add, Reg::R1, Src::Imm(off)));
                    Src::Reg(Reg::R1)
                }
            };
            self.i(Insn::StackArgStore { pos, src });
        }
    }

    fn call_sub(&mut self) {
        self.stack_arg_stores();
        let a = self.c.pick(&VALS);
        self.i(mov64(Reg::R1, Src::Reg(a)));
        self.items.push(Item::CallSub);
        let d = self.c.pick(&VALS);
        self.i(mov64(d, Src::Reg(Reg::R0)));
        self.reinit_args();
    }

    fn helper(&mut self) {
        let id = self.c.pick(&[7, 7, 8]);
        self.i(Insn::Call(CallTarget::Helper(id)));
        let d = self.c.pick(&VALS);
        self.i(mov64(d, Src::Reg(Reg::R0)));
        self.reinit_args();
    }

    /// `r9` counts to a small bound; the body works on the values.
    fn counted_loop(&mut self, vals: &[Reg]) {
        let n = 2 + self.c.below(4) as i32;
        self.flush();
        self.i(mov64(Reg::R9, Src::Imm(0)));
        let top = self.label();
        self.items.push(Item::Label(top));
        for _ in 0..1 + self.c.below(3) {
            self.alu(vals);
        }
        self.i(alu(Width::W64, AluOp::Add, Reg::R9, Src::Imm(1)));
        let cond = self.c.pick(&[JmpCond::Lt, JmpCond::Slt, JmpCond::Ne]);
        self.items.push(Item::Jump(
            Insn::Jmp { width: Width::W64, cond, dst: Reg::R9, src: Src::Imm(n), off: 0 },
            top,
        ));
    }

    /// `may_goto` bounds a loop whose body changes values.
    fn may_goto_loop(&mut self, vals: &[Reg]) {
        self.flush();
        let (top, out) = (self.label(), self.label());
        self.items.push(Item::Label(top));
        self.items.push(Item::Jump(Insn::MayGoto { off: 0 }, out));
        self.alu(vals);
        self.items.push(Item::Jump(Insn::Ja { off: 0 }, top));
        self.items.push(Item::Label(out));
    }
}

/// Resolves labels and the subprogram call into offsets (in slots).
fn layout(main: &[Item], sub: &[Item]) -> Vec<Insn> {
    // slot of every label and of the subprogram
    let mut labels = std::collections::HashMap::new();
    let mut pc = 0usize;
    let mut sub_start = 0usize;
    for (part, items) in [main, sub].into_iter().enumerate() {
        if part == 1 {
            sub_start = pc;
        }
        for it in items {
            match it {
                Item::Label(l) => {
                    labels.insert((part, *l), pc);
                }
                Item::I(i) | Item::Jump(i, _) => pc += i.slots(),
                Item::CallSub => pc += 1,
            }
        }
    }
    let mut out = Vec::new();
    let mut pc = 0usize;
    for (part, items) in [main, sub].into_iter().enumerate() {
        for it in items {
            let rel = |t: usize, pc: usize| (t as i64 - pc as i64 - 1) as i16;
            let insn = match *it {
                Item::Label(_) => continue,
                Item::I(i) => i,
                Item::CallSub => Insn::Call(CallTarget::Local((sub_start as i64 - pc as i64 - 1) as i32)),
                Item::Jump(i, l) => {
                    let t = labels.get(&(part, l)).copied().unwrap_or(pc + 1);
                    match i {
                        Insn::Jmp { width, cond, dst, src, .. } => {
                            Insn::Jmp { width, cond, dst, src, off: rel(t, pc) }
                        }
                        Insn::MayGoto { .. } => Insn::MayGoto { off: rel(t, pc) },
                        _ => Insn::Ja { off: rel(t, pc) },
                    }
                }
            };
            pc += insn.slots();
            out.push(insn);
        }
    }
    out
}
