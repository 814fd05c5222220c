//! Pre-decoding of a [`Program`] into the compact op array the run loop dispatches on.
//!
//! Every instruction becomes one [`Op`] of 16 bytes: a fieldless kind (so the hot `match` is a
//! single jump table), register numbers, a 32-bit field (memory offset or resolved jump target as
//! an op index) and a 64-bit immediate (already sign- or zero-extended as the instruction needs).
//! Helper and kfunc calls are resolved to an index into the VM's native-function table here, so
//! the run loop never looks anything up by id.

use kbpf_isa::{
    AluOp, AtomicOp, ByteOrder, CallTarget, Insn, JmpCond, LdImm64Src, Program, Reg, Size, Src, Width,
};
use kbpf_kfunc::callbacks::{FuncRoles, THROW_ID};
use kbpf_kfunc::{FuncDesc, FuncKind, NativeArg, NativeFn, Registry};

/// Operation kinds. `I` suffix: immediate operand in `imm`; `R`: register operand in `src`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[rustfmt::skip]
pub(crate) enum K {
    Add64I, Add64R, Sub64I, Sub64R, Mul64I, Mul64R, Div64I, Div64R, SDiv64I, SDiv64R,
    Mod64I, Mod64R, SMod64I, SMod64R, Or64I, Or64R, And64I, And64R, Xor64I, Xor64R,
    Lsh64I, Lsh64R, Rsh64I, Rsh64R, Arsh64I, Arsh64R, Mov64I, Mov64R,
    Add32I, Add32R, Sub32I, Sub32R, Mul32I, Mul32R, Div32I, Div32R, SDiv32I, SDiv32R,
    Mod32I, Mod32R, SMod32I, SMod32R, Or32I, Or32R, And32I, And32R, Xor32I, Xor32R,
    Lsh32I, Lsh32R, Rsh32I, Rsh32R, Arsh32I, Arsh32R, Mov32I, Mov32R,
    Neg64, Neg32,
    /// `imm` = source bits (8/16/32).
    MovSx64, MovSx32,
    /// `imm` = width in bits.
    Le, Be, Swap,
    /// Unconditional jump to `off`.
    Ja,
    Jeq64I, Jeq64R, Jne64I, Jne64R, Jgt64I, Jgt64R, Jge64I, Jge64R, Jlt64I, Jlt64R, Jle64I, Jle64R,
    Jsgt64I, Jsgt64R, Jsge64I, Jsge64R, Jslt64I, Jslt64R, Jsle64I, Jsle64R, Jset64I, Jset64R,
    Jeq32I, Jeq32R, Jne32I, Jne32R, Jgt32I, Jgt32R, Jge32I, Jge32R, Jlt32I, Jlt32R, Jle32I, Jle32R,
    Jsgt32I, Jsgt32R, Jsge32I, Jsge32R, Jslt32I, Jslt32R, Jsle32I, Jsle32R, Jset32I, Jset32R,
    /// Jump to `off` once the frame's counter is exhausted.
    MayGoto,
    LdImm64,
    Ldx8, Ldx16, Ldx32, Ldx64, Ldxs8, Ldxs16, Ldxs32,
    St8, St16, St32, St64, Stx8, Stx16, Stx32, Stx64,
    /// Outgoing stack argument: slot index in `off`, value in `imm` / `src`.
    StArgI, StArgR,
    /// Incoming stack argument: caller's slot index in `off`.
    LdArg,
    /// `imm` = `AtomicOp` index, `off` = offset, `src`/`dst` as in the instruction; size in `aux`.
    Atomic,
    /// Legacy packet loads; size in bytes in `aux`, constant offset in `imm`.
    LdAbs, LdInd,
    /// Native call whose arguments are all plain values; `imm` = index in the VM's function
    /// table.
    CallNative,
    /// Native call with pointer arguments, checked outside the loop first; `imm` as above.
    CallChecked,
    /// bpf-to-bpf call to op index `off`.
    CallLocal,
    /// Helper whose id is the value of register `dst`.
    Callx,
    Exit,
    /// Helper or kfunc id that the registry does not know or cannot run; `imm` = id, `aux` = kind.
    CallMissing,
    /// Map helper (`imm` = 1 lookup, 2 update, 3 delete), run against the run's `HostEnv`.
    MapCall,
    /// `bpf_tail_call`.
    TailCall,
    /// A timer helper (169..172), run against the environment.
    TimerCall,
    /// `bpf_throw`: unwind every frame and run the exception function at op `imm` (`u64::MAX`:
    /// the program has none) in the main function's place.
    Throw,
    /// The end of one program of several: running into it is falling off the end.
    FellOff,
    /// Instruction the interpreter cannot run; `imm` = index in `UNSUPPORTED`.
    Unsupported,
}

