//! Allocated objects (`bpf_obj_new` and friends) and the graph kfuncs (lists): each rule
//! accepted and refused with the kernel's message, on a program BTF built here.

mod common;
use common::btf::{self, m, st};
use common::*;
use kbpf_elf::btf::{Btf, BtfBuilder};
use kbpf_verifier::btf::record::{Field, FieldKind, GraphRoot, Record};
use kbpf_verifier::{
    Errno, KernelBtf, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTraits, MapDef, MapKind, ProgType,
    VerifyOptions, VerifyOutcome,
};
use std::sync::Arc;

const INT: u32 = 1;
const FOO: u32 = 5;
const PLAIN: u32 = 6;

/// Program BTF: 1 int, 2 `bpf_list_node`, 3 `bpf_spin_lock`, 4 `bpf_list_head`,
/// 5 `struct foo { int data; struct bpf_list_node node; }` (node at 8), 6 `struct plain { int
/// a, b; }`.
fn prog_btf() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int = btf::int(&mut b);
    let node = st(&mut b, "bpf_list_node", 24, vec![]);
    st(&mut b, "bpf_spin_lock", 4, vec![m("val", int, 0)]);
    st(&mut b, "bpf_list_head", 16, vec![]);
    st(&mut b, "foo", 32, vec![m("data", int, 0), m("node", node, 64)]);
    st(&mut b, "plain", 8, vec![m("a", int, 0), m("b", int, 32)]);
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

/// A global section holding `struct bpf_spin_lock lock` at 0 and `struct bpf_list_head head
/// __contains(foo, node)` at 8.
fn global_map() -> MapDef {
    let field =
        |kind, off, graph_root| Field { kind, off, size: FieldKind::size(kind), kptr: None, graph_root };
    let rec = Record {
        fields: vec![
            field(FieldKind::SpinLock, 0, None),
            field(FieldKind::ListHead, 8, Some(GraphRoot { value_btf_id: FOO, node_offset: 8 })),
        ],
    };
    MapDef {
        fd: 0,
        name: ".bss.A".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        record: Some(Arc::new(rec)),
        ..Default::default()
    }
}

fn arg(name: &str, kind: KfuncArgKind) -> KfuncArg {
    KfuncArg { name: name.into(), kind, nullable: false }
}

fn table() -> Vec<KfuncDecl> {
    let k = |btf_id: i32, name: &str, args: Vec<KfuncArg>| KfuncDecl {
        btf_id,
        name: name.into(),
        args,
        ret: KfuncRet::Mem(0),
        ..Default::default()
    };
    let acq = KfuncTraits { acquire: true, ..Default::default() };
    let ign = || arg("meta__ign", KfuncArgKind::Ignored);
    let head = || arg("head", KfuncArgKind::Graph(FieldKind::ListHead));
    vec![
        KfuncDecl {
            ret_null: true,
            traits: acq,
            ..k(1, "bpf_obj_new_impl", vec![arg("local_type_id__k", KfuncArgKind::Const), ign()])
        },
        KfuncDecl {
            ret: KfuncRet::Void,
            traits: KfuncTraits { release: true, ..Default::default() },
            ..k(2, "bpf_obj_drop_impl", vec![arg("p__alloc", KfuncArgKind::AllocObj), ign()])
        },
        KfuncDecl {
            ret_null: true,
            traits: acq,
            ..k(3, "bpf_percpu_obj_new_impl", vec![arg("local_type_id__k", KfuncArgKind::Const), ign()])
        },
        KfuncDecl {
            ret_null: true,
            traits: KfuncTraits { acquire: true, rcu: true, ..Default::default() },
            ..k(
                4,
                "bpf_refcount_acquire_impl",
                vec![arg("p__refcounted_kptr", KfuncArgKind::RefcountedKptr), ign()],
            )
        },
        KfuncDecl {
            ret: KfuncRet::Scalar,
            ..k(
                5,
                "bpf_list_push_front_impl",
                vec![
                    head(),
                    arg("node", KfuncArgKind::Graph(FieldKind::ListNode)),
                    ign(),
                    arg("off", KfuncArgKind::Scalar),
                ],
            )
        },
        KfuncDecl { ret_null: true, traits: acq, ..k(6, "bpf_list_pop_front", vec![head()]) },
        KfuncDecl { ret_null: true, ..k(7, "bpf_list_front", vec![head()]) },
    ]
}

