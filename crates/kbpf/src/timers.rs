//! Timer callbacks at run time: what `ld_imm64 rX = func(label)` (`BPF_PSEUDO_FUNC`) loads,
//! and how a module's pending timers fire after its main program returned.
//!
//! A callback reference resolves to a token (the same in every engine): [`CALLBACK_TAG`], the
//! program id and the callback's first slot. `bpf_timer_set_callback` stores it like any
//! value. To fire a timer the facade runs a *driver* ([`callback_driver`]): the callback relinked
//! as the main function of a program of its own, behind five instructions that load R1 = map,
//! R3 = value and R2 = a pointer to the key from the input buffer. The callback runs in frame 0
//! as in the kernel; what it calls (stack arguments included) runs as ordinary bpf-to-bpf calls,
//! on the same engine.
//!
//! Time is virtual (see `kbpf_kfunc::maps` timers): timers fire in expiry order, ties in start
//! order, and a callback may re-arm its timer; at most [`MAX_TIMER_FIRINGS`] callbacks run per
//! [`crate::run_module`] call, the rest stay armed for the next run.

use kbpf_isa::{AluOp, CallTarget, Insn, LdImm64Src, Program, Reg, Size, Src, Width};
use kbpf_kfunc::maps::DueTimer;

use crate::engine::RunError;

/// High byte of a callback token.
pub(crate) const CALLBACK_TAG: u64 = 0xcb << 56;
/// Most timer callbacks one run fires.
pub(crate) const MAX_TIMER_FIRINGS: usize = 1024;

/// The token `ld_imm64 rX = func(...)` of program `prog_id` loads for the function at `pc`.
pub(crate) fn callback_token(prog_id: usize, pc: usize) -> u64 {
    CALLBACK_TAG | ((prog_id as u64 & 0xff_ffff) << 32) | (pc as u64 & 0xffff_ffff)
}

/// `(prog_id, pc)` of a callback token.
pub(crate) fn decode_callback(token: u64) -> Option<(usize, usize)> {
    (token & (0xff << 56) == CALLBACK_TAG)
        .then_some((((token >> 32) & 0xff_ffff) as usize, (token & 0xffff_ffff) as usize))
}

/// Slots of the driver's prefix.
const PREFIX_LEN: usize = 5;

/// The program that runs the function at slot `cb_pc` of `prog` as its main function: a prefix
/// loads R1 = `*(u64 *)(r1 + 0)`, R3 = `*(u64 *)(r1 + 8)`, R2 = `r1 + 16` from the input
/// ([`driver_input`]), then come the callback's instructions and every function it calls,
/// relinked (`call` offsets fixed up, each function moved whole, so jumps stay valid). The
/// callback thus runs in frame 0 like the kernel's, and the prefix's use of r6 is invisible:
/// the verifier made r6..r9 unreadable at a callback's entry.
pub(crate) fn callback_driver(prog: &Program, cb_pc: usize) -> Result<Program, RunError> {
    let bad = || RunError::Callback(cb_pc as u64);
    let insns = prog.insns();
    let slots = prog.len_slots();
    prog.index_at(cb_pc).ok_or_else(bad)?;
    // function starts: the main program, call targets and the callback
    let mut starts = std::collections::BTreeSet::from([0, cb_pc]);
    for (i, insn) in insns.iter().enumerate() {
        if let Insn::Call(CallTarget::Local(rel)) = insn {
            let t = prog.pc(i) as i64 + 1 + *rel as i64;
            starts.insert(usize::try_from(t).map_err(|_| bad())?);
        }
    }
    let end_of = |s: usize| starts.range(s + 1..).next().copied().unwrap_or(slots);
    let range =
        |s: usize| (prog.index_at(s).unwrap_or(insns.len()), prog.index_at(end_of(s)).unwrap_or(insns.len()));
    // the callback and what it calls, in discovery order, with their new start slots
    let mut order = vec![cb_pc];
    let mut k = 0;
    while k < order.len() {
        let (a, b) = range(order[k]);
        for (i, insn) in insns.iter().enumerate().take(b).skip(a) {
            if let Insn::Call(CallTarget::Local(rel)) = insn {
                let t = (prog.pc(i) as i64 + 1 + *rel as i64) as usize;
                if !order.contains(&t) {
                    order.push(t);
                }
            }
        }
        k += 1;
    }
    let mut new_start = std::collections::HashMap::new();
    let mut at = PREFIX_LEN;
    for &f in &order {
        new_start.insert(f, at);
        at += end_of(f) - f;
    }
    let mov = |dst, src| Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src };
    let load = |dst, off| Insn::Load { size: Size::DW, signed: false, dst, src: Reg::R6, off };
    let mut out = vec![
        mov(Reg::R6, Src::Reg(Reg::R1)),
        load(Reg::R1, 0),
        load(Reg::R3, 8),
        mov(Reg::R2, Src::Reg(Reg::R6)),
        Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R2, src: Src::Imm(16) },
    ];
    for &f in &order {
        let (a, b) = range(f);
        for (i, insn) in insns.iter().enumerate().take(b).skip(a) {
            let new_pc = new_start[&f] + (prog.pc(i) - f);
            out.push(match *insn {
                Insn::Call(CallTarget::Local(rel)) => {
                    let t = (prog.pc(i) as i64 + 1 + rel as i64) as usize;
                    let rel = new_start[&t] as i64 - (new_pc as i64 + 1);
                    Insn::Call(CallTarget::Local(i32::try_from(rel).map_err(|_| bad())?))
                }
                other => other,
            });
        }
    }
    Program::new(out).map_err(|_| bad())
}

