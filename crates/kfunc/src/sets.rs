//! The kfunc id sets of Linux 6.18, written by us: which kernel functions a program may call as
//! kfuncs, with which `KF_*` flags, from which program types. The kernel keeps these in
//! `BTF_ID_FLAGS` sets registered per program type (`register_btf_kfunc_id_set`); the target
//! BTF only says a function exists. A function of the target BTF absent from this table is not
//! guessed at: the verifier leaves it unsupported.
//!
//! Program types reach a set through the kernel's hook of their type
//! (`bpf_prog_type_to_kfunc_hook`): one hook serves several types (tracing, tracepoint,
//! perf_event and LSM programs share the tracing hook). Types whose hook this table does not
//! know are [`Allowed::Unknown`], never refused.

use std::collections::HashMap;
use std::sync::LazyLock;

use kbpf_isa::{AttachType, KernelProgType};

use crate::proto::KfuncFlags;

/// A kfunc hook (`enum btf_kfunc_hook`): the unit sets are registered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Every program type (`BPF_PROG_TYPE_UNSPEC` registrations).
    Common,
    /// fentry/fexit/tp_btf/iter, tracepoint, perf_event, LSM.
    Tracing,
    /// `sched_cls`.
    Tc,
    /// `sched_act`.
    SchedAct,
    /// XDP.
    Xdp,
    /// struct_ops.
    StructOps,
    /// syscall.
    Syscall,
    /// `cgroup_skb`.
    CgroupSkb,
    /// `cgroup_sock_addr`.
    CgroupSockAddr,
    /// `sk_skb`.
    SkSkb,
    /// `socket_filter`.
    SocketFilter,
    /// `lwt_in`.
    LwtIn,
    /// `lwt_out`.
    LwtOut,
    /// `lwt_xmit`.
    LwtXmit,
    /// `lwt_seg6local`.
    LwtSeg6local,
    /// netfilter.
    Netfilter,
    /// kprobe family (kprobe_multi session kfuncs).
    Kprobe,
}

impl Hook {
    /// The hook of a program type; `None` when this table does not know it (only
    /// [`Hook::Common`] sets are then decided). Raw tracepoints have no hook of their own.
    pub fn of(t: KernelProgType) -> Option<Hook> {
        use KernelProgType as T;
        Some(match t {
            T::Tracing | T::Tracepoint | T::PerfEvent | T::Lsm => Hook::Tracing,
            T::SchedCls => Hook::Tc,
            T::SchedAct => Hook::SchedAct,
            T::Xdp => Hook::Xdp,
            T::StructOps => Hook::StructOps,
            T::Syscall => Hook::Syscall,
            T::CgroupSkb => Hook::CgroupSkb,
            T::CgroupSockAddr => Hook::CgroupSockAddr,
            T::SkSkb => Hook::SkSkb,
            T::SocketFilter => Hook::SocketFilter,
            T::LwtIn => Hook::LwtIn,
            T::LwtOut => Hook::LwtOut,
            T::LwtXmit => Hook::LwtXmit,
            T::LwtSeg6local => Hook::LwtSeg6local,
            T::Netfilter => Hook::Netfilter,
            T::Kprobe => Hook::Kprobe,
            // no hook of their own: only the sets registered for every type
            T::RawTracepoint | T::RawTracepointWritable => Hook::Common,
            _ => return None,
        })
    }
}

/// A set's `filter` callback (`btf_kfunc_id_set.filter`): beyond the hook, a condition on the
/// program itself; a program failing it may not call the set's kfuncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `tracing_iter_filter` (filter.c): iterator programs (`BPF_TRACE_ITER`) only.
    TraceIter,
    /// `bpf_fs_kfuncs_filter` (bpf_fs_kfuncs.c): LSM programs only (the set is registered
    /// for the tracing hook, which tracing programs share).
    Lsm,
}

