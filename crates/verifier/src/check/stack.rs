//! Stack accesses (`check_stack_access_within_bounds`, `check_stack_write`,
//! `check_stack_read`): spills and fills of registers, fixed and variable offsets.

use crate::domain::state::{MAX_BPF_STACK, MAX_VAR_OFF, RegState, RegType, SLOT, SlotType};
use crate::env::ctx::{Mem, Stack};
use crate::messages::{Bug, Reject};
use kbpf_isa::{Insn, SlotIdx, Src};
use kbpf_passes::Errno;

/// The memory family reaches the stack through these. The dynptr family
/// (`destroy_if_dynptr_stack_slot`, on the call view) runs in the middle of a write: after the
/// written value is read, before the slot changes.
impl Mem<'_, '_> {
    /// `check_stack_access_within_bounds` (also grows the stack).
    pub(crate) fn check_stack_access_within_bounds(
        &mut self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        write: bool,
    ) -> Result<(), Reject> {
        self.stack().access_within_bounds(regno, reg, off, size, write)
    }

    /// `check_stack_write`.
    pub(super) fn check_stack_write(
        &mut self,
        idx: SlotIdx,
        _regno: u8,
        ptr: &RegState,
        off: i64,
        size: i64,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        let frame = ptr.frameno as usize;
        if !ptr.var_off.is_const() {
            let (min_off, max_off) = (ptr.b64.smin + off, ptr.b64.smax + off + size);
            // a register known to be zero, or `*(u* *)(r + off) = 0`
            let imm_zero = matches!(self.prog.decoded(idx)?, Insn::Store { src: Src::Imm(0), .. });
            let zero = self.stack().value_is_zero(value) || (value.is_none() && imm_zero);
            for i in min_off..max_off {
                self.call().destroy_if_dynptr_stack_slot(frame, ((-i - 1) as usize) / SLOT)?;
            }
            self.stack().fastcall_contract(frame, min_off);
            return self.stack().write_var_off(frame, min_off, max_off, zero, value);
        }
        let off = off + ptr.var_off.value as i64;
        let spi = ((-off - 1) as usize) / SLOT;
        let src = self.stack().write_source(idx, value);
        self.call().destroy_if_dynptr_stack_slot(frame, spi)?;
        self.stack().fastcall_contract(frame, off);
        self.stack().write_fixed(frame, off, size, value, src)
    }

    /// `check_stack_read`.
    pub(super) fn check_stack_read(
        &mut self,
        _regno: u8,
        ptr: &RegState,
        off: i64,
        size: i64,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        self.stack().read(ptr, off, size, value)
    }
}

/// What a fixed-offset write stores, read before the slot's old contents are destroyed: the
/// immediate of a `ST`, or the value register of a `STX`.
pub(crate) struct WriteSrc {
    st_imm: Option<i32>,
    val_reg: Option<RegState>,
}

impl Stack<'_, '_> {
    /// `check_stack_access_within_bounds` (also grows the stack and the subprogram's depth).
    pub(crate) fn access_within_bounds(
        &mut self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        write: bool,
    ) -> Result<(), Reject> {
        let extra = if write { " write to" } else { " read from" };
        let (min_off, max_off) = if reg.var_off.is_const() {
            let m = reg.var_off.value as i64 + off;
            (m, m + size)
        } else {
            if reg.b64.smax >= MAX_VAR_OFF || reg.b64.smin <= -MAX_VAR_OFF {
                return Err(Reject::UnboundedVarStack(extra, regno.into()));
            }
            (reg.b64.smin + off, reg.b64.smax + off + size)
        };
        let errno = if !(-MAX_BPF_STACK..=-1).contains(&min_off) {
            Some(Errno::EACCES)
        } else if max_off > 0 {
            Some(Errno::EINVAL)
        } else {
            None
        };
        if let Some(e) = errno {
            return Err(if reg.var_off.is_const() {
                Reject::InvalidStack(extra, regno.into(), off, size, e)
            } else {
                Reject::InvalidVarStack(extra, regno.into(), reg.var_off.to_string(), off, size, e)
            });
        }
        let frame = reg.frameno as usize;
        if let Some(f) = self.cur.frames.get_mut(frame) {
            f.grow_stack((-min_off) as usize);
            let sp = f.subprogno;
            let depth = f.allocated_stack() as u32;
            if let Some(d) = self.subs.stack_depth.get_mut(sp) {
                *d = (*d).max(depth);
            }
        }
        Ok(())
    }

