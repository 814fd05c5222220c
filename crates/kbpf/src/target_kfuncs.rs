//! The target kernel's kfuncs a program calls: each call's BTF id resolved in the target BTF
//! to a prototype typed from its `FUNC_PROTO` (kbpf-kfunc's `btf_import`), with the flags and
//! program types of the kernel's kfunc id sets (`kbpf_kfunc::sets`, our table of 6.18's).
//!
//! A function the table does not know is left out: the verifier then answers that the target
//! kernel's kfunc is not modelled. A known one whose rules the verifier does not model yet is
//! marked so ([`kbpf_verifier::KfuncDecl::unmodelled`]): refused as unsupported after the
//! program-type check, never accepted on a guess.

use kbpf_elf::btf::{Btf, BtfType, Kind};
use kbpf_isa::{AttachType, CallTarget, Insn, KernelProgType, RawInsn};
use kbpf_kfunc::sets::{self, Allowed};
use kbpf_verifier::{KfuncArgKind, KfuncDecl, KfuncRet, KfuncTable};

/// kfuncs whose every rule the verifier applies (`special_kfunc_list` members and flags
/// included); the others of the table are resolved but refused as not modelled.
const MODELLED: &[&str] = &[
    // plain congestion-control functions of tcp_congestion_ops programs (bpf_tcp_ca.c and
    // tcp_cubic.c): scalars and socket pointers, no special rules
    "tcp_reno_ssthresh",
    "tcp_reno_cong_avoid",
    "tcp_reno_undo_cwnd",
    "tcp_slow_start",
    "tcp_cong_avoid_ai",
    "cubictcp_init",
    "cubictcp_recalc_ssthresh",
    "cubictcp_cong_avoid",
    "cubictcp_state",
    "cubictcp_cwnd_event",
    "cubictcp_acked",
    "bpf_iter_num_new",
    "bpf_iter_num_next",
    "bpf_iter_num_destroy",
    "bpf_iter_bits_new",
    "bpf_iter_bits_next",
    "bpf_iter_bits_destroy",
    "bpf_dynptr_from_skb",
    "bpf_dynptr_from_xdp",
    "bpf_sock_addr_set_sun_path",
    "bpf_session_is_return",
    "bpf_session_cookie",
    "bpf_copy_from_user_str",
    "bpf_dynptr_clone",
    "bpf_dynptr_adjust",
    "bpf_dynptr_size",
    "bpf_dynptr_is_null",
    "bpf_dynptr_is_rdonly",
    "bpf_dynptr_slice",
    // refused by the target after its arguments (`refused_after_args`)
    "bpf_dynptr_slice_rdwr",
    "bpf_task_acquire",
    "bpf_task_release",
    // net/bpf/test_run.c: releases a prog_test_ref_kfunc (a kptr's object), nothing more
    "bpf_kfunc_call_test_release",
    "bpf_task_from_pid",
    "bpf_task_from_vpid",
    "bpf_cgroup_acquire",
    "bpf_cgroup_release",
    "bpf_cgroup_ancestor",
    "bpf_cgroup_from_id",
    "bpf_task_under_cgroup",
    "bpf_task_get_cgroup1",
    "bpf_rcu_read_lock",
    "bpf_rcu_read_unlock",
    "bpf_throw",
    "bpf_cast_to_kern_ctx",
    "bpf_rdonly_cast",
    "bpf_preempt_disable",
    "bpf_preempt_enable",
    "bpf_cpumask_create",
    "bpf_cpumask_release",
    "bpf_cpumask_acquire",
    "bpf_cpumask_first",
    "bpf_cpumask_first_zero",
    "bpf_cpumask_first_and",
    "bpf_cpumask_set_cpu",
    "bpf_cpumask_clear_cpu",
    "bpf_cpumask_test_cpu",
    "bpf_cpumask_test_and_set_cpu",
    "bpf_cpumask_test_and_clear_cpu",
    "bpf_cpumask_setall",
    "bpf_cpumask_clear",
    "bpf_cpumask_and",
    "bpf_cpumask_or",
    "bpf_cpumask_xor",
    "bpf_cpumask_equal",
    "bpf_cpumask_intersects",
    "bpf_cpumask_subset",
    "bpf_cpumask_empty",
    "bpf_cpumask_full",
    "bpf_cpumask_copy",
    "bpf_cpumask_any_distribute",
    "bpf_cpumask_any_and_distribute",
    "bpf_cpumask_weight",
    "bpf_obj_new_impl",
    "bpf_percpu_obj_new_impl",
    "bpf_obj_drop_impl",
    "bpf_percpu_obj_drop_impl",
    "bpf_refcount_acquire_impl",
    "bpf_list_push_front_impl",
    "bpf_list_push_back_impl",
    "bpf_list_pop_front",
    "bpf_list_pop_back",
    "bpf_list_front",
    "bpf_list_back",
    "bpf_rbtree_add_impl",
    "bpf_rbtree_remove",
    "bpf_rbtree_first",
    "bpf_rbtree_root",
    "bpf_rbtree_left",
    "bpf_rbtree_right",
    // a trusted socket of a socket iterator (the set's filter: iterators only)
    "bpf_sock_destroy",
    // a trusted map: a map pointer, or a BTF `struct bpf_map`
    "bpf_map_sum_elem_count",
    // a css's tasks: trusted tasks, in LSM, iterator and sleepable programs only
    "bpf_iter_css_task_new",
    "bpf_iter_css_task_next",
    "bpf_iter_css_task_destroy",
    // a task's vmas (an RCU task)
    "bpf_iter_task_vma_new",
    "bpf_iter_task_vma_next",
    "bpf_iter_task_vma_destroy",
    "bpf_xdp_ct_alloc",
    "bpf_xdp_ct_lookup",
    "bpf_skb_ct_alloc",
    "bpf_skb_ct_lookup",
    "bpf_ct_insert_entry",
    "bpf_ct_release",
    "bpf_ct_set_timeout",
    "bpf_ct_change_timeout",
    "bpf_ct_set_status",
    "bpf_ct_change_status",
    "bpf_ct_set_nat_info",
    "bpf_crypto_ctx_create",
    "bpf_crypto_ctx_release",
    "bpf_crypto_ctx_acquire",
    "bpf_crypto_decrypt",
    "bpf_crypto_encrypt",
    "bpf_sk_assign_tcp_reqsk",
];

