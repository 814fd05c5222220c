//! Kptrs of program-allocated objects: a map value's kptr field typed by the program's own BTF
//! (stashing an object of `bpf_obj_new` with `bpf_kptr_xchg`, loading it back as an
//! RCU-protected allocated object), kptr fields inside local types, `bpf_refcount_acquire` of
//! a non-owning reference, one allocation call per type, and the per-CPU pointer helpers'
//! argument. Messages are Linux 6.18's.

mod common;
use common::btf::{self, m, st};
use common::*;
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding};
use kbpf_verifier::btf::record::{Field, FieldKind, Kptr, KptrTarget, Record};
use kbpf_verifier::{
    Errno, KernelBtf, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTraits, MapDef, MapKind, ProgType,
    RejectKind, VerifyOptions, VerifyOutcome,
};
use std::sync::Arc;

const PLAIN: u32 = 4;
const HOLDER: u32 = 7;
const RC: u32 = 8;

/// Program BTF: 1 int, 2 `bpf_list_node`, 3 `bpf_refcount`, 4 `struct plain { int a, b; }`,
/// 5 `struct plain __kptr *` (6 its tag), 7 `struct holder { int x; struct plain __kptr *p; }`
/// (p at 8), 8 `struct rc { int data; struct bpf_refcount r; struct bpf_list_node node; }`.
fn prog_btf() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int = btf::int(&mut b);
    let node = st(&mut b, "bpf_list_node", 24, vec![]);
    let refcount = st(&mut b, "bpf_refcount", 4, vec![m("refs", int, 0)]);
    let plain = st(&mut b, "plain", 8, vec![m("a", int, 0), m("b", int, 32)]);
    let ptr = b.add(BtfType::Ptr { type_id: 6 });
    let tag = b.add(BtfType::TypeTag { name: "kptr".into(), type_id: plain, attr: false });
    assert_eq!((ptr, tag), (5, 6));
    st(&mut b, "holder", 16, vec![m("x", int, 0), m("p", ptr, 64)]);
    st(&mut b, "rc", 32, vec![m("data", int, 0), m("r", refcount, 32), m("node", node, 64)]);
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

