//! Callback helpers lowered to BPF: every engine runs `bpf_loop` and `bpf_for_each_map_elem`
//! as a *driver* appended to the program (`kbpf_kfunc::callbacks`), and finds the function
//! `bpf_throw` ends in at a known place.
//!
//! A call `call bpf_loop` (or `bpf_for_each_map_elem`) becomes `call <driver>`: one slot for
//! one slot, so no other instruction moves. The driver loops as the kernel does and calls the
//! callback with `call`, choosing it by comparing r2 with the token of each function the
//! program loads with `ld_imm64 = func` (the verifier proved r2 is one of them). Drivers keep
//! their state in r6..r9 (saved by every engine's bpf-to-bpf call) and, for the map walk, in
//! their own stack frame, which also holds the key the callback gets a pointer to.
//!
//! * `bpf_loop(nr, cb, ctx, flags)` as the kernel runs it (a privileged load inlines it,
//!   `inline_bpf_loop`): flags other than 0 give `-EINVAL`; `nr > BPF_MAX_LOOPS` (compared on
//!   64 bits) gives `-E2BIG` as a 32-bit move; then `cb(i, ctx)` for `i` in `0..nr`, stopping
//!   after the first non-zero return; the result is the number of calls made.
//! * `bpf_for_each_map_elem(map, cb, ctx, flags)`: flags other than 0 give `-EINVAL`; then
//!   `cb(map, &key, &value, ctx)` for each element (`kbpf_map_next_elem` walks the map),
//!   stopping after the first non-zero return; the result is the number of calls made.
//! * A program that throws gets an exception function appended: `r0 = r1; exit` (the kernel's
//!   default callback, `do_misc_fixups`) or `call <its exception_callback>; exit`; its
//!   `bpf_throw` calls become `call THROW_ID`, which engines run by unwinding every frame and
//!   calling that function with the cookie (`kbpf_kfunc::callbacks::THROW_ID`).

use kbpf_isa::{AluOp, BpfFunc, CallTarget, Insn, JmpCond, LdImm64Src, Program, Reg, Size, Src, Width};
use kbpf_kfunc::callbacks::{FuncRoles, MAP_NEXT_ELEM_ID, THROW_ID};
use kbpf_kfunc::maps::MapSet;

use crate::error::JitError;

/// `BPF_MAX_LOOPS`.
const MAX_LOOPS: i32 = 8 * 1024 * 1024;
const EINVAL: i32 = -22;
const E2BIG: i32 = -7;
/// Bytes of the walk driver's stack besides the key: the callback context and the cursor.
const WALK_FIXED: u32 = 16;

/// What lowering needs besides the program.
pub struct Lowering<'a> {
    /// Slot of every function the program loads with `ld_imm64 = func` ([`func_refs`] of the
    /// program before linking): the callbacks a driver may be handed.
    pub callbacks: &'a [usize],
    /// The value `ld_imm64 = func` of the linked program loads for a function at a slot.
    pub token: &'a dyn Fn(usize) -> u64,
    /// Largest key size of the run's maps (the walk copies a key into the driver's frame).
    pub key_max: u32,
    /// The BTF ids `bpf_throw` has in the program's kfunc calls (the verifier's names).
    pub throw_ids: &'a [i32],
    /// Slot of the program's own exception callback (`exception_callback:`), if it has one.
    pub exception_cb: Option<usize>,
}

/// The largest key of the maps `bpf_for_each_map_elem` can walk (array and hash kinds; the
/// verifier refuses the others): [`Lowering::key_max`].
pub fn walk_key_max(maps: &MapSet) -> u32 {
    use kbpf_isa::MapType as T;
    maps.iter()
        .filter(|m| {
            matches!(m.spec().map_type, T::Array | T::PercpuArray | T::Hash | T::PercpuHash | T::LruHash)
        })
        .map(|m| m.spec().key_size)
        .max()
        .unwrap_or(0)
}