/// What an [`K::Unsupported`] op is, for the error message.
pub(crate) const UNSUPPORTED: [&str; 4] = [
    "ld_imm64 with a pseudo source: map references must be resolved first (kbpf::resolve_maps); BTF ids and functions are not supported",
    "addr_space_cast needs an arena",
    "stack argument slot out of range",
    "the per-CPU mov of the kernel's fixups (no engine runs translated programs)",
];

/// One pre-decoded operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub k: K,
    pub dst: u8,
    pub src: u8,
    /// Access size in bytes, the kind of a missing call (0 helper, 1 kfunc), or for a jump the
    /// unconditional jumps its target skips (each counts as one executed instruction).
    pub aux: u8,
    /// For a `CallLocal`, 1 when the callee is a callback driver (its frame is the engine's and
    /// does not count against `MAX_CALL_FRAMES`).
    /// Memory offset, stack-argument slot, or jump target (op index). A jump to an
    /// unconditional jump goes straight to the end of the chain (see [`thread_jumps`]).
    pub off: i32,
    pub imm: u64,
}

/// A native function resolved at construction time.
#[derive(Clone, Debug)]
pub(crate) struct Native {
    pub f: NativeFn,
    /// Name, for errors.
    pub name: Box<str>,
    /// Parameter names, for errors.
    pub params: Box<[String]>,
    /// What the native does with each argument (checked before every call).
    pub args: Box<[NativeArg]>,
    /// A safe native: the call needs no check.
    pub plain: bool,
}

impl Native {
    fn new(d: &FuncDesc, f: NativeFn) -> Native {
        // the contract travels with the function pointer; a native without one is a safe fn,
        // for which any values will do
        let (args, plain): (Box<[NativeArg]>, bool) = match f.contract() {
            Some(c) => (c.into(), false),
            None => (Box::new([]), true),
        };
        Native {
            f,
            name: d.name.as_str().into(),
            params: d.proto.args.iter().map(|a| a.name.clone()).collect(),
            args,
            plain,
        }
    }
}

/// What `callx` with a helper id runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CallxTarget {
    /// Entry of the VM's native table.
    Native(usize),
    /// A helper the interpreter runs itself (`MapCall`, `TailCall`, `TimerCall`).
    Host(K),
}

/// The result of compilation.
pub(crate) struct Compiled {
    pub ops: Vec<Op>,
    /// Per op, the jump target before threading (read only when the budget cannot pay the
    /// skipped jumps).
    pub unthreaded: Vec<u32>,
    /// Slot pc of each op (for error messages).
    pub pcs: Vec<u32>,
    pub natives: Vec<Native>,
    /// First op of each program.
    pub entries: Vec<u32>,
    /// Every helper `callx` can reach, by id.
    pub helpers: std::collections::HashMap<i64, CallxTarget>,
}

fn op(k: K) -> Op {
    Op { k, dst: 0, src: 0, aux: 0, off: 0, imm: 0 }
}