/// `kfuncs` plus the target kernel's kfuncs `slots` call, for a program of kernel type `prog`
/// loaded with expected attach type `attach`.
pub(crate) fn with_target_kfuncs(
    kfuncs: &KfuncTable,
    slots: &[RawInsn],
    btf: &Btf,
    prog: Option<KernelProgType>,
    attach: Option<AttachType>,
) -> KfuncTable {
    let mut extra: Vec<KfuncDecl> = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let Ok(insn) = kbpf_isa::decode_insn(slots[i], slots.get(i + 1).copied()) else {
            i += 1;
            continue;
        };
        i += insn.slots();
        // module kfuncs (a non-zero BTF fd index) are not resolved
        let Insn::Call(CallTarget::Kfunc { btf_id, off: 0 }) = insn else { continue };
        if kfuncs.get(btf_id).is_some() || extra.iter().any(|d| d.btf_id == btf_id) {
            continue;
        }
        if let Some(d) = resolve(btf, btf_id, prog, attach) {
            extra.push(d);
        }
    }
    kfuncs.with(extra)
}

/// The verifier's prototype of the target's kfunc `id`, if the set table knows it.
pub(crate) fn resolve(
    btf: &Btf,
    id: i32,
    prog: Option<KernelProgType>,
    attach: Option<AttachType>,
) -> Option<KfuncDecl> {
    let Some(BtfType::Func { name, .. }) = btf.get(u32::try_from(id).ok()?) else { return None };
    let entry = sets::lookup(name)?;
    let mut proto = kbpf_kfunc::btf_import::import_id(btf, id as u32, name).ok()?;
    proto.flags = entry.flags;
    let mut d = crate::verify::decl_of(id, name, &proto);
    // iterator state sizes are the target's
    for a in &mut d.args {
        if let KfuncArgKind::Iter { name: it, size } = &mut a.kind
            && let Some(s) = struct_size(btf, &format!("bpf_iter_{it}"))
        {
            *size = s;
        }
    }
    // a tracing or netfilter program's context is no `struct __sk_buff`: the parameter is a
    // kernel object there, which a `struct sk_buff` projects onto (`btf_is_prog_ctx_type`)
    if name == "bpf_dynptr_from_skb"
        && prog
            .is_some_and(|t| matches!(sets::Hook::of(t), Some(sets::Hook::Tracing | sets::Hook::Netfilter)))
        && let Some(a) = d.args.first_mut()
    {
        a.kind = KfuncArgKind::StructPtr;
    }
    // a `struct bpf_map *` without the `__map` suffix is a plain kernel object
    // (`is_kfunc_arg_map` reads the suffix only)
    for a in &mut d.args {
        if !a.name.ends_with("__map") && a.kind == KfuncArgKind::Unmodelled("Map".to_string()) {
            a.kind = KfuncArgKind::StructPtr;
        }
    }
    type_btf_objects(btf, id as u32, &mut d);
    // callbacks: pointers to function prototypes (`is_kfunc_arg_callback`)
    if let Some(BtfType::Func { proto, .. }) = btf.get(id as u32)
        && let Some(BtfType::FuncProto { params, .. }) = btf.get(*proto)
    {
        for (a, p) in d.args.iter_mut().zip(params.iter()) {
            if let Some((_, BtfType::Ptr { type_id })) = btf.resolve(p.type_id)
                && matches!(btf.resolve(*type_id), Some((_, BtfType::FuncProto { .. })))
            {
                a.kind = KfuncArgKind::Callback;
            }
        }
    }
    // allocated-object parameters, by the kernel's name suffixes
    for a in &mut d.args {
        if a.name.ends_with("__alloc") {
            a.kind = KfuncArgKind::AllocObj;
        } else if a.name.ends_with("__refcounted_kptr") {
            a.kind = KfuncArgKind::RefcountedKptr;
        } else if let KfuncArgKind::BtfObj { name, .. } = &a.kind {
            use kbpf_verifier::btf::record::FieldKind;
            let graph = match name.as_str() {
                "bpf_list_head" => Some(FieldKind::ListHead),
                "bpf_list_node" => Some(FieldKind::ListNode),
                "bpf_rb_root" => Some(FieldKind::RbRoot),
                "bpf_rb_node" => Some(FieldKind::RbNode),
                _ => None,
            };
            if let Some(k) = graph {
                a.kind = KfuncArgKind::Graph(k);
            }
        }
    }
    let mut special = None;
    match name.as_str() {
        // takes the program's context, returns the kernel's behind it, trusted
        "bpf_cast_to_kern_ctx" => {
            if let Some(a) = d.args.first_mut() {
                a.kind = KfuncArgKind::Ctx;
            }
            match prog.and_then(kern_ctx).and_then(|n| Some((n, btf.find_by_name_kind(n, Kind::Struct)?))) {
                Some((n, type_id)) => d.ret = KfuncRet::BtfObj { name: n.to_string(), type_id },
                None => special = Some("the kernel context of this program type"),
            }
        }
        // r0 follows the type id argument (the verifier types it)
        "bpf_rdonly_cast" => d.ret = KfuncRet::Scalar,
        // the session's u64 cookie, writable (the kernel sizes r0 itself)
        "bpf_session_cookie" => d.ret = KfuncRet::Mem(8),
        // this machine's 6.18 refuses the writable slice once its arguments are checked
        // (EPERM; a size that is not constant is named first), in every program type
        "bpf_dynptr_slice_rdwr" => d.traits.refused_after_args = true,
        _ => {}
    }
    let allowed = prog.map_or(Allowed::Unknown, |t| entry.allowed(t, attach));
    d.prog_types = match allowed {
        Allowed::Yes | Allowed::Unknown => None,
        Allowed::No => Some(Vec::new()),
    };
    d.unmodelled = if allowed == Allowed::Unknown {
        Some("the kfunc hook of this program type".to_string())
    } else if let Some(why) = special {
        Some(why.to_string())
    } else if !MODELLED.contains(&name.as_str()) {
        Some("its rules".to_string())
    } else {
        None
    };
    Some(d)
}

