//! Kptr fields of map values: loads (`check_map_kptr_access`: untrusted, or RCU-protected in
//! an RCU section for the kernel's RCU-freed types), stores of unreferenced kptrs
//! (`map_kptr_match_type`), the field's access rules in `check_map_access`, and
//! `bpf_kptr_xchg` (`process_kptr_func`, reference transfer). Messages are Linux 6.18's.

mod common;
use common::btf::{self, m};
use common::*;
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType};
use kbpf_verifier::btf::record::{Field, FieldKind, Kptr, KptrTarget, Record};
use kbpf_verifier::{
    Errno, KernelBtf, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTraits, MapDef, MapKind, ProgType,
    VerifyOptions, VerifyOutcome,
};
use std::sync::Arc;

const TASK: u32 = 2;
const CGROUP: u32 = 3;

/// int, task_struct { int pid; ... }, cgroup.
fn btf() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int = btf::int(&mut b);
    b.add(BtfType::Struct {
        name: "task_struct".into(),
        size: 16,
        members: vec![m("pid", int, 0)],
        kind_flag: false,
    });
    b.add(BtfType::Struct {
        name: "cgroup".into(),
        size: 8,
        members: vec![m("level", int, 0)],
        kind_flag: false,
    });
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

fn kptr(kind: FieldKind, off: u32, name: &str, id: u32) -> Field {
    Field {
        kind,
        off,
        size: 8,
        kptr: Some(Kptr { name: name.into(), local_id: 0, target: KptrTarget::Kernel(id) }),
        graph_root: None,
    }
}

/// `struct { struct task_struct __kptr_untrusted *u; struct task_struct __kptr *r;
/// struct cgroup __kptr *c; }`.
fn kptr_map() -> MapDef {
    MapDef {
        fd: 0,
        name: "kptrs".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        record: Some(Arc::new(Record {
            fields: vec![
                kptr(FieldKind::KptrUnref, 0, "task_struct", TASK),
                kptr(FieldKind::KptrRef, 8, "task_struct", TASK),
                kptr(FieldKind::KptrRef, 16, "cgroup", CGROUP),
            ],
        })),
        ..Default::default()
    }
}

fn table() -> Vec<KfuncDecl> {
    let task = KfuncArg {
        name: "p".into(),
        kind: KfuncArgKind::BtfObj { name: "task_struct".into(), type_id: TASK, has_ptr: true },
        nullable: false,
    };
    vec![
        KfuncDecl {
            btf_id: 1,
            name: "bpf_task_acquire".into(),
            args: vec![task.clone()],
            ret: KfuncRet::BtfObj { name: "task_struct".into(), type_id: TASK },
            ret_null: true,
            traits: KfuncTraits { acquire: true, rcu: true, ..Default::default() },
            ..Default::default()
        },
        KfuncDecl {
            btf_id: 2,
            name: "bpf_task_release".into(),
            args: vec![task],
            traits: KfuncTraits { release: true, ..Default::default() },
            ..Default::default()
        },
    ]
}

fn run(src: &str) -> VerifyOutcome {
    let opts = VerifyOptions {
        prog_type: ProgType::SchedCls,
        maps: vec![kptr_map()],
        privileged: true,
        log_level: 2,
        btf: Some(btf()),
        ..Default::default()
    };
    verify_src(src, table(), opts)
}

/// The value of element 0 in r6 (the program exits when NULL).
const LOOKUP: &str = "r1 = 0\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\n\
                      call bpf_map_lookup_elem\nif r0 != 0 goto +1\nexit\nr6 = r0\n";

#[test]
fn loads_are_untrusted_or_rcu_protected() {
    let out = run(&format!("{LOOKUP}r1 = *(u64 *)(r6 +0)\nr2 = *(u64 *)(r6 +8)\nr0 = 0\nexit\n"));
    accepts(&out);
    assert!(out.log.contains("R1=untrusted_ptr_or_null_task_struct(id=1)"), "{}", out.log);
    // task_struct is freed after a grace period, and a tc program runs in one
    assert!(out.log.contains("R2=rcu_ptr_or_null_task_struct(id=2)"), "{}", out.log);
}

