//! Register liveness (`compute_live_registers`): a backward may-live analysis over r0..r9 with
//! per-instruction use/def masks, iterated over the postorder to a fixpoint.

use crate::postorder::Postorder;
use crate::successors::insn_successors;
use kbpf_isa::{
    AluCode, AluOp, AtomicOp, CallKind, CallTarget, Class, Decoded, Insn, JmpOp, Mode, RawInsn, Reg,
    SlotTable, Src,
};

/// Registers clobbered by any call: r0..r5.
pub const CALLER_SAVED: u16 = 0x3f;

/// Use and def masks of one instruction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UseDef {
    /// Registers read.
    pub uses: u16,
    /// Registers written.
    pub defs: u16,
}

/// Use/def of a decoded instruction. `helper_args(id)` gives a helper's parameter count when
/// its prototype is known for this program type. r11 is an addressing base, never a live value.
pub fn use_def(
    insn: &Insn,
    helper_args: &dyn Fn(i32) -> Option<u8>,
    kfunc_args: &dyn Fn(i32) -> Option<u8>,
) -> UseDef {
    let b = |r: Reg| 1u16 << r.num();
    let r0 = b(Reg::R0);
    let src_or = |base: u16, src: Src| match src {
        Src::Reg(s) => base | b(s),
        Src::Imm(_) => base,
    };
    let (uses, defs) = match *insn {
        Insn::LdImm64 { dst, .. } => (0, b(dst)),
        Insn::Load { dst, src, .. } => (b(src), b(dst)),
        Insn::StackArgLoad { dst, .. } => (0, b(dst)),
        Insn::Store { dst, src, .. } => (src_or(b(dst), src), 0),
        Insn::StackArgStore { src, .. } => (src_or(0, src), 0),
        Insn::Atomic { op, dst, src, .. } => match op {
            AtomicOp::Cmpxchg => (r0 | b(dst) | b(src), r0),
            AtomicOp::LoadAcquire => (b(src), b(dst)),
            AtomicOp::StoreRelease => (b(dst) | b(src), 0),
            AtomicOp::FetchAdd
            | AtomicOp::FetchOr
            | AtomicOp::FetchAnd
            | AtomicOp::FetchXor
            | AtomicOp::Xchg => (b(dst) | b(src), b(src)),
            AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => (b(dst) | b(src), 0),
        },
        Insn::Endian { dst, .. } | Insn::Neg { dst, .. } => (b(dst), b(dst)),
        Insn::Alu { op: AluOp::Mov, dst, src, .. } => (src_or(0, src), b(dst)),
        Insn::MovSx { dst, src, .. } | Insn::AddrSpaceCast { dst, src, .. } => (b(src), b(dst)),
        Insn::Alu { dst, src, .. } => (src_or(b(dst), src), b(dst)),
        Insn::Ja { .. } | Insn::Gotol { .. } | Insn::MayGoto { .. } => (0, 0),
        Insn::Exit => (r0, 0),
        Insn::Call(target) => {
            let nargs = match target {
                CallTarget::Local(_) => Some(5),
                CallTarget::Helper(id) => helper_args(id),
                // a kfunc's BTF prototype, when the program may call it (`get_call_summary`)
                CallTarget::Kfunc { btf_id, off: 0 } => kfunc_args(btf_id),
                CallTarget::Kfunc { .. } => None,
            };
            // r1..r(nargs), or every argument register when the count is unknown
            let uses = nargs.map_or(CALLER_SAVED & !r0, |n| ((1u16 << (n + 1)) - 1) & !1);
            (uses, CALLER_SAVED)
        }
        Insn::Callx { .. } => (CALLER_SAVED & !r0, CALLER_SAVED),
        Insn::Jmp { dst, src, .. } => (src_or(b(dst), src), 0),
        // the legacy packet loads read the context implicitly: everything is live
        Insn::LdAbs { .. } | Insn::LdInd { .. } => (0xffff, 0),
    };
    UseDef { uses, defs }
}

