//! Stack-slot liveness (a conservative, intra-procedural stand-in for 6.18's `liveness.c`):
//! for every instruction, which 8-byte slots of its frame may be read before being fully
//! overwritten.
//!
//! Accesses through r10 with constant offsets are tracked slot by slot. Copies of r10 (and
//! pointers computed from them) are followed by a forward pass: a load through such a pointer,
//! an atomic on it, or a call that gets one as an argument may read any slot, so everything is
//! live before it; stores through it overwrite nothing for certain. Only when such a pointer
//! leaves the registers (stored to memory, or passed in a stack-argument slot) does the
//! subprogram fall back to "everything live" at all of its instructions.

use crate::postorder::Postorder;
use crate::subprogs::Subprogs;
use crate::successors::insn_successors;
use kbpf_isa::{AluCode, AluOp, ByteOrder, Class, Decoded, Insn, JmpOp, Mode, RawInsn, Reg, SlotTable, Src};

const FP: u8 = Reg::FP.num();
/// Registers a call clobbers (r0..r5).
const CALLER_SAVED: u16 = 0x3f;

/// Slot bit `i` covers `[fp-8(i+1), fp-8i)`.
fn slots_of(off: i64, size: i64) -> u64 {
    let mut m = 0u64;
    if !(-512..0).contains(&off) {
        return 0;
    }
    for b in off..(off + size).min(0) {
        let spi = ((-b - 1) / 8) as u32;
        if spi < 64 {
            m |= 1 << spi;
        }
    }
    m
}

fn bit(r: u8) -> u16 {
    if r < 16 { 1 << r } else { 0 }
}

fn b(r: Reg) -> u16 {
    bit(r.num())
}

/// Registers that may hold a pointer into the frame after slot `i`, given those before it.
fn derive_at(slots: &SlotTable<'_>, i: usize, before: u16) -> u16 {
    match slots.get(i) {
        Some(Decoded::Insn(insn)) => derive_insn(insn, before),
        _ => derive(&slots.raw()[i], before),
    }
}

/// What slot `i` does to its frame's slots: `Some((read, fully written))`, or `None` when a
/// frame pointer escapes the registers (stored to memory or to a stack-argument slot).
fn access_at(slots: &SlotTable<'_>, i: usize, derived: u16) -> Option<(u64, u64)> {
    match slots.get(i) {
        Some(Decoded::Insn(insn)) => access_insn(insn, derived),
        _ => {
            let raw = &slots.raw()[i];
            access(raw, derived).filter(|_| !stack_arg_escape(raw, derived))
        }
    }
}

/// [`derive`] for a decoded instruction.
fn derive_insn(insn: &Insn, before: u16) -> u16 {
    let d = before | bit(FP);
    let holds = |r: Reg| d & b(r) != 0;
    // a move copies the source; arithmetic keeps (or, ptr + scalar, gains) a pointer
    let op = |dst: Reg, from_src: bool, is_mov: bool| {
        if from_src || (!is_mov && holds(dst)) { d | b(dst) } else { d & !b(dst) }
    };
    let out = match *insn {
        Insn::Alu { op: o, dst, src, .. } => op(dst, matches!(src, Src::Reg(s) if holds(s)), o == AluOp::Mov),
        Insn::MovSx { dst, src, .. }
        | Insn::AddrSpaceCast { dst, src, .. }
        | Insn::MovPercpu { dst, src } => op(dst, holds(src), true),
        // `be` is encoded with the source bit set and source field 0: the model counts r0 as its
        // source (conservative; kept so the analysis is what it was over raw slots)
        Insn::Endian { order: ByteOrder::ToBe, dst, .. } => op(dst, holds(Reg::R0), false),
        Insn::Endian { dst, .. } | Insn::Neg { dst, .. } => op(dst, false, false),
        Insn::Load { dst, .. } | Insn::StackArgLoad { dst, .. } | Insn::LdImm64 { dst, .. } => d & !b(dst),
        Insn::Call(_) | Insn::Callx { .. } => d & !CALLER_SAVED,
        _ => d,
    };
    out | bit(FP)
}

/// [`access`] (and [`stack_arg_escape`]) for a decoded instruction.
fn access_insn(insn: &Insn, derived: u16) -> Option<(u64, u64)> {
    let holds = |r: Reg| derived & b(r) != 0;
    let any = |yes: bool| Some((if yes { u64::MAX } else { 0 }, 0));
    match *insn {
        Insn::Load { size, src: Reg::FP, off, .. } => Some((slots_of(off as i64, size.bytes() as i64), 0)),
        Insn::Load { src, .. } => any(holds(src)),
        Insn::StackArgLoad { .. } => any(holds(Reg::PARAMS)),
        // the pointer itself is stored somewhere
        Insn::Store { src: Src::Reg(s), .. } | Insn::StackArgStore { src: Src::Reg(s), .. } if holds(s) => {
            None
        }
        Insn::Atomic { src, .. } if holds(src) => None,
        Insn::Store { size, dst: Reg::FP, off, .. } => {
            let m = slots_of(off as i64, size.bytes() as i64);
            Some((0, if size.bytes() == 8 && off % 8 == 0 { m } else { 0 }))
        }
        Insn::Atomic { size, dst: Reg::FP, off, .. } => Some((slots_of(off as i64, size.bytes() as i64), 0)),
        Insn::Atomic { dst, .. } => any(holds(dst)),
        // a helper, kfunc or subprogram given a frame pointer may read any slot
        Insn::Call(_) | Insn::Callx { .. } => any((1..=5u8).any(|r| derived & bit(r) != 0)),
        _ => Some((0, 0)),
    }
}

