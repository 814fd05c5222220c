//! Random valid programs: straight-line ALU, forward branches, bounded loops (with may_goto),
//! stack and buffer traffic, atomics, bpf-to-bpf calls and kfuncs with up to 12 arguments,
//! helpers, callx, LD_ABS/LD_IND.
//!
//! "Valid" means what the verifier would guarantee and both engines rely on: registers are
//! written before they are read, stack slots are initialised before loads, incoming stack
//! arguments are loaded before any call or outgoing store, r1..r5 are rewritten after calls, no
//! host address (r9 = buffer, r10) is used as a value, loops are counted, calls form a DAG.

use kbpf_isa::*;

/// Small xorshift generator (deterministic per seed).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
    /// Interesting constants: small, boundaries, random.
    pub fn value(&mut self) -> u64 {
        match self.below(8) {
            0 => self.below(8),
            1 => self.pick(&[0, 1, u64::MAX, 0x8000_0000, 0x7fff_ffff, 0xffff_ffff, 1 << 63, (1 << 63) - 1]),
            2 => self.below(64),
            3 => (self.next() as i32) as i64 as u64,
            _ => self.next(),
        }
    }
    pub fn imm(&mut self) -> i32 {
        match self.below(4) {
            0 => self.below(70) as i32 - 3,
            1 => self.pick(&[0, 1, -1, i32::MIN, i32::MAX, 31, 32, 63, 64]),
            _ => self.next() as i32,
        }
    }
}

/// Helper ids of the diff registry (arity = id - HELPER_BASE) and kfunc BTF ids.
pub const HELPER_BASE: i32 = 100;
pub const KFUNC_BASE: i32 = 1000;
/// Bytes of input buffer the programs address through r9.
pub const MEM_LEN: usize = 64;

/// Value registers (r9 holds the buffer address, r10 the frame).
const VALS: [Reg; 9] = [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6, Reg::R7, Reg::R8];

#[derive(Clone, Copy)]
enum Item {
    I(Insn),
    /// A jump whose offset is filled in from a label.
    Jump(Insn, usize),
    /// bpf-to-bpf call to function n.
    Call(usize),
    Label(usize),
}

struct Func {
    items: Vec<Item>,
    nargs: usize,
}

pub struct Gen<'a> {
    rng: &'a mut Rng,
    labels: usize,
    pending: Vec<(usize, u32)>,
    nfuncs: usize,
    nargs: Vec<usize>,
    /// Allow an unknown callx id (an expected run-time error in both engines).
    pub allow_errors: bool,
}

impl<'a> Gen<'a> {
    pub fn new(rng: &'a mut Rng) -> Gen<'a> {
        Gen { rng, labels: 0, pending: Vec::new(), nfuncs: 1, nargs: vec![0], allow_errors: false }
    }

    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels - 1
    }

    fn val(&mut self) -> Reg {
        self.rng.pick(&VALS)
    }

    fn alu(&mut self, forbid: Option<Reg>) -> Insn {
        let width = if self.rng.chance(50) { Width::W64 } else { Width::W32 };
        let mut dst = self.val();
        while Some(dst) == forbid {
            dst = self.val();
        }
        match self.rng.below(12) {
            0 => Insn::Neg { width, dst },
            1 => {
                let order = self.rng.pick(&[ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]);
                Insn::Endian { order, bits: self.rng.pick(&[16, 32, 64]), dst }
            }
            2 => {
                let from_bits =
                    if width == Width::W64 { self.rng.pick(&[8, 16, 32]) } else { self.rng.pick(&[8, 16]) };
                Insn::MovSx { width, dst, src: self.val(), from_bits }
            }
            3 => {
                let v = self.rng.value();
                Insn::LdImm64 {
                    dst,
                    src: LdImm64Src::Imm,
                    imm: v as u32 as i32,
                    imm_hi: (v >> 32) as u32 as i32,
                }
            }
            _ => {
                let op = self.rng.pick(&AluOp::ALL);
                let src = if self.rng.chance(50) { Src::Reg(self.val()) } else { Src::Imm(self.rng.imm()) };
                Insn::Alu { width, op, dst, src }
            }
        }
    }

