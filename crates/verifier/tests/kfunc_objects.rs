//! Kernel objects through kfuncs (the target kernel's task / cgroup kfuncs): referenced
//! returns, release, the trusted / RCU argument rules, type matching, and the RCU read and
//! preemption-disabled sections, each rule accepted and refused with the kernel's message.

mod common;
use common::btf::{self, m};
use common::*;
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType};
use kbpf_verifier::{
    Errno, KernelBtf, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTraits, VerifyOptions, VerifyOutcome,
};
use std::sync::Arc;

/// Target BTF: 1 int, 2 `struct task_struct { struct task_struct *parent; int pid; struct
/// cgroup cg; }`, 3 its
/// pointer, 4 `struct cgroup { struct cgroup *up; }`, 5 its pointer, 6 `struct outer { struct
/// task_struct t; }`, 7 `struct bpf_map { int id; }`, 8 `struct sk_buff { int len; }`, 9
/// `struct __sk_buff { int len; }`.
fn btf() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int = btf::int(&mut b);
    let task = b.add(BtfType::Struct {
        name: "task_struct".into(),
        size: 24,
        members: vec![m("parent", 3, 0), m("pid", int, 64), m("cg", 4, 128)],
        kind_flag: false,
    });
    b.add(BtfType::Ptr { type_id: task });
    let cg = b.add(BtfType::Struct {
        name: "cgroup".into(),
        size: 8,
        members: vec![m("up", 5, 0)],
        kind_flag: false,
    });
    b.add(BtfType::Ptr { type_id: cg });
    b.add(BtfType::Struct {
        name: "outer".into(),
        size: 16,
        members: vec![m("t", task, 0)],
        kind_flag: false,
    });
    for name in ["bpf_map", "sk_buff", "__sk_buff"] {
        b.add(BtfType::Struct {
            name: name.into(),
            size: 4,
            members: vec![m("id", int, 0)],
            kind_flag: false,
        });
    }
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

const TASK: u32 = 2;
const CGROUP: u32 = 4;
const BPF_MAP: u32 = 7;
const SK_BUFF: u32 = 8;
const UAPI_SK_BUFF: u32 = 9;

fn obj(name: &str, type_id: u32) -> KfuncArg {
    KfuncArg {
        name: "p".into(),
        kind: KfuncArgKind::BtfObj { name: name.into(), type_id, has_ptr: true },
        nullable: false,
    }
}

fn iter_arg() -> KfuncArg {
    KfuncArg {
        name: "it".into(),
        kind: KfuncArgKind::Iter { name: "tasks".into(), size: 8 },
        nullable: false,
    }
}

fn traits(acquire: bool, release: bool, rcu: bool, trusted_args: bool) -> KfuncTraits {
    KfuncTraits { acquire, release, rcu, trusted_args, ..Default::default() }
}