/// Registers that may hold a pointer into the frame after a raw slot the table could not
/// decode (malformed, or an `ld_imm64` tail), given those before it: with [`access`], the one
/// place this pass reads slot fields.
fn derive(insn: &RawInsn, before: u16) -> u16 {
    let d = before | bit(FP);
    let class = insn.class();
    let holds = |r: u8| d & bit(r) != 0;
    let out = match class {
        Class::Alu | Class::Alu64 => {
            let from_src = insn.is_reg_src() && holds(insn.src);
            let is_mov = insn.alu_code() == Some(AluCode::Bin(AluOp::Mov));
            // a move copies the source; arithmetic keeps (or, ptr + scalar, gains) a pointer
            if from_src || (!is_mov && holds(insn.dst)) { d | bit(insn.dst) } else { d & !bit(insn.dst) }
        }
        Class::Ldx => d & !bit(insn.dst),
        Class::Ld if insn.is_ldimm64() => d & !bit(insn.dst),
        Class::Jmp if insn.jmp_op() == Some(JmpOp::Call) => d & !CALLER_SAVED,
        _ => d,
    };
    out | bit(FP)
}

/// What a raw slot does to its frame's slots, given the registers that may point into the
/// frame: `Some((read, fully written))`, or `None` when a frame pointer escapes the registers.
fn access(insn: &RawInsn, derived: u16) -> Option<(u64, u64)> {
    let class = insn.class();
    let holds = |r: u8| derived & bit(r) != 0;
    let atomic = class == Class::Stx && insn.mode() == Some(Mode::Atomic);
    let size = insn.size().bytes() as i64;
    match class {
        Class::Ldx if insn.src == FP => Some((slots_of(insn.off as i64, size), 0)),
        Class::Ldx if holds(insn.src) => Some((u64::MAX, 0)),
        Class::Stx if holds(insn.src) => None, // the pointer itself is stored somewhere
        Class::St | Class::Stx if insn.dst == FP => {
            let sz = size;
            let m = slots_of(insn.off as i64, sz);
            if atomic {
                return Some((m, 0));
            }
            let full = if sz == 8 && insn.off % 8 == 0 { m } else { 0 };
            Some((0, full))
        }
        Class::Stx if atomic && holds(insn.dst) => Some((u64::MAX, 0)),
        Class::Jmp if insn.jmp_op() == Some(JmpOp::Call) => {
            // a helper, kfunc or subprogram given a frame pointer may read any slot
            let args = (1..=5u8).any(holds);
            Some((if args { u64::MAX } else { 0 }, 0))
        }
        _ => Some((0, 0)),
    }
}

/// Whether `insn` stores a frame pointer into an outgoing stack-argument slot (`*(r11 - k)`).
fn stack_arg_escape(insn: &RawInsn, derived: u16) -> bool {
    insn.is_stack_arg_store() && insn.class() == Class::Stx && derived & bit(insn.src) != 0
}

/// Forward pass: registers that may point into the frame before each instruction of `sp`.
fn derived_before(slots: &SlotTable<'_>, start: usize, end: usize) -> Vec<u16> {
    let n = end.min(slots.len());
    let mut before = vec![0u16; n.saturating_sub(start)];
    if before.is_empty() {
        return before;
    }
    before[0] = bit(FP);
    let mut work = vec![start];
    let mut seen = vec![false; before.len()];
    seen[0] = true;
    while let Some(i) = work.pop() {
        let out = derive_at(slots, i, before[i - start]);
        for s in insn_successors(slots, i) {
            if s < start || s >= n {
                continue;
            }
            let k = s - start;
            let merged = before[k] | out;
            if !seen[k] || merged != before[k] {
                before[k] = merged;
                seen[k] = true;
                work.push(s);
            }
        }
    }
    before
}

