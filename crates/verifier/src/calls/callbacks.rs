//! Synchronous callbacks (`bpf_loop`, `bpf_for_each_map_elem`, `bpf_user_ringbuf_drain`): the helper call queues the callback's first iteration as
//! a branch of its own (`push_callback_call`: a copy of the caller's state with the callback's
//! frame on top, `setup_func_entry` + `set_loop_callback_state`) and the caller goes on as if
//! the loop had ended. The callback's `exit` checks r0 against the callback's return range and
//! goes back to the call instruction (`prepare_func_exit` for `in_callback_fn`), which queues
//! the next iteration; `is_state_visited` ends the unrolling when an iteration's state at the
//! call is within an earlier one's (`calls_callback`), and `callback_depth` stops it at the
//! loop count when that is known.

use crate::MapKind;
use crate::domain::state::{DynptrType, FuncState, RegState, RegType, StackObj};
use crate::env::ctx::Call;
use crate::messages::{Bug, CallReject, Reject};
use kbpf_elf::btf::Kind;
use kbpf_isa::SlotIdx;

impl Call<'_, '_> {
    /// `check_helper_call`'s `BPF_FUNC_loop` case: r1 (the loop count) is made precise, then
    /// another iteration is queued unless this path has pushed as many as r1 allows.
    pub(crate) fn check_loop_call(&mut self, sub: Option<usize>, call_idx: usize) -> Result<(), Reject> {
        let Some(sub) = sub else { return Err(Bug::NoCallback.into()) };
        self.update_loop_inline_state(sub, call_idx);
        self.precision().mark_chain_precision(1);
        let umax = self.cur.cur().regs[1].b64.umax;
        if self.cur.cur().callback_depth < umax {
            return self.push_sync_callback(sub, call_idx, Cb::Loop);
        }
        self.cur.cur_mut().callback_depth = 0;
        if self.log.verbose2() {
            let frame = self.cur.frames.len() - 1;
            self.log.put(&format!("frame{frame} bpf_loop iteration limit reached\n"));
        }
        Ok(())
    }

    /// `update_loop_inline_state`: a call stays inlinable while every visit passes zero flags
    /// and the same callback; a zero flags argument is made precise each time it is asked
    /// (which prunes less, as in the kernel).
    fn update_loop_inline_state(&mut self, sub: usize, call_idx: usize) {
        let prev = self.aux.loop_inline.get(&call_idx).copied();
        if prev.is_some_and(|p| !p.fit) {
            return;
        }
        let zero = self.loop_flag_is_zero();
        let fit = zero && prev.is_none_or(|p| p.sub == sub);
        let sub = prev.map_or(sub, |p| p.sub);
        self.aux.loop_inline.insert(call_idx, LoopInline { fit, sub });
    }

    /// `loop_flag_is_zero`.
    fn loop_flag_is_zero(&mut self) -> bool {
        let r4 = &self.cur.cur().regs[4];
        let zero = r4.is_const() && r4.var_off.value == 0;
        if zero {
            self.precision().mark_chain_precision(4);
        }
        zero
    }

    /// `check_helper_call`'s `BPF_FUNC_for_each_map_elem` case: every call queues an
    /// iteration over the map's elements (the map types with `map_for_each_callback`).
    pub(crate) fn check_for_each_map_elem(
        &mut self,
        sub: Option<usize>,
        map: Option<u32>,
        call_idx: usize,
    ) -> Result<(), Reject> {
        let Some(sub) = sub else { return Err(Bug::NoCallback.into()) };
        let kind = map.and_then(|m| self.maps().get(m as usize)).map(|d| d.kind);
        let iterable = kind.is_some_and(|k| {
            matches!(
                k,
                MapKind::Array
                    | MapKind::PercpuArray
                    | MapKind::Hash
                    | MapKind::PercpuHash
                    | MapKind::LruHash
                    | MapKind::LruPercpuHash
            )
        });
        if !iterable {
            return Err(Reject::Unsupported(crate::messages::Unsupported::Feature(
                "bpf_for_each_map_elem on this map type",
            )));
        }
        self.push_sync_callback(sub, call_idx, Cb::MapElem)
    }

    /// `check_helper_call`'s `BPF_FUNC_user_ringbuf_drain` case: every call queues the
    /// callback, which gets each sample as a const dynptr.
    pub(crate) fn check_user_ringbuf_drain(
        &mut self,
        sub: Option<usize>,
        call_idx: usize,
    ) -> Result<(), Reject> {
        let Some(sub) = sub else { return Err(Bug::NoCallback.into()) };
        self.push_sync_callback(sub, call_idx, Cb::UserRingbuf)
    }

