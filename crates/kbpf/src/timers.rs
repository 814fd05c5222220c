//! Timer callbacks at run time: what `ld_imm64 rX = func(label)` (`BPF_PSEUDO_FUNC`) loads,
//! and how a module's pending timers fire after its main program returned.
//!
//! A callback reference resolves to a token (the same in every engine): [`CALLBACK_TAG`], the
//! program id and the callback's first slot. `bpf_timer_set_callback` stores it like any
//! value. To fire a timer the facade runs a *driver*: the callback's program with five
//! instructions in front that load R1 = map, R3 = value and R2 = a pointer to the key from the
//! input buffer and `call` the callback, so the callback and everything it calls (stack
//! arguments included) run as ordinary bpf-to-bpf calls on the same engine. The driver's frame
//! is one more than the kernel's, so a callback chain already `MAX_CALL_FRAMES` deep does not
//! fit.
//!
//! Time is virtual (see `kbpf_kfunc::maps` timers): timers fire in expiry order, ties in start
//! order, and a callback may re-arm its timer; at most [`MAX_TIMER_FIRINGS`] callbacks run per
//! [`crate::run_module`] call, the rest stay armed for the next run.

use kbpf_isa::{AluOp, CallTarget, Insn, LdImm64Src, Program, Reg, Size, Src, Width};
use kbpf_kfunc::maps::DueTimer;

use crate::engine::RunError;

/// High byte of a callback token.
pub const CALLBACK_TAG: u64 = 0xcb << 56;
/// Most timer callbacks one run fires.
pub const MAX_TIMER_FIRINGS: usize = 1024;

/// Slots of the driver in front of the program.
const DRIVER_LEN: usize = 7;
/// Slot of the driver's `call`.
const DRIVER_CALL: usize = 5;

/// The token `ld_imm64 rX = func(...)` of program `prog_id` loads for the function at `pc`.
pub fn callback_token(prog_id: usize, pc: usize) -> u64 {
    CALLBACK_TAG | ((prog_id as u64 & 0xff_ffff) << 32) | (pc as u64 & 0xffff_ffff)
}

/// `(prog_id, pc)` of a callback token.
pub fn decode_callback(token: u64) -> Option<(usize, usize)> {
    (token & (0xff << 56) == CALLBACK_TAG)
        .then_some((((token >> 32) & 0xff_ffff) as usize, (token & 0xffff_ffff) as usize))
}

/// `prog` with the driver in front: it calls the function at slot `cb_pc` of `prog` with
/// R1 = `*(u64 *)(r1 + 0)`, R3 = `*(u64 *)(r1 + 8)`, R2 = `r1 + 16` (see [`driver_input`]).
pub fn callback_driver(prog: &Program, cb_pc: usize) -> Result<Program, RunError> {
    let mov = |dst, src| Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src };
    let load = |dst, off| Insn::Load { size: Size::DW, signed: false, dst, src: Reg::R6, off };
    let target = i32::try_from(DRIVER_LEN + cb_pc).map_err(|_| RunError::Callback(cb_pc as u64))?;
    let rel = target - DRIVER_CALL as i32 - 1;
    let mut insns = vec![
        mov(Reg::R6, Src::Reg(Reg::R1)),
        load(Reg::R1, 0),
        load(Reg::R3, 8),
        mov(Reg::R2, Src::Reg(Reg::R6)),
        Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R2, src: Src::Imm(16) },
        Insn::Call(CallTarget::Local(rel)),
        Insn::Exit,
    ];
    // the driver returns whatever the callback left in r0 (the verifier made it 0)
    debug_assert_eq!(insns.len(), DRIVER_LEN);
    insns.extend_from_slice(prog.insns());
    let p = Program::new(insns).map_err(|_| RunError::Callback(cb_pc as u64))?;
    // the callback must start a function of the original program
    match p.index_at(DRIVER_LEN + cb_pc) {
        Some(_) => Ok(p),
        None => Err(RunError::Callback(cb_pc as u64)),
    }
}

/// The driver's input buffer for `due`: map, value, then the key bytes.
pub fn driver_input(due: &DueTimer) -> Vec<u8> {
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