fn alu_kind(width: Width, aop: AluOp, reg: bool) -> K {
    use K::*;
    let (i, r) = match (width, aop) {
        (Width::W64, AluOp::Add) => (Add64I, Add64R),
        (Width::W64, AluOp::Sub) => (Sub64I, Sub64R),
        (Width::W64, AluOp::Mul) => (Mul64I, Mul64R),
        (Width::W64, AluOp::Div) => (Div64I, Div64R),
        (Width::W64, AluOp::SDiv) => (SDiv64I, SDiv64R),
        (Width::W64, AluOp::Mod) => (Mod64I, Mod64R),
        (Width::W64, AluOp::SMod) => (SMod64I, SMod64R),
        (Width::W64, AluOp::Or) => (Or64I, Or64R),
        (Width::W64, AluOp::And) => (And64I, And64R),
        (Width::W64, AluOp::Xor) => (Xor64I, Xor64R),
        (Width::W64, AluOp::Lsh) => (Lsh64I, Lsh64R),
        (Width::W64, AluOp::Rsh) => (Rsh64I, Rsh64R),
        (Width::W64, AluOp::Arsh) => (Arsh64I, Arsh64R),
        (Width::W64, AluOp::Mov) => (Mov64I, Mov64R),
        (Width::W32, AluOp::Add) => (Add32I, Add32R),
        (Width::W32, AluOp::Sub) => (Sub32I, Sub32R),
        (Width::W32, AluOp::Mul) => (Mul32I, Mul32R),
        (Width::W32, AluOp::Div) => (Div32I, Div32R),
        (Width::W32, AluOp::SDiv) => (SDiv32I, SDiv32R),
        (Width::W32, AluOp::Mod) => (Mod32I, Mod32R),
        (Width::W32, AluOp::SMod) => (SMod32I, SMod32R),
        (Width::W32, AluOp::Or) => (Or32I, Or32R),
        (Width::W32, AluOp::And) => (And32I, And32R),
        (Width::W32, AluOp::Xor) => (Xor32I, Xor32R),
        (Width::W32, AluOp::Lsh) => (Lsh32I, Lsh32R),
        (Width::W32, AluOp::Rsh) => (Rsh32I, Rsh32R),
        (Width::W32, AluOp::Arsh) => (Arsh32I, Arsh32R),
        (Width::W32, AluOp::Mov) => (Mov32I, Mov32R),
    };
    if reg { r } else { i }
}

fn jmp_kind(width: Width, cond: JmpCond, reg: bool) -> K {
    use K::*;
    let (i, r) = match (width, cond) {
        (Width::W64, JmpCond::Eq) => (Jeq64I, Jeq64R),
        (Width::W64, JmpCond::Ne) => (Jne64I, Jne64R),
        (Width::W64, JmpCond::Gt) => (Jgt64I, Jgt64R),
        (Width::W64, JmpCond::Ge) => (Jge64I, Jge64R),
        (Width::W64, JmpCond::Lt) => (Jlt64I, Jlt64R),
        (Width::W64, JmpCond::Le) => (Jle64I, Jle64R),
        (Width::W64, JmpCond::Sgt) => (Jsgt64I, Jsgt64R),
        (Width::W64, JmpCond::Sge) => (Jsge64I, Jsge64R),
        (Width::W64, JmpCond::Slt) => (Jslt64I, Jslt64R),
        (Width::W64, JmpCond::Sle) => (Jsle64I, Jsle64R),
        (Width::W64, JmpCond::Set) => (Jset64I, Jset64R),
        (Width::W32, JmpCond::Eq) => (Jeq32I, Jeq32R),
        (Width::W32, JmpCond::Ne) => (Jne32I, Jne32R),
        (Width::W32, JmpCond::Gt) => (Jgt32I, Jgt32R),
        (Width::W32, JmpCond::Ge) => (Jge32I, Jge32R),
        (Width::W32, JmpCond::Lt) => (Jlt32I, Jlt32R),
        (Width::W32, JmpCond::Le) => (Jle32I, Jle32R),
        (Width::W32, JmpCond::Sgt) => (Jsgt32I, Jsgt32R),
        (Width::W32, JmpCond::Sge) => (Jsge32I, Jsge32R),
        (Width::W32, JmpCond::Slt) => (Jslt32I, Jslt32R),
        (Width::W32, JmpCond::Sle) => (Jsle32I, Jsle32R),
        (Width::W32, JmpCond::Set) => (Jset32I, Jset32R),
    };
    if reg { r } else { i }
}