fn run_with(src: &str, prog_btf: Option<KernelBtf>) -> VerifyOutcome {
    let opts = VerifyOptions {
        prog_type: ProgType::SchedCls,
        log_level: 2,
        prog_btf,
        maps: vec![global_map()],
        ..Default::default()
    };
    verify_src(src, table(), opts)
}

fn run(src: &str) -> VerifyOutcome {
    run_with(src, Some(prog_btf()))
}

/// `r6` = a new, NULL-checked `struct foo`.
const NEW_FOO: &str = "r1 = 5\nr2 = 0\ncall bpf_obj_new_impl\nif r0 == 0 goto out\nr6 = r0\n";
const OUT: &str = "out:\nr0 = 0\nexit\n";
const DROP_R6: &str = "r1 = r6\nr2 = 0\ncall bpf_obj_drop_impl\n";

#[test]
fn a_new_object_is_written_and_dropped() {
    let out = run(&format!("{NEW_FOO}r1 = 7\n*(u32 *)(r6 + 0) = r1\nr1 = *(u32 *)(r6 + 0)\n{DROP_R6}{OUT}"));
    accepts(&out);
    assert!(out.log.contains("R0=ptr_or_null_foo(id=2,ref_obj_id=2)"), "{}", out.log);
}

#[test]
fn a_new_object_must_be_dropped_and_null_checked() {
    let out = run(&format!("{NEW_FOO}{OUT}"));
    rejects(&out, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    let out = run("r1 = 5\nr2 = 0\ncall bpf_obj_new_impl\nr1 = *(u32 *)(r0 + 0)\nr0 = 0\nexit\n");
    rejects(&out, Errno::EACCES, "R0 invalid mem access 'ptr_or_null_'");
}

#[test]
fn obj_new_wants_a_struct_of_the_program_btf() {
    let out = run(&format!("r1 = {INT}\nr2 = 0\ncall bpf_obj_new_impl\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EINVAL, "bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct");
    let out = run("r1 = 0x100000000 ll\nr2 = 0\ncall bpf_obj_new_impl\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "local type ID argument must be in range [0, U32_MAX]");
    let out = run_with(&format!("r1 = {FOO}\nr2 = 0\ncall bpf_obj_new_impl\nr0 = 0\nexit\n"), None);
    rejects(&out, Errno::EINVAL, "bpf_obj_new/bpf_percpu_obj_new requires prog BTF");
}

#[test]
fn drop_wants_the_start_of_an_owned_object_of_its_family() {
    let out = run(&format!("{NEW_FOO}r6 += 8\n{DROP_R6}{OUT}"));
    rejects(
        &out,
        Errno::EINVAL,
        "R1 must have zero offset when passed to release func or trusted arg to kfunc",
    );
    let out = run(&format!(
        "r1 = {PLAIN}\nr2 = 0\ncall bpf_percpu_obj_new_impl\nif r0 == 0 goto out\nr6 = r0\n{DROP_R6}{OUT}"
    ));
    rejects(&out, Errno::EINVAL, "arg#0 expected for bpf_percpu_obj_drop_impl()");
    let out = run(&format!("r1 = {FOO}\nr2 = 0\ncall bpf_percpu_obj_new_impl\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EINVAL, "bpf_percpu_obj_new type ID argument must not contain special fields");
    let out = run(&format!("{NEW_FOO}{DROP_R6}r1 = *(u32 *)(r6 + 0)\n{OUT}"));
    rejects(&out, Errno::EACCES, "R6 invalid mem access 'scalar'");
}

#[test]
fn special_fields_are_off_limits_and_refcount_needs_one() {
    let out = run(&format!("{NEW_FOO}r1 = *(u64 *)(r6 + 8)\n{DROP_R6}{OUT}"));
    rejects(&out, Errno::EACCES, "direct access to bpf_list_node is disallowed");
    let out = run(&format!("{NEW_FOO}r1 = r6\nr2 = 0\ncall bpf_refcount_acquire_impl\n{DROP_R6}{OUT}"));
    rejects(&out, Errno::EINVAL, "arg#0 doesn't point to a type with bpf_refcount field");
}

const LOCK: &str = "r1 = map_value(0, 0) ll\ncall bpf_spin_lock\n";
const UNLOCK: &str = "r1 = map_value(0, 0) ll\ncall bpf_spin_unlock\n";
const PUSH_R6: &str =
    "r1 = map_value(0, 8) ll\nr2 = r6\nr2 += 8\nr3 = 0\nr4 = 0\ncall bpf_list_push_front_impl\n";

#[test]
fn a_list_push_needs_the_lock_and_leaves_a_non_owning_reference_until_unlock() {
    accepts(&run(&format!("{NEW_FOO}{LOCK}{PUSH_R6}r1 = *(u32 *)(r6 + 0)\n{UNLOCK}{OUT}")));
    let out = run(&format!("{NEW_FOO}{PUSH_R6}{OUT}"));
    rejects(&out, Errno::EINVAL, "bpf_spin_lock at off=0 must be held for bpf_list_head");
    let out = run(&format!("{NEW_FOO}{LOCK}{PUSH_R6}{UNLOCK}r1 = *(u32 *)(r6 + 0)\n{OUT}"));
    rejects(&out, Errno::EACCES, "R6 invalid mem access 'scalar'");
    // a second push: the reference is no longer owned
    let out = run(&format!("{NEW_FOO}{LOCK}{PUSH_R6}{PUSH_R6}{UNLOCK}{OUT}"));
    rejects(&out, Errno::EINVAL, "arg#1 expected pointer to allocated object");
}

#[test]
fn a_list_node_must_be_the_contained_one() {
    let push0 = "r1 = map_value(0, 8) ll\nr2 = r6\nr3 = 0\nr4 = 0\ncall bpf_list_push_front_impl\n";
    let out = run(&format!("{NEW_FOO}{LOCK}{push0}{UNLOCK}{OUT}"));
    rejects(&out, Errno::EINVAL, "bpf_list_node not found at offset=0");
    let head_off = "r1 = map_value(0, 0) ll\ncall bpf_list_pop_front\n";
    let out = run(&format!("{LOCK}{head_off}{UNLOCK}r0 = 0\nexit\n"));
    rejects(&out, Errno::EINVAL, "bpf_list_head not found at offset=0");
}

#[test]
fn pop_owns_the_node_front_does_not() {
    let pop = "r1 = map_value(0, 8) ll\ncall bpf_list_pop_front\nr6 = r0\n";
    let out = run(&format!("{LOCK}{pop}{UNLOCK}if r6 == 0 goto out\nr6 += -8\n{DROP_R6}{OUT}"));
    accepts(&out);
    assert!(out.log.contains("R0=ptr_or_null_foo(id=2,ref_obj_id=2,off=8)"), "{}", out.log);
    let front = "r1 = map_value(0, 8) ll\ncall bpf_list_front\nr6 = r0\n";
    let out = run(&format!("{LOCK}{front}if r6 == 0 goto un\nr1 = *(u32 *)(r6 - 8)\nun:\n{UNLOCK}{OUT}"));
    accepts(&out);
    // after the unlock the non-owning reference is an unknown number: kbpf cannot tell it
    // from a kptr it does not model, so it gives no verdict
    let out = run(&format!("{LOCK}{front}{UNLOCK}if r6 == 0 goto out\nr6 += -8\n{DROP_R6}{OUT}"));
    assert_eq!(out.error.expect("refused").kind(), kbpf_verifier::RejectKind::Unsupported);
}

#[test]
fn a_possibly_null_node_is_refused_as_a_trusted_argument() {
    let push = "r1 = map_value(0, 8) ll\nr2 = r6\nr3 = 0\nr4 = 0\ncall bpf_list_push_front_impl\n";
    let src = format!("r1 = {FOO}\nr2 = 0\ncall bpf_obj_new_impl\nr6 = r0\n{LOCK}{push}{UNLOCK}{OUT}");
    rejects(&run(&src), Errno::EACCES, "Possibly NULL pointer passed to trusted arg1");
}
