//! Precision backtracking (`mark_chain_precision`): walks the jump history of the current
//! state and its checkpoint ancestors backwards, moving the "needs precision" requirement from
//! registers to their sources, and marks the ancestors' scalars precise.

use crate::domain::state::{HistEntry, RegType, SLOT, VerifierState};
use crate::env::ctx::Walk;
use crate::precision::Precision;
use kbpf_isa::{AluOp, AtomicOp, CallTarget, Decoded, Insn, Reg, SlotIdx, Src};

/// Per-frame register and stack-slot masks still needing precision.
#[derive(Clone, Default)]
struct Bt {
    frame: usize,
    regs: Vec<u32>,
    stack: Vec<u64>,
    /// Outgoing stack-argument slots per frame (`stack_arg_masks`).
    sa: Vec<u8>,
}

impl Bt {
    /// Masks for every possible frame (backtracking through a callee's `exit` enters frames the
    /// current state no longer has); starts in the innermost frame of `nframes`.
    fn new(nframes: usize) -> Bt {
        let n = kbpf_isa::MAX_CALL_FRAMES.max(nframes);
        Bt { frame: nframes - 1, regs: vec![0; n], stack: vec![0; n], sa: vec![0; n] }
    }

    fn empty(&self) -> bool {
        self.regs.iter().all(|m| *m == 0)
            && self.stack.iter().all(|m| *m == 0)
            && self.sa.iter().all(|m| *m == 0)
    }
    fn reg(&self, r: u8) -> bool {
        self.regs[self.frame] & (1 << r) != 0
    }
    fn set(&mut self, r: u8) {
        self.regs[self.frame] |= 1 << r;
    }
    fn clear(&mut self, r: u8) {
        self.regs[self.frame] &= !(1 << r);
    }
}

enum Step {
    Ok,
    NotSupp,
    Bug,
}

fn fmt_regs(m: u32) -> String {
    (0..11).filter(|r| m & (1 << r) != 0).map(|r| format!("r{r}")).collect::<Vec<_>>().join(",")
}

fn fmt_stack(m: u64) -> String {
    (0..64).filter(|i| m & (1 << i) != 0).map(|i| format!("-{}", (i + 1) * 8)).collect::<Vec<_>>().join(",")
}

/// `bt_sync_linked_regs`: if any linked scalar needs precision, all of them do.
fn bt_sync_linked(bt: &mut Bt, hist: &Option<HistEntry>) {
    let Some(h) = hist else { return };
    let links = &h.linked[..h.nlinked as usize];
    let is_set = |bt: &Bt, &(fr, is_reg, n): &(u8, bool, u8)| {
        let fr = fr as usize;
        fr < bt.regs.len() && if is_reg { bt.regs[fr] & (1 << n) != 0 } else { bt.stack[fr] & (1 << n) != 0 }
    };
    if !links.iter().any(|e| is_set(bt, e)) {
        return;
    }
    for &(fr, is_reg, n) in links {
        let fr = fr as usize;
        if fr < bt.regs.len() {
            if is_reg {
                bt.regs[fr] |= 1 << n;
            } else {
                bt.stack[fr] |= 1 << n;
            }
        }
    }
}

fn hist_for(hist: &[HistEntry], cnt: usize, idx: usize) -> Option<HistEntry> {
    if cnt > 0 && hist[cnt - 1].idx.index() == idx { Some(hist[cnt - 1]) } else { None }
}

impl Walk<'_, '_> {
    /// Records a history entry for the instruction being processed (merged per instruction).
    pub(crate) fn push_hist(&mut self, stack: Option<(u32, u32)>) {
        self.push_hist_linked(stack, &[]);
    }

    /// Records a history entry, optionally with the linked scalars of a conditional jump.
    pub(crate) fn push_hist_linked(&mut self, stack: Option<(u32, u32)>, linked: &[(u8, bool, u8)]) {
        let idx = self.cur.insn_idx;
        let prev = self.search.prev_insn_idx;
        let n = linked.len().min(6);
        if self.search.hist_insn == Some(idx)
            && let Some(last) = self.cur.jmp_history.last_mut()
            && last.idx == idx
        {
            if stack.is_some() {
                last.stack = stack;
            }
            if n > 0 {
                last.linked[..n].copy_from_slice(&linked[..n]);
                last.nlinked = n as u8;
            }
            return;
        }
        let mut e = HistEntry { idx, prev_idx: prev, stack, linked: [(0, false, 0); 6], nlinked: n as u8 };
        e.linked[..n].copy_from_slice(&linked[..n]);
        self.cur.jmp_history.push(e);
        self.search.hist_insn = Some(idx);
    }
}

