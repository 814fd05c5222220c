//! Helper arguments (`check_func_arg`, `check_helper_mem_access`): one argument kind of the
//! prototype against one register.

use super::helper::{HelperAccess, Meta};
use crate::check::alu::RegOp;
use crate::domain::state::{MAYBE_NULL, RDONLY, RINGBUF, RegState, RegType, SLOT, SlotType};
use crate::env::ctx::Call;
use crate::messages::{BtfReject, Bug, CallReject, Reject, TypeName};
use crate::protos::helpers::Arg;

impl Call<'_, '_> {
    pub(super) fn check_func_arg(
        &mut self,
        regno: u8,
        arg: Arg,
        meta: &mut Meta,
        pkt_access: bool,
    ) -> Result<(), Reject> {
        if arg == Arg::DontCare {
            return Ok(());
        }
        self.check_reg_arg(regno, RegOp::Src)?;
        let reg = self.cur.cur().regs[regno as usize].clone();
        if arg == Arg::Anything {
            if reg.is_pointer() && !self.prog.opts.privileged {
                return Err(Reject::LeaksAddr(regno.into(), "into helper function"));
            }
            return Ok(());
        }
        if reg.is_pkt_pointer() && !pkt_access {
            return Err(CallReject::HelperPktAccess.into());
        }
        let is_null = reg.is_const() && reg.var_off.value == 0;
        // bpf_kptr_xchg's destination may be inside a referenced object: not the reference
        // the call works on
        if reg.ref_obj_id != 0 && arg != Arg::KptrXchgDest {
            if meta.ref_obj_id != 0 {
                return Err(Bug::TwoRefArgs { regno, have: reg.ref_obj_id, first: meta.ref_obj_id }.into());
            }
            meta.ref_obj_id = reg.ref_obj_id;
        }
        const MEM_TYPES: [&str; 9] =
            ["fp", "pkt", "pkt_meta", "map_key", "map_value", "mem", "ringbuf_mem", "buf", "trusted_ptr_"];
        match arg {
            Arg::ConstMapPtr => {
                // a map-in-map lookup's result is a map pointer only once null-checked
                if reg.ty != RegType::ConstMapPtr || reg.flags & MAYBE_NULL != 0 {
                    return Err(self.type_mismatch(regno, &["map_ptr"]));
                }
                // bpf_timer_init: the map must be the timer's (map_uid is 0 outside map-in-map)
                if let Some(m) = meta.map
                    && m != reg.map
                {
                    return Err(CallReject::TimerMapUid { timer: 0, map: 0 }.into());
                }
                meta.map = Some(reg.map);
            }
            // a NULL constant passed where NULL is allowed skips the type check; the kernel
            // marks it precise, as the call's checks rest on it being exactly zero
            Arg::CtxOrNull
            | Arg::MapValueOrNull
            | Arg::BtfObj { null: true, .. }
            | Arg::SocketOrNull
            | Arg::StackOrNull
                if is_null =>
            {
                self.precision().mark_chain_precision(regno);
            }
            // a callback's context: any stack pointer (fixed and variable offsets alike)
            Arg::StackOrNull => {
                if reg.ty != RegType::Stack {
                    return Err(self.type_mismatch(regno, &["fp"]));
                }
            }
            Arg::BtfObj { name, null } => self.check_btf_obj_arg(regno, &reg, name, null)?,
            Arg::Unmodelled(what) => {
                return Err(Reject::Unsupported(crate::messages::Unsupported::Feature(what)));
            }
            Arg::Ctx | Arg::CtxOrNull => {
                if reg.ty != RegType::Ctx {
                    return Err(self.type_mismatch(regno, &["ctx"]));
                }
                self.mem().check_ptr_off_reg(regno)?;
            }
            Arg::MapKey | Arg::MapValue | Arg::MapValueOrNull => {
                let ok = matches!(
                    reg.ty,
                    RegType::Stack
                        | RegType::Packet
                        | RegType::PacketMeta
                        | RegType::MapKey
                        | RegType::MapValue
                ) && reg.flags & MAYBE_NULL == 0;
                if !ok {
                    return Err(self.type_mismatch(regno, &MEM_TYPES));
                }
                let Some(m) = meta.map else {
                    return Err(Bug::NoMapForKey.into());
                };
                let def = self.maps().get(m as usize).cloned().unwrap_or_default();
                let size = if arg == Arg::MapKey { def.key_size } else { def.value_size };
                self.check_helper_mem_access(regno, size as i64, HelperAccess::Read, false)?;
                if arg == Arg::MapKey && def.kind.is_array() {
                    meta.const_key = self.constant_map_key(&reg, def.key_size);
                }
            }
            Arg::Mem { .. } | Arg::MemRw => {
                let (write, maybe_null) = match arg {
                    Arg::Mem { write, maybe_null } => (write, maybe_null),
                    _ => (true, false),
                };
                // the size argument that follows refers to this register, NULL or not
                meta.mem_regno = Some(regno);
                meta.mem_access = match arg {
                    Arg::MemRw => HelperAccess::Write,
                    _ if write => HelperAccess::Fill,
                    _ => HelperAccess::Read,
                };
                if maybe_null && is_null {
                    self.precision().mark_chain_precision(regno);
                    return Ok(());
                }
                // a trusted kernel object is memory a helper may read, never write
                if reg.ty == RegType::BtfId && reg.flags == crate::domain::state::PTR_TRUSTED {
                    if write || arg == Arg::MemRw {
                        let t = TypeName::new(reg.ty, reg.flags);
                        return Err(BtfReject::MayWrite(meta.func_name.clone(), regno.into(), t).into());
                    }
                    return Ok(());
                }
                let ok = is_fixed_mem(&reg)
                    && (reg.ty != RegType::Mem
                        || reg.flags & !(RDONLY | RINGBUF | crate::domain::state::DYNPTR_PKT) == 0);
                if !ok {
                    return Err(self.type_mismatch(regno, &MEM_TYPES));
                }
                if write && reg.flags & RDONLY != 0 {
                    return Err(Reject::RegCannotWrite(regno.into(), TypeName::new(reg.ty, reg.flags)));
                }
            }
            Arg::ConstSize | Arg::ConstSizeOrZero => {
                let zero_ok = arg == Arg::ConstSizeOrZero;
                if reg.ty != RegType::Scalar {
                    return Err(self.type_mismatch(regno, &["scalar"]));
                }
                let mem = meta.mem_regno.unwrap_or(regno - 1);
                if reg.b64.smin < 0 {
                    return Err(Reject::SizeNegative(regno.into()));
                }
                let mem_reg = self.cur.cur().regs[mem as usize].clone();
                if reg.b64.umin == 0 && !zero_ok {
                    return Err(Reject::ZeroSizedRead(regno.into(), reg.b64.umin, reg.b64.umax));
                }
                if reg.b64.umax >= crate::domain::state::MAX_VAR_OFF as u64 {
                    return Err(Reject::SizeUnbounded(regno.into()));
                }
                meta.msize_max = reg.b64.umax;
                // check_mem_size_reg: the access first, the size's precision only once it passed
                // a size that is not a constant turns raw mode off (the kernel drops its
                // meta): the helper may fill only part, so the bytes are checked like a write
                let access = match meta.mem_access {
                    HelperAccess::Fill if !reg.var_off.is_const() => HelperAccess::Write,
                    a => a,
                };
                if !(is_null_reg(&mem_reg) && zero_ok && reg.b64.umax == 0) {
                    self.check_helper_mem_access(mem, reg.b64.umax as i64, access, zero_ok)?;
                }
                self.precision().mark_chain_precision(regno);
            }
            Arg::BtfSockCommon if reg.ty == RegType::BtfId => {
                self.check_btf_obj_arg(regno, &reg, "sock_common", false)?
            }
            Arg::BtfSockCommon => {
                if !reg.is_sk_pointer() || reg.flags & MAYBE_NULL != 0 {
                    return Err(self.type_mismatch(
                        regno,
                        &["sock_common", "sock", "tcp_sock", "xdp_sock", "ptr_", "trusted_ptr_"],
                    ));
                }
            }
            Arg::FixedMemRd(size) => {
                if !is_fixed_mem(&reg) {
                    return Err(self.type_mismatch(regno, &MEM_TYPES));
                }
                self.check_helper_mem_access(regno, size as i64, HelperAccess::Read, false)?;
            }
            Arg::FixedMem { size, aligned, uninit } => {
                if !is_fixed_mem(&reg) {
                    return Err(self.type_mismatch(regno, &MEM_TYPES));
                }
                // the access first (it grows the stack depth), then MEM_ALIGNED: strict
                // alignment whatever the program's flags
                let access = if uninit { HelperAccess::Fill } else { HelperAccess::Write };
                self.check_helper_mem_access(regno, size as i64, access, false)?;
                if aligned {
                    check_strict_alignment(&reg, size as i64)?;
                }
            }
            Arg::ConstStr => {
                if reg.ty != RegType::MapValue || reg.flags & MAYBE_NULL != 0 {
                    return Err(self.type_mismatch(regno, &["map_value"]));
                }
                self.check_reg_const_str(&reg, regno, regno as usize - 1)?;
            }
            // ARG_PTR_TO_SOCKET | PTR_MAYBE_NULL: a full socket (a NULL constant passes, above)
            Arg::SocketOrNull => {
                if reg.ty != RegType::Sock {
                    return Err(self.type_mismatch(regno, &["sock"]));
                }
            }
            Arg::SockCommon => {
                if !reg.is_sk_pointer() || reg.flags & MAYBE_NULL != 0 {
                    return Err(self.type_mismatch(regno, &["sock_common", "sock", "tcp_sock", "xdp_sock"]));
                }
            }
            Arg::ReleaseSock => {
                // a BTF socket (a bpf_skc_to_* cast sharing the lookup's reference) is released
                // like the socket it was cast from
                let btf =
                    reg.ty == RegType::BtfId && matches!(reg.flags, 0 | crate::domain::state::PTR_TRUSTED);
                if !btf && (!reg.is_sk_pointer() || reg.flags & MAYBE_NULL != 0) {
                    return Err(self.type_mismatch(
                        regno,
                        &["sock_common", "sock", "tcp_sock", "xdp_sock", "ptr_", "trusted_ptr_"],
                    ));
                }
                if btf {
                    self.check_btf_obj_arg(regno, &reg, "sock_common", false)?;
                }
                if reg.ref_obj_id == 0 && !is_null {
                    return Err(CallReject::MustBeReferenced(regno.into()).into());
                }
                meta.release_regno = Some(regno);
            }
            Arg::ReleaseRingbufMem => {
                if reg.ty != RegType::Mem || reg.flags != RINGBUF {
                    return Err(self.type_mismatch(regno, &["ringbuf_mem"]));
                }
                if reg.off != 0 {
                    return Err(CallReject::ReleaseOffset(regno.into()).into());
                }
                self.mem().check_ptr_off_reg(regno)?;
                if reg.ref_obj_id == 0 {
                    return Err(CallReject::MustBeReferenced(regno.into()).into());
                }
                meta.release_regno = Some(regno);
            }
            Arg::Dynptr { uninit, ringbuf, release } => {
                let is_const = reg.ty == RegType::ConstDynptr;
                if reg.ty != RegType::Stack && !is_const {
                    return Err(self.type_mismatch(regno, &["fp", "dynptr_ptr"]));
                }
                // check_func_arg_reg_off: a const dynptr pointer is used unmodified
                if is_const && release && reg.off != 0 {
                    return Err(CallReject::ReleaseOffset(regno.into()).into());
                }
                if is_const {
                    self.mem().check_ptr_off_reg(regno)?;
                }
                if release && is_const {
                    return Err(CallReject::ReleaseConstDynptr.into());
                }
                if release {
                    // OBJ_RELEASE: only a referenced dynptr can be released
                    let referenced = match self.stack_slot_obj_get_spi(&reg, "dynptr", 2) {
                        Ok(crate::calls::dynptr::ObjSpi::At(spi)) => self
                            .cur
                            .frames
                            .get(reg.frameno as usize)
                            .is_some_and(|f| f.stack[spi].spilled.ref_obj_id != 0),
                        _ => false,
                    };
                    if !referenced {
                        return Err(CallReject::UnacquiredRef(regno).into());
                    }
                    meta.release = Some(reg.clone());
                }
                use crate::domain::state::DynptrType;
                let ty = if ringbuf { DynptrType::Ringbuf } else { DynptrType::Local };
                let want = crate::calls::dynptr::DynptrArg {
                    uninit,
                    ty: (uninit || ringbuf).then_some(ty),
                    clone_ref_obj_id: 0,
                };
                let insn_idx = self.cur.insn_idx.index();
                self.process_dynptr_func(&reg, regno, regno as usize - 1, want, insn_idx)?;
                if !uninit {
                    meta.dynptr = self.dynptr_ids(&reg);
                    meta.dynptr_ty = self.dynptr_info(&reg).map(|(t, _, _)| t);
                }
            }
            Arg::Timer => {
                if reg.ty != RegType::MapValue || reg.flags & MAYBE_NULL != 0 {
                    return Err(self.type_mismatch(regno, &["map_value"]));
                }
                self.check_map_field_pointer(&reg, regno)?;
                meta.map = Some(reg.map);
            }
            Arg::Func => {
                if reg.ty != RegType::Func {
                    return Err(self.type_mismatch(regno, &["func"]));
                }
                meta.subprogno = Some(reg.subprogno as usize);
            }
            Arg::ConstAllocSizeOrZero => {
                if reg.ty != RegType::Scalar {
                    return Err(self.type_mismatch(regno, &["scalar"]));
                }
                if !reg.var_off.is_const() {
                    return Err(CallReject::NotKnownConst(regno.into()).into());
                }
                meta.alloc_size = reg.var_off.value as u32;
                self.precision().mark_chain_precision(regno);
            }
            Arg::SpinLock => {
                // spin_lock_types: a map value or an allocated object, not NULL
                let alloc = reg.ty == RegType::BtfId && reg.flags == crate::domain::state::MEM_ALLOC;
                if !(alloc || reg.ty == RegType::MapValue && reg.flags == 0) {
                    return Err(self.type_mismatch(regno, &["map_value", "ptr_"]));
                }
                if self.in_rbtree_cb() {
                    return Err(crate::messages::AllocReject::SpinLockInRbtreeCb.into());
                }
                let lock = meta.func == Some(crate::protos::func_id::BpfFunc::SpinLock);
                self.process_spin_lock(regno, super::locks::LockFlavor::Spin, lock, meta.insn)?;
            }
            Arg::KptrXchgDest => {
                // kptr_xchg_dest_types: a map value or an allocated object, not NULL
                let alloc = reg.ty == RegType::BtfId && reg.flags == crate::domain::state::MEM_ALLOC;
                if !(alloc || reg.ty == RegType::MapValue && reg.flags == 0) {
                    return Err(self.type_mismatch(regno, &["map_value", "ptr_"]));
                }
                meta.kptr_field = Some(self.process_kptr_func(regno, &reg)?);
            }
            Arg::KptrXchgSrc => {
                if !is_null {
                    self.check_kptr_xchg_src(regno, &reg, meta)?;
                } else {
                    self.precision().mark_chain_precision(regno);
                }
                if reg.ref_obj_id == 0 && !is_null {
                    return Err(CallReject::MustBeReferenced(regno.into()).into());
                }
                meta.release_regno = Some(regno);
            }
            Arg::PercpuBtfId => meta.percpu_btf_id = Some(self.check_percpu_btf_arg(regno, &reg)?),
            Arg::Anything | Arg::DontCare => {}
        }
        Ok(())
    }