/// The driver's input buffer for `due`: map, value, then the key bytes.
pub(crate) fn driver_input(due: &DueTimer) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + due.key.len());
    v.extend_from_slice(&due.map.to_le_bytes());
    v.extend_from_slice(&due.value.to_le_bytes());
    v.extend_from_slice(&due.key);
    v
}

/// Replaces every `ld_imm64 src=BPF_PSEUDO_FUNC` of program `prog_id` by its token.
pub(crate) fn resolve_funcs(insns: &mut [Insn], prog: &Program, prog_id: usize) {
    for (i, insn) in insns.iter_mut().enumerate() {
        let Insn::LdImm64 { dst, src: LdImm64Src::Func, imm, .. } = *insn else { continue };
        let target = prog.pc(i) as i64 + 1 + imm as i64;
        let token = callback_token(prog_id, target.max(0) as usize);
        *insn = Insn::LdImm64 {
            dst,
            src: LdImm64Src::Imm,
            imm: token as u32 as i32,
            imm_hi: (token >> 32) as i32,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = callback_token(3, 0x1234);
        assert_eq!(t >> 56, 0xcb);
        assert_eq!(decode_callback(t), Some((3, 0x1234)));
        assert_eq!(decode_callback(0x1234), None);
    }

    #[test]
    fn the_driver_relinks_the_callback_first() {
        // main, f (called by the callback, placed before it), cb
        let prog = kbpf_isa::asm::assemble_program(
            "r0 = 0\nexit\nf:\nr0 = r1\nif r0 > 5 goto +1\nr0 = 5\nexit\ncb:\nr1 = 7\ncall f\nr0 = 0\nexit\n",
        )
        .unwrap();
        let cb = prog.iter().find(|(_, i)| matches!(i, Insn::Alu { src: Src::Imm(7), .. })).unwrap().0;
        let d = callback_driver(&prog, cb).unwrap();
        let text: Vec<String> = d.iter().map(|(_, i)| format!("{i:?}")).collect();
        assert_eq!(d.len(), PREFIX_LEN + 4 + 4, "{text:#?}");
        // the callback's call now targets f right after it
        assert_eq!(d.at(PREFIX_LEN + 1), Some(&Insn::Call(CallTarget::Local(2))), "{text:#?}");
        assert!(callback_driver(&prog, 100).is_err());
    }
}