fn table() -> Vec<KfuncDecl> {
    let k = |btf_id: i32, name: &str, args: Vec<KfuncArg>| KfuncDecl {
        btf_id,
        name: name.into(),
        args,
        ret: KfuncRet::Void,
        ..Default::default()
    };
    let task_ret = KfuncRet::BtfObj { name: "task_struct".into(), type_id: TASK };
    let scalar = KfuncArg { name: "pid".into(), kind: KfuncArgKind::Scalar, nullable: false };
    vec![
        KfuncDecl {
            ret: task_ret.clone(),
            ret_null: true,
            traits: traits(true, false, false, false),
            ..k(1, "bpf_task_from_pid", vec![scalar])
        },
        KfuncDecl {
            traits: traits(false, true, false, false),
            ..k(2, "bpf_task_release", vec![obj("task_struct", TASK)])
        },
        KfuncDecl {
            ret: task_ret,
            ret_null: true,
            traits: traits(true, false, true, false),
            ..k(3, "bpf_task_acquire", vec![obj("task_struct", TASK)])
        },
        KfuncDecl {
            ret: KfuncRet::Scalar,
            traits: traits(false, false, false, true),
            ..k(4, "bpf_cgroup_level", vec![obj("cgroup", CGROUP)])
        },
        k(5, "bpf_rcu_read_lock", vec![]),
        k(6, "bpf_rcu_read_unlock", vec![]),
        k(7, "bpf_preempt_disable", vec![]),
        k(8, "bpf_preempt_enable", vec![]),
        KfuncDecl { prog_types: Some(Vec::new()), ..k(9, "bpf_not_here", vec![]) },
        KfuncDecl { unmodelled: Some("its rules".into()), ..k(10, "bpf_obj_new_impl", vec![]) },
        k(
            11,
            "bpf_throw",
            vec![KfuncArg { name: "cookie".into(), kind: KfuncArgKind::Scalar, nullable: false }],
        ),
        KfuncDecl {
            ret: KfuncRet::Scalar,
            ..k(
                12,
                "bpf_rdonly_cast",
                vec![
                    KfuncArg { name: "obj__ign".into(), kind: KfuncArgKind::Ignored, nullable: false },
                    KfuncArg { name: "btf_id__k".into(), kind: KfuncArgKind::Const, nullable: false },
                ],
            )
        },
        KfuncDecl {
            ret: KfuncRet::Scalar,
            traits: traits(false, false, false, true),
            ..k(13, "bpf_map_sum_elem_count", vec![obj("bpf_map", BPF_MAP)])
        },
        KfuncDecl {
            ret: KfuncRet::BtfObj { name: "sk_buff".into(), type_id: SK_BUFF },
            ret_null: true,
            traits: traits(true, false, false, false),
            ..k(14, "skb_acquire", vec![])
        },
        KfuncDecl {
            traits: traits(false, true, false, false),
            ..k(15, "skb_release", vec![obj("sk_buff", SK_BUFF)])
        },
        KfuncDecl {
            ret: KfuncRet::Scalar,
            traits: traits(false, false, false, true),
            ..k(16, "takes_uapi_skb", vec![obj("__sk_buff", UAPI_SK_BUFF)])
        },
        KfuncDecl {
            iter: Some(kbpf_verifier::IterRole::New),
            traits: traits(false, false, false, true),
            ..k(
                17,
                "bpf_iter_css_task_new",
                vec![
                    KfuncArg {
                        name: "it".into(),
                        kind: KfuncArgKind::Iter { name: "css_task".into(), size: 8 },
                        nullable: false,
                    },
                    obj("cgroup", CGROUP),
                ],
            )
        },
        KfuncDecl {
            iter: Some(kbpf_verifier::IterRole::New),
            ..k(20, "bpf_iter_tasks_new", vec![iter_arg()])
        },
        KfuncDecl {
            iter: Some(kbpf_verifier::IterRole::Next),
            ret: KfuncRet::BtfObj { name: "task_struct".into(), type_id: TASK },
            ret_null: true,
            ..k(21, "bpf_iter_tasks_next", vec![iter_arg()])
        },
        KfuncDecl {
            iter: Some(kbpf_verifier::IterRole::Destroy),
            ..k(22, "bpf_iter_tasks_destroy", vec![iter_arg()])
        },
    ]
}

fn run(src: &str) -> VerifyOutcome {
    let map = kbpf_verifier::MapDef {
        fd: 0,
        name: "arr".into(),
        kind: kbpf_verifier::MapKind::Array,
        key_size: 4,
        value_size: 8,
        max_entries: 4,
        ..Default::default()
    };
    let opts = VerifyOptions { log_level: 1, btf: Some(btf()), maps: vec![map], ..Default::default() };
    verify_src(src, table(), opts)
}

/// `r6` = a referenced, NULL-checked task (or the path ends).
const GET: &str = "r1 = 1\ncall bpf_task_from_pid\nif r0 == 0 goto out\nr6 = r0\n";
const OUT: &str = "out:\nr0 = 0\nexit\n";

#[test]
fn an_acquired_object_is_released() {
    accepts(&run(&format!("{GET}r1 = r6\ncall bpf_task_release\n{OUT}")));
}

