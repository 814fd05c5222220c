//! The BTF world on a small hand-made target BTF: struct walks, trust, the tracing context,
//! attach checks, and whole programs through the verifier.

use super::KernelBtf;
use super::attach::{AttachError, AttachQuery, check_attach_btf_id};
use super::ctx::{btf_ctx_access, tracing_access};
use super::walk::{WalkError, Walked, struct_access, struct_ids_match};
use crate::domain::state::{MEM_RCU, PTR_TRUSTED};
use crate::prog_types::CtxField;
use crate::{ProgType, VerifyOptions, verify};
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Linkage, Member};
use kbpf_isa::{AttachType, RawInsn};
use std::sync::Arc;

const INT: u32 = 1;
const TASK: u32 = 2;
const TASK_PTR: u32 = 3;
const CHAR: u32 = 4;
const COMM: u32 = 5;
const RCU_TASK: u32 = 6;
const RCU_TASK_PTR: u32 = 7;
const FENTRY_PROTO: u32 = 8;
const FENTRY_FUNC: u32 = 9;
const TP_PROTO: u32 = 10;
const TP_PTR: u32 = 11;
const TP_TYPEDEF: u32 = 12;
const VOID_PTR: u32 = 13;
const SOCK_COMMON: u32 = 14;
const SOCK: u32 = 15;

fn member(name: &str, type_id: u32, bit_off: u32) -> Member {
    Member { name: name.into(), type_id, offset: bit_off, bitfield_size: 0 }
}

/// `struct task_struct { int pid; int flags:3 (bitfield); char comm[16]; struct task_struct
/// __rcu *parent; struct task_struct *group_leader; }`, a function and a tracepoint taking
/// `(int x, struct task_struct *p)`, and `struct sock { struct sock_common __sk_common; }`.
fn target() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int =
        BtfType::Int { name: "int".into(), size: 4, encoding: IntEncoding::Signed, offset: 0, bits: 32 };
    assert_eq!(b.add(int), INT);
    let flags = Member { name: "flags".into(), type_id: INT, offset: 32, bitfield_size: 3 };
    let members = vec![
        member("pid", INT, 0),
        flags,
        member("comm", COMM, 64),
        member("parent", RCU_TASK_PTR, 192),
        member("group_leader", TASK_PTR, 256),
    ];
    assert_eq!(
        b.add(BtfType::Struct { name: "task_struct".into(), size: 40, members, kind_flag: true }),
        TASK
    );
    assert_eq!(b.add(BtfType::Ptr { type_id: TASK }), TASK_PTR);
    let ch = BtfType::Int { name: "char".into(), size: 1, encoding: IntEncoding::Signed, offset: 0, bits: 8 };
    assert_eq!(b.add(ch), CHAR);
    assert_eq!(b.add(BtfType::Array { elem: CHAR, index: INT, nelems: 16 }), COMM);
    assert_eq!(b.add(BtfType::TypeTag { name: "rcu".into(), type_id: TASK, attr: false }), RCU_TASK);
    assert_eq!(b.add(BtfType::Ptr { type_id: RCU_TASK }), RCU_TASK_PTR);
    let params = vec![member("x", INT, 0), member("p", TASK_PTR, 0)];
    assert_eq!(b.add(BtfType::FuncProto { ret: INT, params, variadic: false }), FENTRY_PROTO);
    let func = BtfType::Func { name: "do_thing".into(), proto: FENTRY_PROTO, linkage: Linkage::Global };
    assert_eq!(b.add(func), FENTRY_FUNC);
    let params = vec![member("", VOID_PTR, 0), member("", INT, 0), member("", TASK_PTR, 0)];
    assert_eq!(b.add(BtfType::FuncProto { ret: 0, params, variadic: false }), TP_PROTO);
    assert_eq!(b.add(BtfType::Ptr { type_id: TP_PROTO }), TP_PTR);
    assert_eq!(b.add(BtfType::Typedef { name: "btf_trace_thing".into(), type_id: TP_PTR }), TP_TYPEDEF);
    assert_eq!(b.add(BtfType::Ptr { type_id: 0 }), VOID_PTR);
    let skc = vec![member("skc_family", INT, 0)];
    let skc = BtfType::Struct { name: "sock_common".into(), size: 4, members: skc, kind_flag: false };
    assert_eq!(b.add(skc), SOCK_COMMON);
    let sk = vec![member("__sk_common", SOCK_COMMON, 0)];
    assert_eq!(b.add(BtfType::Struct { name: "sock".into(), size: 4, members: sk, kind_flag: false }), SOCK);
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

