//! The witness of an accepted program ([`Verified`]): what engines may run and the facts a sound
//! run depends on. Only [`crate::verify`] builds one, after a successful walk, so holding a
//! `Verified` proves the verifier accepted exactly this program under exactly these facts.
//!
//! The program is the post-verification one: like a privileged kernel load before its JIT, a
//! conditional jump whose one side no path reached becomes an unconditional one (or a no-op),
//! every never-reached instruction is removed, and the no-ops go too (branch, call and callback
//! offsets adjusted). An unprivileged load keeps its length and gets `ja -1` in place of dead
//! instructions instead. The JIT therefore never sees code the verifier did not check.

use kbpf_isa::{AttachType, CallTarget, Decoded, Insn, LdImm64Src, Program, SlotTable};

use crate::env::insn_aux::CallMap;
use crate::{InsnAux, MapDef, ProgType, VerifyOptions};

/// Helper or kfunc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `call N` (helper id).
    Helper,
    /// `call` with `BPF_PSEUDO_KFUNC_CALL` (BTF id).
    Kfunc,
}

/// A helper or kfunc the verified program calls.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CalledFn {
    /// Helper or kfunc.
    pub kind: CallKind,
    /// Helper id or kfunc BTF id.
    pub id: i32,
    /// The name the verifier checked the call against.
    pub name: String,
    /// Arguments of the prototype the verifier checked.
    pub arity: u8,
}

/// A program the verifier accepted, in its post-verification form. Fields are private and
/// there is no public constructor: only [`crate::verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    program: Program,
    facts: Vec<InsnFacts>,
    stack_depth: Vec<u32>,
    prog_type: ProgType,
    attach: Option<AttachType>,
    calls: Vec<CalledFn>,
    maps: Vec<MapDef>,
    jit: bool,
    direct_write: bool,
    sleepable: bool,
    /// The submitted slot where the declared exception callback starts.
    exception_cb: Option<usize>,
    /// Its slot in [`Verified::program`].
    exception_cb_at: Option<usize>,
}

impl Verified {
    /// The post-verification program (dead code removed); map references are still the
    /// pseudo `ld_imm64` forms, resolved against [`Verified::maps`] at link time.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Whether instruction index `idx` of [`Verified::program`] is a context access (to be
    /// rewritten for the run-time context layout, `convert_ctx_accesses`).
    pub fn is_ctx_access(&self, idx: usize) -> bool {
        self.facts.get(idx).is_some_and(|f| f.ctx_access)
    }

    /// What the verifier learned about instruction index `idx` of [`Verified::program`], and
    /// the slot of the submitted program it came from.
    pub fn facts(&self, idx: usize) -> InsnFacts {
        self.facts.get(idx).copied().unwrap_or_default()
    }

    /// The stack depth the verifier computed for each subprogram, in bytes (as its log's
    /// `stack depth` line prints them).
    pub fn stack_depth(&self) -> &[u32] {
        &self.stack_depth
    }

    /// The program type the program was verified for (it decides the context).
    pub fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// `in_sleepable`: the program may sleep (its type always does, or it was loaded with
    /// `BPF_F_SLEEPABLE`).
    pub fn sleepable(&self) -> bool {
        self.sleepable
    }

    /// `env->seen_direct_write`: some reached store writes the packet directly (tc then
    /// prepends its unclone prologue, `gen_prologue`).
    pub fn seen_direct_write(&self) -> bool {
        self.direct_write
    }

    /// The expected attach type the program was verified with.
    pub fn attach(&self) -> Option<AttachType> {
        self.attach
    }

    /// Bytes of context the verifier let the program access from r1: `ctx_size` for
    /// `ProgType::Mem`, 64 KiB for `syscall`; `None` for the packet types, whose context
    /// holds pointers and must be built by the test run, never supplied by a caller.
    pub fn ctx_bytes(&self) -> Option<usize> {
        self.prog_type.ops().ctx_bytes()
    }

    /// Every helper and kfunc the program calls, each once, in order of first call.
    pub fn calls(&self) -> &[CalledFn] {
        &self.calls
    }

    /// The maps the program was verified against (by fd).
    pub fn maps(&self) -> &[MapDef] {
        &self.maps
    }

    /// Verified for a JIT (`VerifyOptions::jit`); `false` = for the interpreter.
    pub fn for_jit(&self) -> bool {
        self.jit
    }

    /// The program declares its own exception callback (`exception_callback:` in BTF
    /// decl tags); without one the kernel appends a default for a program that throws.
    pub fn has_exception_cb(&self) -> bool {
        self.exception_cb.is_some()
    }