#[test]
fn an_unreleased_object_leaks() {
    let out = run(&format!("{GET}{OUT}"));
    rejects(&out, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    assert!(out.log.contains("Unreleased reference id=2 alloc_insn=1"), "{}", out.log);
}

#[test]
fn a_possibly_null_object_is_no_trusted_argument() {
    let out = run("r1 = 1\ncall bpf_task_from_pid\nr1 = r0\ncall bpf_task_release\nr0 = 0\nexit\n");
    rejects(&out, Errno::EACCES, "Possibly NULL pointer passed to trusted arg0");
}

#[test]
fn a_released_object_is_gone() {
    let out = run(&format!("{GET}r1 = r6\ncall bpf_task_release\nr1 = r6\ncall bpf_task_release\n{OUT}"));
    // the released pointer is a scalar now (a privileged loader)
    rejects(
        &out,
        Errno::EINVAL,
        "arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar",
    );
}

#[test]
fn release_wants_a_referenced_object() {
    // a stack pointer for a struct with pointers
    let out = run("r1 = r10\nr1 += -8\ncall bpf_task_release\nr0 = 0\nexit\n");
    rejects(
        &out,
        Errno::EINVAL,
        "arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar",
    );
}

#[test]
fn acquire_of_an_acquired_object_and_the_type_match() {
    let src = format!(
        "{GET}r1 = r6\ncall bpf_task_acquire\nif r0 == 0 goto rel\nr1 = r0\ncall bpf_task_release\n\
         rel:\nr1 = r6\ncall bpf_task_release\n{OUT}"
    );
    accepts(&run(&src));
    let out = run(&format!("{GET}r1 = r6\ncall bpf_cgroup_level\nr1 = r6\ncall bpf_task_release\n{OUT}"));
    rejects(
        &out,
        Errno::EINVAL,
        "kernel function bpf_cgroup_level args#0 expected pointer to STRUCT cgroup but R1 has a pointer to STRUCT task_struct",
    );
}

#[test]
fn rcu_sections_open_and_close() {
    accepts(&run("call bpf_rcu_read_lock\ncall bpf_rcu_read_unlock\nr0 = 0\nexit\n"));
    let out = run("call bpf_rcu_read_unlock\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)");
    let out = run("call bpf_rcu_read_lock\ncall bpf_rcu_read_lock\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "nested rcu read lock (kernel function bpf_rcu_read_lock)");
    let out = run("call bpf_rcu_read_lock\nr0 = 0\nexit\n");
    rejects(
        &out,
        Errno::EINVAL,
        "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region",
    );
}

#[test]
fn preemption_sections_nest() {
    let two = "call bpf_preempt_disable\ncall bpf_preempt_disable\ncall bpf_preempt_enable\n";
    accepts(&run(&format!("{two}call bpf_preempt_enable\nr0 = 0\nexit\n")));
    let out = run(&format!("{two}r0 = 0\nexit\n"));
    rejects(
        &out,
        Errno::EINVAL,
        "BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region",
    );
    let out = run("call bpf_preempt_enable\nr0 = 0\nexit\n");
    rejects(
        &out,
        Errno::EINVAL,
        "unmatched attempt to enable preemption (kernel function bpf_preempt_enable)",
    );
}

#[test]
fn program_types_and_unmodelled_kfuncs() {
    let out = run("call bpf_not_here\nr0 = 0\nexit\n");
    rejects(&out, Errno::EACCES, "calling kernel function bpf_not_here is not allowed");
    let out = run("call bpf_obj_new_impl\nr0 = 0\nexit\n");
    let e = out.error.expect("refused");
    assert_eq!(e.kind(), kbpf_verifier::RejectKind::Unsupported);
    assert_eq!(e.message(), "kbpf: kfunc bpf_obj_new_impl of the target kernel: its rules is not modelled");
}

#[test]
fn bpf_throw_ends_the_path_after_the_leak_and_section_checks() {
    let out = run("r1 = 0\ncall bpf_throw\nr0 = 0\nexit\n");
    accepts(&out);
    assert_eq!(out.stats.processed_insns, 2);
    let out = run(&format!("{GET}r1 = 0\ncall bpf_throw\nr1 = r6\ncall bpf_task_release\n{OUT}"));
    rejects(&out, Errno::EINVAL, "bpf_throw would lead to reference leak");
    let out = run("call bpf_rcu_read_lock\nr1 = 0\ncall bpf_throw\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "bpf_throw cannot be used inside bpf_rcu_read_lock-ed region");
}

#[test]
fn bpf_rdonly_cast_types_r0_from_its_constant() {
    accepts(&run("r1 = 0\nr2 = 2\ncall bpf_rdonly_cast\nr0 = 0\nexit\n"));
    let out = run("r1 = 0\nr2 = 99\ncall bpf_rdonly_cast\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "Unknown type ID 99 passed to kfunc bpf_rdonly_cast");
    let out = run("r1 = 0\nr2 = 1\ncall bpf_rdonly_cast\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "kfunc bpf_rdonly_cast type ID argument must be of a struct or void");
}

#[test]
fn a_memory_pair_is_named_by_argument_numbers_without_stack_arguments() {
    let mem = |name: &str, kind| KfuncArg { name: name.into(), kind, nullable: false };
    let decl = KfuncDecl {
        btf_id: 20,
        name: "kbuf".into(),
        args: vec![
            mem("buf", KfuncArgKind::Mem { size: None }),
            mem("buf__szk", KfuncArgKind::MemSize { constant: true }),
        ],
        ret: KfuncRet::Scalar,
        ..Default::default()
    };
    let opts = VerifyOptions { stack_args: false, btf: Some(btf()), ..Default::default() };
    let out = verify_src("r1 = r10\nr1 += -8\nr2 = 16\ncall kbuf\nr0 = 0\nexit\n", vec![decl], opts);
    let e = out.error.expect("refused");
    assert!(
        e.message().ends_with("arg#0 arg#1 memory, len pair leads to invalid memory access"),
        "{}",
        e.message()
    );
}

#[test]
fn a_sleepable_helper_cannot_run_in_a_section() {
    let run_sleepable = |src: &str| {
        let opts = VerifyOptions {
            prog_type: kbpf_verifier::ProgType::Syscall,
            btf: Some(btf()),
            ..Default::default()
        };
        verify_src(src, table(), opts)
    };
    let copy = "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 148\n";
    accepts(&run_sleepable(&format!("{copy}r0 = 0\nexit\n")));
    let out =
        run_sleepable(&format!("call bpf_rcu_read_lock\n{copy}call bpf_rcu_read_unlock\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EINVAL, "sleepable helper bpf_copy_from_user#148 in rcu_read_lock region");
    let out =
        run_sleepable(&format!("call bpf_preempt_disable\n{copy}call bpf_preempt_enable\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EINVAL, "sleepable helper bpf_copy_from_user#148 in non-preemptible region");
}

#[test]
fn a_map_pointer_is_a_trusted_struct_bpf_map() {
    // reg2btf_ids: CONST_PTR_TO_MAP stands for `struct bpf_map`, trusted
    accepts(&run("r1 = map_fd(0) ll\ncall bpf_map_sum_elem_count\nr0 = 0\nexit\n"));
    // and is no other struct
    let out = run("r1 = map_fd(0) ll\ncall bpf_cgroup_level\nr0 = 0\nexit\n");
    rejects(
        &out,
        Errno::EINVAL,
        "kernel function bpf_cgroup_level args#0 expected pointer to STRUCT cgroup but R1 has a pointer to STRUCT bpf_map",
    );
}

#[test]
fn a_fixed_offset_names_a_nested_struct() {
    // btf_struct_ids_match walks from the offset to the struct member starting there
    let call = |off: u32| {
        run(&format!(
            "{GET}r1 = r6\nr1 += {off}\ncall bpf_cgroup_level\nr1 = r6\ncall bpf_task_release\n{OUT}"
        ))
    };
    accepts(&call(16));
    rejects(
        &call(8),
        Errno::EINVAL,
        "kernel function bpf_cgroup_level args#0 expected pointer to STRUCT cgroup but R1 has a pointer to STRUCT task_struct",
    );
}

#[test]
fn a_kernel_sk_buff_projects_onto_a_uapi_sk_buff_parameter() {
    // btf_is_projection_of: a kfunc taking `struct __sk_buff` takes a kernel `struct sk_buff`
    let src = "call skb_acquire\nif r0 == 0 goto out\nr6 = r0\nr1 = r6\ncall takes_uapi_skb\n\
               r1 = r6\ncall skb_release\nout:\nr0 = 0\nexit\n";
    accepts(&run(src));
    // and no other struct does
    let out = run(&format!("{GET}r1 = r6\ncall takes_uapi_skb\nr1 = r6\ncall bpf_task_release\n{OUT}"));
    rejects(
        &out,
        Errno::EINVAL,
        "kernel function takes_uapi_skb args#0 expected pointer to STRUCT __sk_buff but R1 has a pointer to STRUCT task_struct",
    );
}

#[test]
fn css_task_iterators_belong_to_lsm_iterator_and_sleepable_programs() {
    let src = "r1 = r10\nr1 += -8\nr2 = 0\ncall bpf_iter_css_task_new\nr0 = 0\nexit\n";
    // check_css_task_iter_allowlist, before the iterator and the css are looked at
    rejects(
        &run(src),
        Errno::EINVAL,
        "css_task_iter is only allowed in bpf_lsm, bpf_iter and sleepable progs",
    );
    let opts =
        VerifyOptions { prog_type: kbpf_verifier::ProgType::Syscall, btf: Some(btf()), ..Default::default() };
    // a sleepable program passes it (and then needs a css)
    rejects(&verify_src(src, table(), opts), Errno::EACCES, "Possibly NULL pointer passed to trusted arg1");
}

#[test]
fn an_iterator_element_is_untrusted() {
    // 6.18: only an RCU-protected iterator's elements are (RCU) pointers kfuncs take
    let src = "r1 = r10\nr1 += -8\ncall bpf_iter_tasks_new\nr1 = r10\nr1 += -8\ncall bpf_iter_tasks_next\n\
               if r0 == 0 goto done\nr1 = r0\ncall bpf_task_acquire\n\
               done:\nr1 = r10\nr1 += -8\ncall bpf_iter_tasks_destroy\nr0 = 0\nexit\n";
    rejects(&run(src), Errno::EINVAL, "R1 must be a rcu pointer");
}