impl Precision<'_, '_> {
    fn backtrack_insn(&mut self, idx: usize, subseq: i64, hist: Option<HistEntry>, bt: &mut Bt) -> Step {
        // every instruction in the history passed its checks, so it decodes; the stack-argument
        // dispatcher also takes an r11 immediate store the decoder refuses (`stack_arg_insn`)
        let insn = match self.prog.stack_arg_insn(idx) {
            Some(sa) => sa,
            None => match self.prog.table.get(idx) {
                Some(Decoded::Insn(i)) => *i,
                Some(Decoded::Tail) => return Step::Ok,
                Some(Decoded::Malformed(_)) | None => return Step::Bug,
            },
        };
        if self.log.verbose2() {
            let text = crate::log::insn_text(self.prog.table(), idx, &self.prog.opts.kfuncs);
            self.log.put(&format!(
                "mark_precise: frame{}: regs={} stack={} before {idx}: {text}\n",
                bt.frame,
                fmt_regs(bt.regs[bt.frame]),
                fmt_stack(bt.stack[bt.frame])
            ));
        }
        bt_sync_linked(bt, &hist);
        let step = self.backtrack_insn_inner(idx, subseq, hist, bt, insn);
        if matches!(step, Step::Ok) {
            bt_sync_linked(bt, &hist);
        }
        step
    }

