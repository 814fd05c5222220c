//! Conditional jumps (`check_cond_jmp_op`): branch prediction (`is_branch_taken`), range
//! refinement on both edges (`reg_set_min_max`), NULL checks and packet range marking.

use crate::MapKind;
use crate::check::alu::reg_bounds_sanity_check;
use crate::domain::state::{MAYBE_NULL, RegState, RegType, VerifierState};
use crate::env::ctx::Walk;
use crate::env::slots::after;
use crate::messages::{Bug, Reject};
use kbpf_isa::{Insn, JmpOp, RawInsn, SlotIdx, Src, Width};

use crate::domain::cond::*;

/// `collect_linked_regs`: every live scalar register or spilled scalar with this base id.
fn collect_linked_regs(st: &VerifierState, id: u32, live: u16, out: &mut Vec<(u8, bool, u8)>) {
    let base = id & !crate::ADD_CONST;
    let cf = st.curframe();
    for fi in (0..=cf).rev() {
        let f = &st.frames[fi];
        for (ri, r) in f.regs.iter().enumerate().take(10) {
            if fi == cf && live & (1 << ri) == 0 {
                continue;
            }
            if r.ty == RegType::Scalar && (r.id & !crate::ADD_CONST) == base {
                out.push((fi as u8, true, ri as u8));
            }
        }
        for (si, sl) in f.stack.iter().enumerate().take(64) {
            if sl.is_spill()
                && sl.spilled.ty == RegType::Scalar
                && (sl.spilled.id & !crate::ADD_CONST) == base
            {
                out.push((fi as u8, false, si as u8));
            }
        }
    }
}

/// `regs_refine_cond_op(reg, reg, ...)` where both operands are the same register.
fn aliased_refine(orig: &RegState, op: Cond, w32: bool) -> RegState {
    let mut a = orig.clone();
    let mut b = orig.clone();
    refine_cond_op(&mut a, &mut b, op, w32);
    let mut m = orig.clone();
    macro_rules! pick {
        ($($f:ident).+) => {
            m.$($f).+ = if a.$($f).+ != orig.$($f).+ { a.$($f).+ } else { b.$($f).+ };
        };
    }
    pick!(b64.umin);
    pick!(b64.umax);
    pick!(b64.smin);
    pick!(b64.smax);
    pick!(b32.umin);
    pick!(b32.umax);
    pick!(b32.smin);
    pick!(b32.smax);
    pick!(var_off);
    m.bounds_sync();
    m.bounds_sync();
    m
}

pub(crate) fn for_each_reg(st: &mut VerifierState, mut f: impl FnMut(&mut RegState)) {
    for fr in st.frames.iter_mut() {
        for r in fr.regs.iter_mut() {
            f(r);
        }
        fr.stack.update_spills(&mut f);
        crate::calls::stack_args::for_each_slot(fr, &mut f);
    }
}

/// What NULL checks read beside the state: the maps, the program's and the kernel's BTF.
struct NullCtx<'a> {
    maps: &'a [crate::MapDef],
    prog_btf: Option<&'a kbpf_elf::btf::Btf>,
    btf: Option<&'a kbpf_elf::btf::Btf>,
}

impl NullCtx<'_> {
    /// `reg_may_point_to_spin_lock` for an allocated object: its local type holds a lock.
    fn local_lock(&self, r: &crate::domain::state::RegState) -> bool {
        use crate::btf::record::FieldKind;
        let (RegType::BtfId, Some(btf)) = (r.ty, self.prog_btf) else { return false };
        if r.flags & crate::domain::state::MEM_ALLOC == 0 {
            return false;
        }
        crate::btf::local::struct_meta(btf, r.btf_id, self.btf)
            .ok()
            .flatten()
            .is_some_and(|rec| rec.has(FieldKind::SpinLock) || rec.has(FieldKind::ResSpinLock))
    }
}