    pub(super) fn constant_map_key(&mut self, key: &RegState, key_size: u32) -> Option<u64> {
        if !self.prog.opts.privileged || key.ty != RegType::Stack || !key.var_off.is_const() {
            return None;
        }
        let stack_off = key.off as i64 + key.var_off.value as i64;
        let slot = (-stack_off - 1) as usize;
        let spi = slot / SLOT;
        let off = slot % SLOT;
        let st = self.cur.frames.get(key.frameno as usize)?.stack.get(spi)?.clone();
        let zero = (0..=off).rev().take_while(|&i| st.types[i] == SlotType::Zero).count();
        if zero >= key_size as usize {
            return Some(0);
        }
        if !st.is_spill() || st.spilled.ty != RegType::Scalar {
            return None;
        }
        let spill = (0..=off).rev().take_while(|&i| st.types[i] == SlotType::Spill).count();
        if spill != key_size as usize || !st.spilled.var_off.is_const() {
            return None;
        }
        self.precision().mark_stack_precision(key.frameno as usize, spi);
        Some(st.spilled.var_off.value)
    }

    /// `check_helper_mem_access`.
    pub(super) fn check_helper_mem_access(
        &mut self,
        regno: u8,
        size: i64,
        access: HelperAccess,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        let reg = self.cur.cur().regs[regno as usize].clone();
        match reg.ty {
            RegType::Packet | RegType::PacketMeta => {
                self.mem().check_packet_access(regno, &reg, reg.off as i64, size, zero_ok)
            }
            RegType::BtfId => {
                self.mem().check_ptr_to_btf_access(regno, &reg, reg.off as i64, size, false, None)
            }
            RegType::MapValue => {
                self.mem().check_map_access_type(
                    reg.map,
                    reg.off as i64,
                    size,
                    access != HelperAccess::Read,
                )?;
                self.mem().check_map_access(regno, &reg, reg.off as i64, size, zero_ok, false)
            }
            RegType::Mem => {
                self.mem().check_mem_region_access(regno, &reg, reg.off as i64, size, reg.mem_size, zero_ok)
            }
            RegType::MapKey => {
                if access != HelperAccess::Read {
                    return Err(Reject::RegCannotWrite(regno.into(), TypeName::new(reg.ty, reg.flags)));
                }
                let ks = self.maps().get(reg.map as usize).map_or(0, |m| m.key_size);
                self.mem().check_mem_region_access(regno, &reg, reg.off as i64, size, ks, zero_ok)
            }
            RegType::Stack => {
                if size == 0 && !zero_ok {
                    return Err(CallReject::ZeroSizedRead.into());
                }
                let write = access != HelperAccess::Read;
                self.mem().check_stack_access_within_bounds(regno, &reg, reg.off as i64, size, write)?;
                self.check_stack_range_special(regno, &reg, size, access != HelperAccess::Read)?;
                // check_stack_range_initialized reads every slot it checks (a filled argument
                // is not checked: its bytes are written one by one)
                if access != HelperAccess::Fill {
                    let lo = if reg.var_off.is_const() { reg.var_off.value as i64 } else { reg.b64.smin };
                    let hi = if reg.var_off.is_const() { reg.var_off.value as i64 } else { reg.b64.smax };
                    let (lo, hi) = (lo + reg.off as i64, hi + reg.off as i64 + size);
                    self.live_read(reg.frameno as usize, crate::prune::liveness::slots_of(lo, hi));
                }
                // root may read uninitialized stack; a helper write clobbers the bytes
                if access != HelperAccess::Read {
                    let (min, max) = if reg.var_off.is_const() {
                        let m = reg.var_off.value as i64 + reg.off as i64;
                        (m, m)
                    } else {
                        (reg.b64.smin + reg.off as i64, reg.b64.smax + reg.off as i64)
                    };
                    let frame = reg.frameno as usize;
                    if let Some(f) = self.cur.frames.get_mut(frame) {
                        for i in min..max + size {
                            let slot = (-i - 1) as usize;
                            if let Some(st) = f.stack.get_mut(slot / SLOT) {
                                if st.is_spill() {
                                    st.spilled = RegState::unknown_scalar();
                                    for t in st.types.iter_mut() {
                                        if *t != SlotType::Invalid {
                                            *t = SlotType::Misc;
                                        }
                                    }
                                }
                                st.types[slot % SLOT] = SlotType::Misc;
                            }
                        }
                    }
                    if access == HelperAccess::Fill {
                        for i in min..max + size {
                            self.log.scratch_stack(((-i - 1) as usize) / SLOT);
                        }
                        // raw mode writes byte by byte through the stack-write path
                        if let Some(sub) = self.cur.frames.get(frame).map(|f| f.subprogno) {
                            let insn = self.cur.insn_idx.index();
                            self.subs.fastcall.check_stack_contract(self.prog, sub, insn, min);
                        }
                    }
                }
                Ok(())
            }
            _ => {
                if zero_ok && size == 0 && is_null_reg(&reg) {
                    return Ok(());
                }
                Err(Reject::ArgType(regno.into(), TypeName::new(reg.ty, reg.flags), &["fp"]))
            }
        }
    }
}

