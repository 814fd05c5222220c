//! The kernel's passes after `do_check` (the tail of `bpf_check`), on the witness's program:
//! what `bpftool prog dump xlated` shows and what the kernel hands its JIT.
//!
//! The witness already carries `opt_hard_wire_dead_code_branches`, `opt_remove_dead_code` and
//! `opt_remove_nops` (privileged loads) or `sanitize_dead_code`. This module adds
//! `optimize_bpf_loop` (in `frames.rs`; the kernel runs it before the dead-code passes, which
//! leave its patches alone since every patched instruction counts as reached), then
//! `convert_ctx_accesses` (through [`crate::prog_types::ProgTypeOps::convert_ctx_access`]) and the
//! part of `do_misc_fixups` kbpf models: division and modulo by a register guarded against zero,
//! signed division and modulo by a register guarded through AX against 0 and -1, the tail
//! call's own form, helper calls named by the kernel function they call (direct calls to a
//! map's operations included). A rewrite kbpf does not model yet is a typed
//! [`FixupError::Unsupported`], never an approximation.
//!
//! `opt_subreg_zext_lo32_rnd_hi32` adds nothing: it runs only for a JIT that needs explicit
//! zero-extension (`bpf_jit_needs_zext`), and neither x86_64's nor arm64's does (their 32-bit
//! operations and loads clear the upper half), so the verifier's `zext_dst` facts are not kept.
//!
//! Each output instruction remembers the submitted slot it stands for (the first instruction
//! of a patch does, as `bpf_patch_insn_data` keeps line info on it), so line info can be laid
//! over the result.

mod calls;
mod ctx;
mod frames;
mod layout;
mod sock;

use kbpf_isa::{AluOp, CallTarget, Insn, JmpCond, Program, Reg, Src, Width};
use thiserror::Error;

use crate::Verified;
use crate::prog_types::CtxError;
pub use calls::{KERNEL_ADDRESS, KernelCall};
pub use ctx::CtxConv;
pub(crate) use ctx::narrow_load;
pub use layout::{FieldLoc, KernelField, KernelLayout};

/// Which context layout `convert_ctx_accesses` translates for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxTarget {
    /// The kernel's structures (`struct xdp_buff`, `struct sk_buff`), as `bpftool prog dump
    /// xlated` shows the program.
    Kernel,
    /// kbpf's run-time context (the uapi structure followed by host pointers), as kbpf's
    /// engines run the program.
    Kbpf,
}

/// A rewrite kbpf cannot make (yet), or an internal inconsistency.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FixupError {
    /// The kernel rewrites this instruction in a way kbpf does not model.
    #[error("insn {pc}: kbpf cannot translate {what} yet")]
    Unsupported {
        /// Slot in the submitted program.
        pc: usize,
        /// What the rewrite is.
        what: String,
    },
    /// The rewrite addresses a kernel structure the target's BTF does not describe.
    #[error("insn {pc}: the target kernel's BTF does not describe {field}")]
    NoLayout {
        /// Slot in the submitted program.
        pc: usize,
        /// The field.
        field: KernelField,
    },
    /// The rewritten program does not hold together.
    #[error("verifier bug: fixups: {0}")]
    Bug(String),
}

/// One instruction of the translated program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XInsn {
    /// The instruction (helper calls keep their helper id; see `call`).
    pub insn: Insn,
    /// The submitted slot this instruction stands for (`None` for the later instructions of
    /// a patch).
    pub origin: Option<usize>,
    /// For a helper call: what the kernel calls.
    pub call: Option<KernelCall>,
}

/// The program after the kernel's fixups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xlated {
    /// Instructions in order (an `ld_imm64` is one entry, two slots).
    pub insns: Vec<XInsn>,
    /// The index in `insns` where the declared exception callback starts: a subprogram no
    /// call reaches, which still counts in the subprogram indices calls carry.
    pub exception_cb: Option<usize>,
}

impl Xlated {
    /// The instructions as a program (helper calls by id).
    pub fn program(&self) -> Result<Program, FixupError> {
        Program::new(self.insns.iter().map(|x| x.insn).collect())
            .map_err(|e| FixupError::Bug(format!("translated program does not decode: {e}")))
    }
}