/// The target BTF: none of the program's types is the kernel's.
fn kernel_btf() -> KernelBtf {
    let mut b = BtfBuilder::new();
    b.add(BtfType::Int { name: "int".into(), size: 4, encoding: IntEncoding::Signed, offset: 0, bits: 32 });
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

fn local_kptr(kind: FieldKind, off: u32, name: &str, id: u32) -> Field {
    Field {
        kind,
        off,
        size: 8,
        kptr: Some(Kptr { name: name.into(), local_id: id, target: KptrTarget::Local(id) }),
        graph_root: None,
    }
}

/// `struct { struct plain __kptr *p; struct rc __kptr *rc; struct plain __percpu_kptr *pc; }`.
fn stash_map() -> MapDef {
    MapDef {
        fd: 0,
        name: "stash".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        record: Some(Arc::new(Record {
            fields: vec![
                local_kptr(FieldKind::KptrRef, 0, "plain", PLAIN),
                local_kptr(FieldKind::KptrRef, 8, "rc", RC),
                local_kptr(FieldKind::KptrPercpu, 16, "plain", PLAIN),
            ],
        })),
        ..Default::default()
    }
}

fn arg(name: &str, kind: KfuncArgKind) -> KfuncArg {
    KfuncArg { name: name.into(), kind, nullable: false }
}

fn table() -> Vec<KfuncDecl> {
    let ign = || arg("meta__ign", KfuncArgKind::Ignored);
    let acq = KfuncTraits { acquire: true, ..Default::default() };
    vec![
        KfuncDecl {
            btf_id: 1,
            name: "bpf_obj_new_impl".into(),
            args: vec![arg("local_type_id__k", KfuncArgKind::Const), ign()],
            ret: KfuncRet::Mem(0),
            ret_null: true,
            traits: acq,
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 2,
            name: "bpf_obj_drop_impl".into(),
            args: vec![arg("p__alloc", KfuncArgKind::AllocObj), ign()],
            traits: KfuncTraits { release: true, ..Default::default() },
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 3,
            name: "bpf_percpu_obj_new_impl".into(),
            args: vec![arg("local_type_id__k", KfuncArgKind::Const), ign()],
            ret: KfuncRet::Mem(0),
            ret_null: true,
            traits: acq,
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 4,
            name: "bpf_refcount_acquire_impl".into(),
            args: vec![arg("p__refcounted_kptr", KfuncArgKind::RefcountedKptr), ign()],
            ret: KfuncRet::Mem(0),
            ret_null: true,
            traits: KfuncTraits { acquire: true, rcu: true, ..Default::default() },
            ..Default::default()
        },
    ]
}

fn run(src: &str) -> VerifyOutcome {
    let opts = VerifyOptions {
        prog_type: ProgType::SchedCls,
        maps: vec![stash_map()],
        privileged: true,
        log_level: 2,
        prog_btf: Some(prog_btf()),
        btf: Some(kernel_btf()),
        ..Default::default()
    };
    verify_src(src, table(), opts)
}

/// The value of element 0 in r6 (the program exits when NULL).
const LOOKUP: &str = "r1 = 0\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\n\
                      call bpf_map_lookup_elem\nif r0 != 0 goto +1\nexit\nr6 = r0\n";

/// `r7` = a new, NULL-checked object of local type `id`.
fn new(id: u32) -> String {
    format!("r1 = {id}\nr2 = 0\ncall bpf_obj_new_impl\nif r0 != 0 goto +1\nexit\nr7 = r0\n")
}

/// Drops what `bpf_kptr_xchg` gave back in r0.
const DROP_OLD: &str = "if r0 == 0 goto +3\nr1 = r0\nr2 = 0\ncall bpf_obj_drop_impl\nr0 = 0\nexit\n";

#[test]
fn an_allocated_object_is_stashed_and_the_old_one_comes_back_allocated() {
    let out = run(&format!("{LOOKUP}{}r1 = r6\nr2 = r7\ncall bpf_kptr_xchg\n{DROP_OLD}", new(PLAIN)));
    accepts(&out);
    assert!(out.log.contains("R0=ptr_or_null_plain(id=4,ref_obj_id=4)"), "{}", out.log);
    // the old object must be dropped: bpf_kptr_xchg handed out a reference
    let leak = run(&format!("{LOOKUP}{}r1 = r6\nr2 = r7\ncall bpf_kptr_xchg\nr0 = 0\nexit\n", new(PLAIN)));
    rejects(&leak, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
}

#[test]
fn a_stashed_object_is_of_the_field_type() {
    let out = run(&format!("{LOOKUP}{}r1 = r6\nr2 = r7\ncall bpf_kptr_xchg\n{DROP_OLD}", new(HOLDER)));
    rejects(&out, Errno::EACCES, "invalid kptr access, R2 type=ptr_holder expected=ptr_plain");
}

const PERCPU_LOCAL: &str = "kbpf: per-CPU kptrs of program-allocated objects is not modelled";

#[test]
fn a_stashed_object_loads_as_an_rcu_protected_allocated_one() {
    // rc has a list node: the loaded pointer is non-owning too
    let src = format!(
        "{LOOKUP}r1 = *(u64 *)(r6 +8)\nif r1 == 0 goto out\nr2 = 0\ncall bpf_refcount_acquire_impl\n\
         {DROP_OLD}out:\nr0 = 0\nexit\n"
    );
    let out = run(&src);
    accepts(&out);
    assert!(out.log.contains("R1=rcu_ptr_or_null_rc(id=1,non_own_ref)"), "{}", out.log);
    // a non-owning reference may name an object already freed: the new one may be NULL
    assert!(out.log.contains("R0=ptr_or_null_rc(id=3,ref_obj_id=3)"), "{}", out.log);
    // a per-CPU object so loaded would be typed by the program's BTF without MEM_ALLOC
    let out = run(&format!("{LOOKUP}r1 = *(u64 *)(r6 +16)\nr0 = 0\nexit\n"));
    let e = out.error.expect("no verdict");
    assert_eq!((e.kind(), e.message()), (RejectKind::Unsupported, PERCPU_LOCAL));
    // and so would the per-CPU object a tc program stashes (kept as an RCU pointer)
    let stash = format!(
        "{LOOKUP}r1 = {PLAIN}\nr2 = 0\ncall bpf_percpu_obj_new_impl\nif r0 != 0 goto +1\nexit\nr1 = r6\n\
         r1 += 16\nr2 = r0\ncall bpf_kptr_xchg\nr0 = 0\nexit\n"
    );
    let e = run(&stash).error.expect("no verdict");
    assert_eq!((e.kind(), e.message()), (RejectKind::Unsupported, PERCPU_LOCAL));
}

#[test]
fn a_kptr_field_of_an_allocated_object_takes_an_exchange() {
    // holder (r8, referenced) gets a plain (r7): each keeps its own reference
    let src = format!(
        "{}r8 = r7\nr1 = {PLAIN}\nr2 = 0\ncall bpf_obj_new_impl\nr7 = r0\nif r7 == 0 goto drop\nr1 = r8\n\
         r1 += 8\nr2 = r7\ncall bpf_kptr_xchg\nif r0 == 0 goto drop\nr1 = r0\nr2 = 0\n\
         call bpf_obj_drop_impl\ndrop:\nr1 = r8\nr2 = 0\ncall bpf_obj_drop_impl\nr0 = 0\nexit\n",
        new(HOLDER)
    );
    accepts(&run(&src));
    // the kptr field is no member to load
    let out = run(&format!(
        "{}r1 = *(u64 *)(r7 +8)\nr1 = r7\nr2 = 0\ncall bpf_obj_drop_impl\nr0 = 0\nexit\n",
        new(HOLDER)
    ));
    rejects(&out, Errno::EACCES, "direct access to kptr is disallowed");
}

#[test]
fn one_drop_call_serves_one_struct_meta() {
    // the call at `drop:` frees a plain (no meta) on one path and an rc on the other
    let src = format!(
        "call bpf_get_prandom_u32\nr9 = r0\nif r9 == 0 goto other\n{}goto drop\nother:\n{}drop:\n\
         r1 = r7\nr2 = 0\ncall bpf_obj_drop_impl\nr0 = 0\nexit\n",
        new(PLAIN),
        new(RC)
    );
    let out = run(&src);
    rejects(&out, Errno::EINVAL, "or mark the callee with __attribute__((nomerge))");
    assert!(out.log.contains("same call cannot be used with different types\n"), "{}", out.log);
}

#[test]
fn per_cpu_helpers_want_a_per_cpu_btf_pointer() {
    let out = run(&format!("{LOOKUP}r1 = r6\ncall bpf_this_cpu_ptr\nr0 = 0\nexit\n"));
    rejects(
        &out,
        Errno::EACCES,
        "R1 type=map_value expected=percpu_ptr_, percpu_rcu_ptr_, percpu_trusted_ptr_",
    );
    let out = run(&format!("{}r1 = r7\nr2 = 0\ncall bpf_per_cpu_ptr\nr0 = 0\nexit\n", new(PLAIN)));
    rejects(&out, Errno::EACCES, "R1 type=ptr_ expected=percpu_ptr_, percpu_rcu_ptr_, percpu_trusted_ptr_");
}
