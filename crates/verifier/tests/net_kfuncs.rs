//! Packet-program kfuncs of the target kernel: netfilter's connection kfuncs (a struct sized by
//! the next argument is memory, `nf_conn___init` is a no-cast alias of `nf_conn`, stores reach
//! the mark only), a nullable dynptr given NULL, the target's refusal of a kfunc after its
//! arguments (`bpf_dynptr_slice_rdwr` on this machine) and the device-bound metadata kfuncs.

mod common;
use common::btf::{self, m};
use common::*;
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType};
use kbpf_verifier::{
    Errno, KernelBtf, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTraits, ProgType, VerifyOptions,
    VerifyOutcome,
};
use std::sync::Arc;

/// 1 int, 2 `struct nf_conn { int status; int mark; }`, 3 `struct nf_conn___init { struct
/// nf_conn ct; }`, 4 `struct tuple { int addr; int port; }`.
fn btf() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int = btf::int(&mut b);
    let ct = b.add(BtfType::Struct {
        name: "nf_conn".into(),
        size: 8,
        members: vec![m("status", int, 0), m("mark", int, 32)],
        kind_flag: false,
    });
    b.add(BtfType::Struct {
        name: "nf_conn___init".into(),
        size: 8,
        members: vec![m("ct", ct, 0)],
        kind_flag: false,
    });
    b.add(BtfType::Struct {
        name: "tuple".into(),
        size: 8,
        members: vec![m("addr", int, 0), m("port", int, 32)],
        kind_flag: false,
    });
    let ptr = b.add(BtfType::Ptr { type_id: int });
    let inner = b.add(BtfType::Struct {
        name: "inner".into(),
        size: 8,
        members: vec![m("p", ptr, 0)],
        kind_flag: false,
    });
    b.add(BtfType::Struct {
        name: "outer".into(),
        size: 8,
        members: vec![m("i", inner, 0)],
        kind_flag: false,
    });
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

/// 7 `struct outer { struct inner { int *p; } i; }` (5 is `int *`, 6 `struct inner`).
const OUTER: u32 = 7;

const CT: u32 = 2;
const CT_INIT: u32 = 3;
const TUPLE: u32 = 4;

fn arg(name: &str, kind: KfuncArgKind) -> KfuncArg {
    KfuncArg { name: name.into(), kind, nullable: name.ends_with("__nullable") }
}

fn obj(name: &str, type_id: u32) -> KfuncArgKind {
    KfuncArgKind::BtfObj { name: name.into(), type_id, has_ptr: false }
}

fn table() -> Vec<KfuncDecl> {
    let k = |btf_id: i32, name: &str, args: Vec<KfuncArg>| KfuncDecl {
        btf_id,
        name: name.into(),
        args,
        ret: KfuncRet::Void,
        ..Default::default()
    };
    let acq = KfuncTraits { acquire: true, ..Default::default() };
    let rel = KfuncTraits { release: true, ..Default::default() };
    vec![
        KfuncDecl {
            ret: KfuncRet::BtfObj { name: "nf_conn___init".into(), type_id: CT_INIT },
            ret_null: true,
            traits: acq,
            ..k(
                1,
                "ct_alloc",
                vec![
                    arg("ctx", KfuncArgKind::Ctx),
                    arg("tuple", obj("tuple", TUPLE)),
                    arg("tuple__sz", KfuncArgKind::MemSize { constant: false }),
                ],
            )
        },
        KfuncDecl { traits: rel, ..k(2, "ct_release", vec![arg("ct", obj("nf_conn", CT))]) },
        KfuncDecl {
            ret: KfuncRet::BtfObj { name: "nf_conn".into(), type_id: CT },
            ret_null: true,
            traits: KfuncTraits { acquire: true, release: true, ..Default::default() },
            ..k(3, "ct_insert", vec![arg("ct", obj("nf_conn___init", CT_INIT))])
        },
        k(4, "takes_dynptr", vec![arg("d__nullable", KfuncArgKind::Dynptr)]),
        KfuncDecl {
            traits: KfuncTraits { refused_after_args: true, ..Default::default() },
            ..k(5, "refused", vec![arg("n__k", KfuncArgKind::Const)])
        },
        k(6, "bpf_xdp_metadata_rx_hash", vec![]),
        k(
            7,
            "takes_outer",
            vec![arg("o", obj("outer", OUTER)), arg("o__sz", KfuncArgKind::MemSize { constant: false })],
        ),
    ]
}