impl Xlated {
    /// The slots as the kernel reports them for a JIT-compiled program: a bpf-to-bpf call
    /// carries its relative offset in `off` and its subprogram's index in `imm` (what
    /// `jit_subprogs` leaves); helper calls keep the helper id kbpf has in place of an address.
    pub fn kernel_slots(&self) -> Vec<kbpf_isa::RawInsn> {
        let mut slots: Vec<kbpf_isa::RawInsn> = self.insns.iter().flat_map(|x| x.insn.encode()).collect();
        let mut starts = vec![0i64];
        let mut pc = 0i64;
        for (k, x) in self.insns.iter().enumerate() {
            if Some(k) == self.exception_cb {
                starts.push(pc);
            }
            match x.insn {
                Insn::Call(CallTarget::Local(imm)) => starts.push(pc + 1 + imm as i64),
                Insn::LdImm64 { src: kbpf_isa::LdImm64Src::Func, imm, .. } => {
                    starts.push(pc + 1 + imm as i64)
                }
                _ => {}
            }
            pc += x.insn.slots() as i64;
        }
        starts.sort_unstable();
        starts.dedup();
        let mut pc = 0usize;
        for x in &self.insns {
            if let Insn::Call(CallTarget::Local(imm)) = x.insn
                && let Ok(off) = i16::try_from(imm)
            {
                let target = pc as i64 + 1 + imm as i64;
                let sub = starts.iter().position(|&s| s == target).unwrap_or(0);
                slots[pc].off = off;
                slots[pc].imm = sub as i32;
            }
            pc += x.insn.slots();
        }
        slots
    }
}

/// One instruction's replacement: the instructions, and whether the first one is the
/// original's (its jump offset is re-aimed) or new.
struct Patch {
    insns: Vec<XInsn>,
    original: Option<usize>,
}