    /// One instruction of `backtrack_insn`, over its decoded form.
    fn backtrack_insn_inner(
        &mut self,
        idx: usize,
        subseq: i64,
        hist: Option<HistEntry>,
        bt: &mut Bt,
        insn: Insn,
    ) -> Step {
        // the register a value comes from, unless it is the frame pointer
        let from = |s: Reg| (s != Reg::R10).then_some(s.num());
        match insn {
            Insn::Neg { .. } | Insn::Endian { .. } => {}
            Insn::Alu { op, dst, src, .. } => {
                if !bt.reg(dst.num()) {
                    return Step::Ok;
                }
                if op == AluOp::Mov {
                    bt.clear(dst.num());
                }
                if let Src::Reg(s) = src
                    && let Some(s) = from(s)
                {
                    bt.set(s);
                }
            }
            Insn::MovSx { dst, src, .. }
            | Insn::AddrSpaceCast { dst, src, .. }
            | Insn::MovPercpu { dst, src } => {
                if !bt.reg(dst.num()) {
                    return Step::Ok;
                }
                bt.clear(dst.num());
                if let Some(s) = from(src) {
                    bt.set(s);
                }
            }
            Insn::StackArgLoad { dst, pos } => {
                if !bt.reg(dst.num()) {
                    return Step::Ok;
                }
                bt.clear(dst.num());
                // an incoming load: the slot lives in the caller's frame
                let Some(caller) = bt.frame.checked_sub(1) else { return Step::Bug };
                bt.sa[caller] |= crate::calls::stack_args::slot_bit(pos);
            }
            Insn::Load { dst, .. } => {
                if !bt.reg(dst.num()) {
                    return Step::Ok;
                }
                bt.clear(dst.num());
                if let Some((fr, spi)) = hist.and_then(|h| h.stack)
                    && let Some(m) = bt.stack.get_mut(fr as usize)
                {
                    *m |= 1 << spi.min(63);
                }
            }
            Insn::Atomic { op: AtomicOp::LoadAcquire, dst, .. } => {
                if bt.reg(dst.num()) {
                    bt.clear(dst.num());
                }
            }
            Insn::StackArgStore { pos, src } => {
                let bit = crate::calls::stack_args::slot_bit(pos);
                if bt.sa[bt.frame] & bit != 0 {
                    bt.sa[bt.frame] &= !bit;
                    if let Src::Reg(r) = src {
                        bt.set(r.num());
                    }
                }
            }
            Insn::Store { dst, src, .. } => return self.backtrack_store(bt, hist, dst, src),
            Insn::Atomic { dst, src, .. } => return self.backtrack_store(bt, hist, dst, Src::Reg(src)),
            Insn::Call(CallTarget::Local(imm)) => {
                let callee =
                    SlotIdx::new(idx).jump(imm as i64).and_then(|t| self.prog.info.subprogs.starting_at(t));
                if callee.is_some_and(|c| self.subs.stack_args.global.get(c).copied().unwrap_or(false)) {
                    // a global call was not entered: it only defined r0 (r1-r5 are dead after it)
                    if bt.regs[bt.frame] & 0x3e != 0 {
                        return Step::Bug;
                    }
                    bt.clear(0);
                } else {
                    // "static subprog leftover stack arg slots" is the sa[] part
                    if bt.regs[bt.frame] & !0x3e != 0 || bt.stack[bt.frame] != 0 || bt.sa[bt.frame] != 0 {
                        return Step::Bug;
                    }
                    if bt.frame == 0 {
                        return Step::Bug;
                    }
                    for r in 1..=5u8 {
                        if bt.reg(r) {
                            bt.clear(r);
                            bt.regs[bt.frame - 1] |= 1 << r;
                        }
                    }
                    bt.frame -= 1;
                }
            }
            Insn::Exit => {
                // leaving a callback backwards into the call that invoked it: the caller's r1-r5
                // stay to be found before that call (the running kernel neither drops them nor
                // calls them a bug: its log keeps them up to the parent state)
                let to_callback_call = usize::try_from(subseq)
                    .ok()
                    .and_then(|s| self.prog.info.cfg.marks.get(s))
                    .is_some_and(|m| m.calls_callback);
                if !to_callback_call && bt.regs[bt.frame] & 0x3e != 0 {
                    return Step::Bug;
                }
                let after_local_call = subseq >= 1
                    && matches!(
                        self.prog.table.insn((subseq - 1) as usize),
                        Ok(Insn::Call(CallTarget::Local(_)))
                    );
                let r0 = after_local_call && bt.reg(0);
                bt.clear(0);
                bt.frame += 1;
                if bt.frame >= bt.regs.len() {
                    return Step::Bug;
                }
                if r0 {
                    bt.set(0);
                }
            }
            Insn::Call(CallTarget::Helper(id))
                if idx as i64 != subseq - 1
                    && kbpf_isa::BpfFunc::from_id(id).is_some_and(kbpf_isa::BpfFunc::calls_sync_callback) =>
            {
                // leaving a callback's frame backwards, into the helper call that queued it:
                // r1-r5 of the callback are not the helper's arguments
                if bt.regs[bt.frame] & !0x3e != 0 {
                    return Step::Bug;
                }
                if bt.stack[bt.frame] != 0 {
                    return Step::NotSupp;
                }
                bt.regs[bt.frame] = 0;
                if bt.frame == 0 {
                    return Step::Bug;
                }
                bt.frame -= 1;
            }
            Insn::Call(_) | Insn::Callx { .. } => {
                bt.clear(0);
                if bt.regs[bt.frame] & 0x3e != 0 {
                    return Step::Bug;
                }
            }
            Insn::Jmp { dst, src: Src::Reg(s), .. } => {
                if bt.reg(dst.num()) || bt.reg(s.num()) {
                    bt.set(s.num());
                    bt.set(dst.num());
                }
            }
            Insn::Jmp { .. } | Insn::Ja { .. } | Insn::Gotol { .. } | Insn::MayGoto { .. } => {}
            Insn::LdImm64 { dst, .. } => {
                if bt.reg(dst.num()) {
                    bt.clear(dst.num());
                }
            }
            Insn::LdAbs { .. } | Insn::LdInd { .. } => {
                // the kernel reads the (zero) destination field: r0
                if bt.reg(0) {
                    bt.clear(0);
                    return Step::NotSupp;
                }
            }
        }
        Step::Ok
    }

    /// A store's part of `backtrack_insn`: through a register tracked precise it is not
    /// supported; a spill to a tracked stack slot makes its source precise.
    fn backtrack_store(&mut self, bt: &mut Bt, hist: Option<HistEntry>, base: Reg, src: Src) -> Step {
        if bt.reg(base.num()) {
            return Step::NotSupp;
        }
        let Some((fr, spi)) = hist.and_then(|h| h.stack) else { return Step::Ok };
        let Some(m) = bt.stack.get_mut(fr as usize) else { return Step::Ok };
        if *m & (1 << spi.min(63)) == 0 {
            return Step::Ok;
        }
        *m &= !(1 << spi.min(63));
        if let Src::Reg(s) = src {
            bt.set(s.num());
        }
        Step::Ok
    }