/// `check_ptr_alignment` with `strict` for a helper argument accessed at offset 0.
fn check_strict_alignment(reg: &RegState, size: i64) -> Result<(), Reject> {
    use crate::domain::tnum::Tnum;
    let short = crate::check::alu::tnum_short(reg.var_off);
    let (ip_align, desc) = match reg.ty {
        RegType::Packet | RegType::PacketMeta => (2i64, None),
        RegType::Stack => (0, Some("stack ")),
        RegType::MapValue => (0, Some("value ")),
        _ => (0, Some("")),
    };
    let at = reg.var_off.add(Tnum::konst((ip_align + reg.off as i64) as u64));
    if at.is_aligned(size as u64) {
        return Ok(());
    }
    Err(match desc {
        Some(d) => Reject::Misaligned(d, short, reg.off, 0, size),
        None => Reject::MisalignedPacket(ip_align, short, reg.off, 0, size),
    })
}

/// Register types `ARG_PTR_TO_FIXED_SIZE_MEM` takes (the memory-argument family, not NULL).
fn is_fixed_mem(reg: &RegState) -> bool {
    matches!(
        reg.ty,
        RegType::Stack
            | RegType::Packet
            | RegType::PacketMeta
            | RegType::MapKey
            | RegType::MapValue
            | RegType::Mem
    ) && reg.flags & MAYBE_NULL == 0
}

pub(super) fn is_null_reg(r: &RegState) -> bool {
    r.is_const() && r.var_off.value == 0
}