/// Slots of the functions `prog` loads with `ld_imm64 = func`, sorted.
pub fn func_refs(prog: &Program) -> Vec<usize> {
    let mut v: Vec<usize> = prog
        .iter()
        .filter_map(|(pc, i)| match i {
            Insn::LdImm64 { src: LdImm64Src::Func, imm, .. } => {
                usize::try_from(pc as i64 + 1 + *imm as i64).ok()
            }
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Which driver a helper call becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Loop,
    Walk,
}

fn driver_of(insn: &Insn) -> Option<Driver> {
    match insn {
        Insn::Call(CallTarget::Helper(id)) if *id == BpfFunc::Loop.id() => Some(Driver::Loop),
        Insn::Call(CallTarget::Helper(id)) if *id == BpfFunc::ForEachMapElem.id() => Some(Driver::Walk),
        _ => None,
    }
}

/// `prog` with its callback helper calls relinked to drivers and, if it throws, an exception
/// function appended; the roles engines need. A program without either is returned as is.
pub fn lower_callbacks(prog: &Program, l: &Lowering<'_>) -> Result<(Program, FuncRoles), JitError> {
    let used: Vec<Driver> = prog.insns().iter().filter_map(driver_of).collect();
    let is_throw =
        |i: &Insn| matches!(i, Insn::Call(CallTarget::Kfunc { btf_id, .. }) if l.throw_ids.contains(btf_id));
    let throws = prog.insns().iter().any(is_throw);
    if used.is_empty() && !throws {
        return Ok((prog.clone(), FuncRoles::default()));
    }
    let mut a =
        Asm { insns: prog.insns().to_vec(), slot: prog.len_slots(), fixups: Vec::new(), labels: Vec::new() };
    let mut roles = FuncRoles::default();
    let entry = |a: &mut Asm, d: Driver, roles: &mut FuncRoles| -> Result<usize, JitError> {
        roles.drivers.push(a.slot);
        let start = a.slot;
        match d {
            Driver::Loop => a.loop_driver(l)?,
            Driver::Walk => a.walk_driver(l)?,
        }
        Ok(start)
    };
    let (mut loop_at, mut walk_at) = (None, None);
    for d in [Driver::Loop, Driver::Walk] {
        if used.contains(&d) {
            let at = entry(&mut a, d, &mut roles)?;
            if d == Driver::Loop { loop_at = Some(at) } else { walk_at = Some(at) }
        }
    }
    if throws {
        roles.exception_cb = Some(a.slot);
        match l.exception_cb {
            Some(cb) => {
                a.call(cb);
                a.push(Insn::Exit);
            }
            None => {
                a.push(mov(Reg::R0, Src::Reg(Reg::R1)));
                a.push(Insn::Exit);
            }
        }
    }
    // relink the calls (one slot each, so nothing else moves)
    for i in 0..prog.len() {
        if is_throw(&prog.insns()[i]) {
            a.insns[i] = Insn::Call(CallTarget::Helper(THROW_ID));
            continue;
        }
        let target = match driver_of(&prog.insns()[i]) {
            Some(Driver::Loop) => loop_at,
            Some(Driver::Walk) => walk_at,
            None => continue,
        };
        let t = target.ok_or_else(|| JitError::Link("a callback driver is missing".into()))?;
        a.insns[i] = Insn::Call(CallTarget::Local(rel(prog.pc(i), t)?));
    }
    let insns = a.finish()?;
    let p =
        Program::new(insns).map_err(|e| JitError::Link(format!("lowered callbacks do not decode: {e}")))?;
    Ok((p, roles))
}

fn rel(from: usize, to: usize) -> Result<i32, JitError> {
    i32::try_from(to as i64 - (from as i64 + 1)).map_err(|_| JitError::Link("program too large".into()))
}

fn mov(dst: Reg, src: Src) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src }
}

fn imm64(dst: Reg, v: u64) -> Insn {
    Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: v as u32 as i32, imm_hi: (v >> 32) as i32 }
}

/// Appends instructions after the program, with forward and backward labels.
struct Asm {
    insns: Vec<Insn>,
    /// Slot of the next instruction.
    slot: usize,
    /// (instruction index, label) of each jump to patch.
    fixups: Vec<(usize, usize)>,
    /// Slot of each label, once placed.
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn push(&mut self, insn: Insn) {
        self.slot += insn.slots();
        self.insns.push(insn);
    }

    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn place(&mut self, l: usize) {
        self.labels[l] = Some(self.slot);
    }

    /// `if dst <cond> src goto l` (`Ja` when `cond` is `None`).
    fn jump(&mut self, cond: Option<(JmpCond, Reg, Src)>, l: usize) {
        self.fixups.push((self.insns.len(), l));
        self.push(match cond {
            Some((cond, dst, src)) => Insn::Jmp { width: Width::W64, cond, dst, src, off: 0 },
            None => Insn::Ja { off: 0 },
        });
    }

    fn call(&mut self, slot: usize) {
        let r = self.slot as i64;
        self.push(Insn::Call(CallTarget::Local((slot as i64 - (r + 1)) as i32)));
    }

    fn ret(&mut self, r0: Src, w32: bool) {
        let width = if w32 { Width::W32 } else { Width::W64 };
        self.push(Insn::Alu { width, op: AluOp::Mov, dst: Reg::R0, src: r0 });
        self.push(Insn::Exit);
    }

    /// Calls the callback whose token is in r9 (arguments already in r1..r5); r0 = its result.
    /// No match (impossible after the verifier) returns `-EINVAL` from the driver.
    fn dispatch(&mut self, l: &Lowering<'_>) {
        let done = self.label();
        let calls: Vec<(usize, usize)> = l.callbacks.iter().map(|&cb| (cb, self.label())).collect();
        for &(cb, at) in &calls {
            self.push(imm64(Reg::R0, (l.token)(cb)));
            self.jump(Some((JmpCond::Eq, Reg::R9, Src::Reg(Reg::R0))), at);
        }
        self.ret(Src::Imm(EINVAL), false);
        for (cb, at) in calls {
            self.place(at);
            self.call(cb);
            self.jump(None, done);
        }
        self.place(done);
    }