    /// `mark_chain_precision` for register `regno` of the current frame.
    pub(crate) fn mark_chain_precision(&mut self, regno: u8) {
        if !self.prog.opts.privileged || regno > 10 {
            return;
        }
        if self.cur.cur().regs[regno as usize].ty != RegType::Scalar {
            return;
        }
        let nframes = self.cur.frames.len();
        let mut bt = Bt::new(nframes);
        bt.set(regno);
        self.backtrack(bt);
    }

    /// `propagate_precision`: everything precise in checkpoint `old` must be precise along the
    /// current path too. Returns whether any ancestor changed.
    pub(crate) fn propagate_precision(&mut self, old: &VerifierState) -> bool {
        if !self.prog.opts.privileged {
            return false;
        }
        let nframes = self.cur.frames.len();
        let mut bt = Bt::new(nframes);
        // innermost frame first, as the kernel logs them
        for (fr, f) in old.frames.iter().enumerate().take(nframes).rev() {
            let mut first = true;
            for (r, reg) in f.regs.iter().enumerate().take(10) {
                if reg.ty != RegType::Scalar || !reg.precise {
                    continue;
                }
                bt.regs[fr] |= 1 << r;
                if self.log.verbose2() {
                    if first {
                        self.log.put(&format!("frame {fr}: propagating r{r}"));
                        first = false;
                    } else {
                        self.log.put(&format!(",r{r}"));
                    }
                }
            }
            bt.sa[fr] |= crate::calls::stack_args::precise_slots(f);
            for (spi, s) in f.stack.iter().enumerate().take(64) {
                if !(s.is_spill() && s.spilled.ty == RegType::Scalar && s.spilled.precise) {
                    continue;
                }
                bt.stack[fr] |= 1 << spi;
                if self.log.verbose2() {
                    let off = -((spi as i64 + 1) * 8);
                    if first {
                        self.log.put(&format!("frame {fr}: propagating fp{off}"));
                        first = false;
                    } else {
                        self.log.put(&format!(",fp{off}"));
                    }
                }
            }
            if !first && self.log.verbose2() {
                self.log.put("\n");
            }
        }
        if bt.empty() {
            return false;
        }
        self.backtrack(bt)
    }

    /// `mark_stack_arg_precision`: outgoing slot `spi` of the current frame needs precision.
    pub(crate) fn mark_stack_arg_precision(&mut self, spi: usize) {
        if !self.prog.opts.privileged || spi >= crate::protos::func_info::MAX_STACK_ARG_SLOTS {
            return;
        }
        let nframes = self.cur.frames.len();
        let mut bt = Bt::new(nframes);
        bt.sa[nframes - 1] |= 1 << spi;
        self.backtrack(bt);
    }

    /// Marks stack slot `spi` of frame `fr` as needing precision.
    pub(crate) fn mark_stack_precision(&mut self, fr: usize, spi: usize) {
        if !self.prog.opts.privileged {
            return;
        }
        let nframes = self.cur.frames.len();
        let mut bt = Bt::new(nframes);
        if fr < nframes && spi < 64 {
            bt.stack[fr] |= 1 << spi;
            self.backtrack(bt);
        }
    }