/// `mark_ptr_or_null_reg` over every register sharing the id. A non-NULL lookup result of
/// a sockmap or sockhash is the socket itself, of an xskmap the xdp socket (`maps` says which
/// map a value belongs to).
fn mark_ptr_or_null_regs(st: &mut VerifierState, regno: usize, is_null: bool, ctx: &NullCtx<'_>) {
    let maps = ctx.maps;
    let reg = &st.cur().regs[regno];
    let id = reg.id;
    let ref_id = reg.ref_obj_id;
    if ref_id != 0 && ref_id == id && is_null {
        st.refs.retain(|r| r.id != id || r.kind.is_lock());
    }
    for_each_reg(st, |r| {
        if r.flags & MAYBE_NULL != 0 && r.id == id && id != 0 {
            if is_null {
                r.ty = RegType::Scalar;
                r.flags = 0;
                r.id = 0;
                r.ref_obj_id = 0;
                r.map = 0;
                r.mem_size = 0;
                r.btf_id = 0;
            } else {
                r.flags &= !MAYBE_NULL;
                // reg_may_point_to_spin_lock: the id names the lock the value holds
                let lock = (r.ty == RegType::MapValue
                    && maps.get(r.map as usize).is_some_and(|d| d.may_hold_lock()))
                    || ctx.local_lock(r);
                if !lock {
                    r.id = 0;
                }
                map_value_object(r, maps);
            }
        }
    });
}

/// `mark_ptr_not_null_reg`'s map part: a non-NULL lookup result of a sockmap or sockhash is
/// the socket itself, of an xskmap the xdp socket, not a value the program may read as bytes.
fn map_value_object(r: &mut RegState, maps: &[crate::MapDef]) {
    if r.ty != RegType::MapValue {
        return;
    }
    let ty = match maps.get(r.map as usize).map(|d| d.kind) {
        Some(MapKind::SockMap | MapKind::SockHash) => RegType::Sock,
        Some(MapKind::XskMap) => RegType::XdpSock,
        _ => return,
    };
    r.ty = ty;
    r.map = 0;
}

fn find_good_pkt_pointers(st: &mut VerifierState, dst: &RegState, ty: RegType, right_open: bool) {
    if dst.off < 0 || (dst.off == 0 && right_open) {
        return;
    }
    if dst.b64.umax > MAX_PACKET_OFF || dst.b64.umax + dst.off as u64 > MAX_PACKET_OFF {
        return;
    }
    let new_range = dst.off + right_open as i32;
    let id = dst.id;
    for_each_reg(st, |r| {
        if r.ty == ty && r.id == id {
            r.range = r.range.max(new_range);
        }
    });
}

fn mark_pkt_end(st: &mut VerifierState, regn: usize, open: bool) {
    let r = &mut st.cur_mut().regs[regn];
    if r.ty == RegType::Packet {
        r.range = if open { BEYOND_PKT_END } else { AT_PKT_END };
    }
}

fn is_init_pkt(r: &RegState, ty: RegType) -> bool {
    r.ty == ty && r.off == 0 && r.var_off.is_const() && r.var_off.value == 0
}