    /// The instruction index of [`Verified::program`] where the declared exception callback
    /// starts: a subprogram of its own that no call or callback reference reaches.
    pub fn exception_cb(&self) -> Option<usize> {
        let pc = self.exception_cb?;
        self.facts.iter().position(|f| f.origin >= pc)
    }

    /// The slot of [`Verified::program`] where the declared exception callback starts.
    pub fn exception_cb_at(&self) -> Option<usize> {
        self.exception_cb_at
    }
}

/// The verifier's facts about one instruction of a [`Verified`] program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsnFacts {
    /// A context load or store (`convert_ctx_accesses` rewrites it).
    pub ctx_access: bool,
    /// The map a helper call was verified with.
    pub map: CallMap,
    /// A load or store through a socket pointer (`convert_ctx_accesses` rewrites it).
    pub sock: Option<crate::env::insn_aux::SockPtr>,
    /// What `fixup_kfunc_call` adds to an allocation or graph kfunc call.
    pub kfunc: Option<crate::env::insn_aux::KfuncFix>,
    /// A `bpf_loop` call the kernel inlines (`optimize_bpf_loop`): the instruction index of
    /// [`Verified::program`] where its callback starts.
    pub loop_inline: Option<usize>,
    /// Its slot in the program as submitted (source lines and line info refer to it).
    pub origin: usize,
}

/// A syscall program may read its context anywhere below 64 KiB (`off < U16_MAX`, aligned).
pub const SYSCALL_CTX_BYTES: usize = 1 << 16;

/// Builds the witness of an accepted walk; `Err` is a verifier bug (an accepted program that
/// does not decode).
pub(crate) fn build(
    table: &SlotTable<'_>,
    opts: &VerifyOptions,
    aux: &[InsnAux],
    stack_depth: &[u32],
) -> Result<Verified, String> {
    let prog = decode_reached(table, aux)?;
    let direct_write = prog.insns().iter().enumerate().any(|(i, insn)| {
        matches!(insn, Insn::Store { .. }) && aux.get(prog.pc(i)).is_some_and(|a| a.seen && a.packet_access)
    });
    let seen = |i: usize| aux.get(prog.pc(i)).is_some_and(|a| a.seen);
    // what each instruction carries through the removals: its facts and its original slot
    let facts: Vec<InsnFacts> = (0..prog.len())
        .map(|i| {
            let a = aux.get(prog.pc(i)).copied().unwrap_or_default();
            InsnFacts {
                ctx_access: a.ctx_access,
                map: a.map,
                sock: a.sock,
                kfunc: a.kfunc,
                // the callback's slot for now: an index once the program is final
                loop_inline: a.loop_inline,
                origin: prog.pc(i),
            }
        })
        .collect();
    let (program, facts) = if opts.privileged {
        let mut insns = prog.insns().to_vec();
        hard_wire_dead_branches(&prog, &mut insns, &seen);
        let keep: Vec<bool> = (0..insns.len()).map(&seen).collect();
        let (insns, facts) = remove(&prog, &insns, &keep, &facts)?;
        // the removal of no-ops is a second pass, as in the kernel
        let p = Program::new(insns).map_err(|e| format!("dead-code removal broke the program: {e}"))?;
        let keep: Vec<bool> = p.insns().iter().map(|i| !is_nop(i)).collect();
        let (insns, facts) = remove(&p, p.insns(), &keep, &facts)?;
        (Program::new(insns).map_err(|e| format!("no-op removal broke the program: {e}"))?, facts)
    } else {
        // `sanitize_dead_code`: a trap in every dead slot, lengths unchanged
        let mut insns = Vec::with_capacity(prog.len());
        let mut out = Vec::with_capacity(prog.len());
        for (i, insn) in prog.insns().iter().enumerate() {
            if seen(i) {
                insns.push(*insn);
                out.push(facts[i]);
            } else {
                for k in 0..insn.slots() {
                    insns.push(Insn::Ja { off: -1 });
                    out.push(InsnFacts { origin: prog.pc(i) + k, ..Default::default() });
                }
            }
        }
        (Program::new(insns).map_err(|e| format!("dead-code sanitizing broke the program: {e}"))?, out)
    };
    // a callback's slot becomes the index of its first kept instruction
    let mut facts = facts;
    let index_of = |slot: usize, facts: &[InsnFacts]| facts.iter().position(|f| f.origin >= slot);
    for i in 0..facts.len() {
        if let Some(slot) = facts[i].loop_inline {
            facts[i].loop_inline = index_of(slot, &facts);
        }
    }
    // the declared exception callback's first instruction that survived the removals (the
    // callback was walked, so it has one)
    let exception_cb_at = opts
        .funcs
        .iter()
        .find(|f| f.exception_cb)
        .and_then(|f| facts.iter().position(|x| x.origin >= f.pc).map(|i| program.pc(i)));
    let mut calls: Vec<CalledFn> = Vec::new();
    for insn in program.insns() {
        let called = match insn {
            Insn::Call(CallTarget::Helper(id)) => CalledFn {
                kind: CallKind::Helper,
                id: *id,
                name: match opts.host_helpers.iter().find(|h| h.id == *id) {
                    Some(h) => h.name.clone(),
                    None => crate::protos::helper_names::helper_name(*id)
                        .unwrap_or_else(|| format!("unknown#{id}")),
                },
                arity: opts.helper_arg_count(*id).unwrap_or(0),
            },
            Insn::Call(CallTarget::Kfunc { btf_id, .. }) => {
                let decl = opts.kfuncs.get(*btf_id);
                CalledFn {
                    kind: CallKind::Kfunc,
                    id: *btf_id,
                    name: decl.map_or_else(|| format!("kfunc#{btf_id}"), |d| d.name.clone()),
                    arity: decl.map_or(0, |d| d.args.len() as u8),
                }
            }
            _ => continue,
        };
        if !calls.iter().any(|c| c.kind == called.kind && c.id == called.id) {
            calls.push(called);
        }
    }
    Ok(Verified {
        program,
        facts,
        stack_depth: stack_depth.to_vec(),
        prog_type: opts.prog_type,
        attach: opts.expected_attach_type,
        calls,
        maps: opts.maps.clone(),
        jit: opts.jit,
        direct_write,
        sleepable: opts.prog_type.ops().sleepable() || opts.sleepable,
        exception_cb: opts.funcs.iter().find(|f| f.exception_cb).map(|f| f.pc),
        exception_cb_at,
    })
}