#[test]
fn walks_scalars_bitfields_arrays_and_pointers() {
    let btf = target();
    assert_eq!(struct_access(&btf, TASK, 0, 4), Ok(Walked::Scalar));
    assert_eq!(struct_access(&btf, TASK, 4, 1), Ok(Walked::Scalar), "a bitfield read whole");
    assert_eq!(struct_access(&btf, TASK, 8, 8), Ok(Walked::Scalar), "inside comm");
    let beyond = struct_access(&btf, TASK, 20, 8).unwrap_err();
    assert_eq!(beyond, WalkError::BeyondMember("comm".into(), 24, "task_struct".into(), 20, 8));
    assert_eq!(
        beyond.to_string(),
        "access beyond the end of member comm (mend:24) in struct task_struct with off 20 size 8"
    );
    let parent = struct_access(&btf, TASK, 24, 8).unwrap();
    assert_eq!(parent, Walked::Ptr { btf_id: TASK, flags: MEM_RCU, field: "parent".into() });
    let partial = struct_access(&btf, TASK, 28, 4).unwrap_err();
    assert_eq!(
        partial.to_string(),
        "cannot access ptr member parent with moff 24 in struct task_struct with off 28 size 4"
    );
    assert_eq!(
        struct_access(&btf, TASK, 40, 8).unwrap_err().to_string(),
        "access beyond struct task_struct at off 40 size 8"
    );
    assert!(struct_ids_match(&btf, SOCK, 0, SOCK_COMMON, false));
    assert!(!struct_ids_match(&btf, SOCK, 0, SOCK_COMMON, true));
    assert!(!struct_ids_match(&btf, TASK, 0, SOCK_COMMON, false));
}

fn attach(
    btf: &KernelBtf,
    attach: AttachType,
    btf_id: u32,
) -> Result<super::attach::AttachInfo, AttachError> {
    let q = AttachQuery {
        lsm: false,
        attach: Some(attach),
        btf_id,
        sleepable: false,
        gpl: true,
        iter_buffers: true,
    };
    check_attach_btf_id(Some(btf), q)
}

#[test]
fn attach_targets_follow_the_attach_type() {
    let btf = target();
    assert_eq!(attach(&btf, AttachType::TraceRawTp, FENTRY_FUNC), Err(AttachError::NotTypedef(FENTRY_FUNC)));
    assert_eq!(attach(&btf, AttachType::TraceFentry, TP_TYPEDEF), Err(AttachError::NotFunc(TP_TYPEDEF)));
    assert_eq!(
        attach(&btf, AttachType::TraceFentry, 0).unwrap_err().to_string(),
        "Tracing programs must provide btf_id"
    );
    assert_eq!(attach(&btf, AttachType::TraceFentry, 999), Err(AttachError::Invalid(999)));
    let tp = attach(&btf, AttachType::TraceRawTp, TP_TYPEDEF).unwrap();
    assert_eq!((tp.func_name.as_str(), tp.trace, tp.args_trusted), ("thing", true, true));
    let q = AttachQuery {
        lsm: false,
        attach: Some(AttachType::TraceRawTp),
        btf_id: TP_TYPEDEF,
        sleepable: true,
        gpl: true,
        iter_buffers: true,
    };
    assert_eq!(check_attach_btf_id(Some(&btf), q), Err(AttachError::NotSleepable));
}

#[test]
fn the_context_is_the_prototype() {
    let btf = target();
    let fentry = attach(&btf, AttachType::TraceFentry, FENTRY_FUNC).unwrap();
    assert_eq!(tracing_access(&btf, &fentry, 0, 8, false).field, Some(CtxField::Scalar));
    let p = tracing_access(&btf, &fentry, 8, 8, false);
    assert_eq!(p.field, Some(CtxField::Btf { btf_id: TASK, flags: 0 }), "fentry arguments are not trusted");
    assert_eq!(p.log, vec![format!("func 'do_thing' arg1 has btf_id {TASK} type STRUCT 'task_struct'")]);
    assert_eq!(
        tracing_access(&btf, &fentry, 8, 4, false).log,
        vec!["func 'do_thing' size 4 must be 8".to_string()]
    );
    assert_eq!(tracing_access(&btf, &fentry, 8, 8, true).field, None, "read only");
    // the return value is no argument of fentry, but fexit reads it
    assert_eq!(
        tracing_access(&btf, &fentry, 16, 8, false).log,
        vec!["func 'do_thing' doesn't have 3-th argument".to_string()]
    );
    let fexit = attach(&btf, AttachType::TraceFexit, FENTRY_FUNC).unwrap();
    assert_eq!(tracing_access(&btf, &fexit, 16, 8, false).field, Some(CtxField::Scalar));
    // tp_btf: the `void *__data` slot is not the program's; pointers are trusted
    let tp = attach(&btf, AttachType::TraceRawTp, TP_TYPEDEF).unwrap();
    assert_eq!(btf_ctx_access(&btf, &tp, 0, 8).field, Some(CtxField::Scalar));
    assert_eq!(
        btf_ctx_access(&btf, &tp, 8, 8).field,
        Some(CtxField::Btf { btf_id: TASK, flags: PTR_TRUSTED })
    );
    assert_eq!(
        btf_ctx_access(&btf, &tp, 4, 4).log,
        vec!["func 'thing' offset 4 is not multiple of 8".to_string()]
    );
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(code, dst, src, off, imm)
}

fn tp_btf(slots: &[RawInsn]) -> crate::VerifyOutcome {
    tp_btf_at(slots, 1)
}