/// Use/def of a raw slot the table could not decode (malformed, or an `ld_imm64` tail): the one
/// place liveness reads slot fields, as the kernel's `compute_insn_live_regs` reads any slot.
pub fn insn_use_def(
    insn: &RawInsn,
    helper_args: &dyn Fn(i32) -> Option<u8>,
    kfunc_args: &dyn Fn(i32) -> Option<u8>,
) -> UseDef {
    let src = 1u16 << insn.src;
    let dst = 1u16 << insn.dst;
    let r0 = 1u16;
    let mut d = 0u16;
    let mut u = 0xffffu16;
    let mode = insn.mode();
    let k = !insn.is_reg_src();
    match insn.class() {
        Class::Ld if insn.is_ldimm64() => {
            d = dst;
            u = 0;
        }
        Class::Ldx if matches!(mode, Some(Mode::Mem | Mode::MemSx)) => {
            d = dst;
            u = src;
        }
        Class::St if mode == Some(Mode::Mem) => {
            u = dst;
        }
        Class::Stx => match mode {
            Some(Mode::Mem) => u = dst | src,
            Some(Mode::Atomic) => match insn.atomic_op() {
                Some(AtomicOp::Cmpxchg) => {
                    u = r0 | dst | src;
                    d = r0;
                }
                Some(AtomicOp::LoadAcquire) => {
                    d = dst;
                    u = src;
                }
                Some(AtomicOp::StoreRelease) => u = dst | src,
                _ => {
                    u = dst | src;
                    if insn.has_fetch_flag() {
                        d = src;
                    }
                }
            },
            _ => {}
        },
        Class::Alu | Class::Alu64 => match insn.alu_code() {
            Some(AluCode::End) => {
                u = dst;
                d = dst;
            }
            Some(AluCode::Bin(AluOp::Mov)) => {
                d = dst;
                u = if k { 0 } else { src };
            }
            _ => {
                d = dst;
                u = if k { dst } else { dst | src };
            }
        },
        Class::Jmp | Class::Jmp32 => match insn.jmp_op() {
            Some(JmpOp::Ja) => u = if k { 0 } else { dst },
            Some(JmpOp::Jcond) => u = 0,
            Some(JmpOp::Exit) => u = r0,
            Some(JmpOp::Call) => {
                d = CALLER_SAVED;
                u = d & !r0;
                let nargs = match insn.call_kind() {
                    Some(CallKind::Local) => Some(5),
                    Some(CallKind::Helper) => helper_args(insn.imm),
                    Some(CallKind::Kfunc) if insn.off == 0 => kfunc_args(insn.imm),
                    _ => None,
                };
                if let Some(n) = nargs {
                    u = ((1u16 << (n + 1)) - 1) & !1;
                }
            }
            _ => u = if k { dst } else { dst | src },
        },
        _ => {}
    }
    if insn.is_stack_arg_store() || insn.is_stack_arg_load() {
        // r11 is an addressing base, never a live value
        let params = !(1u16 << Reg::PARAMS.num());
        u &= params;
        d &= params;
    }
    UseDef { uses: u, defs: d }
}

/// `live[i]` = registers live before instruction `i`.
pub fn compute_live_registers(
    slots: &SlotTable<'_>,
    postorder: &Postorder,
    helper_args: &dyn Fn(i32) -> Option<u8>,
    kfunc_args: &dyn Fn(i32) -> Option<u8>,
) -> Vec<u16> {
    let n = slots.len();
    let ud: Vec<UseDef> = (0..n)
        .map(|i| match slots.get(i) {
            Some(Decoded::Insn(insn)) => use_def(insn, helper_args, kfunc_args),
            _ => insn_use_def(&slots.raw()[i], helper_args, kfunc_args),
        })
        .collect();
    let mut live_in = vec![0u16; n];
    let mut live_out = vec![0u16; n];
    let mut changed = true;
    while changed {
        changed = false;
        for &idx in &postorder.order {
            let mut out = 0u16;
            for s in insn_successors(slots, idx) {
                if s < n {
                    out |= live_in[s];
                }
            }
            let inn = (out & !ud[idx].defs) | ud[idx].uses;
            if out != live_out[idx] || inn != live_in[idx] {
                live_in[idx] = inn;
                live_out[idx] = out;
                changed = true;
            }
        }
    }
    live_in
}