/// An accepted program without a witness is a verifier bug, reported as a rejection.
pub(crate) fn bug(out: &mut crate::VerifyOutcome, msg: String) {
    out.accepted = false;
    out.error = Some(crate::VerifyError::bug(crate::Bug::Witness(msg)));
}

/// The program from the walk's `SlotTable` (decoded once, as the kernel reads each slot: an
/// exit's ignored offset is gone); a slot no path reached may hold anything the kernel's checks let
/// through (`r12 = 0` in dead code is accepted), so an undecodable unreached slot becomes a
/// one-slot placeholder that the dead-code pass drops.
fn decode_reached(table: &SlotTable<'_>, aux: &[InsnAux]) -> Result<Program, String> {
    let mut insns = Vec::with_capacity(table.len());
    for i in 0..table.len() {
        let insn = match table.get(i) {
            Some(Decoded::Insn(insn)) => *insn,
            Some(Decoded::Tail) | None => continue,
            Some(Decoded::Malformed(_)) if !aux.get(i).is_some_and(|a| a.seen) => Insn::Ja { off: -1 },
            Some(Decoded::Malformed(e)) => return Err(format!("accepted insn {i} does not decode: {e:?}")),
        };
        insns.push(insn);
    }
    Program::new(insns).map_err(|e| format!("accepted program does not decode: {e}"))
}

/// `ja +0` and `may_goto +0`.
fn is_nop(insn: &Insn) -> bool {
    matches!(insn, Insn::Ja { off: 0 } | Insn::MayGoto { off: 0 })
}

/// `opt_hard_wire_dead_code_branches`: a conditional jump (may_goto included) whose fall-through
/// no path reached always jumps; one whose target no path reached becomes `ja +0`.
fn hard_wire_dead_branches(prog: &Program, insns: &mut [Insn], seen: &dyn Fn(usize) -> bool) {
    let idx_at = |pc: usize| prog.index_at(pc);
    for (i, insn) in insns.iter_mut().enumerate() {
        let off = match *insn {
            Insn::Jmp { off, .. } | Insn::MayGoto { off } => off,
            _ => continue,
        };
        let pc = prog.pc(i);
        let next_seen = idx_at(pc + 1).is_some_and(seen);
        let target = (pc as i64 + 1 + off as i64) as usize;
        let target_seen = idx_at(target).is_some_and(seen);
        if !next_seen {
            *insn = Insn::Ja { off };
        } else if !target_seen {
            *insn = Insn::Ja { off: 0 };
        }
    }
}