/// Runs `convert_ctx_accesses` and `do_misc_fixups` over `v`'s program; `layout` gives the
/// kernel structures inlined map lookups read (`CtxTarget::Kernel`).
pub fn xlate(v: &Verified, target: CtxTarget, layout: &KernelLayout) -> Result<Xlated, FixupError> {
    let prog = v.program();
    let ops = v.prog_type().ops();
    let cx = CtxConv { attach: v.attach(), target, layout, tstamp_type_access: reads_tstamp_type(v) };
    let mut patches = Vec::with_capacity(prog.len());
    let frames = frames::Frames::new(v);
    // subprograms whose `may_goto` needs its budget set up on entry
    let mut budgets: Vec<usize> = Vec::new();
    let mut jump_skip = vec![0usize; prog.len()];
    for (i, insn) in prog.insns().iter().enumerate() {
        let facts = v.facts(i);
        let pc = facts.origin;
        let one = |insn: Insn| XInsn { insn, origin: Some(pc), call: None };
        let sock = facts.sock.filter(|_| target == CtxTarget::Kernel);
        let patch = if let Some(kind) = sock {
            let seq = match kind {
                crate::SockPtr::Sock => sock::convert(insn, layout),
                crate::SockPtr::XdpSock => sock::convert_xdp_sock(insn, layout),
                crate::SockPtr::TcpSock => Err(CtxError::Unsupported(crate::prog_types::CtxUnsupported {
                    prog_type: "bpf_tcp_sock",
                    insn: *insn,
                })),
            };
            conversion_patch(pc, seq, "socket")?
        } else if facts.ctx_access {
            conversion_patch(pc, ops.convert_ctx_access(insn, &cx), "context")?
        } else {
            match *insn {
                Insn::Alu { width, op: op @ (AluOp::Div | AluOp::Mod), dst, src: Src::Reg(src) }
                    if target == CtxTarget::Kernel =>
                {
                    let mut seq = div_guard(width, op, dst, src);
                    seq[0].origin = Some(pc);
                    Patch { insns: seq, original: None }
                }
                // `sdiv -1` is a negation and `smod -1` zero: the exceptions become impossible
                Insn::Alu { width, op: AluOp::SDiv, dst, src: Src::Imm(-1) }
                    if target == CtxTarget::Kernel =>
                {
                    Patch { insns: vec![one(Insn::Neg { width, dst })], original: None }
                }
                Insn::Alu { op: AluOp::SMod, dst, src: Src::Imm(-1), .. } if target == CtxTarget::Kernel => {
                    let zero = Insn::Alu { width: Width::W32, op: AluOp::Mov, dst, src: Src::Imm(0) };
                    Patch { insns: vec![one(zero)], original: None }
                }
                Insn::Alu { width, op: op @ (AluOp::SDiv | AluOp::SMod), dst, src: Src::Reg(src) }
                    if target == CtxTarget::Kernel =>
                {
                    let mut seq = sdiv_guard(width, op, dst, src);
                    seq[0].origin = Some(pc);
                    Patch { insns: seq, original: None }
                }
                // `optimize_bpf_loop`: the callback called in a loop of the program's own
                Insn::Call(CallTarget::Helper(id))
                    if target == CtxTarget::Kernel
                        && id == crate::protos::func_id::BpfFunc::Loop.id()
                        && let Some(cb) = facts.loop_inline =>
                {
                    // relative to the call's slot, which `relink` re-aims
                    let to_cb = prog.pc(cb) as i64 - prog.pc(i) as i64 - 1;
                    let to_cb = i32::try_from(to_cb)
                        .map_err(|_| FixupError::Bug(format!("insn {pc}: callback {to_cb} away")))?;
                    let mut seq = frames.inline_loop(frames.sub_of(i), to_cb, pc)?;
                    seq[0].origin = Some(pc);
                    Patch { insns: seq, original: Some(12) }
                }
                Insn::Call(CallTarget::Helper(id)) if target == CtxTarget::Kernel => {
                    match calls::fix_call(v, id, facts.map, layout, pc)? {
                        calls::Fixed::Call(call) => Patch {
                            insns: vec![XInsn { insn: *insn, origin: Some(pc), call: Some(call) }],
                            original: Some(0),
                        },
                        calls::Fixed::Inline(mut seq) => {
                            seq[0].origin = Some(pc);
                            Patch { insns: seq, original: None }
                        }
                    }
                }
                Insn::Call(CallTarget::Kfunc { btf_id, off }) => {
                    let name = v
                        .calls()
                        .iter()
                        .find(|c| c.kind == crate::CallKind::Kfunc && c.id == btf_id)
                        .map(|c| c.name.clone())
                        .unwrap_or_default();
                    // `fixup_kfunc_call`: the casts are the identity on the pointer
                    if target == CtxTarget::Kernel
                        && off == 0
                        && matches!(name.as_str(), "bpf_cast_to_kern_ctx" | "bpf_rdonly_cast")
                    {
                        let mov = Insn::Alu {
                            width: Width::W64,
                            op: AluOp::Mov,
                            dst: Reg::R0,
                            src: Src::Reg(Reg::R1),
                        };
                        Patch { insns: vec![one(mov)], original: None }
                    } else if target == CtxTarget::Kernel
                        && off == 0
                        && let Some(seq) = calls::fix_kfunc(&name, facts.kfunc, *insn, pc)?
                    {
                        let mut seq = seq;
                        seq[0].origin = Some(pc);
                        Patch { insns: seq, original: None }
                    } else if calls::kfunc_rewritten(&name) {
                        return Err(FixupError::Unsupported {
                            pc,
                            what: format!("the fixup of kfunc {name}"),
                        });
                    } else {
                        Patch { insns: vec![one(*insn)], original: Some(0) }
                    }
                }
                Insn::MayGoto { off } if target == CtxTarget::Kernel => {
                    let sub = frames.sub_of(i);
                    if !budgets.contains(&sub) {
                        budgets.push(sub);
                    }
                    let mut seq = frames.may_goto(sub, off, pc)?;
                    seq[0].origin = Some(pc);
                    // the jump when the budget is spent keeps the original target
                    Patch { insns: seq, original: Some(1) }
                }
                Insn::LdAbs { size, imm } if target == CtxTarget::Kernel => {
                    let mut seq = gen_ld_abs(size, None, imm, pc)?;
                    seq[0].origin = Some(pc);
                    Patch { insns: seq, original: None }
                }
                Insn::LdInd { size, src, imm } if target == CtxTarget::Kernel => {
                    let mut seq = gen_ld_abs(size, Some(src), imm, pc)?;
                    seq[0].origin = Some(pc);
                    Patch { insns: seq, original: None }
                }
                _ => Patch { insns: vec![one(*insn)], original: Some(0) },
            }
        };
        patches.push(patch);
    }
    if target == CtxTarget::Kernel {
        prepend_prologue(&mut patches, ops.gen_prologue(v.seen_direct_write(), &cx), v)?;
        // `do_misc_fixups` runs after `gen_prologue`: the budget's stores go first
        for sub in budgets {
            let start = frames.start(sub);
            let init = frames.init(sub, v.facts(start).origin)?;
            if let Some(p) = patches.get_mut(start) {
                // jumps to the subprogram's first instruction skip the stores
                // (`adjust_jmp_off`), calls do not
                jump_skip[start] = init.len();
                prepend(p, init);
            }
        }
    }
    let mut x = relink(prog, patches, &jump_skip, v.exception_cb())?;
    if target == CtxTarget::Kernel
        && let Some(cb) = frames::default_exception_cb(v)
    {
        x.insns.extend(cb);
    }
    Ok(x)
}

