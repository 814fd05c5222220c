//! What the walk proved at each instruction, for soundness checking: per instruction, per
//! register of the current frame, the union of the states the walk reached it with (type, fixed
//! offset, tnum, 64- and 32-bit ranges). A concrete run that, before instruction `i`, holds a
//! value outside that union in a register the union says something about contradicts the
//! verifier's claim about `i` (the soundness harness in `crates/soundness` checks exactly that).
//!
//! Pruning joins states the kernel deems equivalent without looking at imprecise scalars, so a
//! pruned path may carry values the recorded union never saw: the harness asks for a walk
//! without pruning ([`Recording::no_prune`]); states come from every explored path then
//! (checkpoints are still made, so the work per instruction stays as in a normal walk, but
//! paths multiply: [`Recording::max_insns`] caps it).
//! Speculative paths are not recorded (they model mispredicted execution, not real runs).

use kbpf_isa::RawInsn;

use crate::domain::state::{RegState, RegType, VerifierState};
use crate::tnum::Tnum;
use crate::width::Bounds;
use crate::{VerifyOptions, VerifyOutcome};

/// How to record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// Never prune (no `is_state_visited`): every path is walked to its end, so the union
    /// covers every run; loops that only converge through pruning hit the complexity limit.
    pub no_prune: bool,
    /// Give up (refuse, as for the complexity limit) after this many processed instructions:
    /// a walk without pruning can be exponential in the branches.
    pub max_insns: Option<u64>,
}

/// The union of what the walk knew about one register at one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegProof {
    /// Base type (the same in every state, or the register is [`RegFact::Mixed`]).
    pub ty: RegType,
    /// Which frame's stack a stack pointer points into.
    pub frameno: u32,
    /// Fixed offset of a pointer (the same in every state, or `Mixed`).
    pub off: i32,
    /// Known bits (scalars: the value; pointers: the variable offset).
    pub var_off: Tnum,
    /// 64-bit ranges.
    pub b64: Bounds<u64>,
    /// 32-bit ranges.
    pub b32: Bounds<u32>,
}

/// One register at one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegFact {
    /// No state reached the instruction with this register readable.
    Uninit,
    /// Every state agrees on the type (and a pointer's fixed offset): the union.
    Known(RegProof),
    /// States disagree on the type or fixed offset, or some have it unreadable: nothing to
    /// check.
    Mixed,
}

/// The facts at one instruction: registers r0..r10 of the current frame and its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsnProof {
    /// Per register.
    pub regs: [RegFact; 11],
    /// Index of the current frame (the same in every state, or `None`).
    pub frame: Option<u32>,
    /// States recorded here.
    pub states: u64,
}

/// Per instruction (slot index), `None` where no state arrived.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proven {
    /// By slot.
    pub insns: Vec<Option<InsnProof>>,
}

fn union64(a: Bounds<u64>, b: Bounds<u64>) -> Bounds<u64> {
    Bounds {
        smin: a.smin.min(b.smin),
        smax: a.smax.max(b.smax),
        umin: a.umin.min(b.umin),
        umax: a.umax.max(b.umax),
    }
}

fn union32(a: Bounds<u32>, b: Bounds<u32>) -> Bounds<u32> {
    Bounds {
        smin: a.smin.min(b.smin),
        smax: a.smax.max(b.smax),
        umin: a.umin.min(b.umin),
        umax: a.umax.max(b.umax),
    }
}

fn fact(r: &RegState) -> RegFact {
    if r.ty == RegType::NotInit {
        return RegFact::Uninit;
    }
    RegFact::Known(RegProof {
        ty: r.ty,
        frameno: r.frameno,
        off: r.off,
        var_off: r.var_off,
        b64: r.b64,
        b32: r.b32,
    })
}

fn join(a: RegFact, b: RegFact) -> RegFact {
    match (a, b) {
        (RegFact::Uninit, RegFact::Uninit) => RegFact::Uninit,
        // unreadable on one path: the register holds anything there
        (RegFact::Uninit, _) | (_, RegFact::Uninit) => RegFact::Mixed,
        (RegFact::Known(p), RegFact::Known(q)) => {
            let pointer_differs = p.ty != RegType::Scalar && (p.off != q.off || p.frameno != q.frameno);
            if p.ty != q.ty || pointer_differs {
                return RegFact::Mixed;
            }
            RegFact::Known(RegProof {
                var_off: p.var_off.union(q.var_off),
                b64: union64(p.b64, q.b64),
                b32: union32(p.b32, q.b32),
                ..p
            })
        }
        _ => RegFact::Mixed,
    }
}

/// The recorder the walk feeds (`Env::proven`).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) mode: Recording,
    pub(crate) proven: Proven,
}

impl Recorder {
    /// The walk is about to check instruction `idx` in state `st`.
    pub(crate) fn observe(&mut self, idx: usize, st: &VerifierState) {
        if st.speculative {
            return;
        }
        if self.proven.insns.len() <= idx {
            self.proven.insns.resize(idx + 1, None);
        }
        let f = st.cur();
        let frame = st.curframe() as u32;
        let mut regs = [RegFact::Uninit; 11];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = f.regs.get(i).map_or(RegFact::Uninit, fact);
        }
        let slot = &mut self.proven.insns[idx];
        match slot {
            None => *slot = Some(InsnProof { regs, frame: Some(frame), states: 1 }),
            Some(p) => {
                for (old, new) in p.regs.iter_mut().zip(regs) {
                    *old = join(*old, new);
                }
                if p.frame != Some(frame) {
                    p.frame = None;
                }
                p.states += 1;
            }
        }
    }
}

/// [`crate::verify`], also returning what the walk proved at each instruction.
pub fn verify_recording(slots: &[RawInsn], opts: &VerifyOptions, mode: Recording) -> (VerifyOutcome, Proven) {
    let rec = Recorder { mode, proven: Proven::default() };
    let (out, rec) = crate::pipeline::run_with(slots, opts, Some(Box::new(rec)));
    (out, rec.map(|r| r.proven).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_scalars_and_refuses_mixed_types() {
        let a = fact(&RegState::known(3));
        let b = fact(&RegState::known(10));
        let RegFact::Known(j) = join(a, b) else { panic!("scalars join") };
        assert_eq!((j.b64.umin, j.b64.umax, j.b32.smin, j.b32.smax), (3, 10, 3, 10));
        assert!(j.var_off.has(3) && j.var_off.has(10));
        assert_eq!(join(a, fact(&RegState::pointer(RegType::Ctx))), RegFact::Mixed);
        assert_eq!(join(RegFact::Uninit, a), RegFact::Mixed);
    }
}