    /// `check_helper_call`'s `BPF_FUNC_find_vma` case: the callback sees the task and a
    /// `struct vm_area_struct` of the target's BTF.
    pub(crate) fn check_find_vma(&mut self, sub: Option<usize>, call_idx: usize) -> Result<(), Reject> {
        let Some(sub) = sub else { return Err(Bug::NoCallback.into()) };
        let vma =
            self.prog.opts.btf.as_ref().and_then(|b| b.0.find_by_name_kind("vm_area_struct", Kind::Struct));
        let Some(vma) = vma else {
            return Err(Reject::Unsupported(crate::messages::Unsupported::Feature(
                "bpf_find_vma without struct vm_area_struct in the target BTF",
            )));
        };
        self.push_sync_callback(sub, call_idx, Cb::FindVma(vma))
    }

    /// `bpf_rbtree_add_impl`'s `less(a, b)`: verified on two non-owning nodes of the tree.
    pub(crate) fn push_rbtree_add_callback(
        &mut self,
        sub: Option<usize>,
        call_idx: usize,
        node: RegState,
    ) -> Result<(), Reject> {
        let Some(sub) = sub else { return Err(Bug::NoCallback.into()) };
        self.push_sync_callback(sub, call_idx, Cb::RbtreeAdd(Box::new(node)))
    }

    /// `push_callback_call` for a synchronous callback: the branch starts at the callback's
    /// first instruction with its frame set up from the caller's registers.
    fn push_sync_callback(&mut self, sub: usize, call_idx: usize, cb: Cb) -> Result<(), Reject> {
        self.check_callback_args(sub);
        if let Some(c) = self.subs.is_cb.get_mut(sub) {
            *c = true;
        }
        // mark_dynptr_cb_reg takes the next id before the frame is set up
        let dynptr_id = if matches!(cb, Cb::UserRingbuf) { self.new_id() } else { 0 };
        let start = self
            .prog
            .info
            .subprogs
            .list
            .get(sub)
            .map(|s| s.start)
            .ok_or(Reject::Bug(Bug::NoCallbackSubprog(sub)))?;
        let q = self.walk().push_stack(start, SlotIdx::new(call_idx))?;
        let depth = self.cur.frames.len();
        let Some(p) = self.search.pending.get_mut(q) else { return Err(Bug::NoCallbackSubprog(sub).into()) };
        // setup_func_entry
        if depth >= kbpf_isa::MAX_CALL_FRAMES {
            return Err(Reject::CallStackTooDeep(depth + 1));
        }
        let caller = &p.st.frames[depth - 1];
        let mut callee = FuncState::new(call_idx as i64, depth as u32, sub);
        match cb {
            Cb::Loop => set_loop_callback_state(caller, &mut callee),
            Cb::MapElem => set_map_elem_callback_state(caller, &mut callee),
            Cb::UserRingbuf => set_user_ringbuf_callback_state(caller, &mut callee, dynptr_id),
            Cb::FindVma(vma) => set_find_vma_callback_state(caller, &mut callee, vma),
            Cb::RbtreeAdd(node) => set_rbtree_add_callback_state(*node, &mut callee),
        }
        p.st.frames.push(callee);
        p.st.callback_unroll_depth += 1;
        p.st.frames[depth - 1].callback_depth += 1;
        self.cur.cur_mut().callback_depth = 0;
        Ok(())
    }

    /// `prepare_func_exit` of a callback's frame: r0 a precise scalar in the callback's range;
    /// the walk goes back to the helper call. Returns the instruction to continue at.
    pub(crate) fn callback_exit(&mut self, callee: &FuncState) -> Result<usize, Reject> {
        let r0 = &callee.regs[0];
        if r0.ty != RegType::Scalar {
            return Err(CallReject::CallbackRetNotScalar.into());
        }
        self.precision().mark_chain_precision(0);
        let r0 = &self.cur.cur().regs[0];
        let (min, max) = callee.callback_ret_range;
        if r0.b64.smin < min || r0.b64.smax > max {
            return Err(
                CallReject::CallbackRetRange { smin: r0.b64.smin, smax: r0.b64.smax, min, max }.into()
            );
        }
        let callsite = callee.callsite.max(0) as usize;
        if !self.prog.info.cfg.marks.get(callsite).is_some_and(|m| m.calls_callback) {
            return Err(Bug::CallbackCallsite { insn: self.cur.insn_idx.index(), callsite }.into());
        }
        Ok(callsite)
    }
}

