//! bpf_fastcall (`mark_fastcall_patterns`, `check_fastcall_stack_contract`,
//! `remove_fastcall_spills_fills`): LLVM wraps a call to a `bpf_fastcall` function in spills
//! and fills of the caller-saved registers the call does not touch. Where the kernel inlines
//! the callee, those pairs are dead: it removes them after the walk and shrinks the
//! subprogram's stack by the region they used, which is what the combined-stack check and the
//! `stack depth` line then see.
//!
//! Only the verifier's accounting changes here. kbpf's engines run the program as written
//! (their helpers follow the ordinary calling convention), so the witness keeps the depth the
//! walk saw.

use kbpf_isa::{BpfFunc, CallTarget, Insn, Reg, Size, Src};

use crate::ProgType;
use crate::env::Program;
use crate::protos::func_info::KfuncRet;
use crate::protos::helpers::{Arg, Ret};

/// The kfuncs 6.18 flags `KF_FASTCALL`.
const FASTCALL_KFUNCS: &[&str] = &["bpf_cast_to_kern_ctx", "bpf_rdonly_cast"];

/// r0..r5.
const CALLER_SAVED: u32 = 0x3f;

/// What the marking found, per instruction and per subprogram.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fastcall {
    /// Part of a spill/fill pattern (`aux->fastcall_pattern`), per slot.
    pattern: Vec<bool>,
    /// Pairs around a call that go away (`aux->fastcall_spills_num`), per slot.
    spills: Vec<u8>,
    /// Start of the pattern region (`fastcall_stack_off`), per subprogram: offsets in
    /// `[stack_depth .. off)` hold fastcall spills.
    stack_off: Vec<i16>,
    /// A pattern around a call the kernel does not inline keeps the region
    /// (`keep_fastcall_stack`), per subprogram.
    keep: Vec<bool>,
}

/// `call_summary`: what a call clobbers under the fastcall contract, and whether the callee
/// honours it on this target.
struct Summary {
    params: u32,
    void: bool,
    fastcall: bool,
}

fn summary(prog: &Program<'_>, target: CallTarget) -> Option<Summary> {
    match target {
        CallTarget::Helper(id) => {
            let func = BpfFunc::from_id(id)?;
            let proto = prog.helper_proto(func)?;
            let params = proto.args.iter().take_while(|a| **a != Arg::DontCare).count() as u32;
            // only the tracing prototype of bpf_get_smp_processor_id allows it (the base set's
            // raw_smp_processor_id one does not), and only where the verifier inlines it (a
            // JIT-ed x86_64 program)
            let fastcall =
                func == BpfFunc::GetSmpProcessorId && tracing_protos(prog.opts.prog_type) && prog.opts.jit;
            Some(Summary { params, void: proto.ret == Ret::Void, fastcall })
        }
        CallTarget::Kfunc { btf_id, .. } => {
            let decl = prog.opts.kfuncs.get(btf_id)?;
            Some(Summary {
                params: decl.args.len() as u32,
                void: decl.ret == KfuncRet::Void,
                fastcall: FASTCALL_KFUNCS.contains(&decl.name.as_str()),
            })
        }
        CallTarget::Local(_) => None,
    }
}

/// The program types whose helpers come from `bpf_tracing_func_proto`.
fn tracing_protos(t: ProgType) -> bool {
    matches!(
        t,
        ProgType::Kprobe(_)
            | ProgType::Tracepoint
            | ProgType::RawTracepoint
            | ProgType::RawTracepointWritable
            | ProgType::PerfEvent { .. }
            | ProgType::Tracing
            | ProgType::Lsm
    )
}

/// `*(u64 *)(r10 + off) = rX`: the register and offset.
fn spill(insn: Option<Insn>) -> Option<(Reg, i16)> {
    match insn? {
        Insn::Store { size: Size::DW, dst: Reg::R10, off, src: Src::Reg(r) } => Some((r, off)),
        _ => None,
    }
}