fn run(src: &str) -> VerifyOutcome {
    let opts =
        VerifyOptions { prog_type: ProgType::SchedCls, log_level: 1, btf: Some(btf()), ..Default::default() };
    verify_src(src, table(), opts)
}

/// `r6` = a connection template allocated from the tuple at fp-8 (or the path ends).
const ALLOC: &str = "
    *(u64 *)(r10 -8) = 0
    r2 = r10
    r2 += -8
    r3 = 8
    call ct_alloc
    if r0 == 0 goto out
    r6 = r0
";
const OUT: &str = "out:\nr0 = 0\nexit\n";

#[test]
fn a_struct_on_the_stack_sized_by_the_next_argument_is_memory() {
    let out =
        run(&format!("{ALLOC}r1 = r6\ncall ct_insert\nif r0 == 0 goto out\nr1 = r0\ncall ct_release\n{OUT}"));
    accepts(&out);
    // and NULL is no memory
    let out = run("r2 = 0\nr3 = 0\ncall ct_alloc\nr0 = 0\nexit\n");
    rejects(&out, Errno::EACCES, "Possibly NULL pointer passed to trusted arg1");
}

#[test]
fn a_no_cast_alias_is_not_its_base_type() {
    let out = run(&format!("{ALLOC}r1 = r6\ncall ct_release\n{OUT}"));
    rejects(
        &out,
        Errno::EINVAL,
        "kernel function ct_release args#0 expected pointer to STRUCT nf_conn but R1 has a pointer to STRUCT nf_conn___init",
    );
}

#[test]
fn a_packet_program_writes_only_the_connection_mark() {
    let body = |store: &str| {
        format!(
            "{ALLOC}r1 = r6\ncall ct_insert\nif r0 == 0 goto out\nr7 = r0\n{store}\nr1 = r7\ncall ct_release\n{OUT}"
        )
    };
    accepts(&run(&body("*(u32 *)(r7 +4) = 1")));
    rejects(&run(&body("*(u32 *)(r7 +0) = 1")), Errno::EACCES, "no write support to nf_conn at off 0");
    rejects(
        &run(&body("*(u64 *)(r7 +4) = 1")),
        Errno::EACCES,
        "write access at off 4 with size 8 beyond the member of nf_conn ended at 8",
    );
}

#[test]
fn null_for_a_nullable_dynptr_is_not_checked_further() {
    accepts(&run("r1 = 0\ncall takes_dynptr\nr0 = 0\nexit\n"));
}

#[test]
fn a_kfunc_the_target_refuses_is_refused_after_its_arguments() {
    let out = run("r1 = *(u32 *)(r1 +0)\ncall refused\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "R1 must be a known constant");
    let out = run("r1 = 4\ncall refused\nr0 = 0\nexit\n");
    rejects(&out, Errno::EPERM, "refused() is not allowed");
    assert_eq!(out.stats.processed_insns, 2);
}

#[test]
fn metadata_kfuncs_need_a_device_bound_program() {
    let out = run("call bpf_xdp_metadata_rx_hash\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "metadata kfuncs require device-bound program");
    assert_eq!(out.stats.processed_insns, 0);
}

#[test]
fn a_struct_with_pointers_deeper_down_is_not_taken_as_memory() {
    let out = run("*(u64 *)(r10 -8) = 0\nr1 = r10\nr1 += -8\nr2 = 8\ncall takes_outer\nr0 = 0\nexit\n");
    let e = out.error.expect("no verdict");
    assert_eq!(e.kind(), kbpf_verifier::RejectKind::Unsupported, "{}", e.message());
}