impl Walk<'_, '_> {
    /// `check_cond_jmp_op`: the destination register number, the reserved fields and the source
    /// register number are read in the kernel's order; the rest comes from the decoded `Jmp`.
    pub(crate) fn check_cond_jmp_op(&mut self, raw: &RawInsn, idx: SlotIdx) -> Result<(), Reject> {
        use crate::check::alu::RegOp;
        if raw.jmp_op() == Some(JmpOp::Jcond) {
            self.prog.structural(idx)?;
            let Insn::MayGoto { off } = self.prog.decoded(idx)? else {
                return Err(Bug::Undecoded(idx).into());
            };
            let prev = self.find_prev_entry(idx);
            let p = self.push_stack(after(idx, 1), idx)?;
            let id_gen = self.search.id_gen;
            let prev_st = prev.map(|i| self.search.arena[i].st.clone());
            if let Some(q) = self.search.pending.get_mut(p) {
                q.st.may_goto_depth += 1;
                if let Some(old) = prev_st {
                    crate::prune::states::widen_imprecise_scalars(&old, &mut q.st, id_gen);
                }
            }
            return self.jump_to(idx, off as i64);
        }
        if !matches!(raw.jmp_op(), Some(JmpOp::Cond(_))) {
            // opcodes in no table were refused before the walk
            return Err(Bug::CondJmpOpcode(raw.code).into());
        }
        self.check_reg_arg(raw.dst, RegOp::Src)?;
        self.prog.structural(idx)?;
        if raw.is_reg_src() {
            self.check_reg_arg(raw.src, RegOp::Src)?;
        }
        let jmp = self.prog.decoded(idx)?;
        let Insn::Jmp { width, cond, dst: dst_reg, src: src_op, off } = jmp else {
            return Err(Bug::Undecoded(idx).into());
        };
        let op = Cond::Is(cond);
        let x = matches!(src_op, Src::Reg(_));
        let (dn, sn) = (dst_reg.num(), if let Src::Reg(r) = src_op { r.num() } else { 0 });
        let src = match src_op {
            Src::Reg(_) => {
                let s = self.cur.cur().regs[sn as usize].clone();
                let d = &self.cur.cur().regs[dn as usize];
                if !(is_pkt_any(d) && is_pkt_any(&s)) && s.is_pointer() && !self.prog.opts.privileged {
                    return Err(Reject::PtrComparison(sn.into()));
                }
                s
            }
            Src::Imm(imm) => RegState::known(imm as i64 as u64),
        };
        let w32 = width == Width::W32;
        let dst = self.cur.cur().regs[dn as usize].clone();
        let pred = branch_taken(&dst, &src, op, w32);
        if pred >= 0 {
            if !dst.is_pointer() {
                self.precision().mark_chain_precision(dn);
            }
            if x && !src.is_pointer() {
                self.precision().mark_chain_precision(sn);
            }
            let maps = self.prog.opts.maps.clone();
            self.log.print_insn_state(self.cur, idx.index(), &maps);
            if pred == 1 {
                return self.jump_to(idx, off as i64);
            }
            self.cur.insn_idx = after(idx, 1);
            return Ok(());
        }
        // linked scalars refined by this jump go into the history (before the branch is pushed,
        // so that both branches share the entry)
        let live = self.prog.info.live_regs.get(idx.index()).copied().unwrap_or(0xffff);
        let mut linked: Vec<(u8, bool, u8)> = Vec::new();
        if x && src.ty == RegType::Scalar && src.id != 0 {
            collect_linked_regs(self.cur, src.id, live, &mut linked);
        }
        if dst.ty == RegType::Scalar && dst.id != 0 {
            collect_linked_regs(self.cur, dst.id, live, &mut linked);
        }
        if linked.len() > 1 {
            linked.truncate(6);
            self.push_hist_linked(None, &linked);
        }
        let target = self.prog.jump_target(idx, off as i64)?;
        let p = self.push_stack(target, idx)?;
        let (d, s) = (dn as usize, sn as usize);
        // refine: other branch = taken (op), this branch = fall-through (rev op)
        if dst.ty == RegType::Scalar && src.ty == RegType::Scalar && x && d == s {
            // `if rX op rX`: the kernel refines one register through two aliases
            let mut od = aliased_refine(&dst, op, w32);
            let mut fd = aliased_refine(&dst, rev(op), w32);
            // both operands are the one register: each side is checked twice
            let strict = self.prog.opts.test_reg_invariants;
            for (r, ctx) in [(&mut od, ["true_reg1", "true_reg2"]), (&mut fd, ["false_reg1", "false_reg2"])] {
                for c in ctx {
                    reg_bounds_sanity_check(self.log, strict, r, c)?;
                }
            }
            let live = self.prog.info.live_regs.get(idx.index()).copied().unwrap_or(0xffff);
            if let Some(q) = self.search.pending.get_mut(p) {
                q.st.cur_mut().regs[d] = od.clone();
                if od.id != 0 {
                    sync_linked_regs(&mut q.st, &od, live);
                }
            }
            self.cur.cur_mut().regs[d] = fd.clone();
            if fd.id != 0 {
                sync_linked_regs(self.cur, &fd, live);
            }
        } else if dst.ty == RegType::Scalar && src.ty == RegType::Scalar {
            let mut od = dst.clone();
            let mut os = src.clone();
            refine_cond_op(&mut od, &mut os, op, w32);
            od.bounds_sync();
            os.bounds_sync();
            let mut fd = dst.clone();
            let mut fs = src.clone();
            refine_cond_op(&mut fd, &mut fs, rev(op), w32);
            fd.bounds_sync();
            fs.bounds_sync();
            let strict = self.prog.opts.test_reg_invariants;
            for (r, ctx) in [
                (&mut od, "true_reg1"),
                (&mut os, "true_reg2"),
                (&mut fd, "false_reg1"),
                (&mut fs, "false_reg2"),
            ] {
                reg_bounds_sanity_check(self.log, strict, r, ctx)?;
            }
            if let Some(q) = self.search.pending.get_mut(p) {
                q.st.cur_mut().regs[d] = od.clone();
                if x {
                    q.st.cur_mut().regs[s] = os.clone();
                }
            }
            self.cur.cur_mut().regs[d] = fd.clone();
            if x {
                self.cur.cur_mut().regs[s] = fs.clone();
            }
            let live = self.prog.info.live_regs.get(idx.index()).copied().unwrap_or(0xffff);
            // src first, then dst, each time from the register's current value (a dst that
            // shares the src's id has just been overwritten, as in the kernel)
            for (reg, has_id) in [(s, x && os.id != 0), (d, od.id != 0)] {
                if !has_id {
                    continue;
                }
                let k = self.cur.cur().regs[reg].clone();
                sync_linked_regs(self.cur, &k, live);
                if let Some(q) = self.search.pending.get_mut(p) {
                    let k = q.st.cur().regs[reg].clone();
                    sync_linked_regs(&mut q.st, &k, live);
                }
            }
        }
        // pointer == pointer with one maybe-null; a BTF pointer may be NULL whatever its
        // flags say, so it proves nothing
        if !w32
            && x
            && dst.is_pointer()
            && src.is_pointer()
            && (dst.flags & MAYBE_NULL) != (src.flags & MAYBE_NULL)
            && dst.ty != RegType::BtfId
            && src.ty != RegType::BtfId
        {
            let which = if src.flags & MAYBE_NULL != 0 { s } else { d };
            let maps = &self.prog.opts.maps;
            // mark_ptr_not_null_reg on the equal branch's copy of the maybe-NULL one
            let not_null = |r: &mut RegState| {
                r.flags &= !MAYBE_NULL;
                map_value_object(r, maps);
            };
            match op {
                JEQ => {
                    if let Some(q) = self.search.pending.get_mut(p) {
                        not_null(&mut q.st.cur_mut().regs[which]);
                    }
                }
                JNE => not_null(&mut self.cur.cur_mut().regs[which]),
                _ => {}
            }
        }
        if !w32 && src_op == Src::Imm(0) && (op == JEQ || op == JNE) && dst.flags & MAYBE_NULL != 0 {
            let opts = self.prog.opts;
            let ctx =
                NullCtx { maps: &opts.maps, prog_btf: opts.prog_btf.as_deref(), btf: opts.btf.as_deref() };
            mark_ptr_or_null_regs(self.cur, d, op == JNE, &ctx);
            if let Some(q) = self.search.pending.get_mut(p) {
                mark_ptr_or_null_regs(&mut q.st, d, op == JEQ, &ctx);
            }
        } else if !self.try_match_pkt_pointers(&jmp, &dst, &src, p)
            && dst.is_pointer()
            && !self.prog.opts.privileged
        {
            return Err(Reject::PtrComparison(dn.into()));
        }
        let maps = self.prog.opts.maps.clone();
        self.log.print_insn_state(self.cur, idx.index(), &maps);
        self.cur.insn_idx = after(idx, 1);
        Ok(())
    }

