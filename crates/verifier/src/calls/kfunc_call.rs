//! kfunc calls (`call` with `src_reg = BPF_PSEUDO_KFUNC_CALL`) checked against the prototype
//! table of [`crate::VerifyOptions::kfuncs`]: argument count with stack arguments
//! (`check_outgoing_stack_args` first), then each argument, fetched from r1..r5 or from the
//! calling frame's outgoing slots (`get_func_arg_reg`) and named `R1`..`R5` / `*(R11-N)`.
//!
//! Modelled kinds: scalars, constants, memory + size pairs (straddling the register/slot
//! boundary too), fixed-size memory, struct pointers, ctx, nullable pointers, `__ign`, and the
//! register-only kinds (arena, prog->aux), dynptrs ([`crate::calls::dynptr`]), iterators and the
//! iterator protocol ([`crate::calls::iter`]), const strings and timers ([`crate::protos::map_args`]). Maps,
//! callbacks and kernel-object returns are refused with `ENOTSUPP` (not modelled).

use crate::calls::alloc;
use crate::calls::dynptr::DynptrArg;
use crate::calls::iter::IterMeta;
use crate::calls::kfunc_btf::RefMeta;
use crate::calls::stack_args::arg_name;
use crate::domain::state::{DYNPTR_PKT, DynptrType, MAX_VAR_OFF, MAYBE_NULL, RDONLY, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::{Bug, KfuncReject, RegName, Reject, TypeName, Unsupported};
use crate::protos::func_info::{
    IterRole, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTraits, MAX_FUNC_ARGS, MAX_REG_ARGS,
};
use kbpf_isa::StackArgSlot;

/// Register number used to run the shared memory checks on a slot argument; the resulting
/// message names the slot (`*(R11-N)`) instead.
const SLOT_REGNO: u8 = 11;

fn rename(e: Reject, regno: u8, name: RegName) -> Reject {
    if regno != SLOT_REGNO {
        return e;
    }
    e.rename_reg(RegName::R(SLOT_REGNO), name)
}

fn is_null(r: &RegState) -> bool {
    r.is_const() && r.var_off.value == 0
}

/// What the argument walk learnt for the return value (`struct bpf_kfunc_call_arg_meta`).
#[derive(Default)]
struct KfuncMeta {
    iter: Option<IterMeta>,
    /// The `__szk` constant (`meta->arg_constant`).
    arg_constant: Option<u64>,
    /// The initialized dynptr argument: (type, id, ref_obj_id) (`meta->initialized_dynptr`).
    dynptr: Option<(DynptrType, u32, u32)>,
    /// The referenced and the released argument.
    refs: RefMeta,
    /// The local type of the allocated argument (`meta->arg_btf_id`).
    arg_btf_id: Option<u32>,
    /// The refcounted argument is an owning reference (`meta->arg_owning_ref`).
    arg_owning_ref: bool,
    /// The graph root argument.
    graph: crate::calls::graph::GraphMeta,
    /// The node argument's reference (an insertion hands it to the graph).
    node_ref: u32,
    /// The callback argument's subprogram.
    subprogno: Option<usize>,
}

impl Call<'_, '_> {
    /// `get_func_arg_reg`: argument `i` (0-based) of the call being checked.
    fn kfunc_arg(&self, i: usize) -> (RegState, u8) {
        match StackArgSlot::of_arg(i) {
            None => (self.cur.cur().regs[i + 1].clone(), i as u8 + 1),
            Some(slot) => {
                (self.cur.cur().stack_args.get(slot.index()).cloned().unwrap_or_default(), SLOT_REGNO)
            }
        }
    }

    /// Precision for a size or constant argument (`mark_stack_arg_precision` for slots).
    fn kfunc_arg_precise(&mut self, i: usize, regno: u8) {
        if regno != SLOT_REGNO {
            self.precision().mark_chain_precision(regno);
            return;
        }
        let Some(slot) = StackArgSlot::of_arg(i) else { return };
        if let Some(r) = self.cur.cur_mut().stack_args.get_mut(slot.index())
            && r.ty == RegType::Scalar
        {
            r.precise = true;
        }
        self.precision().mark_stack_arg_precision(slot.index());
    }

    /// `check_kfunc_call`.
    pub(crate) fn check_kfunc_call(&mut self, btf_id: i32) -> Result<(), Reject> {
        let Some(decl) = self.prog.opts.kfuncs.get(btf_id).cloned() else {
            // a function of the target kernel kbpf has no prototype and flags for: no verdict
            let target_fn = self.prog.opts.btf.as_ref().and_then(|b| match b.get(btf_id as u32) {
                Some(kbpf_elf::btf::BtfType::Func { name, .. }) => Some(name.clone()),
                _ => None,
            });
            if let Some(name) = target_fn {
                return Err(Unsupported::TargetKfunc(name).into());
            }
            return Err(Reject::KfuncNotFunc(btf_id as u32));
        };
        if let Some(types) = &decl.prog_types
            && !self.prog.ops().kernel_type().is_some_and(|t| types.contains(&t))
        {
            return Err(KfuncReject::NotAllowed(decl.name).into());
        }
        // bpf_kprobe_multi_filter: the session kfuncs need a kprobe or uprobe session link
        if matches!(decl.name.as_str(), "bpf_session_is_return" | "bpf_session_cookie")
            && !matches!(
                self.prog.opts.prog_type,
                crate::ProgType::Kprobe(crate::KprobeProg {
                    attach: crate::KprobeAttach::KprobeSession | crate::KprobeAttach::UprobeSession,
                    ..
                })
            )
        {
            return Err(KfuncReject::NotAllowed(decl.name).into());
        }
        if let Some(why) = decl.unmodelled {
            return Err(Unsupported::TargetKfuncRule { kfunc: decl.name, why }.into());
        }
        if decl.traits.sleepable && !self.in_sleepable() {
            return Err(KfuncReject::NotSleepable(decl.name).into());
        }
        let nargs = decl.args.len() as u32;
        // gen_kfunc_arg_proto
        if nargs > MAX_FUNC_ARGS {
            return Err(KfuncReject::TooManyArgs(decl.name, nargs).into());
        }
        for (i, a) in decl.args.iter().enumerate().skip(MAX_REG_ARGS as usize) {
            if a.kind == KfuncArgKind::Arena {
                return Err(KfuncReject::ArenaStackArg(arg_name(i)).into());
            }
        }
        if let KfuncRet::Object(t) = &decl.ret {
            return Err(Unsupported::KfuncObjectReturn { kfunc: decl.name.clone(), ty: t.to_string() }.into());
        }
        self.check_outgoing_stack_args(nargs)?;
        let insn_idx = self.cur.insn_idx.index();
        let meta = self.check_kfunc_args(&decl, insn_idx)?;
        if decl.traits.refused_after_args {
            return Err(KfuncReject::TargetRefused(decl.name).into());
        }
        if decl.name == crate::calls::graph::RBTREE_ADD {
            let node = self.rbtree_cb_node(&meta.graph)?;
            self.push_rbtree_add_callback(meta.subprogno, insn_idx, node)?;
        }
        if decl.name == crate::calls::exceptions::THROW {
            self.check_throw(&decl)?;
        }
        self.kfunc_sections(&decl)?;
        if meta.refs.release_regno != 0 && !self.release_reference(meta.refs.ref_obj_id) {
            return Err(Bug::KfuncRefNotAcquired(decl.name).into());
        }
        if matches!(decl.name.as_str(), alloc::OBJ_DROP | alloc::PERCPU_OBJ_DROP | alloc::REFCOUNT_ACQUIRE)
            && let Some(id) = meta.arg_btf_id
        {
            self.record_struct_meta(&decl, id, insn_idx)?;
        }
        if crate::calls::graph::is_insert(&decl.name) {
            self.graph_insert(&decl, meta.node_ref, meta.arg_btf_id.unwrap_or(0))?;
        }
        for r in 0..6 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
            self.log.scratch_reg(r);
        }
        self.stack_args_after_kfunc(nargs);
        self.record_kfunc_fix(&decl, meta.arg_constant, meta.arg_btf_id, &meta.graph, insn_idx);
        let graph_r0 = self.graph_node_ret(&decl, &meta.graph, insn_idx)?;
        let r0 = match (decl.name.as_str(), &decl.ret) {
            _ if graph_r0.is_some() => graph_r0.unwrap_or_default(),
            (alloc::OBJ_NEW | alloc::PERCPU_OBJ_NEW, _) => {
                self.obj_new_ret(&decl, meta.arg_constant, insn_idx)?
            }
            (alloc::REFCOUNT_ACQUIRE, _) => {
                let arg = meta.arg_btf_id.map(|id| (id, meta.arg_owning_ref));
                self.refcount_acquire_ret(&decl, arg, insn_idx)?
            }
            (_, KfuncRet::Void | KfuncRet::Object(_)) => RegState::not_init(),
            (_, KfuncRet::BtfObj { type_id, .. }) => self.kfunc_btf_obj_ret(&decl, *type_id, insn_idx),
            (_, KfuncRet::Scalar) => RegState::unknown_scalar(),
            (_, KfuncRet::Mem(size)) => {
                let mut r = RegState::pointer(RegType::Mem);
                r.mem_size = *size;
                if decl.ret_null {
                    r.flags = MAYBE_NULL;
                    r.id = self.new_id();
                }
                // an iterator's element is read-only and lives as long as the iterator
                if decl.iter == Some(IterRole::Next)
                    && let Some(it) = meta.iter
                {
                    r.flags |= RDONLY;
                    r.ref_obj_id = it.ref_obj_id;
                }
                r
            }
        };
        let r0 = match decl.name.as_str() {
            "bpf_dynptr_slice" | "bpf_dynptr_slice_rdwr" => self.dynptr_slice_ret(&decl, &meta, r0)?,
            "bpf_rdonly_cast" if decl.unmodelled.is_none() => {
                self.rdonly_cast_ret(&decl, meta.arg_constant)?
            }
            _ => r0,
        };
        self.cur.cur_mut().regs[0] = r0;
        if decl.iter == Some(IterRole::Next) {
            let Some(it) = meta.iter else {
                return Err(Bug::KfuncNoIter(decl.name).into());
            };
            self.process_iter_next_call(insn_idx, it)?;
        }
        Ok(())
    }

    /// `check_kfunc_args` for the modelled kinds.
    fn check_kfunc_args(&mut self, decl: &KfuncDecl, insn_idx: usize) -> Result<KfuncMeta, Reject> {
        let mut meta = KfuncMeta::default();
        let mut i = 0;
        while i < decl.args.len() {
            let a = &decl.args[i];
            let name = arg_name(i);
            let (reg, regno) = self.kfunc_arg(i);
            let pointer = !matches!(
                a.kind,
                KfuncArgKind::Scalar
                    | KfuncArgKind::Const
                    | KfuncArgKind::MemSize { .. }
                    | KfuncArgKind::Ignored
                    | KfuncArgKind::ProgAux
            );
            if pointer && decl.traits != KfuncTraits::default() {
                self.kfunc_ptr_arg_common(decl, i, &reg, regno, &mut meta.refs)?;
            }
            // get_kfunc_ptr_arg_type: NULL for a nullable dynptr is looked at no further
            if a.kind == KfuncArgKind::Dynptr && a.nullable && is_null(&reg) {
                i += 1;
                continue;
            }
            // a struct pointer that is no kernel object and is sized by the next argument is
            // memory (`KF_ARG_PTR_TO_MEM_SIZE`): the kind follows the register
            let scalar_struct = match a.kind {
                KfuncArgKind::BtfObj { has_ptr: false, type_id, .. } => self.scalar_struct(type_id, 0),
                _ => false,
            };
            let sized_struct = scalar_struct
                && !matches!(
                    reg.ty,
                    RegType::BtfId
                        | RegType::Sock
                        | RegType::SockCommon
                        | RegType::TcpSock
                        | RegType::ConstMapPtr
                )
                && matches!(decl.args.get(i + 1).map(|n| &n.kind), Some(KfuncArgKind::MemSize { .. }));
            let as_mem = KfuncArgKind::Mem { size: None };
            let kind = if sized_struct { &as_mem } else { &a.kind };
            match kind {
                KfuncArgKind::Ignored => {}
                KfuncArgKind::ProgAux => {
                    if i >= MAX_REG_ARGS as usize {
                        return Err(KfuncReject::ProgAuxStackArg(name).into());
                    }
                }
                KfuncArgKind::Scalar | KfuncArgKind::Const | KfuncArgKind::MemSize { .. } => {
                    if reg.ty != RegType::Scalar {
                        return Err(KfuncReject::NotScalar(name).into());
                    }
                    let constant =
                        matches!(a.kind, KfuncArgKind::Const | KfuncArgKind::MemSize { constant: true });
                    if constant {
                        if !reg.var_off.is_const() {
                            return Err(KfuncReject::NotConst(name).into());
                        }
                        self.kfunc_arg_precise(i, regno);
                        if a.kind == KfuncArgKind::Const {
                            meta.arg_constant = Some(reg.var_off.value);
                        }
                    }
                }
                KfuncArgKind::Arena => {}
                KfuncArgKind::Dynptr => {
                    let uninit = a.name.ends_with("__uninit");
                    // constructors by name, like the kernel's special_kfunc_list; a clone takes
                    // its parent's type and shares its reference
                    let (ty, clone_ref_obj_id) = match decl.name.as_str() {
                        "bpf_dynptr_from_skb" => (Some(DynptrType::Skb), 0),
                        "bpf_dynptr_from_xdp" => (Some(DynptrType::Xdp), 0),
                        "bpf_dynptr_clone" if uninit => match meta.dynptr {
                            Some((t, _, r)) => (Some(t), r),
                            None => {
                                return Err(Bug::CloneNoParentType.into());
                            }
                        },
                        _ => (None, 0),
                    };
                    if uninit && ty.is_none() {
                        return Err(Unsupported::DynptrConstructor(decl.name.clone()).into());
                    }
                    let want = DynptrArg { uninit, ty: if uninit { ty } else { None }, clone_ref_obj_id };
                    self.process_dynptr_func(&reg, regno, i, want, insn_idx)
                        .map_err(|e| rename(e, regno, name))?;
                    if !uninit {
                        meta.dynptr = self.dynptr_info(&reg);
                    }
                }
                KfuncArgKind::Iter { name: ty, size } => {
                    // the iterator of iterator kfuncs is their first argument; others take
                    // it through `__iter` parameters
                    let role = if i == 0 { decl.iter } else { None };
                    if decl.name == "bpf_iter_css_task_new" && !self.css_task_iter_allowed() {
                        return Err(KfuncReject::CssTaskIterNotAllowed.into());
                    }
                    let it = self
                        .process_iter_arg(&reg, regno, i, ty, *size, role, insn_idx)
                        .map_err(|e| rename(e, regno, name))?;
                    if it.is_some() && meta.iter.is_none() {
                        meta.iter = it;
                    }
                }
                KfuncArgKind::ConstStr => {
                    self.check_reg_const_str(&reg, regno, i).map_err(|e| rename(e, regno, name))?;
                }
                KfuncArgKind::AllocObj => {
                    meta.arg_btf_id = Some(self.check_alloc_obj_arg(decl, i, &reg, regno)?);
                }
                KfuncArgKind::RefcountedKptr => {
                    let (id, owning) = self.check_refcounted_arg(decl, i, &reg, regno)?;
                    meta.arg_btf_id = Some(id);
                    meta.arg_owning_ref = owning;
                }
                KfuncArgKind::Graph(kind) => {
                    use crate::btf::record::FieldKind;
                    if matches!(kind, FieldKind::ListHead | FieldKind::RbRoot) {
                        self.check_graph_root_arg(i, &reg, regno, *kind, &mut meta.graph)?;
                    } else {
                        let id = self.check_graph_node_arg(decl, i, &reg, regno, *kind, &meta.graph)?;
                        meta.arg_btf_id = Some(id);
                        meta.node_ref = reg.ref_obj_id;
                    }
                }
                KfuncArgKind::Callback => {
                    if reg.ty != RegType::Func {
                        return Err(crate::messages::AllocReject::ExpectedFunc(i).into());
                    }
                    meta.subprogno = Some(reg.subprogno as usize);
                }
                KfuncArgKind::Timer => {
                    self.process_timer_kfunc(&reg, regno, i).map_err(|e| rename(e, regno, name))?;
                }
                KfuncArgKind::Unmodelled(what) => {
                    return Err(Unsupported::KfuncArg {
                        kfunc: decl.name.clone(),
                        arg: a.name.clone(),
                        what: what.to_string(),
                    }
                    .into());
                }
                KfuncArgKind::BtfObj { name: want, type_id, has_ptr } => {
                    self.check_kfunc_btf_obj(decl, i, &reg, regno, want, *type_id, *has_ptr)?;
                }
                KfuncArgKind::Ctx => {
                    if reg.ty != RegType::Ctx {
                        return Err(KfuncReject::ExpectedCtx(i, TypeName::new(reg.ty, reg.flags)).into());
                    }
                }
                KfuncArgKind::StructPtr | KfuncArgKind::Mem { .. } => {
                    let sized_by_next = matches!(kind, KfuncArgKind::Mem { size: None })
                        && matches!(
                            decl.args.get(i + 1).map(|n| &n.kind),
                            Some(KfuncArgKind::MemSize { .. })
                        );
                    if is_null(&reg) || reg.flags & MAYBE_NULL != 0 {
                        if !(a.nullable && is_null(&reg)) {
                            return Err(KfuncReject::NullTrustedArg(i).into());
                        }
                        if sized_by_next {
                            meta.arg_constant = self.kfunc_const_size(decl, i + 1)?.or(meta.arg_constant);
                            i += 1;
                        }
                        i += 1;
                        continue;
                    }
                    if sized_by_next {
                        self.check_kfunc_mem_size(decl, i)?;
                        meta.arg_constant = self.kfunc_const_size(decl, i + 1)?.or(meta.arg_constant);
                        i += 2;
                        continue;
                    }
                    let size = match kind {
                        KfuncArgKind::Mem { size: Some(s) } => *s as i64,
                        _ => 0,
                    };
                    self.check_kfunc_mem(&reg, regno, name, size)?;
                }
            }
            i += 1;
        }
        if decl.traits.release && meta.refs.release_regno == 0 {
            return Err(KfuncReject::ReleaseNotRefcounted(decl.name.clone()).into());
        }
        Ok(meta)
    }

    /// The known value of a `__szk` argument `i`, `None` for `__sz`.
    fn kfunc_const_size(&mut self, decl: &KfuncDecl, i: usize) -> Result<Option<u64>, Reject> {
        if !matches!(decl.args.get(i).map(|a| &a.kind), Some(KfuncArgKind::MemSize { constant: true })) {
            return Ok(None);
        }
        // no precision mark here: the kernel records `arg_constant` without one
        let (size, _) = self.kfunc_arg(i);
        if !size.var_off.is_const() {
            return Err(KfuncReject::NotConst(arg_name(i)).into());
        }
        Ok(Some(size.var_off.value))
    }

    /// r0 of `bpf_dynptr_slice` / `bpf_dynptr_slice_rdwr`: `__szk` bytes of the dynptr's
    /// memory, read-only for the plain slice, packet memory for skb/xdp dynptrs.
    fn dynptr_slice_ret(
        &mut self,
        decl: &KfuncDecl,
        meta: &KfuncMeta,
        mut r0: RegState,
    ) -> Result<RegState, Reject> {
        let Some(size) = meta.arg_constant else {
            return Err(Bug::SliceNoConstSize.into());
        };
        let Some((ty, id, _)) = meta.dynptr else {
            return Err(Bug::NoDynptrId.into());
        };
        r0.ty = RegType::Mem;
        r0.mem_size = size as u32;
        if matches!(ty, DynptrType::Skb | DynptrType::Xdp) {
            r0.flags |= DYNPTR_PKT;
        }
        if decl.name == "bpf_dynptr_slice" {
            r0.flags |= RDONLY;
        } else if !self.prog.ops().may_write_packet() {
            return Err(KfuncReject::NoPacketWrites.into());
        }
        r0.dynptr_id = id;
        Ok(r0)
    }

    /// A memory argument of `size` bytes (0: only the pointer type is checked).
    fn check_kfunc_mem(&mut self, reg: &RegState, regno: u8, name: RegName, size: i64) -> Result<(), Reject> {
        let r = match reg.ty {
            RegType::Packet | RegType::PacketMeta => {
                self.mem().check_packet_access(regno, reg, reg.off as i64, size, true)
            }
            RegType::MapValue => self
                .mem()
                .check_map_access_type(reg.map, reg.off as i64, size, false)
                .and_then(|()| self.mem().check_map_access(regno, reg, reg.off as i64, size, true, false)),
            RegType::Mem => {
                self.mem().check_mem_region_access(regno, reg, reg.off as i64, size, reg.mem_size, true)
            }
            RegType::Stack => {
                let r = self.mem().check_stack_access_within_bounds(
                    regno,
                    reg,
                    reg.off as i64,
                    size.max(1),
                    false,
                );
                if r.is_ok() {
                    // check_stack_range_initialized reads every slot of the buffer
                    let (lo, hi) = if reg.var_off.is_const() {
                        (reg.var_off.value as i64, reg.var_off.value as i64)
                    } else {
                        (reg.b64.smin, reg.b64.smax)
                    };
                    let (lo, hi) = (lo + reg.off as i64, hi + reg.off as i64 + size);
                    self.live_read(reg.frameno as usize, crate::prune::liveness::slots_of(lo, hi));
                }
                r
            }
            _ => {
                return Err(KfuncReject::MemArgType(name, TypeName::new(reg.ty, reg.flags)).into());
            }
        };
        r.map_err(|e| rename(e, regno, name))
    }

    /// `check_kfunc_mem_size_reg`: buffer argument `i`, size argument `i + 1`.
    fn check_kfunc_mem_size(&mut self, decl: &KfuncDecl, i: usize) -> Result<(), Reject> {
        let (buf, buf_regno) = self.kfunc_arg(i);
        let (size, size_regno) = self.kfunc_arg(i + 1);
        let (buf_name, size_name) = (arg_name(i), arg_name(i + 1));
        let stack_args = self.prog.opts.stack_args;
        let pair = |e: Reject| -> Reject {
            if stack_args {
                KfuncReject::MemLenPair { buf: buf_name, size: size_name, cause: Box::new(e) }.into()
            } else {
                KfuncReject::MemLenPairArgs { buf: i, size: i + 1, cause: Box::new(e) }.into()
            }
        };
        if size.ty != RegType::Scalar {
            return Err(KfuncReject::NotScalar(size_name).into());
        }
        let constant = matches!(decl.args[i + 1].kind, KfuncArgKind::MemSize { constant: true });
        // the stack-argument ABI wants a constant size first; 6.18 checks the pair first
        if stack_args && constant && !size.var_off.is_const() {
            return Err(KfuncReject::NotConst(size_name).into());
        }
        if size.b64.smin < 0 {
            return Err(pair(Reject::SizeNegative(size_name)));
        }
        if size.b64.umax >= MAX_VAR_OFF as u64 {
            return Err(pair(Reject::SizeUnbounded(size_name)));
        }
        self.check_kfunc_mem(&buf, buf_regno, buf_name, size.b64.umax as i64).map_err(pair)?;
        self.kfunc_arg_precise(i + 1, size_regno);
        // check_kfunc_mem_size_reg checks the pair a second time as a write (raw mode)
        self.check_kfunc_mem_write(&buf, buf_regno, size.b64.umax as i64)
            .map_err(|e| pair(rename(e, buf_regno, buf_name)))?;
        self.kfunc_arg_precise(i + 1, size_regno);
        if constant && !size.var_off.is_const() {
            return Err(KfuncReject::NotConst(size_name).into());
        }
        Ok(())
    }

    /// The `BPF_WRITE` pass of a kfunc memory argument: read-only memory, read-only maps and
    /// dynptr bytes on the stack refuse it.
    fn check_kfunc_mem_write(&mut self, buf: &RegState, regno: u8, size: i64) -> Result<(), Reject> {
        match buf.ty {
            RegType::Mem if buf.flags & RDONLY != 0 => {
                Err(Reject::RegCannotWrite(regno.into(), TypeName::new(buf.ty, buf.flags)))
            }
            RegType::MapValue => self.mem().check_map_access_type(buf.map, buf.off as i64, size, true),
            RegType::Stack => self.check_stack_range_special(regno, buf, size, true),
            _ => Ok(()),
        }
    }
}