    /// `check_fastcall_stack_contract` for an access at `off` of `frame`'s subprogram.
    pub(crate) fn fastcall_contract(&mut self, frame: usize, off: i64) {
        let Some(sub) = self.cur.frames.get(frame).map(|f| f.subprogno) else { return };
        let insn = self.cur.insn_idx.index();
        self.subs.fastcall.check_stack_contract(self.prog, sub, insn, off);
    }

    /// The value a fixed-offset write at `idx` stores.
    fn write_source(&self, idx: SlotIdx, value: Option<u8>) -> WriteSrc {
        // an immediate store (ST) spills its immediate
        let st_imm = match self.prog.table.insn(idx.index()) {
            Ok(Insn::Store { src: Src::Imm(imm), .. }) => Some(imm),
            _ => None,
        };
        let val_reg = value.map(|v| self.cur.cur().regs[v as usize].clone());
        WriteSrc { st_imm, val_reg }
    }

    /// `check_stack_write_fixed_off` after the overwritten slot's dynptr is gone: a spill of a
    /// scalar, an immediate or a pointer, or bytes that become misc or zero.
    fn write_fixed(
        &mut self,
        frame: usize,
        off: i64,
        size: i64,
        value: Option<u8>,
        src: WriteSrc,
    ) -> Result<(), Reject> {
        let slot = (-off - 1) as usize;
        let spi = slot / SLOT;
        let priv_ = self.prog.opts.privileged;
        let WriteSrc { st_imm, val_reg } = src;
        let aligned = off % SLOT as i64 == 0;
        // only a whole aligned slot counts as overwritten
        if aligned && size == SLOT as i64 {
            self.live_write(frame, 1 << spi);
        }
        self.log.scratch_stack(spi);
        let curframe = self.cur.curframe();
        let Some(f) = self.cur.frames.get_mut(frame) else {
            return Err(Bug::FrameOutOfRange.into());
        };
        let Some(st) = f.stack.get_mut(spi) else {
            return Err(Bug::SlotOutOfRange.into());
        };
        if let Some(r) = val_reg.as_ref().filter(|r| r.ty == RegType::Scalar && aligned && priv_) {
            let mut r = r.clone();
            let width = 64 - r.b64.umax.leading_zeros() as i64;
            let fits = width <= 8 * size;
            if fits && let Some(v) = value {
                let mut id_gen = self.search.id_gen;
                let cf = self.cur.curframe();
                crate::check::alu::assign_scalar_id(&mut self.cur.frames[cf].regs[v as usize], &mut id_gen);
                self.search.id_gen = id_gen;
                r = self.cur.frames[cf].regs[v as usize].clone();
            }
            let Some(st) = self.cur.frames.get_mut(frame).and_then(|f| f.stack.get_mut(spi)) else {
                return Err(Bug::SlotOutOfRange.into());
            };
            save_register_state(st, &r, size);
            if !fits {
                st.spilled.id = 0;
            }
            self.walk().push_hist(Some((frame as u32, spi as u32)));
        } else if let Some(imm) = st_imm.filter(|_| val_reg.is_none() && aligned && priv_) {
            let r = RegState::known(imm as i64 as u64);
            save_register_state(st, &r, size);
            self.walk().push_hist(Some((frame as u32, spi as u32)));
        } else if let Some(r) = val_reg.as_ref().filter(|r| r.is_pointer()) {
            if size != 8 {
                return Err(Reject::InvalidSpillSize);
            }
            if frame != curframe && r.ty == RegType::Stack {
                return Err(Reject::SpillStackPtrToCaller);
            }
            save_register_state(st, r, size);
            self.walk().push_hist(Some((frame as u32, spi as u32)));
        } else {
            st.spilled = RegState::not_init();
            if st.is_spill() || st.is_special() {
                for t in st.types.iter_mut() {
                    if *t != SlotType::Invalid {
                        *t = SlotType::Misc;
                    }
                }
            }
            let zero = match &val_reg {
                Some(r) => r.is_const() && r.var_off.value == 0,
                None => st_imm == Some(0),
            };
            let ty = if zero { SlotType::Zero } else { SlotType::Misc };
            for i in 0..size as usize {
                st.types[(slot - i) % SLOT] = ty;
            }
            if zero && let Some(v) = value {
                self.precision().mark_chain_precision(v);
            }
        }
        Ok(())
    }