#[test]
fn kptr_fields_take_whole_aligned_loads() {
    let out = run(&format!("{LOOKUP}r1 = *(u32 *)(r6 +0)\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "kptr access size must be BPF_DW");
    let out = run(&format!("{LOOKUP}r1 = *(u32 *)(r6 +4)\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "kptr access misaligned expected=0 off=4");
    // a helper may not write it
    let out = run(&format!("{LOOKUP}r1 = r6\nr2 = 8\nr3 = 0\ncall bpf_probe_read_kernel\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "kptr cannot be accessed indirectly by helper");
}

#[test]
fn stores_to_referenced_kptrs_are_refused() {
    let out = run(&format!("{LOOKUP}r1 = 0\n*(u64 *)(r6 +8) = r1\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "store to referenced kptr disallowed");
    let out = run(&format!("{LOOKUP}*(u64 *)(r6 +0) = 1\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "BPF_ST imm must be 0 when storing to kptr at off=0");
    let out = run(&format!("{LOOKUP}*(u64 *)(r6 +0) = 0\nr0 = 0\nexit\n"));
    accepts(&out);
}

#[test]
fn unreferenced_stores_match_the_field_type() {
    // a scalar is not a kptr
    let out = run(&format!("{LOOKUP}r1 = 5\n*(u64 *)(r6 +0) = r1\nr0 = 0\nexit\n"));
    rejects(
        &out,
        Errno::EACCES,
        "invalid kptr access, R1 type=scalar expected=ptr_task_struct or untrusted_ptr_task_struct",
    );
    // the pointer loaded from the field itself goes back
    let out = run(&format!("{LOOKUP}r1 = *(u64 *)(r6 +0)\n*(u64 *)(r6 +0) = r1\nr0 = 0\nexit\n"));
    accepts(&out);
}

#[test]
fn xchg_moves_references_in_and_out() {
    // the old pointer is a new reference to release
    let leak = run(&format!("{LOOKUP}r1 = r6\nr1 += 8\nr2 = 0\ncall bpf_kptr_xchg\nr0 = 0\nexit\n"));
    rejects(&leak, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    let src = format!(
        "{LOOKUP}r1 = r6\nr1 += 8\nr2 = 0\ncall bpf_kptr_xchg\nif r0 == 0 goto +2\nr1 = r0\n\
         call bpf_task_release\nr0 = 0\nexit\n"
    );
    let out = run(&src);
    accepts(&out);
    assert!(out.log.contains("R0=ptr_or_null_task_struct(id=2,ref_obj_id=2)"), "{}", out.log);
}

#[test]
fn xchg_wants_a_referenced_kptr_field() {
    let out = run(&format!("{LOOKUP}r1 = r6\nr2 = 0\ncall bpf_kptr_xchg\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "off=0 kptr isn't referenced kptr");
    let out = run(&format!("{LOOKUP}r1 = r6\nr1 += 4\nr2 = 0\ncall bpf_kptr_xchg\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "off=4 doesn't point to kptr");
    // an unreferenced task pointer cannot be moved in
    let out = run(&format!(
        "{LOOKUP}call bpf_get_current_task_btf\nr2 = r0\nr1 = r6\nr1 += 8\ncall bpf_kptr_xchg\nr0 = 0\nexit\n"
    ));
    rejects(&out, Errno::EINVAL, "R2 must be referenced when passed to release function");
}

/// `do_misc_fixups` inlines `bpf_kptr_xchg` for a JIT (both of kbpf's targets exchange a
/// pointer in one instruction): the new pointer in r0, exchanged with the field at r1.
#[test]
fn xchg_is_one_atomic_exchange_for_a_jit() {
    use kbpf_verifier::fixups::{CtxTarget, FieldLoc, KernelField, KernelLayout, xlate};
    let src = format!(
        "{LOOKUP}r1 = r6\nr1 += 8\nr2 = 0\ncall bpf_kptr_xchg\nif r0 == 0 goto +2\nr1 = r0\n\
         call bpf_task_release\nr0 = 0\nexit\n"
    );
    let out = run(&src);
    accepts(&out);
    let mut layout = KernelLayout::default();
    layout.set(KernelField::BpfArrayValue, FieldLoc { off: 64, size: 0, bits: None });
    let x = xlate(&out.witness.expect("witness"), CtxTarget::Kernel, &layout).expect("translates");
    let text: Vec<String> = x
        .insns
        .iter()
        .map(|i| kbpf_isa::disasm::format_insn(&i.insn, 0, kbpf_isa::disasm::Syntax::Kernel))
        .collect();
    let at = text.iter().position(|t| t == "r2 = 0").expect("the exchange's argument") + 1;
    assert_eq!(
        text[at..at + 3],
        ["r0 = r2", "r0 = atomic64_xchg((u64 *)(r1 +0), r0)", "if r0 == 0x0 goto pc+2"]
    );
}