    /// `bpf_loop(r1 = nr, r2 = cb, r3 = ctx, r4 = flags)`.
    fn loop_driver(&mut self, l: &Lowering<'_>) -> Result<(), JitError> {
        let (einval, e2big, top, out) = (self.label(), self.label(), self.label(), self.label());
        self.jump(Some((JmpCond::Ne, Reg::R4, Src::Imm(0))), einval);
        self.jump(Some((JmpCond::Gt, Reg::R1, Src::Imm(MAX_LOOPS))), e2big);
        self.push(mov(Reg::R6, Src::Reg(Reg::R1)));
        self.push(mov(Reg::R7, Src::Imm(0)));
        self.push(mov(Reg::R8, Src::Reg(Reg::R3)));
        self.push(mov(Reg::R9, Src::Reg(Reg::R2)));
        self.place(top);
        self.jump(Some((JmpCond::Ge, Reg::R7, Src::Reg(Reg::R6))), out);
        self.push(mov(Reg::R1, Src::Reg(Reg::R7)));
        self.push(mov(Reg::R2, Src::Reg(Reg::R8)));
        for r in [Reg::R3, Reg::R4, Reg::R5] {
            self.push(mov(r, Src::Imm(0)));
        }
        self.dispatch(l);
        self.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R7, src: Src::Imm(1) });
        self.jump(Some((JmpCond::Eq, Reg::R0, Src::Imm(0))), top);
        self.place(out);
        self.ret(Src::Reg(Reg::R7), false);
        self.place(einval);
        self.ret(Src::Imm(EINVAL), false);
        self.place(e2big);
        self.ret(Src::Imm(E2BIG), true);
        Ok(())
    }

    /// `bpf_for_each_map_elem(r1 = map, r2 = cb, r3 = ctx, r4 = flags)`. Frame: the context at
    /// `r10 - 8`, the cursor at `r10 - 16 - K`, the key right above it (K = the largest key).
    fn walk_driver(&mut self, l: &Lowering<'_>) -> Result<(), JitError> {
        let k = l.key_max.div_ceil(8) * 8;
        if WALK_FIXED + k > kbpf_isa::MAX_BPF_STACK as u32 {
            return Err(JitError::Link(format!(
                "bpf_for_each_map_elem: a key of {} bytes does not fit a BPF frame",
                l.key_max
            )));
        }
        let state = -((WALK_FIXED + k) as i32);
        let key = state + 8;
        let (einval, top, out) = (self.label(), self.label(), self.label());
        let st = |off: i32, src: Src| Insn::Store { size: Size::DW, dst: Reg::R10, off: off as i16, src };
        self.jump(Some((JmpCond::Ne, Reg::R4, Src::Imm(0))), einval);
        self.push(mov(Reg::R6, Src::Reg(Reg::R1)));
        self.push(mov(Reg::R8, Src::Imm(0)));
        self.push(mov(Reg::R9, Src::Reg(Reg::R2)));
        self.push(st(-8, Src::Reg(Reg::R3)));
        self.push(st(state, Src::Imm(0)));
        self.place(top);
        self.push(mov(Reg::R1, Src::Reg(Reg::R6)));
        self.push(mov(Reg::R2, Src::Reg(Reg::R10)));
        self.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R2, src: Src::Imm(state) });
        self.push(mov(Reg::R3, Src::Imm(8 + k as i32)));
        self.push(Insn::Call(CallTarget::Helper(MAP_NEXT_ELEM_ID)));
        self.jump(Some((JmpCond::Eq, Reg::R0, Src::Imm(0))), out);
        self.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R8, src: Src::Imm(1) });
        self.push(mov(Reg::R3, Src::Reg(Reg::R0)));
        self.push(mov(Reg::R1, Src::Reg(Reg::R6)));
        self.push(mov(Reg::R2, Src::Reg(Reg::R10)));
        self.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R2, src: Src::Imm(key) });
        self.push(Insn::Load { size: Size::DW, signed: false, dst: Reg::R4, src: Reg::R10, off: -8 });
        self.push(mov(Reg::R5, Src::Imm(0)));
        self.dispatch(l);
        self.jump(Some((JmpCond::Eq, Reg::R0, Src::Imm(0))), top);
        self.place(out);
        self.ret(Src::Reg(Reg::R8), false);
        self.place(einval);
        self.ret(Src::Imm(EINVAL), false);
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<Insn>, JitError> {
        // slot of each instruction
        let mut slots = Vec::with_capacity(self.insns.len());
        let mut s = 0;
        for i in &self.insns {
            slots.push(s);
            s += i.slots();
        }
        for (i, l) in std::mem::take(&mut self.fixups) {
            let to = self.labels[l].ok_or_else(|| JitError::Link("unplaced driver label".into()))?;
            let off = i16::try_from(to as i64 - (slots[i] as i64 + 1))
                .map_err(|_| JitError::Link("driver jump out of range".into()))?;
            match &mut self.insns[i] {
                Insn::Jmp { off: o, .. } | Insn::Ja { off: o } => *o = off,
                _ => return Err(JitError::Link("driver fixup on a non-jump".into())),
            }
        }
        Ok(self.insns)
    }
}