/// Immediate of an ALU or JMP op: sign-extended to 64 bits for 64-bit forms, the 32-bit pattern
/// for 32-bit forms (the run loop compares and computes on the low half there).
fn imm_for(width: Width, imm: i32) -> u64 {
    match width {
        Width::W64 => imm as i64 as u64,
        Width::W32 => imm as u32 as u64,
    }
}

/// Position of an atomic operation in [`AtomicOp::ALL`], stored in `imm`.
fn atomic_index(aop: AtomicOp) -> u64 {
    AtomicOp::ALL.iter().position(|&o| o == aop).unwrap_or(0) as u64
}

struct Builder<'a> {
    prog: &'a Program,
    registry: &'a Registry,
    natives: Vec<Native>,
    /// Op index of this program's first op (programs are laid out one after the other).
    base: usize,
    /// The functions callback lowering added to this program.
    roles: &'a FuncRoles,
}

/// Helpers the interpreter runs itself, by the name the registry gives them: the map (queue and
/// stack included) and timer helpers (through the run's `HostEnv`, never a raw pointer) and `bpf_tail_call`.
fn host_kind(name: &str) -> Option<K> {
    match name {
        "bpf_map_lookup_elem" | "bpf_map_update_elem" | "bpf_map_delete_elem" => Some(K::MapCall),
        "bpf_map_push_elem" | "bpf_map_pop_elem" | "bpf_map_peek_elem" => Some(K::MapCall),
        "bpf_tail_call" => Some(K::TailCall),
        "bpf_timer_init" | "bpf_timer_set_callback" | "bpf_timer_start" | "bpf_timer_cancel" => {
            Some(K::TimerCall)
        }
        _ => None,
    }
}

fn host_helper(registry: &Registry, id: i32) -> Option<K> {
    host_kind(&registry.helper(id)?.name)
}

/// Whether the interpreter runs the helper named `name` itself (no native needed).
pub fn runs_helper_itself(name: &str) -> bool {
    host_kind(name).is_some()
}

