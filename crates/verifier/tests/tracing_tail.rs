//! Rules of the tracing long tail: a global function's parameter typed by the program type's
//! context struct (`btf_is_prog_ctx_type`), `arg:trusted` types matched as CO-RE candidates,
//! the syscall helpers of `BPF_PROG_TYPE_SYSCALL` and `__ksym` references
//! (`check_pseudo_btf_id`). Messages are Linux 6.18's.

mod common;
use common::*;
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Linkage, VarLinkage};
use kbpf_isa::{FuncDecl, Param, ParamType, RawInsn};
use kbpf_verifier::{Errno, KernelBtf, KprobeProg, ProgType, VerifyOptions, VerifyOutcome, verify};
use std::sync::Arc;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(code, dst, src, off, imm)
}

const INT: u32 = 1;
const TASK: u32 = 2;
const PROTO: u32 = 3;
const FUNC: u32 = 4;
const VAR: u32 = 5;
const VMA: u32 = 6;

/// `int`, `struct task_struct {}`, a kernel function `bpf_task_acquire`, a variable
/// `runqueues` and `struct vm_area_struct { int vm_start; }`.
fn target() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let int =
        BtfType::Int { name: "int".into(), size: 4, encoding: IntEncoding::Signed, offset: 0, bits: 32 };
    assert_eq!(b.add(int), INT);
    let task = BtfType::Struct { name: "task_struct".into(), size: 8, members: Vec::new(), kind_flag: false };
    assert_eq!(b.add(task), TASK);
    assert_eq!(b.add(BtfType::FuncProto { ret: INT, params: Vec::new(), variadic: false }), PROTO);
    let func = BtfType::Func { name: "bpf_task_acquire".into(), proto: PROTO, linkage: Linkage::Global };
    assert_eq!(b.add(func), FUNC);
    let var = BtfType::Var { name: "runqueues".into(), type_id: INT, linkage: VarLinkage::Global };
    assert_eq!(b.add(var), VAR);
    let vm_start =
        kbpf_elf::btf::Member { name: "vm_start".into(), type_id: INT, offset: 0, bitfield_size: 0 };
    let vma =
        BtfType::Struct { name: "vm_area_struct".into(), size: 8, members: vec![vm_start], kind_flag: false };
    assert_eq!(b.add(vma), VMA);
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

fn ptr(name: &str, typedef: Option<&str>) -> ParamType {
    ParamType::Ptr {
        name: name.into(),
        kind: "STRUCT".into(),
        size: Some(8),
        typedef: typedef.map(Into::into),
    }
}

/// main passes `r1` (after `setup`) to the global `f(param)`, which returns 0.
fn global_call(pt: ProgType, setup: RawInsn, param: ParamType, tags: &[&str]) -> VerifyOutcome {
    let slots = [
        setup,
        insn(0x85, 0, 1, 0, 2),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
    ];
    let decl = |pc, name: &str, params: Vec<Param>| FuncDecl {
        pc,
        name: name.into(),
        nargs: params.len() as u32,
        global: true,
        ret_scalar: true,
        exception_cb: false,
        params,
    };
    let param = Param { ty: param, tags: tags.iter().map(|t| t.to_string()).collect() };
    let funcs = vec![decl(0, "main", Vec::new()), decl(4, "f", vec![param])];
    let opts =
        VerifyOptions { prog_type: pt, funcs, log_level: 1, btf: Some(target()), ..Default::default() };
    verify(&slots, &opts)
}

#[test]
fn the_context_struct_of_each_type_takes_the_context() {
    let keep = || insn(0xbf, 1, 1, 0, 0);
    let kprobe = ProgType::Kprobe(KprobeProg::default());
    let perf = ProgType::PerfEvent { arch: Default::default() };
    for (pt, name) in [
        (kprobe, "pt_regs"),
        (kprobe, "bpf_user_pt_regs_t"),
        (perf, "bpf_perf_event_data"),
        (ProgType::RawTracepoint, "bpf_raw_tracepoint_args"),
        (ProgType::RawTracepointWritable, "bpf_raw_tracepoint_args"),
        (ProgType::CgroupSkb, "__sk_buff"),
        (ProgType::CgroupSkb, "sk_buff"),
        (ProgType::SkMsg, "sk_msg_md"),
        (ProgType::SockOps, "bpf_sock_ops"),
    ] {
        accepts(&global_call(pt, keep(), ptr(name, None), &[]));
    }
    // a kprobe's typedef names the context whatever struct it stands for (s390's is anonymous)
    accepts(&global_call(kprobe, keep(), ptr("", Some("bpf_user_pt_regs_t")), &[]));
    // another type's context is plain memory, which the context is not
    let out = global_call(kprobe, keep(), ptr("__sk_buff", None), &[]);
    assert_eq!(out.error.expect("refused").message(), "Caller passes invalid args into func#1 ('f')");
    // tracing programs have no named context: only `arg:ctx` makes one
    let out = global_call(ProgType::Tracepoint, keep(), ptr("bpf_raw_tracepoint_args", None), &[]);
    assert!(!out.accepted, "{}", out.log);
}