    /// A load, store or atomic on the buffer (r9) or the initialised stack area [r10-64, r10).
    fn mem(&mut self, forbid: Option<Reg>) -> Insn {
        let on_stack = self.rng.chance(50);
        let base = if on_stack { Reg::R10 } else { Reg::R9 };
        let mut val = self.val();
        while Some(val) == forbid {
            val = self.val();
        }
        let pick_off = |rng: &mut Rng, size: Size| -> i16 {
            let n = size.bytes() as u64;
            let slot = rng.below(64 / n) as i16 * n as i16;
            if on_stack { slot - 64 } else { slot }
        };
        match self.rng.below(10) {
            0..=2 => {
                let size = self.rng.pick(&[Size::B, Size::H, Size::W, Size::DW]);
                let signed = size != Size::DW && self.rng.chance(30);
                Insn::Load { size, signed, dst: val, src: base, off: pick_off(self.rng, size) }
            }
            3..=5 => {
                let size = self.rng.pick(&[Size::B, Size::H, Size::W, Size::DW]);
                let src = if self.rng.chance(50) { Src::Reg(val) } else { Src::Imm(self.rng.imm()) };
                Insn::Store { size, dst: base, off: pick_off(self.rng, size), src }
            }
            6 => {
                let size = self.rng.pick(&[Size::B, Size::H, Size::W, Size::DW]);
                let off = pick_off(self.rng, size);
                if self.rng.chance(50) {
                    Insn::Atomic { size, op: AtomicOp::LoadAcquire, dst: val, src: base, off }
                } else {
                    Insn::Atomic { size, op: AtomicOp::StoreRelease, dst: base, src: val, off }
                }
            }
            _ => {
                let size = self.rng.pick(&[Size::W, Size::DW]);
                let ops = [
                    AtomicOp::Add,
                    AtomicOp::Or,
                    AtomicOp::And,
                    AtomicOp::Xor,
                    AtomicOp::FetchAdd,
                    AtomicOp::FetchOr,
                    AtomicOp::FetchAnd,
                    AtomicOp::FetchXor,
                    AtomicOp::Xchg,
                    AtomicOp::Cmpxchg,
                ];
                let op = self.rng.pick(&ops);
                if op == AtomicOp::Cmpxchg && forbid == Some(Reg::R0) {
                    return Insn::Atomic {
                        size,
                        op: AtomicOp::Add,
                        dst: base,
                        src: val,
                        off: pick_off(self.rng, size),
                    };
                }
                Insn::Atomic { size, op, dst: base, src: val, off: pick_off(self.rng, size) }
            }
        }
    }