/// Which helper's callback.
#[derive(Clone)]
enum Cb {
    Loop,
    MapElem,
    UserRingbuf,
    /// With the target's `struct vm_area_struct` id.
    FindVma(u32),
    /// With the node both arguments are.
    RbtreeAdd(Box<RegState>),
}

/// `set_find_vma_callback_state`: `callback_fn(struct task_struct *task, struct
/// vm_area_struct *vma, void *callback_ctx)`: r1 the caller's task, r2 a plain BTF pointer to
/// the vma, r3 the caller's r4; returns 0 (go on) or 1 (stop).
fn set_find_vma_callback_state(caller: &FuncState, callee: &mut FuncState, vma: u32) {
    callee.regs[1] = caller.regs[1].clone();
    let mut r2 = RegState::pointer(RegType::BtfId);
    r2.btf_id = vma;
    callee.regs[2] = r2;
    callee.regs[3] = caller.regs[4].clone();
    for r in 4..=5 {
        callee.regs[r] = RegState::not_init();
    }
    callee.in_callback_fn = true;
    callee.callback_ret_range = (0, 1);
}

/// `set_user_ringbuf_callback_state`: `callback_fn(const struct bpf_dynptr *dynptr, void
/// *callback_ctx)`: r1 a const local dynptr over the sample, r2 the caller's r3; returns 0
/// (go on) or 1 (stop).
fn set_user_ringbuf_callback_state(caller: &FuncState, callee: &mut FuncState, dynptr_id: u32) {
    callee.regs[0] = RegState::not_init();
    let mut dynptr = RegState::pointer(RegType::ConstDynptr);
    dynptr.id = dynptr_id;
    dynptr.obj = StackObj::Dynptr { ty: DynptrType::Local, first_slot: true };
    callee.regs[1] = dynptr;
    callee.regs[2] = caller.regs[3].clone();
    for r in 3..=5 {
        callee.regs[r] = RegState::not_init();
    }
    callee.in_callback_fn = true;
    callee.callback_ret_range = (0, 1);
}

/// `set_rbtree_add_callback_state`: `less(struct bpf_rb_node *a, const struct bpf_rb_node
/// *b)`: two non-owning nodes of the tree; returns a bool.
fn set_rbtree_add_callback_state(node: RegState, callee: &mut FuncState) {
    callee.regs[1] = node.clone();
    callee.regs[2] = node;
    for r in 3..=5 {
        callee.regs[r] = RegState::not_init();
    }
    callee.in_callback_fn = true;
    callee.callback_ret_range = (0, 1);
}

/// `set_map_elem_callback_state` (the array and hash maps' `map_set_for_each_callback_args`):
/// `callback_fn(map, key, value, callback_ctx)`: r1 the caller's map, r2 and r3 the element's
/// key and value, r4 the caller's r3; returns 0 (go on) or 1 (stop).
fn set_map_elem_callback_state(caller: &FuncState, callee: &mut FuncState) {
    let map = caller.regs[1].clone();
    for (r, ty) in [(2, RegType::MapKey), (3, RegType::MapValue)] {
        let mut reg = RegState::pointer(ty);
        reg.map = map.map;
        callee.regs[r] = reg;
    }
    callee.regs[1] = map;
    callee.regs[4] = caller.regs[3].clone();
    callee.regs[5] = RegState::not_init();
    callee.in_callback_fn = true;
    callee.callback_ret_range = (0, 1);
}

/// `set_loop_callback_state`: `callback_fn(u32 index, void *callback_ctx)`: r1 an unknown
/// scalar, r2 the caller's r3; returns 0 (go on) or 1 (stop).
fn set_loop_callback_state(caller: &FuncState, callee: &mut FuncState) {
    callee.regs[1] = RegState::unknown_scalar();
    callee.regs[2] = caller.regs[3].clone();
    for r in 3..=5 {
        callee.regs[r] = RegState::not_init();
    }
    callee.in_callback_fn = true;
    callee.callback_ret_range = (0, 1);
}

/// A `bpf_loop` call's inlining state (`struct bpf_loop_inline_state`): still fit for inlining,
/// and the callback its first visit saw.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoopInline {
    pub fit: bool,
    pub sub: usize,
}