    fn try_match_pkt_pointers(&mut self, jmp: &Insn, dst: &RegState, src: &RegState, p: usize) -> bool {
        let Insn::Jmp { width: Width::W64, cond, dst: dr, src: Src::Reg(sr), .. } = *jmp else {
            return false;
        };
        let (d, s) = (dr.num() as usize, sr.num() as usize);
        let fwd = (dst.ty == RegType::Packet && src.ty == RegType::PacketEnd)
            || (dst.ty == RegType::PacketMeta && is_init_pkt(src, RegType::Packet));
        let bwd = (dst.ty == RegType::PacketEnd && src.ty == RegType::Packet)
            || (is_init_pkt(dst, RegType::Packet) && src.ty == RegType::PacketMeta);
        let Some(mut other) = self.search.pending.get(p).map(|q| q.st.clone()) else { return false };
        let this = &mut self.cur;
        match (Cond::Is(cond), fwd, bwd) {
            (JGT, true, _) => {
                find_good_pkt_pointers(this, dst, dst.ty, false);
                mark_pkt_end(&mut other, d, true);
            }
            (JGT, false, true) => {
                find_good_pkt_pointers(&mut other, src, src.ty, true);
                mark_pkt_end(this, s, false);
            }
            (JLT, true, _) => {
                find_good_pkt_pointers(&mut other, dst, dst.ty, true);
                mark_pkt_end(this, d, false);
            }
            (JLT, false, true) => {
                find_good_pkt_pointers(this, src, src.ty, false);
                mark_pkt_end(&mut other, s, true);
            }
            (JGE, true, _) => {
                find_good_pkt_pointers(this, dst, dst.ty, true);
                mark_pkt_end(&mut other, d, false);
            }
            (JGE, false, true) => {
                find_good_pkt_pointers(&mut other, src, src.ty, false);
                mark_pkt_end(this, s, true);
            }
            (JLE, true, _) => {
                find_good_pkt_pointers(&mut other, dst, dst.ty, false);
                mark_pkt_end(this, d, true);
            }
            (JLE, false, true) => {
                find_good_pkt_pointers(this, src, src.ty, true);
                mark_pkt_end(&mut other, s, false);
            }
            _ => return false,
        }
        if let Some(q) = self.search.pending.get_mut(p) {
            q.st = other;
        }
        true
    }
}