#[test]
fn trusted_arguments_match_kernel_structs_without_their_flavor() {
    let kprobe = ProgType::Kprobe(KprobeProg::default());
    let null = || insn(0xb7, 1, 0, 0, 0);
    let flavored = ptr("task_struct___local", None);
    accepts(&global_call(kprobe, null(), flavored, &["trusted", "nullable"]));
    let out = global_call(kprobe, null(), ptr("nope___local", None), &["trusted"]);
    assert!(out.log.contains("arg#0 reference type('STRUCT nope___local') has no matches\n"), "{}", out.log);
    assert_eq!(out.error.expect("refused").errno(), Errno::ENOENT);
}

#[test]
fn syscall_programs_call_the_syscall_helpers() {
    let spill = "r6 = 0\n*(u64 *)(r10 -8) = r6\n";
    // bpf_sys_bpf(cmd, attr, size)
    let sys_bpf = format!("{spill}r1 = 0\nr2 = r10\nr2 += -8\nr3 = 8\ncall 166\nr0 = 0\nexit\n");
    // bpf_btf_find_by_name_kind(name, size, kind, flags)
    let find = format!("{spill}r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr4 = 0\ncall 167\nr0 = 0\nexit\n");
    let opts = |pt| VerifyOptions { prog_type: pt, log_level: 1, ..Default::default() };
    accepts(&verify_src(&sys_bpf, Vec::new(), opts(ProgType::Syscall)));
    accepts(&verify_src(&find, Vec::new(), opts(ProgType::Syscall)));
    // a socket filter has neither
    let out = verify_src(&sys_bpf, Vec::new(), opts(ProgType::SocketFilter));
    rejects(&out, Errno::EINVAL, "program of this type cannot use helper bpf_sys_bpf#166");
}

/// `r1 = <__ksym btf id>; if r1 == 0 goto +0; r0 = 0; exit` in a raw tracepoint.
fn ksym(id: i32, kallsyms_all: bool) -> VerifyOutcome {
    let slots = [
        insn(0x18, 1, 3, 0, id),
        insn(0, 0, 0, 0, 0),
        insn(0x15, 1, 0, 0, 0),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
    ];
    let mut opts = VerifyOptions {
        prog_type: ProgType::RawTracepoint,
        log_level: 2,
        btf: Some(target()),
        ..Default::default()
    };
    opts.kernel_config.kallsyms_all = kallsyms_all;
    verify(&slots, &opts)
}

#[test]
fn ksym_references_resolve_through_kallsyms() {
    // a kernel function: read-only memory of size 0, never NULL
    let func = ksym(FUNC as i32, false);
    accepts(&func);
    assert!(func.log.contains("R1=rdonly_mem(sz=0)") || func.log.contains("R1_w=rdonly_mem"), "{}", func.log);
    // variables are missing from kallsyms without CONFIG_KALLSYMS_ALL
    rejects(
        &ksym(VAR as i32, false),
        Errno::ENOENT,
        "ldimm64 failed to find the address for kernel symbol 'runqueues'.",
    );
    let modelled = ksym(VAR as i32, true);
    assert_eq!(modelled.error.expect("no verdict").kind(), kbpf_verifier::RejectKind::Unsupported);
    rejects(
        &ksym(INT as i32, false),
        Errno::EINVAL,
        "pseudo btf_id 1 in ldimm64 isn't KIND_VAR or KIND_FUNC",
    );
    rejects(&ksym(999, false), Errno::ENOENT, "ldimm64 insn specifies invalid btf_id 999.");
}

/// `bpf_user_ringbuf_drain(map 1, cb, NULL, 0)` in a raw tracepoint, with the callback's body.
fn drain(body: &str) -> VerifyOutcome {
    let src = format!(
        "    r1 = map_fd(1) ll
    r2 = func(cb) ll
    r3 = 0
    r4 = 0
    call bpf_user_ringbuf_drain
    r0 = 0
    exit
.func cb, 2
cb:
{body}"
    );
    let map = kbpf_verifier::MapDef {
        fd: 1,
        name: "urb".into(),
        kind: kbpf_verifier::MapKind::UserRingBuf,
        max_entries: 4096,
        ..Default::default()
    };
    let opts = VerifyOptions {
        prog_type: ProgType::RawTracepoint,
        maps: vec![map],
        log_level: 2,
        stack_args: false,
        ..Default::default()
    };
    verify_src(&src, Vec::new(), opts)
}