/// `live[i]` = stack slots of instruction `i`'s frame live before it.
pub fn compute_stack_liveness(slots: &SlotTable<'_>, postorder: &Postorder, subprogs: &Subprogs) -> Vec<u64> {
    let n = slots.len();
    let mut live_in = vec![0u64; n];
    let mut acc: Vec<(u64, u64)> = vec![(0, 0); n];
    for sp in &subprogs.list {
        let (start, end) = (sp.start.index(), sp.end.index().min(n));
        let derived = derived_before(slots, start, end);
        let mut escapes = false;
        for i in start..end {
            let d = derived[i - start];
            match access_at(slots, i, d) {
                Some(a) => acc[i] = a,
                None => escapes = true,
            }
        }
        if escapes {
            for a in acc.iter_mut().take(end).skip(start) {
                *a = (u64::MAX, 0);
            }
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for &idx in &postorder.order {
            let mut out = 0u64;
            for s in insn_successors(slots, idx) {
                if s < n {
                    out |= live_in[s];
                }
            }
            let (r, w) = acc[idx];
            let inn = (out & !w) | r;
            if inn != live_in[idx] {
                live_in[idx] = inn;
                changed = true;
            }
        }
    }
    live_in
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postorder::compute_postorder;
    use crate::subprogs::add_subprogs;

    #[test]
    fn reads_and_kills() {
        // 0: *(u64*)(fp-8) = r1; 1: *(u64*)(fp-16) = r1; 2: r0 = *(u64*)(fp-8); 3: exit
        let p = [
            RawInsn::new(0x7b, 10, 1, -8, 0),
            RawInsn::new(0x7b, 10, 1, -16, 0),
            RawInsn::new(0x79, 0, 10, -8, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let p = SlotTable::new(&p);
        let sp = add_subprogs(&p).unwrap();
        let live = compute_stack_liveness(&p, &compute_postorder(&p, &sp), &sp);
        assert_eq!(live, vec![0, 1, 1, 0]);
    }

    #[test]
    fn escape_makes_all_live() {
        // 0: r2 = r10; 1: *(u64 *)(r10 -8) = r2 (the frame pointer is stored); 2: r0 = 0; 3: exit
        let p = [
            RawInsn::new(0xbf, 2, 10, 0, 0),
            RawInsn::new(0x7b, 10, 2, -8, 0),
            RawInsn::new(0xb7, 0, 0, 0, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let p = SlotTable::new(&p);
        let sp = add_subprogs(&p).unwrap();
        let live = compute_stack_liveness(&p, &compute_postorder(&p, &sp), &sp);
        assert!(live.iter().all(|m| *m == u64::MAX));
    }

    #[test]
    fn reads_through_a_copy_of_fp_make_everything_live_before_them_only() {
        // 0: r2 = r10; 1: r2 += -8; 2: r0 = *(u8 *)(r2 +0); 3: r0 = 0; 4: exit
        let p = [
            RawInsn::new(0xbf, 2, 10, 0, 0),
            RawInsn::new(0x07, 2, 0, 0, -8),
            RawInsn::new(0x71, 0, 2, 0, 0),
            RawInsn::new(0xb7, 0, 0, 0, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let p = SlotTable::new(&p);
        let sp = add_subprogs(&p).unwrap();
        let live = compute_stack_liveness(&p, &compute_postorder(&p, &sp), &sp);
        assert_eq!(live, vec![u64::MAX, u64::MAX, u64::MAX, 0, 0]);
    }

    #[test]
    fn a_call_given_a_frame_pointer_reads_everything() {
        // 0: r1 = r10; 1: r1 += -8; 2: call 1; 3: r1 = r10; 4: call 7 (r1 clobbered: no pointer)
        let p = [
            RawInsn::new(0xbf, 1, 10, 0, 0),
            RawInsn::new(0x07, 1, 0, 0, -8),
            RawInsn::new(0x85, 0, 0, 0, 1),
            RawInsn::new(0x85, 0, 0, 0, 7),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let p = SlotTable::new(&p);
        let sp = add_subprogs(&p).unwrap();
        let live = compute_stack_liveness(&p, &compute_postorder(&p, &sp), &sp);
        assert_eq!(live, vec![u64::MAX, u64::MAX, u64::MAX, 0, 0]);
    }

    /// The decoded reading agrees with the raw one on every slot the table decodes.
    #[test]
    fn decoded_and_raw_readings_agree() {
        let tail = RawInsn::new(0, 0, 0, 0, 0);
        let atomics = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110];
        let masks = [0u16, 0x0001, 0x0002, 0x0006, 0x0404, 0x0801, 0x0fff, 0x003e];
        for code in 0..=255u8 {
            for (dst, src) in [(0, 0), (1, 2), (3, 1), (10, 2), (11, 0), (0, 11), (10, 3), (2, 10), (11, 1)] {
                for off in [0i16, 1, -8, -16, -4, 8, 16, 32] {
                    for imm in [0, 1, 8, 16, 32, 64].into_iter().chain(atomics) {
                        let slots = [RawInsn::new(code, dst, src, off, imm), tail];
                        let t = SlotTable::new(&slots);
                        let Some(Decoded::Insn(insn)) = t.get(0) else { continue };
                        let raw = &slots[0];
                        for m in masks {
                            assert_eq!(derive_insn(insn, m), derive(raw, m), "{raw:?} {m:x}");
                            let want = access(raw, m).filter(|_| !stack_arg_escape(raw, m));
                            assert_eq!(access_insn(insn, m), want, "{raw:?} {m:x}");
                        }
                    }
                }
            }
        }
    }
}