    /// Whether the written register holds a known zero.
    fn value_is_zero(&self, value: Option<u8>) -> bool {
        match value {
            Some(v) => {
                let r = &self.cur.cur().regs[v as usize];
                r.is_const() && r.var_off.value == 0
            }
            None => false,
        }
    }

    /// `check_stack_write_var_off` after the dynptrs in `min_off..max_off` are gone. A zero
    /// written over a spilled scalar zero or a zero byte leaves it zero, and then the written
    /// register's value matters: it is marked precise (the kernel's `zero_used`; a zero byte's
    /// history is not tracked, so the whole chain to the register's origin becomes precise).
    fn write_var_off(
        &mut self,
        frame: usize,
        min_off: i64,
        max_off: i64,
        zero: bool,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        let Some(f) = self.cur.frames.get_mut(frame) else { return Err(Bug::NoFrame(frame).into()) };
        let mut zero_used = false;
        for i in min_off..max_off {
            let slot = (-i - 1) as usize;
            let spi = slot / SLOT;
            self.log.scratch_stack(spi);
            let Some(st) = f.stack.get_mut(spi) else { continue };
            if zero
                && st.types[slot % SLOT] == SlotType::Spill
                && st.is_spill()
                && st.spilled.ty == RegType::Scalar
                && st.spilled.is_const()
                && st.spilled.var_off.value == 0
            {
                zero_used = true;
                continue;
            }
            if st.is_spill() || st.is_special() {
                st.spilled = RegState::not_init();
                for t in st.types.iter_mut() {
                    if *t != SlotType::Invalid {
                        *t = SlotType::Misc;
                    }
                }
            }
            let t = &mut st.types[slot % SLOT];
            if zero && *t == SlotType::Zero {
                zero_used = true;
            } else {
                *t = SlotType::Misc;
            }
        }
        if zero_used && let Some(v) = value {
            self.precision().mark_chain_precision(v);
        }
        Ok(())
    }