impl Filter {
    /// Whether a program of type `t` loaded with `attach` passes the filter.
    pub fn admits(self, t: KernelProgType, attach: Option<AttachType>) -> bool {
        match self {
            Filter::TraceIter => attach == Some(AttachType::TraceIter),
            Filter::Lsm => t == KernelProgType::Lsm,
        }
    }
}

/// One kfunc of a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetEntry {
    /// Its `KF_*` flags.
    pub flags: KfuncFlags,
    /// The hooks its set is registered for.
    pub hooks: &'static [Hook],
    /// Its set's filter, if the set has one.
    pub filter: Option<Filter>,
}

/// Whether a program type may call a kfunc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// In a set of the type's hook.
    Yes,
    /// In no set of the type's hook (`calling kernel function X is not allowed`).
    No,
    /// The type's hook is not in this table.
    Unknown,
}

impl SetEntry {
    /// Whether programs of type `t`, loaded with expected attach type `attach`, may call it
    /// (`btf_kfunc_id_set_contains`: the hook's sets, then their filters).
    pub fn allowed(&self, t: KernelProgType, attach: Option<AttachType>) -> Allowed {
        let hooked = if self.hooks.contains(&Hook::Common) {
            Allowed::Yes
        } else {
            match Hook::of(t) {
                Some(h) if self.hooks.contains(&h) => Allowed::Yes,
                Some(_) => Allowed::No,
                None => Allowed::Unknown,
            }
        };
        match self.filter {
            Some(f) if hooked == Allowed::Yes && !f.admits(t, attach) => Allowed::No,
            _ => hooked,
        }
    }
}

const COMMON: &[Hook] = &[Hook::Common];
/// helpers.c's generic set.
const GENERIC: &[Hook] =
    &[Hook::Tracing, Hook::Tc, Hook::Xdp, Hook::StructOps, Hook::Syscall, Hook::CgroupSkb];
/// filter.c's skb set (`bpf_dynptr_from_skb`).
const SKB: &[Hook] = &[
    Hook::Tc,
    Hook::SchedAct,
    Hook::SkSkb,
    Hook::SocketFilter,
    Hook::CgroupSkb,
    Hook::LwtOut,
    Hook::LwtIn,
    Hook::LwtXmit,
    Hook::LwtSeg6local,
    Hook::Netfilter,
    Hook::Tracing,
];
/// cpumask.c's set.
const CPUMASK: &[Hook] = &[Hook::Tracing, Hook::StructOps, Hook::Syscall];
/// net/bpf/test_run.c's `bpf_prog_test_kfunc_set` (in vmlinux, not the test module).
const TEST_RUN: &[Hook] = &[Hook::Tc, Hook::Tracing, Hook::Syscall];
/// nf_conntrack_bpf.c's and nf_nat_bpf.c's sets.
const NF: &[Hook] = &[Hook::Xdp, Hook::Tc];
/// crypto.c's cipher set.
const CRYPTO: &[Hook] = &[Hook::Tc, Hook::SchedAct, Hook::Xdp];

const NONE: KfuncFlags = KfuncFlags::NONE;
const ACQ: KfuncFlags = KfuncFlags::ACQUIRE;
const REL: KfuncFlags = KfuncFlags::RELEASE;
const NULL: KfuncFlags = KfuncFlags::RET_NULL;
const RCU: KfuncFlags = KfuncFlags::RCU;
const TRUSTED: KfuncFlags = KfuncFlags::TRUSTED_ARGS;
const SLEEP: KfuncFlags = KfuncFlags::SLEEPABLE;
const NEW: KfuncFlags = KfuncFlags::ITER_NEW;
const NEXT: KfuncFlags = KfuncFlags::ITER_NEXT;
const DESTROY: KfuncFlags = KfuncFlags::ITER_DESTROY;
const RCU_PROT: KfuncFlags = KfuncFlags::RCU_PROTECTED;
const FAST: KfuncFlags = KfuncFlags::FASTCALL;

const fn f(a: KfuncFlags, b: KfuncFlags) -> KfuncFlags {
    a.union(b)
}

