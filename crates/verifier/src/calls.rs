//! Calls: helpers through the prototype table (`check_helper_call`, `check_func_arg`), static
//! bpf-to-bpf calls (`check_func_call`, `prepare_func_exit`).

use crate::MapKind;
use crate::alu::RegOp;
use crate::do_check::Env;
use crate::helper_names::{helper_name, max_id};
use crate::helpers::{Arg, Ret, changes_pkt_data, helper_proto};
use crate::log::reg_type_str;
use crate::messages::Reject;
use crate::state::{FuncState, MAYBE_NULL, RDONLY, RINGBUF, RegState, RegType, SLOT, SlotType};
use kbpf_isa::RawInsn;
use kbpf_passes::Errno;

/// `BPF_FUNC_dynptr_from_mem`: only map values may back a local dynptr.
const DYNPTR_FROM_MEM: i32 = 197;
/// `BPF_FUNC_dynptr_write`.
const DYNPTR_WRITE: i32 = 202;

#[derive(Default)]
struct Meta {
    map: Option<u32>,
    const_key: Option<u64>,
    mem_regno: Option<u8>,
    mem_write: bool,
    /// Largest value of the size argument (`msize_max_value`).
    msize_max: u64,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`.
    alloc_size: u32,
    /// The initialized dynptr argument: (id, ref_obj_id).
    dynptr: Option<(u32, u32)>,
    /// Its type.
    dynptr_ty: Option<crate::state::DynptrType>,
    /// The dynptr an `OBJ_RELEASE` argument releases.
    release: Option<RegState>,
}

impl Env<'_> {
    fn type_mismatch(&self, regno: u8, expected: &[&str]) -> Reject {
        let r = &self.cur.cur().regs[regno as usize];
        Reject::ArgType(regno, reg_type_str(r.ty, r.flags), expected.join(", "))
    }

    /// `check_helper_call`.
    pub(crate) fn check_helper_call(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        let id = insn.imm;
        if id < 0 || id >= max_id() {
            return Err(Reject::InvalidFunc(helper_name(id).unwrap_or_else(|| "unknown".into()), id));
        }
        let name = helper_name(id).unwrap_or_default();
        let Some(proto) = helper_proto(id, self.prog.opts.prog_type) else {
            return Err(Reject::HelperNotAllowed(name, id));
        };
        if proto.gpl_only && !self.prog.opts.gpl {
            return Err(Reject::Other(
                "cannot call GPL-restricted function from non-GPL compatible program".into(),
                Errno::EINVAL,
            ));
        }
        let mut meta = Meta::default();
        for (i, arg) in proto.args.iter().enumerate() {
            self.check_func_arg(i as u8 + 1, *arg, &mut meta, &proto.args)?;
        }
        // record_func_key: a tail call's map must be a prog array (before the generic
        // map/helper compatibility check below)
        if id == 12
            && meta
                .map
                .is_none_or(|m| self.maps().get(m as usize).is_none_or(|d| d.kind != MapKind::ProgArray))
        {
            return Err(Reject::Other("expected prog array map for tail call".into(), Errno::EINVAL));
        }
        if let Some(reg) = meta.release.take()
            && let Err(e) = self.unmark_stack_slots_dynptr(&reg)
        {
            return Err(Reject::Other(
                format!("{e}\nfunc {name}#{id} reference has not been acquired before"),
                Errno::EINVAL,
            ));
        }
        if id == DYNPTR_FROM_MEM {
            let r1 = &self.cur.cur().regs[1];
            if r1.ty != RegType::MapValue {
                return Err(Reject::Other(
                    format!(
                        "Unsupported reg type {} for bpf_dynptr_from_mem data",
                        reg_type_str(r1.ty, r1.flags)
                    ),
                    Errno::EACCES,
                ));
            }
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
                    return Err(Reject::Bug("no dynptr in bpf_dynptr_data()".into()));
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
                let Some(m) = meta.map else { return Err(Reject::Bug("unexpected null map_ptr".into())) };
                let mut r = RegState::pointer(RegType::MapValue);
                r.map = m;
                let def = self.maps().get(m as usize).cloned().unwrap_or_default();
                let elide = id == 1
                    && def.kind.is_array()
                    && meta.const_key.is_some_and(|k| k < def.max_entries as u64);
                if !elide {
                    r.flags = MAYBE_NULL;
                    r.id = self.new_id();
                }
                r
            }
        };
        self.cur.cur_mut().regs[0] = r0;
        if proto.ret == Ret::Integer {
            self.do_refine_retval_range(id, meta.msize_max);
        }
        if let Some(m) = meta.map {
            // check_map_func_compatibility: the helper's map types, and the map's helpers
            let kind = self.maps().get(m as usize).map_or(MapKind::Hash, |d| d.kind);
            let num = kind.map_type();
            let helper_ok = proto.map_types.is_empty() || proto.map_types.contains(&num);
            let map_ok = kind != MapKind::ProgArray || id == 12;
            if !helper_ok || !map_ok {
                return Err(Reject::Other(
                    format!("cannot pass map_type {num} into func {name}#{id}"),
                    Errno::EINVAL,
                ));
            }
        }
        // check_map_func_compatibility, map side: a ring buffer goes to ring-buffer helpers only
        if let Some(m) = meta.map
            && self.maps().get(m as usize).is_some_and(|d| d.kind == MapKind::RingBuf)
            && !crate::helpers::RINGBUF_HELPERS.contains(&id)
        {
            return Err(Reject::Other(
                format!("cannot pass map_type {} into func {name}#{id}", crate::helpers::RINGBUF_MAP),
                Errno::EINVAL,
            ));
        }
        // bpf_dynptr_write into an skb dynptr changes packet data: packet pointers and skb
        // slices die
        let skb_write = id == DYNPTR_WRITE && meta.dynptr_ty == Some(crate::state::DynptrType::Skb);
        if changes_pkt_data(id) || skb_write {
            self.clear_all_pkt_pointers();
        }
        let _ = idx;
        Ok(())
    }

    /// `do_refine_retval_range`: helpers whose integer result has known bounds.
    fn do_refine_retval_range(&mut self, id: i32, msize_max: u64) {
        const MAX_ERRNO: i64 = 4095;
        let r = &mut self.cur.cur_mut().regs[0];
        match id {
            // get_smp_processor_id: a possible CPU number
            8 => {
                let max = self.prog.opts.nr_cpus.max(1) - 1;
                r.umin = 0;
                r.umax = max as u64;
                r.u32_min = 0;
                r.u32_max = max;
                r.smin = 0;
                r.smax = max as i64;
                r.s32_min = 0;
                r.s32_max = max as i32;
            }
            // probe_read_str, get_stack, probe_read_user_str, probe_read_kernel_str,
            // get_task_stack: a negative errno or at most the buffer size
            45 | 67 | 114 | 115 | 141 => {
                r.smax = msize_max as i64;
                r.s32_max = msize_max as i32;
                r.smin = -MAX_ERRNO;
                r.s32_min = -MAX_ERRNO as i32;
            }
            _ => return,
        }
        r.bounds_sync();
    }

    /// `clear_all_pkt_pointers`: packet pointers in every frame become unknown scalars.
    pub(crate) fn clear_all_pkt_pointers(&mut self) {
        for f in self.cur.frames.iter_mut() {
            // stack-arg slots are visited like registers (bpf_for_each_reg_in_vstate)
            for r in f.regs.iter_mut().chain(f.stack_args.iter_mut()) {
                // packet pointers, and slices of skb/xdp dynptrs
                if matches!(r.ty, RegType::Packet | RegType::PacketMeta | RegType::PacketEnd)
                    || (r.ty == RegType::Mem && r.flags & crate::state::DYNPTR_PKT != 0)
                {
                    *r = RegState::unknown_scalar();
                }
            }
        }
    }

    fn check_func_arg(
        &mut self,
        regno: u8,
        arg: Arg,
        meta: &mut Meta,
        args: &[Arg; 5],
    ) -> Result<(), Reject> {
        if arg == Arg::DontCare {
            return Ok(());
        }
        self.check_reg_arg(regno, RegOp::Src)?;
        let reg = self.cur.cur().regs[regno as usize].clone();
        if arg == Arg::Anything {
            if reg.is_pointer() && !self.prog.opts.privileged {
                return Err(Reject::Other(
                    format!("R{regno} leaks addr into helper function"),
                    Errno::EACCES,
                ));
            }
            return Ok(());
        }
        let is_null = reg.is_const() && reg.var_off.value == 0;
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
                    return Err(Reject::Other(
                        "timer pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0".into(),
                        Errno::EINVAL,
                    ));
                }
                meta.map = Some(reg.map);
            }
            Arg::Ctx => {
                if reg.ty != RegType::Ctx {
                    return Err(self.type_mismatch(regno, &["ctx"]));
                }
                self.check_ptr_off_reg(regno)?;
            }
            Arg::MapKey | Arg::MapValue => {
                let ok = matches!(
                    reg.ty,
                    RegType::Stack | RegType::Packet | RegType::PacketMeta | RegType::MapValue
                ) && reg.flags & MAYBE_NULL == 0;
                if !ok {
                    return Err(self.type_mismatch(regno, &MEM_TYPES));
                }
                let Some(m) = meta.map else {
                    return Err(Reject::Bug("invalid map_ptr to access map->key".into()));
                };
                let def = self.maps().get(m as usize).cloned().unwrap_or_default();
                let size = if arg == Arg::MapKey { def.key_size } else { def.value_size };
                self.check_helper_mem_access(regno, size as i64, false, false)?;
                if arg == Arg::MapKey && def.kind.is_array() {
                    meta.const_key = self.constant_map_key(&reg, def.key_size);
                }
            }
            Arg::Mem { write, maybe_null } => {
                if maybe_null && is_null {
                    return Ok(());
                }
                let ok = matches!(
                    reg.ty,
                    RegType::Stack | RegType::Packet | RegType::PacketMeta | RegType::MapValue | RegType::Mem
                ) && reg.flags & MAYBE_NULL == 0
                    && (reg.ty != RegType::Mem
                        || reg.flags & !(RDONLY | RINGBUF | crate::state::DYNPTR_PKT) == 0);
                if !ok {
                    return Err(self.type_mismatch(regno, &MEM_TYPES));
                }
                if write && reg.flags & RDONLY != 0 {
                    return Err(Reject::Other(
                        format!("R{regno} cannot write into {}", reg_type_str(reg.ty, reg.flags)),
                        Errno::EACCES,
                    ));
                }
                meta.mem_regno = Some(regno);
                meta.mem_write = write;
            }
            Arg::ConstSize | Arg::ConstSizeOrZero => {
                let zero_ok = arg == Arg::ConstSizeOrZero;
                if reg.ty != RegType::Scalar {
                    return Err(self.type_mismatch(regno, &["scalar"]));
                }
                let mem = meta.mem_regno.unwrap_or(regno - 1);
                let _ = args;
                meta.msize_max = reg.umax;
                if reg.smin < 0 {
                    return Err(Reject::SizeNegative(regno));
                }
                let mem_reg = self.cur.cur().regs[mem as usize].clone();
                if reg.umin == 0 && !zero_ok {
                    return Err(Reject::ZeroSizedRead(regno, reg.umin, reg.umax));
                }
                if reg.umax >= crate::state::MAX_VAR_OFF as u64 {
                    return Err(Reject::SizeUnbounded(regno));
                }
                // check_mem_size_reg: the access first, then the size's precision
                if !(is_null_reg(&mem_reg) && zero_ok && reg.umax == 0) {
                    self.check_helper_mem_access(mem, reg.umax as i64, meta.mem_write, zero_ok)?;
                }
                self.mark_chain_precision(regno);
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
                        return Err(Reject::Other(
                            format!("arg {regno} is an unacquired reference"),
                            Errno::EINVAL,
                        ));
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
            Arg::ConstAllocSizeOrZero => {
                if reg.ty != RegType::Scalar {
                    return Err(self.type_mismatch(regno, &["scalar"]));
                }
                if !reg.var_off.is_const() {
                    return Err(Reject::Other(format!("R{regno} is not a known constant'"), Errno::EACCES));
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
        write: bool,
        zero_ok: bool,
    ) -> Result<(), Reject> {
        let reg = self.cur.cur().regs[regno as usize].clone();
        match reg.ty {
            RegType::Packet | RegType::PacketMeta => {
                self.check_packet_access(regno, &reg, reg.off as i64, size, zero_ok)
            }
            RegType::MapValue => {
                let vs = self.maps().get(reg.map as usize).map_or(0, |m| m.value_size);
                self.check_mem_region_access(regno, &reg, reg.off as i64, size, vs, zero_ok)
            }
            RegType::Mem => {
                self.check_mem_region_access(regno, &reg, reg.off as i64, size, reg.mem_size, zero_ok)
            }
            RegType::Stack => {
                if size == 0 && !zero_ok {
                    return Err(Reject::Other("invalid zero-sized read".into(), Errno::EACCES));
                }
                self.check_stack_access_within_bounds(regno, &reg, reg.off as i64, size, write)?;
                self.check_stack_range_special(regno, &reg, size, write)?;
                // root may read uninitialized stack; a helper write clobbers the bytes
                if write {
                    let (min, max) = if reg.var_off.is_const() {
                        let m = reg.var_off.value as i64 + reg.off as i64;
                        (m, m)
                    } else {
                        (reg.smin + reg.off as i64, reg.smax + reg.off as i64)
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
                    for i in min..max + size {
                        self.log.scratch_stack(((-i - 1) as usize) / SLOT);
                    }
                }
                Ok(())
            }
            _ => {
                if zero_ok && size == 0 && is_null_reg(&reg) {
                    return Ok(());
                }
                Err(Reject::ArgType(regno, reg_type_str(reg.ty, reg.flags), "fp".into()))
            }
        }
    }

    /// `check_func_call`: a static subprogram call pushes a frame.
    pub(crate) fn check_func_call(&mut self, insn: &RawInsn, idx: usize) -> Result<(), Reject> {
        let target = (idx as i64 + insn.imm as i64 + 1) as usize;
        let Some(sub) = self.prog.info.subprogs.starting_at(target) else {
            return Err(Reject::Bug(format!("target of func call at insn {target} is not a program")));
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
            return Err(Reject::Other("cannot return stack pointer to the caller".into(), Errno::EINVAL));
        }
        let callsite = self.cur.cur().callsite;
        let n = self.cur.frames.len();
        self.cur.frames[n - 2].regs[0] = r0;
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

fn is_null_reg(r: &RegState) -> bool {
    r.is_const() && r.var_off.value == 0
}