impl Builder<'_> {
    /// Op index of the instruction starting at slot `slot` (targets were checked by `Program`).
    fn target(&self, slot: i64) -> i32 {
        usize::try_from(slot)
            .ok()
            .and_then(|s| self.prog.index_at(s))
            .map_or(i32::MAX, |i| (i + self.base) as i32)
    }

    /// The op calling the native of `d`: unchecked when all its arguments are values.
    fn native(&mut self, d: &FuncDesc, f: NativeFn) -> Op {
        let n = Native::new(d, f);
        let k = if n.plain { K::CallNative } else { K::CallChecked };
        self.natives.push(n);
        Op { imm: (self.natives.len() - 1) as u64, ..op(k) }
    }

    fn call(&mut self, pc: usize, t: CallTarget) -> Op {
        let registry = self.registry;
        match t {
            CallTarget::Helper(THROW_ID) => {
                let entry = self.roles.exception_cb.and_then(|s| self.prog.index_at(s));
                Op { imm: entry.map_or(u64::MAX, |i| (i + self.base) as u64), ..op(K::Throw) }
            }
            CallTarget::Helper(id) if let Some(k) = host_helper(registry, id) => {
                Op { imm: id as u64, ..op(k) }
            }
            CallTarget::Helper(id) => match registry.helper(id).and_then(|d| Some((d, d.native?))) {
                Some((d, f)) => self.native(d, f),
                None => Op { imm: id as i64 as u64, aux: 0, ..op(K::CallMissing) },
            },
            CallTarget::Kfunc { btf_id, .. } => {
                match registry.kfunc(btf_id).and_then(|d| Some((d, d.native?))) {
                    Some((d, f)) => self.native(d, f),
                    None => Op { imm: btf_id as i64 as u64, aux: 1, ..op(K::CallMissing) },
                }
            }
            CallTarget::Local(rel) => {
                let to = pc as i64 + 1 + rel as i64;
                let driver = usize::try_from(to).is_ok_and(|t| self.roles.drivers.contains(&t));
                Op { off: self.target(to), aux: u8::from(driver), ..op(K::CallLocal) }
            }
        }
    }

    fn insn(&mut self, pc: usize, insn: &Insn) -> Op {
        let r = |reg: Reg| reg.num();
        let branch = |me: &Self, off: i64| me.target(pc as i64 + 1 + off);
        match *insn {
            Insn::Alu { width, op: aop, dst, src } => match src {
                Src::Imm(i) => Op { dst: r(dst), imm: imm_for(width, i), ..op(alu_kind(width, aop, false)) },
                Src::Reg(s) => Op { dst: r(dst), src: r(s), ..op(alu_kind(width, aop, true)) },
            },
            Insn::Neg { width: Width::W64, dst } => Op { dst: r(dst), ..op(K::Neg64) },
            Insn::Neg { width: Width::W32, dst } => Op { dst: r(dst), ..op(K::Neg32) },
            Insn::MovSx { width, dst, src, from_bits } => {
                let k = if width == Width::W64 { K::MovSx64 } else { K::MovSx32 };
                Op { dst: r(dst), src: r(src), imm: from_bits as u64, ..op(k) }
            }
            Insn::AddrSpaceCast { .. } => Op { imm: 1, ..op(K::Unsupported) },
            Insn::MovPercpu { .. } => Op { imm: 3, ..op(K::Unsupported) },
            Insn::Endian { order, bits, dst } => {
                let k = match order {
                    ByteOrder::ToLe => K::Le,
                    ByteOrder::ToBe => K::Be,
                    ByteOrder::Swap => K::Swap,
                };
                Op { dst: r(dst), imm: bits as u64, ..op(k) }
            }
            Insn::Ja { off } => Op { off: branch(self, off as i64), ..op(K::Ja) },
            Insn::Gotol { imm } => Op { off: branch(self, imm as i64), ..op(K::Ja) },
            Insn::MayGoto { off } => Op { off: branch(self, off as i64), ..op(K::MayGoto) },
            Insn::Jmp { width, cond, dst, src, off } => {
                let target = branch(self, off as i64);
                match src {
                    Src::Imm(i) => Op {
                        dst: r(dst),
                        imm: imm_for(width, i),
                        off: target,
                        ..op(jmp_kind(width, cond, false))
                    },
                    Src::Reg(s) => {
                        Op { dst: r(dst), src: r(s), off: target, ..op(jmp_kind(width, cond, true)) }
                    }
                }
            }
            Insn::Call(t) => self.call(pc, t),
            Insn::Callx { reg } => Op { dst: r(reg), ..op(K::Callx) },
            Insn::Exit => op(K::Exit),
            Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm, imm_hi } => {
                Op { dst: r(dst), imm: Insn::imm64(imm, imm_hi), ..op(K::LdImm64) }
            }
            Insn::LdImm64 { .. } => Op { imm: 0, ..op(K::Unsupported) },
            Insn::StackArgLoad { dst, pos } => {
                // the caller's outgoing slot
                let Some(slot) = pos.slot() else {
                    return Op { imm: 2, ..op(K::Unsupported) };
                };
                Op { dst: r(dst), off: slot.index() as i32, ..op(K::LdArg) }
            }
            Insn::Load { size, signed, dst, src, off } => {
                let k = match (size, signed) {
                    (Size::B, false) => K::Ldx8,
                    (Size::H, false) => K::Ldx16,
                    (Size::W, false) => K::Ldx32,
                    (Size::DW, _) => K::Ldx64,
                    (Size::B, true) => K::Ldxs8,
                    (Size::H, true) => K::Ldxs16,
                    (Size::W, true) => K::Ldxs32,
                };
                Op { dst: r(dst), src: r(src), off: off as i32, ..op(k) }
            }
            Insn::StackArgStore { pos, src } => {
                // this frame's outgoing slot
                let Some(slot) = pos.slot() else {
                    return Op { imm: 2, ..op(K::Unsupported) };
                };
                let slot = slot.index() as i32;
                match src {
                    Src::Imm(i) => Op { off: slot, imm: i as i64 as u64, ..op(K::StArgI) },
                    Src::Reg(s) => Op { off: slot, src: r(s), ..op(K::StArgR) },
                }
            }
            Insn::Store { size, dst, off, src } => {
                let (ki, kr) = match size {
                    Size::B => (K::St8, K::Stx8),
                    Size::H => (K::St16, K::Stx16),
                    Size::W => (K::St32, K::Stx32),
                    Size::DW => (K::St64, K::Stx64),
                };
                match src {
                    Src::Imm(i) => Op { dst: r(dst), off: off as i32, imm: i as i64 as u64, ..op(ki) },
                    Src::Reg(s) => Op { dst: r(dst), src: r(s), off: off as i32, ..op(kr) },
                }
            }
            Insn::Atomic { size, op: aop, dst, src, off } => Op {
                dst: r(dst),
                src: r(src),
                aux: size.bytes() as u8,
                off: off as i32,
                imm: atomic_index(aop),
                ..op(K::Atomic)
            },
            Insn::LdAbs { size, imm } => {
                Op { aux: size.bytes() as u8, imm: imm as i64 as u64, ..op(K::LdAbs) }
            }
            Insn::LdInd { size, src, imm } => {
                Op { src: r(src), aux: size.bytes() as u8, imm: imm as i64 as u64, ..op(K::LdInd) }
            }
        }
    }
}