const fn f3(a: KfuncFlags, b: KfuncFlags, c: KfuncFlags) -> KfuncFlags {
    a.union(b).union(c)
}

/// `(name, flags, hooks)` of every kfunc the table knows.
const TABLE: &[(&str, KfuncFlags, &[Hook])] = &[
    // helpers.c, generic set
    ("bpf_obj_new_impl", f(ACQ, NULL), GENERIC),
    ("bpf_percpu_obj_new_impl", f(ACQ, NULL), GENERIC),
    ("bpf_obj_drop_impl", REL, GENERIC),
    ("bpf_percpu_obj_drop_impl", REL, GENERIC),
    ("bpf_refcount_acquire_impl", f3(ACQ, NULL, RCU), GENERIC),
    ("bpf_list_push_front_impl", NONE, GENERIC),
    ("bpf_list_push_back_impl", NONE, GENERIC),
    ("bpf_list_pop_front", f(ACQ, NULL), GENERIC),
    ("bpf_list_pop_back", f(ACQ, NULL), GENERIC),
    ("bpf_list_front", NULL, GENERIC),
    ("bpf_list_back", NULL, GENERIC),
    ("bpf_task_acquire", f3(ACQ, RCU, NULL), GENERIC),
    ("bpf_task_release", REL, GENERIC),
    ("bpf_rbtree_remove", f(ACQ, NULL), GENERIC),
    ("bpf_rbtree_add_impl", NONE, GENERIC),
    ("bpf_rbtree_first", NULL, GENERIC),
    ("bpf_rbtree_root", NULL, GENERIC),
    ("bpf_rbtree_left", NULL, GENERIC),
    ("bpf_rbtree_right", NULL, GENERIC),
    ("bpf_cgroup_acquire", f3(ACQ, RCU, NULL), GENERIC),
    ("bpf_cgroup_release", REL, GENERIC),
    ("bpf_cgroup_ancestor", f3(ACQ, RCU, NULL), GENERIC),
    ("bpf_cgroup_from_id", f(ACQ, NULL), GENERIC),
    ("bpf_task_under_cgroup", RCU, GENERIC),
    ("bpf_task_get_cgroup1", f3(ACQ, RCU, NULL), GENERIC),
    ("bpf_task_from_pid", f(ACQ, NULL), GENERIC),
    ("bpf_task_from_vpid", f(ACQ, NULL), GENERIC),
    ("bpf_throw", NONE, GENERIC),
    ("bpf_send_signal_task", TRUSTED, GENERIC),
    // helpers.c, common set
    ("bpf_cast_to_kern_ctx", FAST, COMMON),
    ("bpf_rdonly_cast", FAST, COMMON),
    ("bpf_rcu_read_lock", NONE, COMMON),
    ("bpf_rcu_read_unlock", NONE, COMMON),
    ("bpf_dynptr_slice", NULL, COMMON),
    ("bpf_dynptr_slice_rdwr", NULL, COMMON),
    ("bpf_iter_num_new", NEW, COMMON),
    ("bpf_iter_num_next", f(NEXT, NULL), COMMON),
    ("bpf_iter_num_destroy", DESTROY, COMMON),
    ("bpf_iter_task_vma_new", f(NEW, RCU), COMMON),
    ("bpf_iter_task_vma_next", f(NEXT, NULL), COMMON),
    ("bpf_iter_task_vma_destroy", DESTROY, COMMON),
    ("bpf_iter_css_task_new", f(NEW, TRUSTED), COMMON),
    ("bpf_iter_css_task_next", f(NEXT, NULL), COMMON),
    ("bpf_iter_css_task_destroy", DESTROY, COMMON),
    ("bpf_iter_css_new", f3(NEW, TRUSTED, RCU_PROT), COMMON),
    ("bpf_iter_css_next", f(NEXT, NULL), COMMON),
    ("bpf_iter_css_destroy", DESTROY, COMMON),
    ("bpf_iter_task_new", f3(NEW, TRUSTED, RCU_PROT), COMMON),
    ("bpf_iter_task_next", f(NEXT, NULL), COMMON),
    ("bpf_iter_task_destroy", DESTROY, COMMON),
    ("bpf_dynptr_adjust", NONE, COMMON),
    ("bpf_dynptr_is_null", NONE, COMMON),
    ("bpf_dynptr_is_rdonly", NONE, COMMON),
    ("bpf_dynptr_size", NONE, COMMON),
    ("bpf_dynptr_clone", NONE, COMMON),
    ("bpf_dynptr_copy", NONE, COMMON),
    ("bpf_wq_init", NONE, COMMON),
    ("bpf_wq_set_callback_impl", NONE, COMMON),
    ("bpf_wq_start", NONE, COMMON),
    ("bpf_preempt_disable", NONE, COMMON),
    ("bpf_preempt_enable", NONE, COMMON),
    ("bpf_iter_bits_new", NEW, COMMON),
    ("bpf_iter_bits_next", f(NEXT, NULL), COMMON),
    ("bpf_iter_bits_destroy", DESTROY, COMMON),
    ("bpf_copy_from_user_str", SLEEP, COMMON),
    ("bpf_copy_from_user_task_str", SLEEP, COMMON),
    ("bpf_get_kmem_cache", NONE, COMMON),
    ("bpf_iter_kmem_cache_new", f(NEW, SLEEP), COMMON),
    ("bpf_iter_kmem_cache_next", f3(NEXT, NULL, SLEEP), COMMON),
    ("bpf_iter_kmem_cache_destroy", f(DESTROY, SLEEP), COMMON),
    ("bpf_local_irq_save", NONE, COMMON),
    ("bpf_local_irq_restore", NONE, COMMON),
    // filter.c
    ("bpf_dynptr_from_skb", TRUSTED, SKB),
    ("bpf_dynptr_from_xdp", NONE, &[Hook::Xdp]),
    ("bpf_sock_addr_set_sun_path", NONE, &[Hook::CgroupSockAddr]),
    // bpf_trace.c, kprobe_multi set (its filter admits session links only)
    ("bpf_session_is_return", NONE, &[Hook::Kprobe]),
    ("bpf_session_cookie", NONE, &[Hook::Kprobe]),
    // bpf_tcp_ca.c: the congestion-control helpers of tcp_congestion_ops programs
    ("tcp_reno_ssthresh", NONE, &[Hook::StructOps]),
    ("tcp_reno_cong_avoid", NONE, &[Hook::StructOps]),
    ("tcp_reno_undo_cwnd", NONE, &[Hook::StructOps]),
    ("tcp_slow_start", NONE, &[Hook::StructOps]),
    ("tcp_cong_avoid_ai", NONE, &[Hook::StructOps]),
    // tcp_cubic.c
    ("cubictcp_init", NONE, &[Hook::StructOps]),
    ("cubictcp_recalc_ssthresh", NONE, &[Hook::StructOps]),
    ("cubictcp_cong_avoid", NONE, &[Hook::StructOps]),
    ("cubictcp_state", NONE, &[Hook::StructOps]),
    ("cubictcp_cwnd_event", NONE, &[Hook::StructOps]),
    ("cubictcp_acked", NONE, &[Hook::StructOps]),
    // cpumask.c
    ("bpf_cpumask_create", f(ACQ, NULL), CPUMASK),
    ("bpf_cpumask_release", REL, CPUMASK),
    ("bpf_cpumask_acquire", f(ACQ, TRUSTED), CPUMASK),
    ("bpf_cpumask_first", RCU, CPUMASK),
    ("bpf_cpumask_first_zero", RCU, CPUMASK),
    ("bpf_cpumask_first_and", RCU, CPUMASK),
    ("bpf_cpumask_set_cpu", RCU, CPUMASK),
    ("bpf_cpumask_clear_cpu", RCU, CPUMASK),
    ("bpf_cpumask_test_cpu", RCU, CPUMASK),
    ("bpf_cpumask_test_and_set_cpu", RCU, CPUMASK),
    ("bpf_cpumask_test_and_clear_cpu", RCU, CPUMASK),
    ("bpf_cpumask_setall", RCU, CPUMASK),
    ("bpf_cpumask_clear", RCU, CPUMASK),
    ("bpf_cpumask_and", RCU, CPUMASK),
    ("bpf_cpumask_or", RCU, CPUMASK),
    ("bpf_cpumask_xor", RCU, CPUMASK),
    ("bpf_cpumask_equal", RCU, CPUMASK),
    ("bpf_cpumask_intersects", RCU, CPUMASK),
    ("bpf_cpumask_subset", RCU, CPUMASK),
    ("bpf_cpumask_empty", RCU, CPUMASK),
    ("bpf_cpumask_full", RCU, CPUMASK),
    ("bpf_cpumask_copy", RCU, CPUMASK),
    ("bpf_cpumask_any_distribute", RCU, CPUMASK),
    ("bpf_cpumask_any_and_distribute", RCU, CPUMASK),
    ("bpf_cpumask_weight", RCU, CPUMASK),
    ("bpf_cpumask_populate", RCU, CPUMASK),
    // map_iter.c: every program type
    ("bpf_map_sum_elem_count", TRUSTED, COMMON),
    // filter.c, the socket iterators' set
    ("bpf_sock_destroy", TRUSTED, &[Hook::Tracing]),
    // bpf_fs_kfuncs.c (registered for LSM, i.e. the tracing hook)
    ("bpf_get_task_exe_file", f3(ACQ, TRUSTED, NULL), &[Hook::Tracing]),
    ("bpf_put_file", REL, &[Hook::Tracing]),
    ("bpf_path_d_path", TRUSTED, &[Hook::Tracing]),
    ("bpf_get_dentry_xattr", f(SLEEP, TRUSTED), &[Hook::Tracing]),
    ("bpf_get_file_xattr", f(SLEEP, TRUSTED), &[Hook::Tracing]),
    ("bpf_set_dentry_xattr", f(SLEEP, TRUSTED), &[Hook::Tracing]),
    ("bpf_remove_dentry_xattr", f(SLEEP, TRUSTED), &[Hook::Tracing]),
    ("bpf_kfunc_call_test_release", REL, TEST_RUN),
    ("bpf_kfunc_call_memb_release", REL, TEST_RUN),
    // nf_conntrack_bpf.c and nf_nat_bpf.c (xdp and tc)
    ("bpf_xdp_ct_alloc", f(ACQ, NULL), NF),
    ("bpf_xdp_ct_lookup", f(ACQ, NULL), NF),
    ("bpf_skb_ct_alloc", f(ACQ, NULL), NF),
    ("bpf_skb_ct_lookup", f(ACQ, NULL), NF),
    ("bpf_ct_insert_entry", f3(ACQ, NULL, REL), NF),
    ("bpf_ct_release", REL, NF),
    ("bpf_ct_set_timeout", TRUSTED, NF),
    ("bpf_ct_change_timeout", TRUSTED, NF),
    ("bpf_ct_set_status", TRUSTED, NF),
    ("bpf_ct_change_status", TRUSTED, NF),
    ("bpf_ct_set_nat_info", TRUSTED, NF),
    // crypto.c: the context set for every type, the cipher set for packet programs
    ("bpf_crypto_ctx_create", f3(ACQ, NULL, SLEEP), COMMON),
    ("bpf_crypto_ctx_release", REL, COMMON),
    ("bpf_crypto_ctx_acquire", f3(ACQ, RCU, NULL), COMMON),
    ("bpf_crypto_decrypt", RCU, CRYPTO),
    ("bpf_crypto_encrypt", RCU, CRYPTO),
    // filter.c's tcp_reqsk set (tc)
    ("bpf_sk_assign_tcp_reqsk", TRUSTED, &[Hook::Tc]),
];