    /// `check_stack_read`: a fill of a spilled register, or bytes read as zero or unknown.
    fn read(&mut self, ptr: &RegState, off: i64, size: i64, value: Option<u8>) -> Result<(), Reject> {
        let frame = ptr.frameno as usize;
        if !ptr.var_off.is_const() {
            // variable offset: result is unknown unless every byte is zero
            let min_off = ptr.b64.smin + off;
            let max_off = ptr.b64.smax + off + size;
            self.fastcall_contract(frame, min_off);
            self.live_read(frame, crate::prune::liveness::slots_of(min_off, max_off));
            let Some(f) = self.cur.frames.get(frame) else { return Err(Bug::NoFrame(frame).into()) };
            let mut all_zero = true;
            for i in min_off..max_off {
                let slot = (-i - 1) as usize;
                self.log.scratch_stack(slot / SLOT);
                let t = f.stack.get(slot / SLOT).map_or(SlotType::Invalid, |s| s.types[slot % SLOT]);
                if t != SlotType::Zero {
                    all_zero = false;
                }
            }
            if let Some(v) = value {
                self.cur.cur_mut().regs[v as usize] =
                    if all_zero { RegState::known(0) } else { RegState::unknown_scalar() };
            }
            return Ok(());
        }
        let off = off + ptr.var_off.value as i64;
        let slot = (-off - 1) as usize;
        let spi = slot / SLOT;
        self.log.scratch_stack(spi);
        // a fixed-offset read checks the contract of the current frame's subprogram
        self.fastcall_contract(self.cur.curframe(), off);
        self.live_read(frame, 1 << spi);
        let Some(st) = self.cur.frames.get(frame).and_then(|f| f.stack.get(spi)).cloned() else {
            return Err(Bug::SlotOutOfRange.into());
        };
        if st.is_spill() {
            let mut spill_size = 1;
            let mut i = SLOT - 1;
            while i > 0 && st.types[i - 1] == SlotType::Spill {
                spill_size += 1;
                i -= 1;
            }
            let reg = st.spilled.clone();
            if size != 8 || spill_size != 8 {
                if reg.ty != RegType::Scalar {
                    return Err(Reject::InvalidFillSize);
                }
                let Some(v) = value else { return Ok(()) };
                if size <= spill_size && off % SLOT as i64 == 0 {
                    let mut r = reg.clone();
                    if self.prog.opts.privileged
                        && size == 4
                        && spill_size == 4
                        && 64 - reg.b64.umax.leading_zeros() <= 32
                    {
                        let mut id_gen = self.search.id_gen;
                        if let Some(s) = self.cur.frames.get_mut(frame).and_then(|f| f.stack.get_mut(spi)) {
                            crate::check::alu::assign_scalar_id(&mut s.spilled, &mut id_gen);
                            r = s.spilled.clone();
                        }
                        self.search.id_gen = id_gen;
                    }
                    if 64 - reg.b64.umax.leading_zeros() as i64 > size * 8 {
                        r.id = 0;
                    }
                    self.cur.cur_mut().regs[v as usize] = r;
                    self.walk().push_hist(Some((frame as u32, spi as u32)));
                } else {
                    let (mut spill_cnt, mut zero_cnt) = (0, 0);
                    for i in 0..size as usize {
                        match st.types[(slot - i) % SLOT] {
                            SlotType::Spill => spill_cnt += 1,
                            SlotType::Zero => zero_cnt += 1,
                            _ => {}
                        }
                    }
                    let spilled_zero = spill_cnt == size && reg.is_const() && reg.var_off.value == 0;
                    let r = if spilled_zero || zero_cnt == size {
                        RegState::known(0)
                    } else {
                        RegState::unknown_scalar()
                    };
                    self.cur.cur_mut().regs[v as usize] = r;
                    // a narrow fill of a spilled zero is still a fill: the history names the
                    // slot, so precision reaches the spill (STACK_ZERO bytes were made
                    // precise when written)
                    if spilled_zero {
                        self.walk().push_hist(Some((frame as u32, spi as u32)));
                    }
                }
            } else if let Some(v) = value {
                self.cur.cur_mut().regs[v as usize] = reg;
                self.walk().push_hist(Some((frame as u32, spi as u32)));
            }
        } else if let Some(v) = value {
            let f = &self.cur.frames[frame];
            // dynptr and iterator bytes are never readable as data
            for i in 0..size {
                let sl = (-(off + i) - 1) as usize;
                let t = f.stack.get(sl / SLOT).map_or(SlotType::Invalid, |s| s.types[sl % SLOT]);
                if matches!(t, SlotType::Dynptr | SlotType::Iter) {
                    return Err(Reject::InvalidStackRead(off, i, size));
                }
            }
            let mut zeros = true;
            for i in off..off + size {
                let sl = (-i - 1) as usize;
                let t = f.stack.get(sl / SLOT).map_or(SlotType::Invalid, |s| s.types[sl % SLOT]);
                if t != SlotType::Zero {
                    zeros = false;
                    break;
                }
            }
            self.cur.cur_mut().regs[v as usize] =
                if zeros { RegState::known(0) } else { RegState::unknown_scalar() };
        }
        Ok(())
    }
}

/// `save_register_state`: the low `size` bytes become a spill of `r`.
fn save_register_state(st: &mut crate::domain::state::StackSlot, r: &RegState, size: i64) {
    st.spilled = r.clone();
    let size = size.clamp(1, 8) as usize;
    for i in (SLOT - size)..SLOT {
        st.types[i] = SlotType::Spill;
    }
    for t in st.types[..SLOT - size].iter_mut() {
        if *t != SlotType::Zero && *t != SlotType::Invalid {
            *t = SlotType::Misc;
        }
    }
}
