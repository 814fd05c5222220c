//! Stack-slot liveness (a conservative, intra-procedural stand-in for 6.18's `liveness.c`):
//! for every instruction, which 8-byte slots of its frame may be read before being fully
//! overwritten. Only accesses through r10 with constant offsets are tracked; a subprogram that
//! copies r10 anywhere (so its stack may be reached through other registers or by callees) gets
//! "everything live" at all of its instructions.

use crate::postorder::Postorder;
use crate::raw::{self, CLASS_LDX, CLASS_ST, CLASS_STX};
use crate::subprogs::Subprogs;
use crate::successors::insn_successors;
use kbpf_isa::RawInsn;

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

fn size_of(code: u8) -> i64 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

/// (slots read, slots fully written) by one instruction; `None` if r10 escapes.
fn access(insn: &RawInsn) -> Option<(u64, u64)> {
    let class = raw::class(insn);
    let fp = 10u8;
    match class {
        CLASS_LDX if insn.src == fp => Some((slots_of(insn.off as i64, size_of(insn.code)), 0)),
        CLASS_ST | CLASS_STX if insn.dst == fp => {
            let sz = size_of(insn.code);
            let m = slots_of(insn.off as i64, sz);
            if class == CLASS_STX && raw::mode(insn) == 0xc0 {
                if insn.src == fp {
                    return None;
                }
                return Some((m, 0));
            }
            if class == CLASS_STX && insn.src == fp {
                return None; // storing the frame pointer itself
            }
            let full = if sz == 8 && insn.off % 8 == 0 { m } else { 0 };
            Some((0, full))
        }
        CLASS_STX if insn.src == fp => None,
        raw::CLASS_ALU | raw::CLASS_ALU64 if raw::src_is_reg(insn) && insn.src == fp => None,
        raw::CLASS_JMP | raw::CLASS_JMP32 if raw::src_is_reg(insn) && insn.src == fp => Some((0, 0)),
        _ => Some((0, 0)),
    }
}

/// `live[i]` = stack slots of instruction `i`'s frame live before it.
pub fn compute_stack_liveness(slots: &[RawInsn], postorder: &Postorder, subprogs: &Subprogs) -> Vec<u64> {
    let n = slots.len();
    let mut live_in = vec![0u64; n];
    let mut acc: Vec<(u64, u64)> = vec![(0, 0); n];
    for sp in &subprogs.list {
        let mut escapes = false;
        for i in sp.start..sp.end.min(n) {
            match access(&slots[i]) {
                Some(a) => acc[i] = a,
                None => escapes = true,
            }
        }
        if escapes {
            for a in acc.iter_mut().take(sp.end.min(n)).skip(sp.start) {
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
        let sp = add_subprogs(&p).unwrap();
        let live = compute_stack_liveness(&p, &compute_postorder(&p, &sp), &sp);
        assert_eq!(live, vec![0, 1, 1, 0]);
    }

    #[test]
    fn escape_makes_all_live() {
        let p =
            [RawInsn::new(0xbf, 2, 10, 0, 0), RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)];
        let sp = add_subprogs(&p).unwrap();
        let live = compute_stack_liveness(&p, &compute_postorder(&p, &sp), &sp);
        assert!(live.iter().all(|m| *m == u64::MAX));
    }
}