/// `rX = *(u64 *)(r10 + off)`.
fn fill(insn: Option<Insn>) -> Option<(Reg, i16)> {
    match insn? {
        Insn::Load { size: Size::DW, signed: false, dst, src: Reg::R10, off } => Some((dst, off)),
        _ => None,
    }
}

/// `mark_fastcall_patterns`, before the walk.
pub(crate) fn mark_fastcall_patterns(prog: &Program<'_>) -> Fastcall {
    let n = prog.table.len();
    let subs = &prog.info.subprogs.list;
    let mut fc = Fastcall {
        pattern: vec![false; n],
        spills: vec![0; n],
        stack_off: vec![0; subs.len().max(1)],
        keep: vec![false; subs.len().max(1)],
    };
    let insn = |i: usize| prog.table.insn(i).ok();
    for (s, sp) in subs.iter().enumerate() {
        let range = sp.slots();
        // the pairs sit at the lowest offsets any 8-byte spill of the subprogram uses
        let lowest =
            range.clone().filter_map(|i| spill(insn(i)).map(|(_, off)| off)).min().unwrap_or(0).min(0);
        for i in range.clone() {
            let Some(Insn::Call(target)) = insn(i) else { continue };
            let Some(cs) = summary(prog, target) else { continue };
            // r0 when the callee returns a value, r1.. for its parameters
            let clobbered = ((1u32 << (cs.params + 1)) - 1) & !(cs.void as u32);
            let mut expected = !clobbered & CALLER_SAVED;
            let mut off = lowest;
            let mut pairs = 0usize;
            while pairs < 6 {
                let k = pairs + 1;
                if i < k || i + k >= n {
                    break;
                }
                let (Some((sr, so)), Some((fr, fo))) = (spill(insn(i - k)), fill(insn(i + k))) else { break };
                let bit = 1u32 << (sr as u32);
                if sr != fr || expected & bit == 0 || so != off || fo != off {
                    break;
                }
                expected &= !bit;
                fc.pattern[i - k] = true;
                fc.pattern[i + k] = true;
                pairs += 1;
                off += 8;
            }
            if pairs == 0 {
                continue;
            }
            // a pattern around a call this kernel does not inline still marks its pairs (so
            // they do not break the contract) but keeps the region
            if cs.fastcall {
                fc.spills[i] = pairs as u8;
            } else {
                fc.keep[s] = true;
            }
            fc.stack_off[s] = fc.stack_off[s].min(off);
        }
    }
    fc
}

impl Fastcall {
    /// `check_fastcall_stack_contract`: a stack access at `off` by `insn` of subprogram `sub`
    /// that is not part of a pattern and reaches into the pattern region turns the rewrite off
    /// for the whole subprogram.
    pub(crate) fn check_stack_contract(&mut self, prog: &Program<'_>, sub: usize, insn: usize, off: i64) {
        let Some(&start) = self.stack_off.get(sub) else { return };
        if i64::from(start) <= off || self.pattern.get(insn).copied().unwrap_or(false) {
            return;
        }
        self.stack_off[sub] = i16::MIN;
        if let Some(sp) = prog.info.subprogs.list.get(sub) {
            for i in sp.slots() {
                self.spills[i] = 0;
                self.pattern[i] = false;
            }
        }
    }

    /// `remove_fastcall_spills_fills`: the stack depth of each subprogram once its removable
    /// pairs are gone.
    pub(crate) fn depths_after_removal(&self, prog: &Program<'_>, depths: &[u32]) -> Vec<u32> {
        let mut out = depths.to_vec();
        for (s, sp) in prog.info.subprogs.list.iter().enumerate() {
            let removed = sp.slots().any(|i| self.spills.get(i).is_some_and(|&n| n > 0));
            if removed && !self.keep[s] && s < out.len() {
                out[s] = (-i32::from(self.stack_off[s])) as u32;
            }
        }
        out
    }
}