    fn backtrack(&mut self, mut bt: Bt) -> bool {
        let mut changed = false;
        // the current state is walked from its history; ancestors are checkpoints in the arena
        let mut st_hist: Vec<HistEntry> = self.cur.jmp_history.clone();
        let mut first_idx = self.cur.first_insn_idx.index();
        let mut last_idx = self.cur.insn_idx.index() as i64;
        let mut parent = self.cur.parent;
        let mut subseq: i64 = -1;
        let mut skip_first = true;
        loop {
            if self.log.verbose2() {
                self.log.put(&format!(
                    "mark_precise: frame{}: last_idx {last_idx} first_idx {first_idx} subseq_idx {subseq} \n",
                    bt.frame
                ));
            }
            let mut cnt = st_hist.len();
            let mut i = last_idx;
            loop {
                if i < 0 || i as usize >= self.prog.table.len() {
                    self.mark_all_precise();
                    return true;
                }
                if skip_first {
                    skip_first = false;
                } else {
                    let h = hist_for(&st_hist, cnt, i as usize);
                    match self.backtrack_insn(i as usize, subseq, h, &mut bt) {
                        Step::Ok => {}
                        Step::NotSupp | Step::Bug => {
                            self.mark_all_precise();
                            return true;
                        }
                    }
                }
                if bt.empty() {
                    return changed;
                }
                subseq = i;
                // get_prev_insn_idx
                let iu = i as usize;
                if iu == first_idx && (cnt == 0 || (cnt == 1 && st_hist[0].idx.index() == iu)) {
                    break;
                }
                if cnt > 0 && st_hist[cnt - 1].idx.index() == iu {
                    i = st_hist[cnt - 1].prev_idx.index() as i64;
                    cnt -= 1;
                } else {
                    i -= 1;
                }
            }
            let Some(p) = parent else { break };
            let Some(cp) = self.arena.get_mut(p) else { break };
            let st: &mut VerifierState = &mut cp.st;
            for fr in (0..=bt.frame).rev() {
                let Some(func) = st.frames.get_mut(fr) else { continue };
                for r in 0..11 {
                    if bt.regs[fr] & (1 << r) == 0 {
                        continue;
                    }
                    let reg = &mut func.regs[r];
                    if reg.ty != RegType::Scalar || reg.precise {
                        bt.regs[fr] &= !(1 << r);
                    } else {
                        reg.precise = true;
                        changed = true;
                    }
                }
                changed |= crate::calls::stack_args::mark_parent_slots(func, &mut bt.sa[fr]);
                for spi in 0..64 {
                    if bt.stack[fr] & (1 << spi) == 0 {
                        continue;
                    }
                    // read first: the parent's stack may be shared, unshare it only to mark
                    match func.stack.get(spi) {
                        Some(slot) if slot.is_spill() && slot.spilled.ty == RegType::Scalar => {
                            if slot.spilled.precise {
                                bt.stack[fr] &= !(1 << spi);
                            } else {
                                func.stack[spi].spilled.precise = true;
                                changed = true;
                            }
                        }
                        _ => bt.stack[fr] &= !(1 << spi),
                    }
                }
            }
            if self.log.verbose2() {
                let st = self.arena[p].st.clone();
                for fr in (0..=bt.frame).rev() {
                    self.log.put(&format!(
                        "mark_precise: frame{fr}: parent state regs={} stack={}: ",
                        fmt_regs(bt.regs[fr]),
                        fmt_stack(bt.stack[fr])
                    ));
                    let maps = self.prog.opts.maps.clone();
                    self.log.print_state(&st, fr, true, &maps);
                }
            }
            if bt.empty() {
                return changed;
            }
            let st = &self.arena[p].st;
            subseq = first_idx as i64;
            last_idx = st.last_insn_idx.index() as i64;
            first_idx = st.first_insn_idx.index();
            st_hist = st.jmp_history.clone();
            parent = st.parent;
        }
        if !bt.empty() {
            self.mark_all_precise();
            changed = true;
        }
        changed
    }

    /// Fallback: every scalar in every ancestor checkpoint becomes precise
    /// (`mark_all_scalars_precise`).
    pub(crate) fn mark_all_precise(&mut self) {
        let v2 = self.log.verbose2();
        let mut text = String::new();
        if v2 {
            text.push_str(&format!(
                "mark_precise: frame{}: falling back to forcing all scalars precise\n",
                self.cur.curframe()
            ));
        }
        let mut p = self.cur.parent;
        while let Some(i) = p {
            let Some(cp) = self.arena.get_mut(i) else { break };
            for (fi, f) in cp.st.frames.iter_mut().enumerate() {
                crate::calls::stack_args::mark_slots_precise(f);
                for (ri, r) in f.regs.iter_mut().enumerate().take(10) {
                    if r.ty == RegType::Scalar && !r.precise {
                        r.precise = true;
                        if v2 {
                            text.push_str(&format!(
                                "force_precise: frame{fi}: forcing r{ri} to be precise\n"
                            ));
                        }
                    }
                }
                for (si, s) in f.stack.iter_mut().enumerate() {
                    if s.is_spill() && s.spilled.ty == RegType::Scalar && !s.spilled.precise {
                        s.spilled.precise = true;
                        if v2 {
                            let off = -((si as i64 + 1) * SLOT as i64);
                            text.push_str(&format!(
                                "force_precise: frame{fi}: forcing fp{off} to be precise\n"
                            ));
                        }
                    }
                }
            }
            p = cp.st.parent;
        }
        self.log.put(&text);
    }
}