    fn reinit_args(&mut self, out: &mut Vec<Item>) {
        for r in [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5] {
            let v = self.rng.imm();
            out.push(Item::I(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: r, src: Src::Imm(v) }));
        }
    }

    fn stack_args(&mut self, out: &mut Vec<Item>, nargs: usize) {
        // Any order: the slots are independent.
        let mut ks: Vec<i16> = (1..=nargs.saturating_sub(5) as i16).collect();
        if self.rng.chance(50) {
            ks.reverse();
        }
        for k in ks {
            let src = if self.rng.chance(50) { Src::Reg(self.val()) } else { Src::Imm(self.rng.imm()) };
            out.push(Item::I(Insn::Store { size: Size::DW, dst: Reg::R11, off: -8 * k, src }));
        }
    }

    fn place_due_labels(&mut self, out: &mut Vec<Item>, all: bool) {
        let mut keep = Vec::new();
        for (l, n) in std::mem::take(&mut self.pending) {
            if all || n == 0 {
                out.push(Item::Label(l));
            } else {
                keep.push((l, n - 1));
            }
        }
        self.pending = keep;
    }

    /// One random item (or a few, for calls and loops).
    fn item(&mut self, f: usize, out: &mut Vec<Item>, in_loop: bool) {
        let forbid = if in_loop { Some(Reg::R8) } else { None };
        let roll = self.rng.below(100);
        match roll {
            0..=54 => {
                let i = self.alu(forbid);
                out.push(Item::I(i));
            }
            55..=71 => {
                let i = self.mem(forbid);
                out.push(Item::I(i));
            }
            72..=79 if !in_loop => {
                let width = if self.rng.chance(50) { Width::W64 } else { Width::W32 };
                let cond = self.rng.pick(&JmpCond::ALL);
                let src = if self.rng.chance(50) { Src::Reg(self.val()) } else { Src::Imm(self.rng.imm()) };
                let l = self.label();
                let dist = self.rng.below(6) as u32;
                self.pending.push((l, dist));
                let dst = self.val();
                let j = if self.rng.chance(10) {
                    Insn::Ja { off: 0 }
                } else {
                    Insn::Jmp { width, cond, dst, src, off: 0 }
                };
                out.push(Item::Jump(j, l));
            }
            80..=83 if !in_loop => self.lp(f, out),
            84..=88 if f + 1 < self.nfuncs => {
                let g = f + 1 + self.rng.below((self.nfuncs - f - 1) as u64) as usize;
                let n = self.nargs[g];
                self.stack_args(out, n);
                out.push(Item::Call(g));
                self.reinit_args(out);
            }
            89..=92 => {
                let n = self.rng.below(13) as usize;
                self.stack_args(out, n);
                out.push(Item::I(Insn::Call(CallTarget::Kfunc { btf_id: KFUNC_BASE + n as i32, off: 0 })));
                self.reinit_args(out);
            }
            93..=95 => {
                let n = self.rng.below(6) as i32;
                if self.rng.chance(50) {
                    out.push(Item::I(Insn::Call(CallTarget::Helper(HELPER_BASE + n))));
                } else {
                    let r = self.rng.pick(&[Reg::R0, Reg::R6, Reg::R7]);
                    let r = if Some(r) == forbid { Reg::R0 } else { r };
                    let id = if self.allow_errors && self.rng.chance(5) { 7 } else { HELPER_BASE + n };
                    out.push(Item::I(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::Mov,
                        dst: r,
                        src: Src::Imm(id),
                    }));
                    out.push(Item::I(Insn::Callx { reg: r }));
                }
                self.reinit_args(out);
            }
            96..=97 => {
                let size = self.rng.pick(&[Size::B, Size::H, Size::W]);
                let imm = self.rng.below(MEM_LEN as u64 + 4) as i32 - 1;
                if self.rng.chance(50) {
                    out.push(Item::I(Insn::LdAbs { size, imm }));
                } else {
                    let src = self.val();
                    let src = if Some(src) == forbid { Reg::R0 } else { src };
                    out.push(Item::I(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::And,
                        dst: src,
                        src: Src::Imm(63),
                    }));
                    out.push(Item::I(Insn::LdInd { size, src, imm: self.rng.below(8) as i32 - 2 }));
                }
                self.reinit_args(out);
            }
            _ => {
                let i = self.alu(forbid);
                out.push(Item::I(i));
            }
        }
    }

    /// `r8 = n; L: [may_goto out]; body; r8 -= 1; if r8 != 0 goto L; out:`
    fn lp(&mut self, f: usize, out: &mut Vec<Item>) {
        self.place_due_labels(out, true);
        let n = 1 + self.rng.below(6) as i32;
        out.push(Item::I(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R8, src: Src::Imm(n) }));
        let (head, exit) = (self.label(), self.label());
        out.push(Item::Label(head));
        if self.rng.chance(40) {
            out.push(Item::Jump(Insn::MayGoto { off: 0 }, exit));
        }
        for _ in 0..2 + self.rng.below(6) {
            self.item(f, out, true);
        }
        out.push(Item::I(Insn::Alu { width: Width::W64, op: AluOp::Sub, dst: Reg::R8, src: Src::Imm(1) }));
        let back = Insn::Jmp { width: Width::W64, cond: JmpCond::Ne, dst: Reg::R8, src: Src::Imm(0), off: 0 };
        out.push(Item::Jump(back, head));
        out.push(Item::Label(exit));
    }

    fn func(&mut self, f: usize, len: usize) -> Func {
        let mut out = Vec::new();
        let nargs = self.nargs[f];
        // Incoming stack arguments first (before any call or r11 store), mixed into r0/r6..r8.
        for k in 1..=nargs.saturating_sub(5) as i16 {
            let dst = self.rng.pick(&[Reg::R0, Reg::R6, Reg::R7, Reg::R8]);
            out.push(Item::I(Insn::Load {
                size: Size::DW,
                signed: false,
                dst: Reg::R0,
                src: Reg::R11,
                off: 8 * k,
            }));
            if dst != Reg::R0 {
                out.push(Item::I(Insn::Alu {
                    width: Width::W64,
                    op: AluOp::Xor,
                    dst,
                    src: Src::Reg(Reg::R0),
                }));
            }
        }
        if f == 0 {
            out.push(Item::I(Insn::Alu {
                width: Width::W64,
                op: AluOp::Mov,
                dst: Reg::R9,
                src: Src::Reg(Reg::R1),
            }));
            for r in VALS {
                let v = self.rng.value();
                out.push(Item::I(Insn::LdImm64 {
                    dst: r,
                    src: LdImm64Src::Imm,
                    imm: v as u32 as i32,
                    imm_hi: (v >> 32) as u32 as i32,
                }));
            }
        }
        for k in 1..=8i16 {
            let v = self.rng.imm();
            out.push(Item::I(Insn::Store { size: Size::DW, dst: Reg::R10, off: -8 * k, src: Src::Imm(v) }));
        }
        // Every function is reached: each calls the next one at least once.
        if f + 1 < self.nfuncs {
            let n = self.nargs[f + 1];
            self.stack_args(&mut out, n);
            out.push(Item::Call(f + 1));
            self.reinit_args(&mut out);
        }
        for _ in 0..len {
            self.item(f, &mut out, false);
            self.place_due_labels(&mut out, false);
        }
        self.place_due_labels(&mut out, true);
        // Fold state into r0 so that differences show.
        for r in [Reg::R6, Reg::R7, Reg::R8, Reg::R3] {
            out.push(Item::I(Insn::Alu {
                width: Width::W64,
                op: AluOp::Xor,
                dst: Reg::R0,
                src: Src::Reg(r),
            }));
        }
        out.push(Item::I(Insn::Load {
            size: Size::DW,
            signed: false,
            dst: Reg::R1,
            src: Reg::R10,
            off: -8 * (1 + self.rng.below(8) as i16),
        }));
        out.push(Item::I(Insn::Alu {
            width: Width::W64,
            op: AluOp::Add,
            dst: Reg::R0,
            src: Src::Reg(Reg::R1),
        }));
        out.push(Item::I(Insn::Exit));
        Func { items: out, nargs }
    }

    /// A whole program.
    pub fn program(&mut self) -> Vec<Insn> {
        self.nfuncs = 1 + self.rng.below(4) as usize;
        self.nargs = (0..self.nfuncs).map(|f| if f == 0 { 0 } else { self.rng.below(13) as usize }).collect();
        let len = 4 + self.rng.below(40) as usize;
        let funcs: Vec<Func> = (0..self.nfuncs).map(|f| self.func(f, len)).collect();
        let _ = funcs.iter().map(|f| f.nargs).sum::<usize>();
        layout(&funcs)
    }
}