/// Struct pointer parameters and return of the target's `FUNC` `id` as BTF objects of their
/// target type ids.
fn type_btf_objects(btf: &Btf, id: u32, d: &mut KfuncDecl) {
    let Some(BtfType::Func { proto, .. }) = btf.get(id) else { return };
    let Some(BtfType::FuncProto { ret, params, .. }) = btf.get(*proto) else { return };
    for (a, p) in d.args.iter_mut().zip(params.iter()) {
        if a.kind != KfuncArgKind::StructPtr {
            continue;
        }
        if let Some((type_id, name)) = struct_pointee(btf, p.type_id) {
            let has_ptr = btf.members(type_id).is_some_and(|ms| {
                ms.iter().any(|m| matches!(btf.resolve(m.type_id), Some((_, BtfType::Ptr { .. }))))
            });
            a.kind = KfuncArgKind::BtfObj { name, type_id, has_ptr };
        }
    }
    if let KfuncRet::Object(_) = d.ret
        && let Some((type_id, name)) = struct_pointee(btf, *ret)
    {
        d.ret = KfuncRet::BtfObj { name, type_id };
    }
}

/// The struct a pointer type points to: its id and name.
fn struct_pointee(btf: &Btf, ptr: u32) -> Option<(u32, String)> {
    let Some((_, BtfType::Ptr { type_id })) = btf.resolve(ptr) else { return None };
    match btf.resolve(*type_id)? {
        (id, BtfType::Struct { name, .. }) => Some((id, name.clone())),
        _ => None,
    }
}

/// The kernel struct behind a program type's context (`bpf_types.h`), for the types whose
/// context kbpf models as one.
fn kern_ctx(t: KernelProgType) -> Option<&'static str> {
    use KernelProgType as T;
    match t {
        T::SocketFilter | T::SchedCls | T::SchedAct | T::CgroupSkb | T::SkSkb => Some("sk_buff"),
        T::LwtIn | T::LwtOut | T::LwtXmit | T::LwtSeg6local => Some("sk_buff"),
        T::Xdp => Some("xdp_buff"),
        T::CgroupSockAddr => Some("bpf_sock_addr_kern"),
        _ => None,
    }
}

fn struct_size(btf: &Btf, name: &str) -> Option<u32> {
    let id = btf.find_by_name_kind(name, Kind::Struct)?;
    btf.size_of(id).and_then(|s| u32::try_from(s).ok())
}