/// `do_misc_fixups` for `dst /= src` and `dst %= src` (unsigned, register source): a zero
/// divisor yields 0 for division and leaves `dst` (zero-extended for 32 bits) for modulo.
fn div_guard(width: Width, op: AluOp, dst: Reg, src: Reg) -> Vec<XInsn> {
    let orig = Insn::Alu { width, op, dst, src: Src::Reg(src) };
    let x = |insn: Insn| XInsn { insn, origin: None, call: None };
    let is64 = width == Width::W64;
    if op == AluOp::Div {
        vec![
            x(Insn::Jmp { width, cond: JmpCond::Ne, dst: src, src: Src::Imm(0), off: 2 }),
            x(Insn::Alu { width: Width::W32, op: AluOp::Xor, dst, src: Src::Reg(dst) }),
            x(Insn::Ja { off: 1 }),
            x(orig),
        ]
    } else if is64 {
        vec![x(Insn::Jmp { width, cond: JmpCond::Eq, dst: src, src: Src::Imm(0), off: 1 }), x(orig)]
    } else {
        vec![
            x(Insn::Jmp { width, cond: JmpCond::Eq, dst: src, src: Src::Imm(0), off: 2 }),
            x(orig),
            x(Insn::Ja { off: 1 }),
            x(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst, src: Src::Reg(dst) }),
        ]
    }
}

/// `do_misc_fixups` for signed `dst /= src` and `dst %= src`: through the hidden AX register
/// (r11), a divisor of 0 gives 0 (division) or leaves `dst` (modulo), and -1 negates
/// (division, where `MIN / -1` stays `MIN`) or gives 0 (modulo), so neither traps.
fn sdiv_guard(width: Width, op: AluOp, dst: Reg, src: Reg) -> Vec<XInsn> {
    let x = |insn: Insn| XInsn { insn, origin: None, call: None };
    let ax = Reg::R11;
    let jmp = |cond, imm, off| x(Insn::Jmp { width, cond, dst: ax, src: Src::Imm(imm), off });
    let mut seq = vec![
        x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: ax, src: Src::Reg(src) }),
        x(Insn::Alu { width, op: AluOp::Add, dst: ax, src: Src::Imm(1) }),
    ];
    let orig = x(Insn::Alu { width, op, dst, src: Src::Reg(src) });
    if op == AluOp::SDiv {
        seq.extend([
            jmp(JmpCond::Gt, 1, 4),
            jmp(JmpCond::Eq, 0, 1),
            x(Insn::Alu { width, op: AluOp::Mov, dst, src: Src::Imm(0) }),
            x(Insn::Neg { width, dst }),
            x(Insn::Ja { off: 1 }),
            orig,
        ]);
    } else {
        let is64 = width == Width::W64;
        seq.extend([
            jmp(JmpCond::Gt, 1, 3),
            jmp(JmpCond::Eq, 1, if is64 { 3 } else { 4 }),
            x(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst, src: Src::Imm(0) }),
            x(Insn::Ja { off: 1 }),
            orig,
        ]);
        if !is64 {
            seq.extend([
                x(Insn::Ja { off: 1 }),
                x(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst, src: Src::Reg(dst) }),
            ]);
        }
    }
    seq
}

