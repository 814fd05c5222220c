//! Calls: helpers through the prototype table (`check_helper_call`, `check_func_arg`), static
//! bpf-to-bpf calls (`check_func_call`, `prepare_func_exit`).

use crate::MapKind;
use crate::alu::RegOp;
use crate::do_check::Env;
use crate::func_id::BpfFunc;
use crate::helper_names::helper_name;
use crate::helpers::{
    Arg, Ret, changes_pkt_data, helper_pkt_access, is_acquire_function, is_ptr_cast_function,
};
use crate::messages::{Bug, CallReject, Reject, TypeName};
use crate::state::{FuncState, MAYBE_NULL, RDONLY, RINGBUF, RegState, RegType, SLOT, SlotType};
use kbpf_isa::RawInsn;

/// How a helper uses a memory argument: read; written in place (`MEM_WRITE`: bounds checked as
/// a write and the stack bytes clobbered to unknown data, `check_stack_range_initialized`'s
/// `clobber`); or filled (`MEM_UNINIT`, `meta.raw_mode`: clobbered byte by byte through
/// `check_mem_access`, which the log shows as touched slots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum HelperAccess {
    #[default]
    Read,
    Write,
    Fill,
}

#[derive(Default)]
struct Meta {
    map: Option<u32>,
    const_key: Option<u64>,
    mem_regno: Option<u8>,
    mem_access: HelperAccess,
    /// Reference carried by an argument (`meta.ref_obj_id`).
    ref_obj_id: u32,
    /// Argument released by the helper (`meta.release_regno`).
    release_regno: Option<u8>,
    /// Largest size a size argument allowed (`meta.msize_max_value`).
    msize_max: u64,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`.
    alloc_size: u32,
    /// The initialized dynptr argument: (id, ref_obj_id).
    dynptr: Option<(u32, u32)>,
    /// Its type.
    dynptr_ty: Option<crate::state::DynptrType>,
    /// The dynptr an `OBJ_RELEASE` argument releases.
    release: Option<RegState>,
    /// The callback of an `ARG_PTR_TO_FUNC` argument (`meta.subprogno`).
    subprogno: Option<usize>,
}

impl Env<'_> {
    fn type_mismatch(&self, regno: u8, expected: &'static [&'static str]) -> Reject {
        let r = &self.cur.cur().regs[regno as usize];
        Reject::ArgType(regno.into(), TypeName::new(r.ty, r.flags), expected)
    }

    /// `check_helper_call`.
    pub(crate) fn check_helper_call(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        let id = insn.imm;
        let Some(func) = BpfFunc::from_id(id) else {
            return Err(Reject::InvalidFunc(helper_name(id).unwrap_or_else(|| "unknown".into()), id));
        };
        let name = helper_name(id).unwrap_or_default();
        let ops = self.prog.opts.prog_type.ops();
        let Some(proto) = ops.func_proto(func) else {
            return Err(Reject::HelperNotAllowed(name, id));
        };
        if proto.gpl_only && !self.prog.opts.gpl {
            return Err(CallReject::GplOnly.into());
        }
        if crate::helpers::helper_might_sleep(func) && !ops.sleepable() {
            return Err(CallReject::MightSleep.into());
        }
        let mut meta = Meta::default();
        for (i, arg) in proto.args.iter().enumerate() {
            self.check_func_arg(i as u8 + 1, *arg, &mut meta, helper_pkt_access(func))?;
        }
        self.record_func_map(func, &meta)?;
        if func == BpfFunc::TailCall {
            self.record_func_key(&meta);
        }
        if let Some(regno) = meta.release_regno {
            let released = meta.ref_obj_id != 0 && self.release_reference(meta.ref_obj_id);
            if !released && !is_null_reg(&self.cur.cur().regs[regno as usize]) {
                return Err(CallReject::RefNotAcquired { name, id }.into());
            }
        }
        if func == BpfFunc::TailCall {
            self.check_resource_leak("tail_call")?;
        }
        // record_func_key: a tail call's map must be a prog array (before the generic
        // map/helper compatibility check below)
        if func == BpfFunc::TailCall
            && meta
                .map
                .is_none_or(|m| self.maps().get(m as usize).is_none_or(|d| d.kind != MapKind::ProgArray))
        {
            return Err(CallReject::TailCallMap.into());
        }
        if let Some(reg) = meta.release.take()
            && let Err(e) = self.unmark_stack_slots_dynptr(&reg)
        {
            return Err(e.then(CallReject::RefNotAcquired { name, id }.into()));
        }
        if func == BpfFunc::DynptrFromMem {
            let r1 = &self.cur.cur().regs[1];
            if r1.ty != RegType::MapValue {
                return Err(CallReject::DynptrFromMemType(TypeName::new(r1.ty, r1.flags)).into());
            }
        }
        if func == BpfFunc::TimerSetCallback {
            let Some(sub) = meta.subprogno else {
                return Err(Bug::NoTimerCallback.into());
            };
            self.push_callback_call(sub, idx)?;
        }
        // reset caller-saved registers
        for r in 0..6 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
            self.log.scratch_reg(r);
        }
        let r0 = match proto.ret {
            Ret::Integer => RegState::unknown_scalar(),
            Ret::Void => RegState::not_init(),
            Ret::DynptrMemOrNull => {
                let Some((dynptr_id, ref_obj_id)) = meta.dynptr else {
                    return Err(Bug::NoDynptrForData.into());
                };
                let mut r = RegState::pointer(RegType::Mem);
                r.flags = MAYBE_NULL;
                r.mem_size = meta.alloc_size;
                r.id = self.new_id();
                r.ref_obj_id = ref_obj_id;
                r.dynptr_id = dynptr_id;
                r
            }
            Ret::MapValueOrNull => {
                let Some(m) = meta.map else { return Err(Bug::NullMapPtr.into()) };
                let mut r = RegState::pointer(RegType::MapValue);
                r.map = m;
                let def = self.maps().get(m as usize).cloned().unwrap_or_default();
                let elide = func == BpfFunc::MapLookupElem
                    && def.kind.is_array()
                    && meta.const_key.is_some_and(|k| k < def.max_entries as u64);
                if !elide {
                    r.flags = MAYBE_NULL;
                    r.id = self.new_id();
                }
                r
            }
            Ret::SocketOrNull | Ret::SockCommonOrNull | Ret::TcpSockOrNull => {
                let ty = match proto.ret {
                    Ret::SocketOrNull => RegType::Sock,
                    Ret::SockCommonOrNull => RegType::SockCommon,
                    _ => RegType::TcpSock,
                };
                let mut r = RegState::pointer(ty);
                r.flags = MAYBE_NULL;
                r.id = self.new_id();
                if is_ptr_cast_function(func) {
                    r.ref_obj_id = meta.ref_obj_id;
                } else if is_acquire_function(func) {
                    let rid = self.acquire_reference(idx);
                    r.id = rid;
                    r.ref_obj_id = rid;
                }
                r
            }
        };
        self.cur.cur_mut().regs[0] = r0;
        self.do_refine_retval_range(func, &meta);
        if let Some(m) = meta.map {
            // check_map_func_compatibility: the map type's allowed helpers first, then the
            // helper's allowed map types
            let kind = self.maps().get(m as usize).map_or(MapKind::Hash, |d| d.kind);
            let num = kind.raw();
            if kind.refuses_helper(id) || (!proto.map_types.is_empty() && !proto.map_types.contains(&num)) {
                return Err(CallReject::MapTypeIntoFunc { map_type: num, name, id }.into());
            }
        }
        // bpf_dynptr_write into an skb dynptr changes packet data: packet pointers and skb
        // slices die
        let skb_write = func == BpfFunc::DynptrWrite && meta.dynptr_ty == Some(crate::state::DynptrType::Skb);
        if changes_pkt_data(func) || skb_write {
            self.clear_all_pkt_pointers();
        }
        Ok(())
    }

    /// `do_refine_retval_range`: the string readers return at most the buffer size or a
    /// negative errno; `bpf_get_smp_processor_id` a possible CPU number.
    fn do_refine_retval_range(&mut self, func: BpfFunc, meta: &Meta) {
        const MAX_ERRNO: i64 = 4095;
        let nr_cpus = self.prog.opts.nr_cpus.max(1);
        let r0 = &mut self.cur.cur_mut().regs[0];
        if r0.ty != RegType::Scalar {
            return;
        }
        match func {
            BpfFunc::GetSmpProcessorId => {
                let max = nr_cpus - 1;
                r0.b64.umin = 0;
                r0.b64.umax = max as u64;
                r0.b32.umin = 0;
                r0.b32.umax = max;
                r0.b64.smin = 0;
                r0.b64.smax = max as i64;
                r0.b32.smin = 0;
                r0.b32.smax = max as i32;
            }
            // probe_read_str, get_stack, probe_read_user_str, probe_read_kernel_str,
            // get_task_stack
            BpfFunc::ProbeReadStr
            | BpfFunc::GetStack
            | BpfFunc::ProbeReadUserStr
            | BpfFunc::ProbeReadKernelStr
            | BpfFunc::GetTaskStack => {
                r0.b64.smax = meta.msize_max as i64;
                r0.b32.smax = meta.msize_max as i32;
                r0.b64.smin = -MAX_ERRNO;
                r0.b32.smin = -MAX_ERRNO as i32;
            }
            _ => return,
        }
        r0.bounds_sync();
    }

    /// `record_func_key`: a constant in-range tail-call index is made precise (the JIT may turn
    /// the call into a direct jump).
    /// `record_func_map`: the helpers that change a map's elements (update, delete, push,
    /// pop) refuse a `BPF_F_RDONLY_PROG` map once every argument has passed.
    fn record_func_map(&self, func: BpfFunc, meta: &Meta) -> Result<(), Reject> {
        use BpfFunc::*;
        let writer = matches!(func, MapUpdateElem | MapDeleteElem | MapPushElem | MapPopElem);
        let Some(m) = meta.map.filter(|_| writer) else { return Ok(()) };
        if self.maps().get(m as usize).is_some_and(|d| !d.prog_can_write()) {
            return Err(Reject::MapOpForbidden);
        }
        Ok(())
    }

    fn record_func_key(&mut self, meta: &Meta) {
        let Some(m) = meta.map else { return };
        let Some(def) = self.maps().get(m as usize) else { return };
        if def.kind != MapKind::ProgArray {
            return;
        }
        let max = def.max_entries as u64;
        let r3 = &self.cur.cur().regs[3];
        if r3.ty == RegType::Scalar && r3.var_off.is_const() && r3.var_off.value < max {
            self.mark_chain_precision(3);
        }
    }

    /// `clear_all_pkt_pointers`: after a helper that may move the packet, every packet pointer
    /// (registers, spilled slots, outgoing stack-argument slots, every frame) becomes unknown.
    pub(crate) fn clear_all_pkt_pointers(&mut self) {
        let privileged = self.prog.opts.privileged;
        crate::branch::for_each_reg(&mut self.cur, |r| {
            // packet pointers, and slices of skb/xdp dynptrs
            if matches!(r.ty, RegType::Packet | RegType::PacketMeta | RegType::PacketEnd)
                || (r.ty == RegType::Mem && r.flags & crate::state::DYNPTR_PKT != 0)
            {
                *r = if privileged { RegState::unknown_scalar() } else { RegState::not_init() };
            }
        });
    }

    /// `acquire_reference`: a new reference state owned by the instruction `insn`.
    pub(crate) fn acquire_reference(&mut self, insn: usize) -> u32 {
        let id = self.new_id();
        self.cur.refs.push(crate::state::RefState { id, insn });
        id
    }

    /// `release_reference`: drops the reference and invalidates every copy of the pointer,
    /// in registers, spilled slots and outgoing stack-argument slots alike. Returns whether the
    /// reference existed.
    pub(crate) fn release_reference(&mut self, ref_obj_id: u32) -> bool {
        let Some(pos) = self.cur.refs.iter().position(|r| r.id == ref_obj_id) else {
            return false;
        };
        self.cur.refs.remove(pos);
        let privileged = self.prog.opts.privileged;
        crate::branch::for_each_reg(&mut self.cur, |r| {
            if r.ref_obj_id == ref_obj_id {
                // mark_reg_invalid: unknown for a loader allowed to leak pointers
                *r = if privileged { RegState::unknown_scalar() } else { RegState::not_init() };
            }
        });
        true
    }

    /// `check_resource_leak`: every acquired reference listed, then what would leak them.
    pub(crate) fn check_resource_leak(&self, what: &'static str) -> Result<(), Reject> {
        if self.cur.refs.is_empty() {
            return Ok(());
        }
        // each reference is a context line before the refusal
        let last = Reject::from(CallReject::RefLeak(what));
        Err(self.cur.refs.iter().rev().fold(last, |acc, r| Reject::UnreleasedRef(r.id, r.insn).then(acc)))
    }

    fn check_func_arg(
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
        if reg.ref_obj_id != 0 {
            if meta.ref_obj_id != 0 {
                return Err(Bug::TwoRefArgs { regno, have: reg.ref_obj_id, first: meta.ref_obj_id }.into());
            }
            meta.ref_obj_id = reg.ref_obj_id;
        }
        const MEM_TYPES: [&str; 9] =
            ["fp", "pkt", "pkt_meta", "map_key", "map_value", "mem", "ringbuf_mem", "buf", "trusted_ptr_"];
        match arg {
            Arg::ConstMapPtr => {
                if reg.ty != RegType::ConstMapPtr {
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
            Arg::CtxOrNull | Arg::MapValueOrNull | Arg::BtfIdOrNull if is_null => {}
            Arg::BtfIdOrNull => return Err(self.type_mismatch(regno, &["ptr_", "trusted_ptr_", "rcu_ptr_"])),
            Arg::Ctx | Arg::CtxOrNull => {
                if reg.ty != RegType::Ctx {
                    return Err(self.type_mismatch(regno, &["ctx"]));
                }
                self.check_ptr_off_reg(regno)?;
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
                    return Ok(());
                }
                let ok = matches!(
                    reg.ty,
                    RegType::Stack
                        | RegType::Packet
                        | RegType::PacketMeta
                        | RegType::MapKey
                        | RegType::MapValue
                        | RegType::Mem
                ) && reg.flags & MAYBE_NULL == 0
                    && (reg.ty != RegType::Mem
                        || reg.flags & !(RDONLY | RINGBUF | crate::state::DYNPTR_PKT) == 0);
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
                if reg.b64.umax >= crate::state::MAX_VAR_OFF as u64 {
                    return Err(Reject::SizeUnbounded(regno.into()));
                }
                meta.msize_max = reg.b64.umax;
                // check_mem_size_reg: the access first, the size's precision only once it passed
                if !(is_null_reg(&mem_reg) && zero_ok && reg.b64.umax == 0) {
                    self.check_helper_mem_access(mem, reg.b64.umax as i64, meta.mem_access, zero_ok)?;
                }
                self.mark_chain_precision(regno);
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
            Arg::SockCommon => {
                if !reg.is_sk_pointer() || reg.flags & MAYBE_NULL != 0 {
                    return Err(self.type_mismatch(regno, &["sock_common", "sock", "tcp_sock", "xdp_sock"]));
                }
            }
            Arg::ReleaseSock => {
                if !reg.is_sk_pointer() || reg.flags & MAYBE_NULL != 0 {
                    return Err(self.type_mismatch(
                        regno,
                        &["sock_common", "sock", "tcp_sock", "xdp_sock", "ptr_", "trusted_ptr_"],
                    ));
                }
                if reg.ref_obj_id == 0 && !is_null {
                    return Err(CallReject::MustBeReferenced(regno.into()).into());
                }
                meta.release_regno = Some(regno);
            }
            Arg::Dynptr { uninit, ringbuf, release } => {
                if reg.ty != RegType::Stack {
                    return Err(self.type_mismatch(regno, &["fp", "dynptr_ptr"]));
                }
                if release {
                    // OBJ_RELEASE: only a referenced dynptr can be released
                    let referenced = match self.stack_slot_obj_get_spi(&reg, "dynptr", 2) {
                        Ok(crate::dynptr::ObjSpi::At(spi)) => self
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
                use crate::state::DynptrType;
                let ty = if ringbuf { DynptrType::Ringbuf } else { DynptrType::Local };
                let want = crate::dynptr::DynptrArg {
                    uninit,
                    ty: (uninit || ringbuf).then_some(ty),
                    clone_ref_obj_id: 0,
                };
                let insn_idx = self.cur.insn_idx;
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
                self.mark_chain_precision(regno);
            }
            Arg::Anything | Arg::DontCare => {}
        }
        Ok(())
    }

    fn constant_map_key(&mut self, key: &RegState, key_size: u32) -> Option<u64> {
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
        self.mark_stack_precision(key.frameno as usize, spi);
        Some(st.spilled.var_off.value)
    }

    /// `check_helper_mem_access`.
    fn check_helper_mem_access(
        &mut self,
        regno: u8,
        size: i64,
        access: HelperAccess,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        let reg = self.cur.cur().regs[regno as usize].clone();
        match reg.ty {
            RegType::Packet | RegType::PacketMeta => {
                self.check_packet_access(regno, &reg, reg.off as i64, size, zero_ok)
            }
            RegType::MapValue => {
                self.check_map_access_type(reg.map, reg.off as i64, size, access != HelperAccess::Read)?;
                self.check_map_access(regno, &reg, reg.off as i64, size, zero_ok)
            }
            RegType::Mem => {
                self.check_mem_region_access(regno, &reg, reg.off as i64, size, reg.mem_size, zero_ok)
            }
            RegType::MapKey => {
                if access != HelperAccess::Read {
                    return Err(Reject::RegCannotWrite(regno.into(), TypeName::new(reg.ty, reg.flags)));
                }
                let ks = self.maps().get(reg.map as usize).map_or(0, |m| m.key_size);
                self.check_mem_region_access(regno, &reg, reg.off as i64, size, ks, zero_ok)
            }
            RegType::Stack => {
                if size == 0 && !zero_ok {
                    return Err(CallReject::ZeroSizedRead.into());
                }
                let write = access != HelperAccess::Read;
                self.check_stack_access_within_bounds(regno, &reg, reg.off as i64, size, write)?;
                self.check_stack_range_special(regno, &reg, size, access != HelperAccess::Read)?;
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

    /// `check_func_call`: a static subprogram call pushes a frame.
    pub(crate) fn check_func_call(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        let target = (idx as i64 + insn.imm as i64 + 1) as usize;
        let Some(sub) = self.prog.info.subprogs.starting_at(target) else {
            return Err(Bug::CallTargetNotSubprog(target).into());
        };
        let args = self.btf_check_subprog_call(sub)?;
        if self.search.stack_args.global.get(sub).copied().unwrap_or(false) {
            return self.check_global_func_call(sub, args);
        }
        if self.cur.frames.len() >= kbpf_isa::MAX_CALL_FRAMES {
            return Err(Reject::CallStackTooDeep(self.cur.frames.len() + 1));
        }
        if !self.search.stack_args.declared.get(sub).copied().unwrap_or(false) {
            // no prototype: no stack arguments, but the caller's slot count still grows
            self.stack_args_subprog_call(sub)?;
        }
        let frameno = self.cur.frames.len() as u32;
        let mut callee = FuncState::new(idx as i64, frameno, sub);
        for r in 1..=5 {
            callee.regs[r] = self.cur.cur().regs[r].clone();
        }
        for r in 0..6 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
        }
        self.cur.frames.push(callee);
        self.cur.insn_idx = target;
        if self.log.on() {
            let maps = self.prog.opts.maps.clone();
            self.log.put("caller:\n");
            let c = self.cur.frames.len() - 2;
            self.log.print_state(&self.cur, c, true, &maps);
            self.log.put("callee:\n");
            let c = self.cur.frames.len() - 1;
            self.log.print_state(&self.cur, c, true, &maps);
        }
        self.log.scratch_all();
        Ok(())
    }

    /// `prepare_func_exit`: return to the caller.
    pub(crate) fn prepare_func_exit(&mut self) -> Result<(), Reject> {
        let r0 = self.cur.cur().regs[0].clone();
        if r0.ty == RegType::Stack {
            return Err(CallReject::ReturnStackPtr.into());
        }
        let callsite = self.cur.cur().callsite;
        let n = self.cur.frames.len();
        let Some(caller) = n.checked_sub(2).and_then(|c| self.cur.frames.get_mut(c)) else {
            return Err(Bug::ExitNoCaller.into());
        };
        caller.regs[0] = r0;
        let ret = (callsite + 1) as usize;
        if self.log.on() {
            let maps = self.prog.opts.maps.clone();
            self.log.put("returning from callee:\n");
            self.log.print_state(&self.cur, n - 1, true, &maps);
            self.log.put(&format!("to caller at {ret}:\n"));
            self.log.print_state(&self.cur, n - 2, true, &maps);
        }
        self.cur.frames.pop();
        self.invalidate_outgoing_stack_args();
        self.cur.insn_idx = ret;
        Ok(())
    }
}

/// `check_ptr_alignment` with `strict` for a helper argument accessed at offset 0.
fn check_strict_alignment(reg: &RegState, size: i64) -> Result<(), Reject> {
    use crate::tnum::Tnum;
    let short = crate::alu::tnum_short(reg.var_off);
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

fn is_null_reg(r: &RegState) -> bool {
    r.is_const() && r.var_off.value == 0
}