/// Compiles `prog` against `registry`.
#[cfg(test)]
pub(crate) fn compile(prog: &Program, registry: &Registry) -> Compiled {
    compile_all(&[prog], &[], registry)
}

/// Compiles several programs (a main program and its tail-call targets) into one op array:
/// program `i` starts at `entries[i]`, and a `FellOff` op follows all but the last. `roles[i]`
/// (default when missing) are the functions callback lowering added to program `i`.
pub(crate) fn compile_all(progs: &[&Program], roles: &[FuncRoles], registry: &Registry) -> Compiled {
    let none = FuncRoles::default();
    let mut natives = Vec::new();
    let mut ops = Vec::new();
    let mut pcs = Vec::new();
    let mut entries = Vec::with_capacity(progs.len());
    for (i, prog) in progs.iter().enumerate() {
        if i > 0 {
            ops.push(op(K::FellOff));
            pcs.push(pcs.last().copied().unwrap_or(0));
        }
        entries.push(ops.len() as u32);
        let roles = roles.get(i).unwrap_or(&none);
        let mut b = Builder { prog, registry, natives, base: ops.len(), roles };
        for (pc, insn) in prog.iter() {
            ops.push(b.insn(pc, insn));
            pcs.push(pc as u32);
        }
        natives = b.natives;
    }
    let mut helpers = std::collections::HashMap::new();
    for d in registry.iter().filter(|d| d.kind == FuncKind::Helper) {
        let target = match (host_helper(registry, d.id), d.native) {
            (Some(k), _) => CallxTarget::Host(k),
            (None, Some(f)) => {
                natives.push(Native::new(d, f));
                CallxTarget::Native(natives.len() - 1)
            }
            (None, None) => continue,
        };
        helpers.insert(d.id as i64, target);
    }
    let unthreaded = thread_jumps(&mut ops);
    Compiled { ops, unthreaded, pcs, natives, entries, helpers }
}

/// Whether `k` is `ja` or a conditional jump (their target is `off`, `aux` is free).
fn is_branch(k: K) -> bool {
    k == K::Ja || (K::Jeq64I as u8..=K::Jset32R as u8).contains(&(k as u8))
}

/// Most unconditional jumps one threaded jump skips.
const MAX_THREAD: u8 = 16;