/// The level-2 `Live regs before insn:` table. `insn_text(i)` is the kernel disassembly of slot
/// `i` (`(b7) r0 = 42`).
pub fn format_live_regs(
    slots: &SlotTable<'_>,
    live: &[u16],
    scc: &[u32],
    insn_text: &dyn Fn(usize) -> String,
) -> String {
    let mut s = String::from("Live regs before insn:\n");
    let mut i = 0;
    while i < slots.len() {
        match scc.get(i).copied().unwrap_or(0) {
            0 => s.push_str("    "),
            id => s.push_str(&format!("{id:3} ")),
        }
        s.push_str(&format!("{i:3}: "));
        let l = live.get(i).copied().unwrap_or(0);
        for r in 0..10 {
            if l & (1 << r) != 0 {
                s.push_str(&r.to_string());
            } else {
                s.push('.');
            }
        }
        s.push(' ');
        s.push_str(&insn_text(i));
        s.push('\n');
        // one line per instruction: an `ld_imm64`, well formed or not, covers two slots
        i += match slots.get(i) {
            Some(Decoded::Insn(insn)) => insn.slots(),
            _ => slots.raw()[i].slot_len(),
        };
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postorder::compute_postorder;
    use crate::subprogs::add_subprogs;

    #[test]
    fn matches_kernel_example() {
        // From the 6.18 log: r2 = r1; r0 = 42; if r2 > 5 goto +1; r0 = 1; exit
        let p = [
            RawInsn::new(0xbf, 2, 1, 0, 0),
            RawInsn::new(0xb7, 0, 0, 0, 42),
            RawInsn::new(0x25, 2, 0, 1, 5),
            RawInsn::new(0xb7, 0, 0, 0, 1),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let p = SlotTable::new(&p);
        let po = compute_postorder(&p, &add_subprogs(&p).unwrap());
        let live = compute_live_registers(&p, &po, &|_| None, &|_| None);
        let t = format_live_regs(&p, &live, &[0; 5], &|i| format!("#{i}"));
        assert_eq!(
            t,
            "Live regs before insn:\n      0: .1........ #0\n      1: ..2....... #1\n      2: 0.2....... #2\n      \
             3: .......... #3\n      4: 0......... #4\n"
        );
    }

    #[test]
    fn calls_use_args() {
        let call = RawInsn::new(0x85, 0, 0, 0, 7);
        assert_eq!(insn_use_def(&call, &|_| Some(0), &|_| None).uses, 0);
        assert_eq!(insn_use_def(&call, &|_| Some(2), &|_| None).uses, 0b110);
        assert_eq!(insn_use_def(&call, &|_| None, &|_| None).uses, 0b111110);
        assert_eq!(insn_use_def(&RawInsn::new(0x85, 0, 1, 0, 1), &|_| None, &|_| None).uses, 0b111110);
        // a kfunc call reads as many argument registers as its prototype has, when known
        let kcall = RawInsn::new(0x85, 0, 2, 0, 7);
        assert_eq!(insn_use_def(&kcall, &|_| None, &|_| Some(2)).uses, 0b110);
        assert_eq!(insn_use_def(&kcall, &|_| None, &|_| None).uses, 0b111110);
        // stack-arg forms never make r11 live
        assert_eq!(insn_use_def(&RawInsn::new(0x7b, 11, 1, -8, 0), &|_| None, &|_| None).uses, 0b10);
        let ld = insn_use_def(&RawInsn::new(0x79, 3, 11, 8, 0), &|_| None, &|_| None);
        assert_eq!((ld.uses, ld.defs), (0, 0b1000));
        assert_eq!(insn_use_def(&RawInsn::new(0x7a, 11, 0, -8, 1), &|_| None, &|_| None).uses, 0);
        let ldabs = RawInsn::new(0x30, 0, 0, 0, 1);
        assert_eq!(insn_use_def(&ldabs, &|_| None, &|_| None).uses, 0xffff);
    }

    /// The decoded reading agrees with the raw one on every slot the table decodes.
    #[test]
    fn decoded_and_raw_readings_agree() {
        let tail = RawInsn::new(0, 0, 0, 0, 0);
        let args = |id: i32| (id < 4).then_some(id as u8);
        let atomics = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110];
        for code in 0..=255u8 {
            for (dst, src) in [(0, 0), (1, 2), (3, 1), (0, 2), (11, 0), (0, 11), (10, 3), (2, 10)] {
                for off in [0i16, 1, -8, 8, 16, 32] {
                    for imm in [0, 1, 2, 3, 7, 16, 32, 64].into_iter().chain(atomics) {
                        let slots = [RawInsn::new(code, dst, src, off, imm), tail];
                        let t = SlotTable::new(&slots);
                        if let Some(Decoded::Insn(insn)) = t.get(0) {
                            assert_eq!(
                                use_def(insn, &args, &args),
                                insn_use_def(&slots[0], &args, &args),
                                "{:?}",
                                slots[0]
                            );
                        }
                    }
                }
            }
        }
    }
}