/// Resolves labels and calls into slot offsets.
fn layout(funcs: &[Func]) -> Vec<Insn> {
    // Slot of every label and function start.
    let mut label_pc = std::collections::HashMap::new();
    let mut func_pc = Vec::new();
    let mut pc = 0usize;
    for f in funcs {
        func_pc.push(pc);
        for it in &f.items {
            match it {
                Item::Label(l) => {
                    label_pc.insert(*l, pc);
                }
                Item::I(i) | Item::Jump(i, _) => pc += i.slots(),
                Item::Call(_) => pc += 1,
            }
        }
    }
    let mut out = Vec::new();
    let mut pc = 0usize;
    for f in funcs {
        for it in &f.items {
            match *it {
                Item::Label(_) => {}
                Item::I(i) => {
                    pc += i.slots();
                    out.push(i);
                }
                Item::Jump(i, l) => {
                    let rel = label_pc[&l] as i64 - pc as i64 - 1;
                    let j = match i {
                        Insn::Ja { .. } => Insn::Ja { off: rel as i16 },
                        Insn::MayGoto { .. } => Insn::MayGoto { off: rel as i16 },
                        Insn::Jmp { width, cond, dst, src, .. } => {
                            Insn::Jmp { width, cond, dst, src, off: rel as i16 }
                        }
                        other => other,
                    };
                    pc += 1;
                    out.push(j);
                }
                Item::Call(g) => {
                    let rel = func_pc[g] as i64 - pc as i64 - 1;
                    pc += 1;
                    out.push(Insn::Call(CallTarget::Local(rel as i32)));
                }
            }
        }
    }
    out
}