/// Copies the refined `known` into every scalar sharing its id (`sync_linked_regs`); registers
/// of the current frame that are dead at this instruction are not linked.
fn sync_linked_regs(st: &mut VerifierState, known: &RegState, live: u16) {
    let base = known.id & !crate::ADD_CONST;
    let cf = st.curframe();
    for (fi, f) in st.frames.iter_mut().enumerate() {
        for (ri, r) in f.regs.iter_mut().enumerate() {
            if fi == cf && ri < 10 && live & (1 << ri) == 0 {
                continue;
            }
            sync_one(r, known, base);
        }
        f.stack.update_spills(|r| sync_one(r, known, base));
        crate::calls::stack_args::for_each_slot(f, &mut |r| sync_one(r, known, base));
    }
}

fn sync_one(r: &mut RegState, known: &RegState, base: u32) {
    {
        if r.ty != RegType::Scalar || (r.id & !crate::ADD_CONST) != base || r == known {
            return;
        }
        let both_plain = r.id & crate::ADD_CONST == 0 && known.id & crate::ADD_CONST == 0;
        // a register's offset counts only while it carries the link flag (an id cleared by a
        // move or a sign extension may leave a stale one behind)
        let link_off = |x: &RegState| if x.id & crate::ADD_CONST != 0 { x.off } else { 0 };
        if both_plain || link_off(r) == link_off(known) {
            *r = known.clone();
        } else {
            // mixing 32- and 64-bit links is not supported
            let (kf, rf) = (known.id & crate::ADD_CONST, r.id & crate::ADD_CONST);
            if kf != 0 && rf != 0 && kf != rf {
                return;
            }
            let alu32 = (kf | rf) & crate::ADD_CONST32 != 0;
            let delta = (link_off(r) as i64).wrapping_sub(link_off(known) as i64);
            let (off, id) = (r.off, r.id);
            let mut nr = known.clone();
            nr.off = off;
            nr.id = id;
            crate::domain::scalar_ops::scalar_alu(
                &mut nr,
                &RegState::known(delta as u64),
                kbpf_isa::AluCode::Bin(kbpf_isa::AluOp::Add),
                alu32,
                None,
            );
            nr.off = off;
            nr.id = id;
            *r = nr;
        }
    }
}
