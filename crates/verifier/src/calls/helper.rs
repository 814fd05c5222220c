//! Helper calls (`check_helper_call`): the prototype of the call's `BpfFunc`, each argument
//! checked in [`super::helper_args`], then the return value, the helper's side effects on packet
//! pointers and references, and the map/key facts recorded for later rewrites.

use super::helper_args::is_null_reg;
use crate::MapKind;
use crate::domain::state::{MAYBE_NULL, RINGBUF, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::{Bug, CallReject, Reject, TypeName};
use crate::protos::func_id::BpfFunc;
use crate::protos::helper_names::helper_name;
use crate::protos::helpers::{
    Arg, Ret, changes_pkt_data, helper_pkt_access, is_acquire_function, is_ptr_cast_function,
};

/// How a helper uses a memory argument: read; written in place (`MEM_WRITE`: bounds checked as
/// a write and the stack bytes clobbered to unknown data, `check_stack_range_initialized`'s
/// `clobber`); or filled (`MEM_UNINIT`, `meta.raw_mode`: clobbered byte by byte through
/// `check_mem_access`, which the log shows as touched slots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum HelperAccess {
    #[default]
    Read,
    Write,
    Fill,
}

#[derive(Default)]
pub(super) struct Meta {
    pub(super) map: Option<u32>,
    pub(super) const_key: Option<u64>,
    pub(super) mem_regno: Option<u8>,
    pub(super) mem_access: HelperAccess,
    /// Reference carried by an argument (`meta.ref_obj_id`).
    pub(super) ref_obj_id: u32,
    /// Argument released by the helper (`meta.release_regno`).
    pub(super) release_regno: Option<u8>,
    /// Largest size a size argument allowed (`meta.msize_max_value`).
    pub(super) msize_max: u64,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`.
    pub(super) alloc_size: u32,
    /// The initialized dynptr argument: (id, ref_obj_id).
    pub(super) dynptr: Option<(u32, u32)>,
    /// Its type.
    pub(super) dynptr_ty: Option<crate::domain::state::DynptrType>,
    /// The dynptr an `OBJ_RELEASE` argument releases.
    pub(super) release: Option<RegState>,
    /// The callback of an `ARG_PTR_TO_FUNC` argument (`meta.subprogno`).
    pub(super) subprogno: Option<usize>,
    /// The helper's name as the log spells it (`meta.func_id`).
    pub(super) func_name: String,
    /// The helper (`meta.func_id`).
    pub(super) func: Option<BpfFunc>,
    /// The call's slot.
    pub(super) insn: usize,
    /// `bpf_kptr_xchg`'s destination field (`meta.kptr_field`).
    pub(super) kptr_field: Option<crate::btf::record::Field>,
    /// The per-CPU object's type in the target BTF (`meta.ret_btf_id`).
    pub(super) percpu_btf_id: Option<u32>,
}

impl Call<'_, '_> {
    pub(super) fn type_mismatch(&self, regno: u8, expected: &'static [&'static str]) -> Reject {
        let r = &self.cur.cur().regs[regno as usize];
        Reject::ArgType(regno.into(), TypeName::new(r.ty, r.flags), expected)
    }

    /// `check_helper_call`.
    pub(crate) fn check_helper_call(&mut self, id: i32, idx: usize) -> Result<(), Reject> {
        if let Some(h) = self.prog.opts.host_helpers.iter().find(|h| h.id == id) {
            let args = h.args;
            return self.check_host_helper_call(args);
        }
        let Some(func) = BpfFunc::from_id(id) else {
            return Err(Reject::InvalidFunc(helper_name(id).unwrap_or_else(|| "unknown".into()), id));
        };
        let name = helper_name(id).unwrap_or_default();
        let ops = self.prog.ops();
        let Some(proto) = self.prog.helper_proto(func) else {
            if ops.unmodelled_helper(func) {
                return Err(Reject::Unsupported(crate::messages::Unsupported::Helper(name)));
            }
            return Err(Reject::HelperNotAllowed(name, id));
        };
        if proto.gpl_only && !self.prog.opts.gpl {
            return Err(CallReject::GplOnly.into());
        }
        if let Some(a) = &self.prog.attach
            && self.prog.opts.prog_type == crate::ProgType::Tracing
            && !sk_storage_tracing_allowed(func, a)
        {
            return Err(CallReject::NotAllowedInProbe.into());
        }
        if crate::protos::helpers::helper_might_sleep(func) && !self.in_sleepable() {
            return Err(CallReject::MightSleep.into());
        }
        // the sections of bpf_rcu_read_lock and bpf_preempt_disable cannot sleep
        if crate::protos::helpers::helper_might_sleep(func) && self.cur.active_rcu_lock {
            return Err(crate::messages::KfuncReject::SleepInRcu(name, id).into());
        }
        if crate::protos::helpers::helper_might_sleep(func) && self.cur.active_preempt_locks > 0 {
            return Err(crate::messages::KfuncReject::SleepInPreempt(name, id).into());
        }
        let mut meta = Meta { func_name: name.clone(), func: Some(func), insn: idx, ..Meta::default() };
        for (i, arg) in proto.args.iter().enumerate() {
            // resolve_map_arg_type: a sockmap's "value" is a socket
            let arg = match arg {
                Arg::MapValue if meta.map.is_some_and(|m| self.is_sock_map(m)) => &Arg::BtfSockCommon,
                _ => arg,
            };
            self.check_func_arg(
                i as u8 + 1,
                *arg,
                &mut meta,
                ops.helper_packet_access(helper_pkt_access(func)),
            )?;
        }
        if func == BpfFunc::GetLocalStorage && !is_null_reg(&self.cur.cur().regs[2]) {
            return Err(CallReject::LocalStorageFlags.into());
        }
        self.record_func_map(func, &meta)?;
        if let Some(m) = meta.map {
            // `aux->map_ptr_state`: the fixups rewrite the call for this one map
            self.aux.record_map(kbpf_isa::SlotIdx::new(idx), m);
        }
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
        if func == BpfFunc::ForEachMapElem {
            self.check_for_each_map_elem(meta.subprogno, meta.map, idx)?;
        }
        if func == BpfFunc::Loop {
            self.check_loop_call(meta.subprogno, idx)?;
        }
        if func == BpfFunc::Snprintf {
            self.check_bpf_snprintf_call()?;
        }
        if func == BpfFunc::FindVma {
            self.check_find_vma(meta.subprogno, idx)?;
        }
        if func == BpfFunc::UserRingbufDrain {
            self.check_user_ringbuf_drain(meta.subprogno, idx)?;
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
            Ret::MapValue => {
                let Some(m) = meta.map else { return Err(Bug::NullMapPtr.into()) };
                let mut r = RegState::pointer(RegType::MapValue);
                r.map = m;
                if self.maps().get(m as usize).is_some_and(|d| d.may_hold_lock()) {
                    r.id = self.new_id();
                }
                r
            }
            Ret::MapValueOrNull
                if let Some(inner) = meta.map.and_then(|m| self.maps().get(m as usize)?.inner) =>
            {
                // a map-in-map lookup yields the inner map (its template), or NULL
                let mut r = RegState::pointer(RegType::ConstMapPtr);
                r.map = inner;
                r.flags = MAYBE_NULL;
                r.id = self.new_id();
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
                } else if def.may_hold_lock() {
                    // never NULL: the lock still needs an id
                    r.id = self.new_id();
                }
                // a sockmap lookup takes a reference on the socket (is_acquire_function)
                if func == BpfFunc::MapLookupElem && matches!(def.kind, MapKind::SockMap | MapKind::SockHash)
                {
                    let rid = self.acquire_reference(idx);
                    r.id = rid;
                    r.ref_obj_id = rid;
                }
                r
            }
            Ret::KptrXchg => {
                let Some(field) = meta.kptr_field.as_ref() else { return Err(Bug::NoKptrType.into()) };
                let t = crate::check::kptr::target(field)?;
                let mut r = RegState::pointer(RegType::BtfId);
                r.btf_id = t.id;
                r.flags = MAYBE_NULL;
                // the program's own object: allocated (per-CPU for a per-CPU kptr)
                if t.local {
                    r.flags |= crate::domain::state::MEM_ALLOC;
                    if field.kind == crate::btf::record::FieldKind::KptrPercpu {
                        r.flags |= crate::domain::state::MEM_PERCPU;
                    }
                }
                // a NULL-check id, then the reference's (is_acquire_function)
                r.id = self.new_id();
                let rid = self.acquire_reference(idx);
                r.id = rid;
                r.ref_obj_id = rid;
                r
            }
            Ret::RingbufMemOrNull => {
                let mut r = RegState::pointer(RegType::Mem);
                r.flags = MAYBE_NULL | RINGBUF;
                r.mem_size = meta.alloc_size;
                // a fresh NULL-check id first, then the reference's (as the kernel numbers them)
                r.id = self.new_id();
                let rid = self.acquire_reference(idx);
                r.id = rid;
                r.ref_obj_id = rid;
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
            Ret::PercpuObj { null } => {
                let Some(btf_id) = meta.percpu_btf_id else { return Err(Bug::NoKptrType.into()) };
                self.percpu_obj_ret(btf_id, null)?
            }
            Ret::BtfObj { name, flags } => {
                let Some(btf_id) = self
                    .prog
                    .opts
                    .btf
                    .as_ref()
                    .and_then(|b| b.find_by_name_kind(name, kbpf_elf::btf::Kind::Struct))
                else {
                    return Err(Reject::Unsupported(crate::messages::Unsupported::Feature(
                        "a helper returning a BTF pointer without target BTF",
                    )));
                };
                let mut r = RegState::pointer(RegType::BtfId);
                r.btf_id = btf_id;
                r.flags = flags;
                if flags & MAYBE_NULL != 0 {
                    r.id = self.new_id();
                }
                if is_ptr_cast_function(func) {
                    r.ref_obj_id = meta.ref_obj_id;
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
            let sockmap_write = matches!(kind, MapKind::SockMap | MapKind::SockHash)
                && matches!(func, BpfFunc::MapUpdateElem | BpfFunc::MapDeleteElem)
                && !ops.may_update_sockmap(func == BpfFunc::MapDeleteElem);
            if kind.refuses_helper(id)
                || sockmap_write
                || (!proto.map_types.is_empty() && !proto.map_types.contains(&num))
            {
                return Err(CallReject::MapTypeIntoFunc { map_type: num, name, id }.into());
            }
        }
        if func == BpfFunc::GetFuncIp && !ops.get_func_ip_support() {
            let prog_type = ops.kernel_type().map_or(0, |t| t.number());
            return Err(CallReject::GetFuncIpType { name, id, prog_type }.into());
        }
        // bpf_dynptr_write into an skb dynptr changes packet data: packet pointers and skb
        // slices die
        let skb_write =
            func == BpfFunc::DynptrWrite && meta.dynptr_ty == Some(crate::domain::state::DynptrType::Skb);
        if changes_pkt_data(func) || skb_write {
            self.clear_all_pkt_pointers();
        }
        Ok(())
    }

    /// A host helper (kbpf extension): `args` arguments that must be initialised (like
    /// `ARG_ANYTHING`), r1..r5 clobbered, an unknown scalar in r0.
    fn check_host_helper_call(&mut self, args: u8) -> Result<(), Reject> {
        let mut meta = Meta::default();
        for i in 0..args.min(5) {
            self.check_func_arg(i + 1, crate::protos::helpers::Arg::Anything, &mut meta, false)?;
        }
        for r in 0..6 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
            self.log.scratch_reg(r);
        }
        self.cur.cur_mut().regs[0] = RegState::unknown_scalar();
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

    fn is_sock_map(&self, m: u32) -> bool {
        self.maps().get(m as usize).is_some_and(|d| matches!(d.kind, MapKind::SockMap | MapKind::SockHash))
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
            self.precision().mark_chain_precision(3);
        }
    }
}

/// `bpf_sk_storage_tracing_allowed` (the `allowed` hook of the tracing socket-storage
/// helpers): iterators and BTF tracepoints, or a trampoline that does not trace the
/// socket-storage functions themselves. LSM programs have their own prototypes.
fn sk_storage_tracing_allowed(func: BpfFunc, a: &crate::btf::attach::AttachInfo) -> bool {
    use kbpf_isa::AttachType as A;
    if !matches!(func, BpfFunc::SkStorageGet | BpfFunc::SkStorageDelete) {
        return true;
    }
    match a.attach {
        A::TraceIter | A::TraceRawTp => true,
        A::TraceFentry | A::TraceFexit => !a.func_name.starts_with("bpf_sk_storage"),
        _ => false,
    }
}