#[test]
fn user_ringbuf_callbacks_get_a_const_dynptr() {
    // bpf_dynptr_data(dynptr, 0, 8) reads the sample
    let read = "    r2 = 0\n    r3 = 8\n    call bpf_dynptr_data\n    r0 = 0\n    exit\n";
    let out = drain(read);
    accepts(&out);
    assert!(out.log.contains("R1=dynptr_ptr(id=1,type=local)"), "{}", out.log);
    // only unmodified
    let moved = format!("    r1 += 16\n{read}");
    rejects(&drain(&moved), Errno::EACCES, "dereference of modified dynptr_ptr ptr R1 off=16 disallowed");
    // not memory, not releasable, not rebuildable
    let store = "    *(u64 *)(r1 +0) = 0\n    r0 = 0\n    exit\n";
    rejects(&drain(store), Errno::EACCES, "R1 invalid mem access 'dynptr_ptr'");
    let submit = "    r2 = 0\n    call bpf_ringbuf_submit_dynptr\n    r0 = 0\n    exit\n";
    rejects(&drain(submit), Errno::EINVAL, "cannot release unowned const bpf_dynptr");
    let rebuild = "    r4 = r1\n    r1 = map_fd(1) ll\n    r2 = 8\n    r3 = 0\n    call bpf_ringbuf_reserve_dynptr\n    r0 = 0\n    exit\n";
    assert!(!drain(rebuild).accepted);
    rejects(
        &drain("    r0 = 2\n    exit\n"),
        Errno::EINVAL,
        "At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]",
    );
}

/// `bpf_find_vma(current task, 0, cb, NULL, 0)` in a raw tracepoint, with the callback's body.
fn find_vma(body: &str) -> VerifyOutcome {
    let src = format!(
        "    call bpf_get_current_task_btf
    r1 = r0
    r2 = 0
    r3 = func(cb) ll
    r4 = 0
    r5 = 0
    call bpf_find_vma
    r0 = 0
    exit
.func cb, 3
cb:
{body}"
    );
    let opts = VerifyOptions {
        prog_type: ProgType::RawTracepoint,
        btf: Some(target()),
        log_level: 2,
        stack_args: false,
        ..Default::default()
    };
    verify_src(&src, Vec::new(), opts)
}

#[test]
fn find_vma_callbacks_read_the_vma() {
    let out = find_vma("    r0 = *(u32 *)(r2 +0)\n    r0 = 0\n    exit\n");
    accepts(&out);
    assert!(out.log.contains("R2=ptr_vm_area_struct()"), "{}", out.log);
    let write = find_vma("    *(u32 *)(r2 +0) = 0\n    r0 = 0\n    exit\n");
    rejects(&write, Errno::EACCES, "only read is supported");
}

/// `bpf_snprintf(buf, 16, fmt, args, 8 * nargs)` with `fmt` the read-only map's string.
fn snprintf(fmt: &str, nargs: u32) -> VerifyOutcome {
    let src = format!(
        "    r6 = 0
    *(u64 *)(r10 -8) = r6
    *(u64 *)(r10 -16) = r6
    *(u64 *)(r10 -24) = r6
    *(u64 *)(r10 -32) = r6
    r1 = r10
    r1 += -16
    r2 = 16
    r3 = map_value(1, 0) ll
    r4 = r10
    r4 += -32
    r5 = {}
    call bpf_snprintf
    r0 = 0
    exit
",
        nargs * 8
    );
    let mut value = fmt.as_bytes().to_vec();
    value.resize(32, 0);
    let map = kbpf_verifier::MapDef {
        fd: 1,
        name: "rodata".into(),
        kind: kbpf_verifier::MapKind::Array,
        key_size: 4,
        value_size: 32,
        max_entries: 1,
        flags: kbpf_verifier::BPF_F_RDONLY_PROG,
        frozen: true,
        initial: Some(value),
        ..Default::default()
    };
    let opts = VerifyOptions {
        prog_type: ProgType::RawTracepoint,
        maps: vec![map],
        gpl: true,
        log_level: 1,
        stack_args: false,
        ..Default::default()
    };
    verify_src(&src, Vec::new(), opts)
}

#[test]
fn snprintf_format_strings_are_checked_at_load() {
    accepts(&snprintf("%d and %s.", 2));
    rejects(&snprintf("%d and %s.", 1), Errno::EINVAL, "Invalid format string");
    rejects(&snprintf("%q", 2), Errno::EINVAL, "Invalid format string");
}

#[test]
fn session_kfuncs_need_a_session_link() {
    let cookie = kbpf_verifier::KfuncDecl {
        btf_id: 77,
        name: "bpf_session_cookie".into(),
        ret: kbpf_verifier::KfuncRet::Mem(8),
        ..Default::default()
    };
    // *bpf_session_cookie() = 1
    let src = "    call bpf_session_cookie\n    r1 = 1\n    *(u64 *)(r0 +0) = r1\n    r0 = 0\n    exit\n";
    let run = |attach| {
        let pt = ProgType::Kprobe(KprobeProg { attach, ..Default::default() });
        let opts = VerifyOptions { prog_type: pt, log_level: 1, stack_args: false, ..Default::default() };
        verify_src(src, vec![cookie.clone()], opts)
    };
    accepts(&run(kbpf_verifier::KprobeAttach::KprobeSession));
    rejects(
        &run(kbpf_verifier::KprobeAttach::KprobeMulti),
        Errno::EACCES,
        "calling kernel function bpf_session_cookie is not allowed",
    );
}