/// Jump threading: a jump whose target is a `ja` (a loop header `ja +0`, a `goto` chain)
/// targets the end of the chain instead, with the skipped jumps in `aux`. The run loop charges
/// them to the budget when it takes the jump, so instruction counts stay exact; when the budget
/// cannot pay them it takes the original target (returned per op) and runs the chain one
/// `ja` at a time.
fn thread_jumps(ops: &mut [Op]) -> Vec<u32> {
    let orig: Vec<u32> = ops.iter().map(|o| o.off as u32).collect();
    let ja_target = |i: u32| match ops.get(i as usize) {
        Some(o) if o.k == K::Ja => Some(orig.get(i as usize).copied().unwrap_or(u32::MAX)),
        _ => None,
    };
    let mut threaded = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        if !is_branch(o.k) {
            continue;
        }
        let (mut t, mut skipped) = (o.off as u32, 0u8);
        while skipped < MAX_THREAD
            && let Some(next) = ja_target(t)
        {
            (t, skipped) = (next, skipped + 1);
        }
        if skipped > 0 {
            threaded.push((i, t, skipped));
        }
    }
    for (i, t, skipped) in threaded {
        if let Some(o) = ops.get_mut(i) {
            (o.off, o.aux) = (t as i32, skipped);
        }
    }
    orig
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_is_compact() {
        assert_eq!(std::mem::size_of::<Op>(), 16);
    }

    #[test]
    fn targets_are_op_indices() {
        // lddw occupies two slots; the jump over it lands on op index 2.
        let insns = vec![
            Insn::Ja { off: 2 },
            Insn::LdImm64 { dst: Reg::R0, src: LdImm64Src::Imm, imm: 1, imm_hi: 2 },
            Insn::Exit,
        ];
        let p = Program::new(insns).unwrap();
        let c = compile(&p, &Registry::new());
        assert_eq!(c.ops[0].k, K::Ja);
        assert_eq!(c.ops[0].off, 2);
        assert_eq!(c.ops[1].imm, 0x2_0000_0001);
        assert_eq!(c.pcs, vec![0, 1, 3]);
    }

    #[test]
    fn jumps_to_jumps_are_threaded() {
        // 0: ja +0 -> 1: ja +1 -> 3: exit; 2: if r0 == 0 goto -3 (-> 0); 4: ja -1 (itself)
        let insns = vec![
            Insn::Ja { off: 0 },
            Insn::Ja { off: 1 },
            Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Src::Imm(0), off: -3 },
            Insn::Exit,
            Insn::Ja { off: -1 },
        ];
        let c = compile(&Program::new(insns).unwrap(), &Registry::new());
        let jumps: Vec<(i32, u8)> = c.ops.iter().map(|o| (o.off, o.aux)).collect();
        assert_eq!(jumps[..3], [(3, 1), (3, 0), (3, 2)]);
        assert_eq!(jumps[4], (4, MAX_THREAD), "a self loop charges each lap");
        assert_eq!(c.unthreaded[..3], [1, 3, 0]);
    }

    #[test]
    fn calls_resolve_or_stay_missing() {
        let mut reg = kbpf_kfunc::profiles::conformance();
        extern "C" fn one() -> u64 {
            1
        }
        reg.add_kfunc(7, "one", NativeFn::A0(one)).unwrap();
        let insns = vec![
            Insn::Call(CallTarget::Helper(5)),
            Insn::Call(CallTarget::Helper(77)),
            Insn::Call(CallTarget::Kfunc { btf_id: 7, off: 0 }),
            Insn::Exit,
        ];
        let c = compile(&Program::new(insns).unwrap(), &reg);
        assert_eq!((c.ops[0].k, c.ops[1].k, c.ops[2].k), (K::CallNative, K::CallMissing, K::CallNative));
        assert!(c.natives[0].plain && c.natives[1].plain);
        let k = kbpf_kfunc::profiles::testmod();
        let from_mem = Insn::Call(CallTarget::Helper(197));
        let c = compile(&Program::new(vec![from_mem, Insn::Exit]).unwrap(), &k);
        assert_eq!(c.ops[0].k, K::CallChecked, "pointer arguments are checked");
        assert!(matches!(c.helpers.get(&1), Some(CallxTarget::Host(K::MapCall))));
        assert!(!c.natives[0].plain);
    }
}