/// Drops every instruction `keep` does not hold and re-aims jumps, calls and callback
/// references (`bpf_adj_branches`): a reference to a dropped slot lands on the next kept one.
fn remove<T: Copy>(
    prog: &Program,
    insns: &[Insn],
    keep: &[bool],
    carry: &[T],
) -> Result<(Vec<Insn>, Vec<T>), String> {
    // new pc of every old pc (a dropped slot maps to the next kept slot)
    let slots = prog.len_slots();
    let mut new_pc = vec![0usize; slots + 1];
    let mut at = 0;
    for (i, insn) in insns.iter().enumerate() {
        let pc = prog.pc(i);
        for k in 0..insn.slots() {
            new_pc[pc + k] = at + if keep[i] { k } else { 0 };
        }
        if keep[i] {
            at += insn.slots();
        }
    }
    new_pc[slots] = at;
    let mut out = Vec::with_capacity(at);
    let mut out_carry = Vec::with_capacity(at);
    for (i, insn) in insns.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        let pc = prog.pc(i);
        let rel = |old: i64| -> Result<i64, String> {
            let to = pc as i64 + 1 + old;
            let to =
                usize::try_from(to).ok().filter(|&t| t <= slots).ok_or(format!("insn {pc}: target {to}"))?;
            Ok(new_pc[to] as i64 - new_pc[pc] as i64 - 1)
        };
        let narrow = |v: i64| i16::try_from(v).map_err(|_| format!("insn {pc}: offset {v} out of range"));
        let wide = |v: i64| i32::try_from(v).map_err(|_| format!("insn {pc}: offset {v} out of range"));
        let fixed = match *insn {
            Insn::Ja { off } => Insn::Ja { off: narrow(rel(off as i64)?)? },
            Insn::Gotol { imm } => Insn::Gotol { imm: wide(rel(imm as i64)?)? },
            Insn::MayGoto { off } => Insn::MayGoto { off: narrow(rel(off as i64)?)? },
            Insn::Jmp { width, cond, dst, src, off } => {
                Insn::Jmp { width, cond, dst, src, off: narrow(rel(off as i64)?)? }
            }
            Insn::Call(CallTarget::Local(imm)) => Insn::Call(CallTarget::Local(wide(rel(imm as i64)?)?)),
            Insn::LdImm64 { dst, src: LdImm64Src::Func, imm, imm_hi } => {
                Insn::LdImm64 { dst, src: LdImm64Src::Func, imm: wide(rel(imm as i64)?)?, imm_hi }
            }
            other => other,
        };
        out.push(fixed);
        out_carry.push(carry[i]);
    }
    Ok((out, out_carry))
}

#[cfg(test)]
mod tests {
    use crate::{VerifyOptions, verify};
    use kbpf_isa::{Insn, asm::assemble_program};

    fn witness(src: &str) -> super::Verified {
        let p = assemble_program(src).expect("assembles");
        let out = verify(&p.to_slots(), &VerifyOptions::default());
        assert!(out.accepted, "{:?}", out.error);
        out.witness.expect("accepted programs carry a witness")
    }

    #[test]
    fn dead_code_is_removed_like_the_kernel_before_its_jit() {
        let w = witness("r0 = 0\nif r0 == 0 goto +1\n*(u32 *)(r10 -3) = r0\nexit\n");
        // the jump always goes, so it is hard-wired to `ja +1`, the store removed, and the
        // then `ja +0` dropped as a no-op
        assert_eq!(w.program().len(), 2, "{:?}", w.program().insns());
        assert_eq!(w.program().insns()[1], Insn::Exit);
    }

    #[test]
    fn branches_and_calls_are_re_aimed() {
        let w = witness(
            "r0 = 0\nif r0 != 0 goto +2\ncall f\nexit\nr0 = 1\nexit\nf:\nr0 = 2\nif r0 == 2 goto +1\nr0 = 3\nexit\n",
        );
        let text: Vec<String> = w.program().insns().iter().map(|i| format!("{i:?}")).collect();
        // main: r0 = 0; call f; exit — f: r0 = 2; exit
        assert_eq!(w.program().len(), 5, "{text:#?}");
        assert_eq!(w.program().call_target(1), Some(3), "{text:#?}");
    }

    #[test]
    fn calls_name_their_helpers() {
        let w = witness("call 7\nexit\n");
        assert_eq!(w.calls().len(), 1);
        assert_eq!(w.calls()[0].name, "bpf_get_prandom_u32");
        assert_eq!(w.calls()[0].arity, 0);
    }

    #[test]
    fn an_exit_offset_is_ignored_as_the_kernel_does() {
        use kbpf_isa::RawInsn;
        // `r0 = 0; exit` with junk in the exit's offset: Linux 6.18 loads it
        let slots = [RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 5, 0)];
        let out = verify(&slots, &VerifyOptions { log_level: 2, ..VerifyOptions::default() });
        assert!(out.accepted, "{:?}", out.error);
        assert!(out.log.contains("1: (95) exit\n"), "{}", out.log);
        let w = out.witness.expect("accepted programs carry a witness");
        assert_eq!((w.program().len(), w.program().insns()[1]), (2, Insn::Exit));
    }
}