/// The kfuncs of sets with a filter, and the filter. The kprobe session set's filter
/// (`bpf_kprobe_multi_kfunc_filter`) needs the link flavour, which the verifier decides
/// (`check_kfunc_call`).
const FILTERED: &[(&str, Filter)] = &[
    ("bpf_sock_destroy", Filter::TraceIter),
    ("bpf_get_task_exe_file", Filter::Lsm),
    ("bpf_put_file", Filter::Lsm),
    ("bpf_path_d_path", Filter::Lsm),
    ("bpf_get_dentry_xattr", Filter::Lsm),
    ("bpf_get_file_xattr", Filter::Lsm),
    ("bpf_set_dentry_xattr", Filter::Lsm),
    ("bpf_remove_dentry_xattr", Filter::Lsm),
];

static BY_NAME: LazyLock<HashMap<&'static str, SetEntry>> = LazyLock::new(|| {
    TABLE
        .iter()
        .map(|&(name, flags, hooks)| {
            let filter = FILTERED.iter().find(|(n, _)| *n == name).map(|&(_, f)| f);
            (name, SetEntry { flags, hooks, filter })
        })
        .collect()
});

/// The set entry of kfunc `name`, if the table has it.
pub fn lookup(name: &str) -> Option<SetEntry> {
    BY_NAME.get(name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_decide_like_the_kernel() {
        let t = lookup("bpf_task_acquire").unwrap();
        assert!(t.flags.contains(KfuncFlags::ACQUIRE | KfuncFlags::RCU | KfuncFlags::RET_NULL));
        assert_eq!(t.allowed(KernelProgType::Tracing, None), Allowed::Yes);
        assert_eq!(t.allowed(KernelProgType::Lsm, None), Allowed::Yes);
        assert_eq!(t.allowed(KernelProgType::Kprobe, None), Allowed::No);
        assert_eq!(t.allowed(KernelProgType::RawTracepoint, None), Allowed::No);
        assert_eq!(t.allowed(KernelProgType::CgroupSock, None), Allowed::Unknown);
        let n = lookup("bpf_iter_num_new").unwrap();
        assert_eq!(n.allowed(KernelProgType::RawTracepoint, None), Allowed::Yes);
        assert_eq!(
            lookup("bpf_dynptr_from_xdp").unwrap().allowed(KernelProgType::RawTracepoint, None),
            Allowed::No
        );
        // the unix socket address setter belongs to cgroup_sock_addr programs only
        let sun = lookup("bpf_sock_addr_set_sun_path").unwrap();
        assert_eq!(sun.allowed(KernelProgType::CgroupSockAddr, None), Allowed::Yes);
        assert_eq!(sun.allowed(KernelProgType::SchedCls, None), Allowed::No);
        assert!(lookup("bpf_not_a_kfunc").is_none());
    }

    #[test]
    fn set_filters_refuse_like_the_kernel() {
        use KernelProgType as T;
        // tracing_iter_filter: bpf_sock_destroy from iterators only
        let d = lookup("bpf_sock_destroy").unwrap();
        assert_eq!(d.allowed(T::Tracing, Some(AttachType::TraceIter)), Allowed::Yes);
        assert_eq!(d.allowed(T::Tracing, Some(AttachType::TraceRawTp)), Allowed::No);
        assert_eq!(d.allowed(T::Tracing, None), Allowed::No);
        assert_eq!(d.allowed(T::SchedCls, None), Allowed::No);
        // bpf_fs_kfuncs_filter: LSM programs only, though the tracing hook has the set
        let x = lookup("bpf_path_d_path").unwrap();
        assert_eq!(x.allowed(T::Lsm, Some(AttachType::LsmMac)), Allowed::Yes);
        assert_eq!(x.allowed(T::Tracing, Some(AttachType::TraceFentry)), Allowed::No);
    }
}
