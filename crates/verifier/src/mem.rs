//! Memory access checks (`check_mem_access` and friends): stack (fixed and variable offsets,
//! spills and fills), context, map values, packets and sized memory.

use crate::alu::{RegOp, tnum_short};
use crate::do_check::Env;
use crate::messages::{Bug, Reject, TypeName};
use crate::prog_types::{CtxAccess, CtxField};
use crate::state::{MAX_BPF_STACK, MAX_VAR_OFF, MAYBE_NULL, RDONLY, RegState, RegType, SLOT, SlotType};
use crate::tnum::Tnum;
use kbpf_isa::{AtomicOp, Class, Mode, RawInsn};
use kbpf_passes::Errno;

impl Env<'_> {
    /// LDX (`check_load_mem`).
    pub(crate) fn check_load_mem(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        self.check_reg_arg(insn.src, RegOp::Src)?;
        self.check_reg_arg(insn.dst, RegOp::DstNoMark)?;
        let ldsx = insn.mode() == Some(Mode::MemSx);
        self.check_mem_access(
            idx,
            insn.src,
            insn.off as i64,
            insn.size().bytes() as i64,
            false,
            Some(insn.dst),
            ldsx,
        )
    }

    /// STX MEM (`check_store_reg`).
    pub(crate) fn check_store_reg(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        self.check_reg_arg(insn.src, RegOp::Src)?;
        self.check_reg_arg(insn.dst, RegOp::Src)?;
        self.check_mem_access(
            idx,
            insn.dst,
            insn.off as i64,
            insn.size().bytes() as i64,
            true,
            Some(insn.src),
            false,
        )
    }

    /// STX ATOMIC (`check_atomic`).
    pub(crate) fn check_atomic(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        let size = insn.size().bytes() as i64;
        match insn.atomic_op() {
            Some(op) if !op.allows_narrow() => {
                if size != 4 && size != 8 {
                    return Err(Reject::AtomicSize);
                }
                self.check_reg_arg(insn.src, RegOp::Src)?;
                self.check_reg_arg(insn.dst, RegOp::Src)?;
                if op == AtomicOp::Cmpxchg {
                    self.check_reg_arg(0, RegOp::Src)?;
                }
                if self.cur.cur().regs[insn.src as usize].is_pointer() && !self.prog.opts.privileged {
                    return Err(Reject::LeaksAddr(insn.src.into(), "into mem"));
                }
                let dty = self.cur.cur().regs[insn.dst as usize].ty;
                if !matches!(dty, RegType::Stack | RegType::MapValue | RegType::Mem) {
                    let flags = self.cur.cur().regs[insn.dst as usize].flags;
                    return Err(Reject::AtomicThrough(
                        "stores into",
                        insn.dst.into(),
                        TypeName::new(dty, flags),
                    ));
                }
                let load_reg = if op == AtomicOp::Cmpxchg {
                    Some(0u8)
                } else if op.fetches() {
                    Some(insn.src)
                } else {
                    None
                };
                // atomics are always strictly aligned; read then write, as the kernel checks it
                self.check_strict_alignment(insn.dst, insn.off as i64, size)?;
                self.check_mem_access(idx, insn.dst, insn.off as i64, size, false, load_reg, false)?;
                self.check_mem_access(idx, insn.dst, insn.off as i64, size, true, None, false)?;
                Ok(())
            }
            Some(AtomicOp::LoadAcquire) => {
                self.check_reg_arg(insn.src, RegOp::Src)?;
                self.check_reg_arg(insn.dst, RegOp::DstNoMark)?;
                let ptr = self.cur.cur().regs[insn.src as usize].clone();
                self.check_strict_alignment(insn.src, insn.off as i64, size)?;
                self.check_mem_access(idx, insn.src, insn.off as i64, size, false, Some(insn.dst), false)?;
                atomic_ptr_type_ok(&ptr, insn.src, "loads from")
            }
            Some(_) => {
                self.check_reg_arg(insn.src, RegOp::Src)?;
                self.check_reg_arg(insn.dst, RegOp::Src)?;
                let ptr = self.cur.cur().regs[insn.dst as usize].clone();
                self.check_strict_alignment(insn.dst, insn.off as i64, size)?;
                self.check_mem_access(idx, insn.dst, insn.off as i64, size, true, Some(insn.src), false)?;
                atomic_ptr_type_ok(&ptr, insn.dst, "stores into")
            }
            None => Err(Reject::AtomicOpcode(insn.imm)),
        }
    }

    /// `check_mem_access`. `value` = destination register for reads, source register for
    /// register stores, `None` for immediate stores.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_mem_access(
        &mut self,
        idx: usize,
        regno: u8,
        off: i64,
        size: i64,
        write: bool,
        value: Option<u8>,
        ldsx: bool,
    ) -> Result<(), Reject> {
        let reg = self.cur.cur().regs[regno as usize].clone();
        self.check_ptr_alignment(&reg, off, size)?;
        let off = off + reg.off as i64;
        let leak_check = |env: &Env, what: &'static str| -> Result<(), Reject> {
            if let Some(v) = value
                && write
                && !env.prog.opts.privileged
                && env.cur.cur().regs[v as usize].is_pointer()
            {
                return Err(Reject::LeaksAddr(v.into(), what));
            }
            Ok(())
        };
        match reg.ty {
            RegType::MapValue if reg.flags & MAYBE_NULL == 0 => {
                leak_check(self, "into map")?;
                self.check_map_access_type(reg.map, off, size, write)?;
                self.check_map_access(regno, &reg, off, size, false)?;
                if !write && let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = match self.map_direct_read(&reg, off, size, ldsx)? {
                        Some(k) => RegState::known(k),
                        None => RegState::unknown_scalar(),
                    };
                }
            }
            RegType::MapKey => {
                if write {
                    return Err(Reject::WriteToKey(regno.into()));
                }
                let ks = self.maps().get(reg.map as usize).map_or(0, |m| m.key_size);
                self.check_mem_region_access(regno, &reg, off, size, ks, false)?;
                if let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            RegType::Mem if reg.flags & MAYBE_NULL == 0 => {
                if write && reg.flags & RDONLY != 0 {
                    return Err(Reject::RegCannotWrite(regno.into(), TypeName::new(reg.ty, reg.flags)));
                }
                leak_check(self, "into mem")?;
                self.check_mem_region_access(regno, &reg, off, size, reg.mem_size, false)?;
                if let Some(v) = value
                    && (!write || reg.flags & RDONLY != 0)
                {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            RegType::Ctx => {
                leak_check(self, "into ctx")?;
                self.check_ptr_off_reg(regno)?;
                let access = CtxAccess { off, size, write, ldsx };
                let Some(field) = self.prog.opts.prog_type.ops().ctx_access(access) else {
                    return Err(Reject::CtxAccess(off, size));
                };
                if !write && let Some(v) = value {
                    let r = match field {
                        CtxField::Scalar => RegState::unknown_scalar(),
                        CtxField::Pointer(t) => RegState::pointer(t),
                        CtxField::PointerOrNull(t) => {
                            let mut r = RegState::pointer(t);
                            r.flags = MAYBE_NULL;
                            r.id = self.new_id();
                            r
                        }
                    };
                    self.cur.cur_mut().regs[v as usize] = r;
                }
            }
            RegType::Stack => {
                self.check_stack_access_within_bounds(regno, &reg, off, size, write)?;
                if write {
                    self.check_stack_write(idx, regno, &reg, off, size, value)?;
                } else {
                    self.check_stack_read(regno, &reg, off, size, value)?;
                }
            }
            RegType::Packet | RegType::PacketMeta => {
                if write && !self.prog.opts.prog_type.ops().may_write_packet() {
                    return Err(Reject::CannotWrite("packet"));
                }
                leak_check(self, "into packet")?;
                self.check_packet_access(regno, &reg, off, size, false)?;
                if !write && let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            _ if reg.is_sk_pointer() && reg.flags & MAYBE_NULL == 0 => {
                if write {
                    return Err(Reject::RegCannotWrite(regno.into(), TypeName::new(reg.ty, reg.flags)));
                }
                self.check_sock_access(regno, &reg, off, size)?;
                if let Some(v) = value {
                    self.cur.cur_mut().regs[v as usize] = RegState::unknown_scalar();
                }
            }
            _ => return Err(Reject::InvalidMemAccess(regno.into(), TypeName::new(reg.ty, reg.flags))),
        }
        if !write
            && let Some(v) = value
            && size < 8
        {
            let r = &mut self.cur.cur_mut().regs[v as usize];
            if r.ty == RegType::Scalar {
                if ldsx {
                    r.coerce_to_size_sx(size as u8);
                } else {
                    r.coerce_to_size(size as u8);
                }
            }
        }
        Ok(())
    }

    /// `check_ptr_alignment` with `strict_alignment_once` (atomic instructions): every pointer
    /// kind must be aligned to the access size; packets count the 2-byte `NET_IP_ALIGN`.
    fn check_strict_alignment(&self, regno: u8, off: i64, size: i64) -> Result<(), Reject> {
        let reg = &self.cur.cur().regs[regno as usize];
        if size == 1 || reg.ty == RegType::Stack {
            return Ok(()); // stack: checked (always strictly) by check_mem_access itself
        }
        let short = tnum_short(reg.var_off);
        if reg.is_pkt_pointer() {
            let at = reg.var_off.add(Tnum::konst((2 + reg.off as i64 + off) as u64));
            if !at.is_aligned(size as u64) {
                return Err(Reject::MisalignedPacket(2, short, reg.off, off, size));
            }
            return Ok(());
        }
        let desc = match reg.ty {
            RegType::MapValue => "value ",
            RegType::Ctx => "context ",
            RegType::Sock => "sock ",
            RegType::SockCommon => "sock_common ",
            RegType::TcpSock => "tcp_sock ",
            _ => "",
        };
        let at = reg.var_off.add(Tnum::konst((reg.off as i64 + off) as u64));
        if !at.is_aligned(size as u64) {
            return Err(Reject::Misaligned(desc, short, reg.off, off as i32, size));
        }
        Ok(())
    }

    /// Stack accesses must be aligned; other pointers are not strict on x86.
    fn check_ptr_alignment(&self, reg: &RegState, off: i64, size: i64) -> Result<(), Reject> {
        if reg.ty != RegType::Stack || size == 1 {
            return Ok(());
        }
        let reg_off = reg.var_off.add(Tnum::konst((reg.off as i64 + off) as u64));
        if !reg_off.is_aligned(size as u64) {
            return Err(Reject::Misaligned("stack ", tnum_short(reg.var_off), reg.off, off as i32, size));
        }
        Ok(())
    }

    /// `check_mem_region_access`.
    pub(crate) fn check_mem_region_access(
        &self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        mem_size: u32,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        if reg.b64.smin < 0
            && (reg.b64.smin == i64::MIN
                || off.wrapping_add(reg.b64.smin) != off.wrapping_add(reg.b64.smin) as i32 as i64
                || reg.b64.smin + off < 0)
        {
            return Err(Reject::MinNegative(regno.into()));
        }
        let min = (reg.b64.smin.wrapping_add(off)) as i32 as i64;
        if let Err(e) = self.mem_access_ok(reg, min, size, mem_size, zero_ok, regno) {
            return Err(e.then(Reject::MinOutside(regno.into())));
        }
        if reg.b64.umax >= MAX_VAR_OFF as u64 {
            return Err(Reject::Unbounded(regno.into()));
        }
        let max = (reg.b64.umax as i64).wrapping_add(off) as i32 as i64;
        if let Err(e) = self.mem_access_ok(reg, max, size, mem_size, zero_ok, regno) {
            return Err(e.then(Reject::MaxOutside(regno.into())));
        }
        Ok(())
    }

    /// `__check_mem_access`: returns the first error line.
    fn mem_access_ok(
        &self,
        reg: &RegState,
        off: i64,
        size: i64,
        mem_size: u32,
        zero_ok: bool,
        regno: u8,
    ) -> Result<(), Reject> {
        let size_ok = size > 0 || (size == 0 && zero_ok);
        if off >= 0 && size_ok && off + size <= mem_size as i64 {
            return Ok(());
        }
        Err(match reg.ty {
            RegType::MapValue => Reject::MapValueAccess(mem_size, off, size),
            RegType::MapKey => Reject::MapKeyAccess(mem_size, off, size),
            RegType::Packet | RegType::PacketMeta | RegType::PacketEnd => {
                Reject::PacketAccess(off, size, regno.into(), reg.id, off, mem_size)
            }
            _ => Reject::MemAccess(mem_size, off, size),
        })
    }

    /// `check_packet_access`.
    pub(crate) fn check_packet_access(
        &self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        if reg.b64.smin < 0 {
            return Err(Reject::MinNegative(regno.into()));
        }
        if reg.range < 0 {
            return Err(Reject::PacketOutside(regno.into(), Errno::EINVAL));
        }
        if let Err(e) = self.mem_access_ok(reg, off, size, reg.range as u32, zero_ok, regno) {
            return Err(e.then(Reject::PacketOutside(regno.into(), Errno::EACCES)));
        }
        Ok(())
    }

    /// `check_stack_access_within_bounds` (also grows the stack).
    pub(crate) fn check_stack_access_within_bounds(
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
            if let Some(d) = self.search.stack_depth.get_mut(sp) {
                *d = (*d).max(depth);
            }
        }
        Ok(())
    }

    fn check_stack_write(
        &mut self,
        idx: usize,
        _regno: u8,
        ptr: &RegState,
        off: i64,
        size: i64,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        let frame = ptr.frameno as usize;
        if !ptr.var_off.is_const() {
            return self.check_stack_write_var_off(frame, ptr, off, size, value);
        }
        let off = off + ptr.var_off.value as i64;
        let slot = (-off - 1) as usize;
        let spi = slot / SLOT;
        let priv_ = self.prog.opts.privileged;
        let insn = self.prog.slots[idx];
        let is_st = insn.class() == Class::St;
        let val_reg = value.map(|v| self.cur.cur().regs[v as usize].clone());
        self.destroy_if_dynptr_stack_slot(frame, spi)?;
        self.log.scratch_stack(spi);
        let aligned = off % SLOT as i64 == 0;
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
                crate::alu::assign_scalar_id(&mut self.cur.frames[cf].regs[v as usize], &mut id_gen);
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
            self.push_hist(Some((frame as u32, spi as u32)));
        } else if val_reg.is_none() && aligned && is_st && priv_ {
            let r = RegState::known(insn.imm as i64 as u64);
            save_register_state(st, &r, size);
            self.push_hist(Some((frame as u32, spi as u32)));
        } else if let Some(r) = val_reg.as_ref().filter(|r| r.is_pointer()) {
            if size != 8 {
                return Err(Reject::InvalidSpillSize);
            }
            if frame != curframe && r.ty == RegType::Stack {
                return Err(Reject::SpillStackPtrToCaller);
            }
            save_register_state(st, r, size);
            self.push_hist(Some((frame as u32, spi as u32)));
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
                None => is_st && insn.imm == 0,
            };
            let ty = if zero { SlotType::Zero } else { SlotType::Misc };
            for i in 0..size as usize {
                st.types[(slot - i) % SLOT] = ty;
            }
            if zero && let Some(v) = value {
                self.mark_chain_precision(v);
            }
        }
        Ok(())
    }

    fn check_stack_write_var_off(
        &mut self,
        frame: usize,
        ptr: &RegState,
        off: i64,
        size: i64,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        let min_off = ptr.b64.smin + off;
        let max_off = ptr.b64.smax + off + size;
        let zero = match value {
            Some(v) => {
                let r = &self.cur.cur().regs[v as usize];
                r.is_const() && r.var_off.value == 0
            }
            None => false,
        };
        for i in min_off..max_off {
            self.destroy_if_dynptr_stack_slot(frame, ((-i - 1) as usize) / SLOT)?;
        }
        let Some(f) = self.cur.frames.get_mut(frame) else { return Err(Bug::NoFrame(frame).into()) };
        for i in min_off..max_off {
            let slot = (-i - 1) as usize;
            let spi = slot / SLOT;
            self.log.scratch_stack(spi);
            let Some(st) = f.stack.get_mut(spi) else { continue };
            if st.is_spill() || st.is_special() {
                st.spilled = RegState::not_init();
                for t in st.types.iter_mut() {
                    if *t != SlotType::Invalid {
                        *t = SlotType::Misc;
                    }
                }
            }
            let t = &mut st.types[slot % SLOT];
            if !(zero && *t == SlotType::Zero) {
                *t = SlotType::Misc;
            }
        }
        Ok(())
    }

    fn check_stack_read(
        &mut self,
        regno: u8,
        ptr: &RegState,
        off: i64,
        size: i64,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        let frame = ptr.frameno as usize;
        let _ = regno;
        if !ptr.var_off.is_const() {
            // variable offset: result is unknown unless every byte is zero
            let min_off = ptr.b64.smin + off;
            let max_off = ptr.b64.smax + off + size;
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
                            crate::alu::assign_scalar_id(&mut s.spilled, &mut id_gen);
                            r = s.spilled.clone();
                        }
                        self.search.id_gen = id_gen;
                    }
                    if 64 - reg.b64.umax.leading_zeros() as i64 > size * 8 {
                        r.id = 0;
                    }
                    self.cur.cur_mut().regs[v as usize] = r;
                    self.push_hist(Some((frame as u32, spi as u32)));
                } else {
                    let (mut spill_cnt, mut zero_cnt) = (0, 0);
                    for i in 0..size as usize {
                        match st.types[(slot - i) % SLOT] {
                            SlotType::Spill => spill_cnt += 1,
                            SlotType::Zero => zero_cnt += 1,
                            _ => {}
                        }
                    }
                    let r = if (spill_cnt == size && reg.is_const() && reg.var_off.value == 0)
                        || zero_cnt == size
                    {
                        RegState::known(0)
                    } else {
                        RegState::unknown_scalar()
                    };
                    self.cur.cur_mut().regs[v as usize] = r;
                }
            } else if let Some(v) = value {
                self.cur.cur_mut().regs[v as usize] = reg;
                self.push_hist(Some((frame as u32, spi as u32)));
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
/// `atomic_ptr_type_ok` for load-acquire / store-release: not through ctx, packet or socket
/// pointers.
fn atomic_ptr_type_ok(reg: &RegState, regno: u8, what: &'static str) -> Result<(), Reject> {
    if matches!(reg.ty, RegType::Ctx) || reg.is_pkt_pointer() || reg.is_sk_pointer() {
        return Err(Reject::AtomicThrough(what, regno.into(), TypeName::new(reg.ty, reg.flags)));
    }
    Ok(())
}

fn save_register_state(st: &mut crate::state::StackSlot, r: &RegState, size: i64) {
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