fn tp_btf_at(slots: &[RawInsn], log_level: u32) -> crate::VerifyOutcome {
    let opts = VerifyOptions {
        prog_type: ProgType::Tracing,
        expected_attach_type: Some(AttachType::TraceRawTp),
        attach_btf_id: TP_TYPEDEF,
        btf: Some(target()),
        log_level,
        ..Default::default()
    };
    verify(slots, &opts)
}

#[test]
fn tp_btf_programs_read_through_trusted_pointers() {
    // r1 = ctx[1] (task); r2 = task->parent; r0 = task->pid; exit
    let ok = [
        insn(0x79, 1, 1, 8, 0),
        insn(0x79, 2, 1, 24, 0),
        insn(0x61, 0, 1, 0, 0),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
    ];
    let out = tp_btf_at(&ok, 2);
    assert!(out.accepted, "{:?}\n{}", out.error, out.log);
    assert!(out.log.contains("R1=trusted_ptr_task_struct()"), "{}", out.log);
    // parent is __rcu: an RCU pointer that may be NULL
    assert!(out.log.contains("R2=rcu_ptr_or_null_task_struct(id=1)"), "{}", out.log);
    assert!(out.log.contains("func 'thing' arg1 has btf_id 2 type STRUCT 'task_struct'"), "{}", out.log);
    // a store into the task is refused
    let store =
        [insn(0x79, 1, 1, 8, 0), insn(0x62, 1, 0, 0, 1), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
    assert_eq!(tp_btf(&store).error.unwrap().message(), "only read is supported");
    // a NULL-able pointer must be checked first
    let unchecked =
        [insn(0x79, 1, 1, 8, 0), insn(0x79, 2, 1, 24, 0), insn(0x61, 0, 2, 0, 0), insn(0x95, 0, 0, 0, 0)];
    assert_eq!(tp_btf(&unchecked).error.unwrap().message(), "R2 invalid mem access 'rcu_ptr_or_null_'");
}

#[test]
fn trampoline_programs_follow_the_target_kernel() {
    let opts = VerifyOptions {
        prog_type: ProgType::Tracing,
        expected_attach_type: Some(AttachType::TraceFentry),
        attach_btf_id: FENTRY_FUNC,
        btf: Some(target()),
        trampolines: false,
        ..Default::default()
    };
    let exit = [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
    let out = verify(&exit, &opts);
    assert_eq!(out.error.unwrap().errno(), kbpf_passes::Errno::EPERM);
    assert!(out.log.is_empty());
    let out = verify(&exit, &VerifyOptions { trampolines: true, ..opts });
    assert!(out.accepted, "{:?}", out.error);
}

fn global_call(arg_setup: RawInsn, param: kbpf_isa::ParamType, tags: &[&str]) -> crate::VerifyOutcome {
    // main: r1 = <setup>; call f; r0 = 0; exit.  f (global): r0 = 0; exit
    let slots = [
        arg_setup,
        insn(0x85, 0, 1, 0, 2),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
    ];
    let param = kbpf_isa::Param { ty: param, tags: tags.iter().map(|t| t.to_string()).collect() };
    let funcs = vec![
        kbpf_isa::FuncDecl {
            pc: 0,
            name: "main".into(),
            nargs: 0,
            global: true,
            ret_scalar: true,
            exception_cb: false,
            params: Vec::new(),
        },
        kbpf_isa::FuncDecl {
            pc: 4,
            name: "f".into(),
            nargs: 1,
            global: true,
            ret_scalar: true,
            exception_cb: false,
            params: vec![param],
        },
    ];
    let opts = VerifyOptions { prog_type: ProgType::SchedCls, funcs, log_level: 1, ..Default::default() };
    verify(&slots, &opts)
}

#[test]
fn global_functions_take_arguments_typed_by_btf() {
    use kbpf_isa::ParamType;
    let skb =
        ParamType::Ptr { name: "__sk_buff".into(), kind: "STRUCT".into(), size: Some(192), typedef: None };
    let keep_ctx = insn(0xbf, 1, 1, 0, 0);
    assert!(global_call(keep_ctx, skb.clone(), &[]).accepted, "the context passes as the context");
    let out = global_call(insn(0xb7, 1, 0, 0, 0), skb, &[]);
    assert_eq!(out.error.as_ref().unwrap().message(), "Caller passes invalid args into func#1 ('f')");
    assert!(out.log.contains("arg#0 expects pointer to ctx\n"), "{}", out.log);
    // sized memory may be NULL unless arg:nonnull says otherwise
    let mem = ParamType::Ptr { name: "int".into(), kind: "INT".into(), size: Some(4), typedef: None };
    let null = insn(0xb7, 1, 0, 0, 0);
    assert!(global_call(null, mem.clone(), &[]).accepted);
    let fp = insn(0xbf, 1, 10, 0, 0);
    let out = global_call(fp, mem.clone(), &[]);
    assert!(out.log.contains("invalid read from stack") || !out.accepted, "{}", out.log);
    let out = global_call(null, mem, &["bogus"]);
    assert!(out.log.contains("arg#0 has unsupported set of tags"), "{}", out.log);
    assert_eq!(out.error.unwrap().errno(), kbpf_passes::Errno::EOPNOTSUPP);
}
