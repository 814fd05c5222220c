//! The graph kfuncs: lists (`bpf_list_push_front_impl` / `_back_impl`, `bpf_list_pop_front` /
//! `_back`, `bpf_list_front` / `_back`) and the rbtree kfuncs that take no callback
//! (`bpf_rbtree_remove`, `bpf_rbtree_first`, `bpf_rbtree_root` / `_left` / `_right`).
//!
//! A graph root (`bpf_list_head`, `bpf_rb_root`) lives in a map value or an allocated object
//! whose `bpf_spin_lock` must be held; nodes are fields of allocated objects. Pushing an
//! owned object hands it to the graph: the program's references to it become non-owning
//! (`NON_OWN_REF`), usable until the lock is released (`ref_convert_owning_non_owning`,
//! `invalidate_non_owning_refs`). The kernel's `KF_ARG_PTR_TO_{LIST,RB}_{HEAD,ROOT,NODE}` cases
//! of `check_kfunc_args` and the graph returns of `check_kfunc_call`. `bpf_rbtree_add_impl`'s
//! `less` callback is verified as a synchronous callback on two non-owning nodes.

use crate::btf::record::{Field, FieldKind};
use crate::domain::state::{LockOwner, MAYBE_NULL, MEM_ALLOC, MEM_RCU, NON_OWN_REF, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::alloc::NodeMismatch;
use crate::messages::{AllocReject, Bug, CallReject, Reject};
use crate::protos::func_info::KfuncDecl;

/// What the graph arguments of one call resolved to.
#[derive(Clone, Default)]
pub(crate) struct GraphMeta {
    /// The root field (`meta->arg_list_head` / `arg_rbtree_root`).
    pub root: Option<Field>,
}

/// `bpf_rbtree_add_impl`: an insertion that calls back.
pub(crate) const RBTREE_ADD: &str = "bpf_rbtree_add_impl";

/// Insertions: the node argument's owning reference goes to the graph.
pub(crate) fn is_insert(name: &str) -> bool {
    matches!(name, "bpf_list_push_front_impl" | "bpf_list_push_back_impl" | RBTREE_ADD)
}

/// The CFG marks of the kfunc calls that call back (`bpf_calls_callback` for kfuncs: the
/// static passes know helpers only): a call of `bpf_rbtree_add_impl` is a prune point that
/// forces a checkpoint and an implicit loop of its own.
pub(crate) fn mark_kfunc_callbacks(
    table: &kbpf_isa::SlotTable<'_>,
    opts: &crate::VerifyOptions,
    info: &mut kbpf_passes::StaticInfo,
) {
    let mut next_scc = info.scc.iter().copied().max().unwrap_or(0) + 1;
    for idx in 0..table.len() {
        let Ok(kbpf_isa::Insn::Call(kbpf_isa::CallTarget::Kfunc { btf_id, off: 0 })) = table.insn(idx) else {
            continue;
        };
        if !opts.kfuncs.get(btf_id).is_some_and(|d| d.name == RBTREE_ADD && d.unmodelled.is_none()) {
            continue;
        }
        if let Some(m) = info.cfg.marks.get_mut(idx) {
            m.calls_callback = true;
            m.force_checkpoint = true;
            m.prune_point = true;
            m.jmp_point = true;
        }
        if let Some(s) = info.scc.get_mut(idx)
            && *s == 0
        {
            *s = next_scc;
            next_scc += 1;
        }
    }
}

/// Kfuncs whose r0 is a node of the root argument's graph.
fn returns_node(name: &str) -> bool {
    matches!(
        name,
        "bpf_list_pop_front"
            | "bpf_list_pop_back"
            | "bpf_list_front"
            | "bpf_list_back"
            | "bpf_rbtree_remove"
            | "bpf_rbtree_first"
            | "bpf_rbtree_root"
            | "bpf_rbtree_left"
            | "bpf_rbtree_right"
    )
}

impl Call<'_, '_> {
    /// The field of `kind` at the register's constant offset in what it points to.
    fn graph_field(&self, reg: &RegState, regno: u8, kind: FieldKind) -> Result<(Field, i64), Reject> {
        if !reg.var_off.is_const() {
            return Err(AllocReject::GraphVarOffset(regno.into(), kind.name()).into());
        }
        let off = reg.off as i64 + reg.var_off.value as i64;
        let rec = self.reg_btf_record(reg)?;
        let field = rec.as_ref().and_then(|(r, _)| {
            u32::try_from(off)
                .ok()
                .and_then(|o| r.fields.iter().find(|f| f.off == o && f.kind == kind).cloned())
        });
        match field {
            Some(f) => Ok((f, off)),
            None => Err(AllocReject::GraphFieldNotFound(kind.name(), off).into()),
        }
    }

    /// `KF_ARG_PTR_TO_LIST_HEAD` / `KF_ARG_PTR_TO_RB_ROOT`: a root in a map value or an owned
    /// allocated object, whose lock this path holds.
    pub(crate) fn check_graph_root_arg(
        &mut self,
        i: usize,
        reg: &RegState,
        regno: u8,
        kind: FieldKind,
        graph: &mut GraphMeta,
    ) -> Result<(), Reject> {
        self.kfunc_arg_reg_off(reg, regno, false)?;
        let alloc = reg.ty == RegType::BtfId && reg.flags == MEM_ALLOC;
        if reg.ty != RegType::MapValue && !alloc {
            return Err(AllocReject::ExpectedMapValueOrAlloc(i).into());
        }
        if alloc && reg.ref_obj_id == 0 {
            return Err(AllocReject::NotReferenced.into());
        }
        let (field, _) = self.graph_field(reg, regno, kind)?;
        self.check_reg_allocation_locked(reg, kind)?;
        if graph.root.is_some() {
            return Err(Bug::GraphRepeatedRoot.into());
        }
        graph.root = Some(field);
        Ok(())
    }

    /// `check_reg_allocation_locked`: the lock of the object `reg` points into is held.
    fn check_reg_allocation_locked(&self, reg: &RegState, kind: FieldKind) -> Result<(), Reject> {
        let owner = match reg.ty {
            RegType::MapValue => LockOwner::Map(reg.map),
            _ => LockOwner::Local,
        };
        let lock_off = self
            .reg_btf_record(reg)?
            .and_then(|(r, _)| r.off_of(FieldKind::SpinLock))
            .map_or(-(kbpf_passes::Errno::EINVAL as i64), |o| o as i64);
        let not_held = |other| AllocReject::LockNotHeld { lock_off, field: kind.name(), other };
        if self.cur.active_locks == 0 {
            return Err(not_held(false).into());
        }
        let held =
            self.cur.refs.iter().any(|r| r.kind.is_lock() && r.id == reg.id && r.kind.owner() == Some(owner));
        if !held {
            return Err(not_held(true).into());
        }
        Ok(())
    }

    /// `KF_ARG_PTR_TO_LIST_NODE` / `KF_ARG_PTR_TO_RB_NODE`: a node of the struct the root
    /// holds, at the offset its `contains:` names.
    pub(crate) fn check_graph_node_arg(
        &mut self,
        decl: &KfuncDecl,
        i: usize,
        reg: &RegState,
        regno: u8,
        kind: FieldKind,
        graph: &GraphMeta,
    ) -> Result<u32, Reject> {
        // 6.18 refuses a possibly-NULL node as it does a trusted argument's
        if reg.flags & MAYBE_NULL != 0
            || (reg.ty == RegType::Scalar && reg.is_const() && reg.var_off.value == 0)
        {
            return Err(crate::messages::KfuncReject::NullTrustedArg(i).into());
        }
        self.kfunc_arg_reg_off(reg, regno, false)?;
        let insert = is_insert(&decl.name);
        if insert || kind == FieldKind::ListNode {
            if !(reg.ty == RegType::BtfId && reg.flags == MEM_ALLOC) {
                return Err(AllocReject::ExpectedAlloc(i).into());
            }
            if reg.ref_obj_id == 0 {
                return Err(AllocReject::NotReferenced.into());
            }
        } else {
            if reg.flags & NON_OWN_REF == 0 && reg.ref_obj_id == 0 {
                return Err(AllocReject::RbNodeNotOwned(decl.name.clone()).into());
            }
            if self.in_rbtree_cb() {
                return Err(AllocReject::NotInRbtreeCb(decl.name.clone()).into());
            }
        }
        let (_, node_off) = self.graph_field(reg, regno, kind)?;
        let Some(root) = graph.root.as_ref() else { return Err(Bug::GraphNoRoot.into()) };
        let Some(gr) = root.graph_root.as_ref() else { return Err(Bug::GraphNoRoot.into()) };
        let name = |id: u32| -> String {
            self.prog
                .opts
                .prog_btf
                .as_ref()
                .and_then(|b| b.get(id))
                .map_or(String::new(), |t| t.name().to_string())
        };
        // both types are the program's: the same id or none
        if reg.btf_id != gr.value_btf_id {
            return Err(AllocReject::Node(Box::new(NodeMismatch::Type {
                head: root.kind.name(),
                node: kind.name(),
                want_off: gr.node_offset,
                want_struct: name(gr.value_btf_id),
                off: node_off,
                have_struct: name(reg.btf_id),
            }))
            .into());
        }
        if node_off != gr.node_offset as i64 {
            return Err(AllocReject::Node(Box::new(NodeMismatch::Offset {
                off: node_off,
                node: kind.name(),
                want_off: gr.node_offset,
                want_struct: name(gr.value_btf_id),
            }))
            .into());
        }
        Ok(reg.btf_id)
    }

    /// After the arguments of an insertion: the node's owning reference becomes non-owning
    /// and is released (`ref_convert_owning_non_owning`, `release_reference`).
    pub(crate) fn graph_insert(
        &mut self,
        decl: &KfuncDecl,
        node_ref: u32,
        node_btf_id: u32,
    ) -> Result<(), Reject> {
        if node_ref == 0 || !self.cur.refs.iter().any(|r| r.id == node_ref && !r.kind.is_lock()) {
            return Err(Bug::GraphOwningRef.into());
        }
        let refcounted = self.local_refcounted(node_btf_id);
        crate::check::branch::for_each_reg(self.cur, |r| {
            if r.ref_obj_id == node_ref {
                r.ref_obj_id = 0;
                set_non_owning(r, refcounted);
            }
        });
        if !self.release_reference(node_ref) {
            return Err(CallReject::RefNotAcquired { name: decl.name.clone(), id: decl.btf_id }.into());
        }
        Ok(())
    }

    /// r0 of a kfunc returning a node (`mark_reg_graph_node`): the struct holding it, pointing
    /// at the node; possibly NULL; owned when the kfunc acquires, else non-owning.
    pub(crate) fn graph_node_ret(
        &mut self,
        decl: &KfuncDecl,
        graph: &GraphMeta,
        insn_idx: usize,
    ) -> Result<Option<RegState>, Reject> {
        if !returns_node(&decl.name) {
            return Ok(None);
        }
        let Some(gr) = graph.root.as_ref().and_then(|f| f.graph_root.as_ref()) else {
            return Err(Bug::GraphNoRoot.into());
        };
        let mut r = RegState::pointer(RegType::BtfId);
        r.flags = MEM_ALLOC;
        r.btf_id = gr.value_btf_id;
        r.off = gr.node_offset as i32;
        if decl.ret_null {
            r.flags |= MAYBE_NULL;
            r.id = self.new_id();
        }
        if decl.traits.acquire {
            let id = self.acquire_reference(insn_idx);
            if decl.ret_null {
                r.id = id;
            }
            r.ref_obj_id = id;
        } else {
            let refcounted = self.local_refcounted(r.btf_id);
            set_non_owning(&mut r, refcounted);
        }
        Ok(Some(r))
    }

    /// Local type `id` has a `bpf_refcount` (its non-owning references are also
    /// RCU-protected).
    fn local_refcounted(&self, id: u32) -> bool {
        let Some(btf) = self.prog.opts.prog_btf.as_ref() else { return false };
        crate::btf::local::struct_meta(btf, id, self.prog.opts.btf.as_deref())
            .ok()
            .flatten()
            .is_some_and(|rec| rec.has(FieldKind::Refcount))
    }

    /// `in_rbtree_lock_required_cb`: the current frame is `bpf_rbtree_add_impl`'s callback.
    pub(crate) fn in_rbtree_cb(&self) -> bool {
        let f = self.cur.cur();
        if !f.in_callback_fn || f.callsite < 0 {
            return false;
        }
        let Ok(kbpf_isa::Insn::Call(kbpf_isa::CallTarget::Kfunc { btf_id, .. })) =
            self.prog.table.insn(f.callsite as usize)
        else {
            return false;
        };
        self.prog.opts.kfuncs.get(btf_id).is_some_and(|d| d.name == RBTREE_ADD)
    }

    /// The two nodes `less(a, b)` is called with (`set_rbtree_add_callback_state`): nodes of
    /// the root's graph, non-owning.
    pub(crate) fn rbtree_cb_node(&self, graph: &GraphMeta) -> Result<RegState, Reject> {
        let Some(gr) = graph.root.as_ref().and_then(|f| f.graph_root.as_ref()) else {
            return Err(Bug::GraphNoRoot.into());
        };
        let mut r = RegState::pointer(RegType::BtfId);
        r.flags = MEM_ALLOC;
        r.btf_id = gr.value_btf_id;
        r.off = gr.node_offset as i32;
        set_non_owning(&mut r, self.local_refcounted(gr.value_btf_id));
        Ok(r)
    }

    /// `invalidate_non_owning_refs` when the lock is released: non-owning references become
    /// unknown scalars (`mark_reg_invalid` for a privileged program).
    pub(crate) fn invalidate_non_owning_refs(&mut self) {
        crate::check::branch::for_each_reg(self.cur, |r| {
            if r.ty == RegType::BtfId && r.flags & NON_OWN_REF != 0 {
                *r = RegState::unknown_scalar();
            }
        });
    }
}

/// `ref_set_non_owning`: the graph owns the object; a refcounted one is also RCU-protected.
fn set_non_owning(r: &mut RegState, refcounted: bool) {
    r.flags |= NON_OWN_REF;
    if refcounted {
        r.flags |= MEM_RCU;
    }
}