/// `bpf_gen_ld_abs` (socket filters and tc, the types that may use `LD_ABS`/`LD_IND`): the
/// offset in r2, the context (which the verifier keeps in r6 for them) in r1, a call of the
/// kernel's load function for the size, and a return of 0 when it fails.
fn gen_ld_abs(size: kbpf_isa::Size, src: Option<Reg>, imm: i32, pc: usize) -> Result<Vec<XInsn>, FixupError> {
    use kbpf_isa::Size;
    let x = |insn: Insn| XInsn { insn, origin: None, call: None };
    let mov64 = |dst, src| x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src });
    let mut seq = match src {
        None => vec![mov64(Reg::R2, Src::Imm(imm))],
        Some(r) if imm == 0 => vec![mov64(Reg::R2, Src::Reg(r))],
        Some(r) => vec![
            mov64(Reg::R2, Src::Reg(r)),
            x(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R2, src: Src::Imm(imm) }),
        ],
    };
    seq.push(mov64(Reg::R1, Src::Reg(Reg::R6)));
    let load = match size {
        Size::B => "bpf_skb_load_helper_8_no_cache",
        Size::H => "bpf_skb_load_helper_16_no_cache",
        Size::W => "bpf_skb_load_helper_32_no_cache",
        Size::DW => return Err(FixupError::Bug(format!("insn {pc}: a verified 8-byte LD_ABS/LD_IND"))),
    };
    // a direct call of a kernel function, not a helper: id 0 stands in for its address
    seq.push(XInsn {
        insn: Insn::Call(CallTarget::Helper(0)),
        origin: None,
        call: Some(KernelCall::Symbol(load)),
    });
    seq.extend([
        x(Insn::Jmp { width: Width::W64, cond: JmpCond::Sge, dst: Reg::R0, src: Src::Imm(0), off: 2 }),
        x(Insn::Alu { width: Width::W32, op: AluOp::Xor, dst: Reg::R0, src: Src::Reg(Reg::R0) }),
        x(Insn::Exit),
    ]);
    Ok(seq)
}

/// `prog->tstamp_type_access`: tc's `is_valid_access` sets it for a read of
/// `__sk_buff.tstamp_type` anywhere in the program.
fn reads_tstamp_type(v: &Verified) -> bool {
    const TSTAMP_TYPE: i16 = 180;
    v.prog_type() == crate::ProgType::SchedCls
        && v.program()
            .insns()
            .iter()
            .enumerate()
            .any(|(i, insn)| v.facts(i).ctx_access && matches!(insn, Insn::Load { off: TSTAMP_TYPE, .. }))
}

/// `gen_prologue`: the type's instructions before the first one (which stays converted); the
/// line info of the first instruction moves to the prologue's start, as the kernel's patch
/// keeps it at the patched offset.
fn prepend_prologue(
    patches: &mut [Patch],
    prologue: Result<Vec<XInsn>, CtxError>,
    v: &Verified,
) -> Result<(), FixupError> {
    let pc = v.facts(0).origin;
    let pro = prologue.map_err(|e| match e {
        CtxError::NoLayout(field) => FixupError::NoLayout { pc, field },
        CtxError::Unsupported(what) => FixupError::Unsupported { pc, what: what.to_string() },
    })?;
    if let Some(p0) = patches.first_mut() {
        prepend(p0, pro);
    }
    Ok(())
}

/// Puts `pro` before patch `p`'s instructions; `p`'s line info moves to `pro`'s start, as the
/// kernel's patch keeps it at the patched offset.
fn prepend(p: &mut Patch, mut pro: Vec<XInsn>) {
    let Some(first) = pro.first_mut() else { return };
    first.origin = p.insns.first().and_then(|x| x.origin);
    if let Some(x) = p.insns.first_mut() {
        x.origin = None;
    }
    let n = pro.len();
    pro.append(&mut p.insns);
    p.insns = pro;
    p.original = p.original.map(|k| k + n);
}

/// Concatenates the patches and re-aims every original jump, call and callback reference at
/// the first instruction of its target's patch (`bpf_adj_branches`); a jump skips the first
/// `jump_skip[i]` (one-slot) instructions of patch `i`; instruction `exception_cb` (the
/// declared exception callback's start) is followed to its patch.
fn relink(
    prog: &Program,
    patches: Vec<Patch>,
    jump_skip: &[usize],
    exception_cb: Option<usize>,
) -> Result<Xlated, FixupError> {
    let slots = prog.len_slots();
    let mut new_pc = vec![0usize; slots + 1];
    let mut at = 0;
    for (i, p) in patches.iter().enumerate() {
        let pc = prog.pc(i);
        let len: usize = p.insns.iter().map(|x| x.insn.slots()).sum();
        for k in 0..prog.insns()[i].slots() {
            new_pc[pc + k] = at + k.min(len.saturating_sub(1));
        }
        at += len;
    }
    new_pc[slots] = at;
    let mut jump_pc = new_pc.clone();
    for (i, &skip) in jump_skip.iter().enumerate() {
        jump_pc[prog.pc(i)] += skip;
    }
    let mut out = Vec::with_capacity(at);
    let mut cb = None;
    for (i, p) in patches.into_iter().enumerate() {
        let pc = prog.pc(i);
        if Some(i) == exception_cb {
            cb = Some(out.len());
        }
        let mut here = new_pc[pc];
        for (k, mut x) in p.insns.into_iter().enumerate() {
            if Some(k) == p.original {
                x.insn = reaim(x.insn, pc, here, slots, &new_pc, &jump_pc)?;
            }
            here += x.insn.slots();
            out.push(x);
        }
    }
    Ok(Xlated { insns: out, exception_cb: cb })
}

fn reaim(
    insn: Insn,
    pc: usize,
    here: usize,
    slots: usize,
    new_pc: &[usize],
    jump_pc: &[usize],
) -> Result<Insn, FixupError> {
    let target = |old: i64, map: &[usize]| -> Result<i64, FixupError> {
        let to = pc as i64 + 1 + old;
        let to = usize::try_from(to)
            .ok()
            .filter(|&t| t <= slots)
            .ok_or_else(|| FixupError::Bug(format!("insn {pc}: target {to}")))?;
        Ok(map[to] as i64 - here as i64 - 1)
    };
    let rel = |old: i64| target(old, jump_pc);
    let call = |old: i64| target(old, new_pc);
    let narrow =
        |v: i64| i16::try_from(v).map_err(|_| FixupError::Bug(format!("insn {pc}: offset {v} out of range")));
    let wide =
        |v: i64| i32::try_from(v).map_err(|_| FixupError::Bug(format!("insn {pc}: offset {v} out of range")));
    Ok(match insn {
        Insn::Ja { off } => Insn::Ja { off: narrow(rel(off as i64)?)? },
        Insn::Gotol { imm } => Insn::Gotol { imm: wide(rel(imm as i64)?)? },
        Insn::MayGoto { off } => Insn::MayGoto { off: narrow(rel(off as i64)?)? },
        Insn::Jmp { width, cond, dst, src, off } => {
            Insn::Jmp { width, cond, dst, src, off: narrow(rel(off as i64)?)? }
        }
        Insn::Call(CallTarget::Local(imm)) => Insn::Call(CallTarget::Local(wide(call(imm as i64)?)?)),
        Insn::LdImm64 { dst, src: kbpf_isa::LdImm64Src::Func, imm, imm_hi } => {
            Insn::LdImm64 { dst, src: kbpf_isa::LdImm64Src::Func, imm: wide(call(imm as i64)?)?, imm_hi }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests;

/// The patch replacing the access at `pc` by its conversion `seq` (the first instruction keeps
/// the access's origin for line info and the xlated listing); `what` names the conversion in
/// the invariant error an empty sequence would be.
fn conversion_patch(pc: usize, seq: Result<Vec<Insn>, CtxError>, what: &str) -> Result<Patch, FixupError> {
    let seq = seq.map_err(|e| match e {
        CtxError::NoLayout(field) => FixupError::NoLayout { pc, field },
        CtxError::Unsupported(what) => FixupError::Unsupported { pc, what: what.to_string() },
    })?;
    let mut insns: Vec<XInsn> =
        seq.into_iter().map(|i| XInsn { insn: i, origin: None, call: None }).collect();
    match insns.first_mut() {
        Some(f) => f.origin = Some(pc),
        None => return Err(FixupError::Bug(format!("insn {pc}: empty {what} conversion"))),
    }
    Ok(Patch { insns, original: None })
}
