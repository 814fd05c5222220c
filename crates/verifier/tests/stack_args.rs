//! Stack-argument rules of the verifier (shared stack-args.md §2.2, §3, §4.2), one test per
//! rule, on programs written in kbpf assembly with `.func` prototypes.

mod common;
use common::*;
use kbpf_isa::RawInsn;
use kbpf_verifier::{
    Errno, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, VerifyOptions, VerifyOutcome, verify,
};

fn scalar(name: &str) -> KfuncArg {
    KfuncArg { name: name.into(), kind: KfuncArgKind::Scalar, nullable: false }
}

fn kfunc(id: i32, name: &str, args: Vec<KfuncArg>) -> KfuncDecl {
    KfuncDecl { btf_id: id, name: name.into(), args, ret: KfuncRet::Scalar, ..Default::default() }
}

fn scalars(n: usize) -> Vec<KfuncArg> {
    (0..n).map(|i| scalar(&format!("a{i}"))).collect()
}

/// The kfuncs the tests call, by name.
fn table() -> Vec<KfuncDecl> {
    let mem_pair = |size_kind| {
        let mut a = scalars(5);
        a.push(KfuncArg { name: "mem".into(), kind: KfuncArgKind::Mem { size: None }, nullable: false });
        a.push(KfuncArg { name: "mem__sz".into(), kind: size_kind, nullable: false });
        a
    };
    let with = |n: usize, last: KfuncArgKind| {
        let mut a = scalars(n);
        a.push(KfuncArg { name: "x".into(), kind: last, nullable: false });
        a
    };
    vec![
        kfunc(100, "k7", scalars(7)),
        kfunc(101, "k13", scalars(13)),
        kfunc(102, "kmem", mem_pair(KfuncArgKind::MemSize { constant: false })),
        kfunc(103, "karena", with(5, KfuncArgKind::Arena)),
        kfunc(104, "kaux", with(5, KfuncArgKind::ProgAux)),
        kfunc(105, "kconst", with(5, KfuncArgKind::Const)),
        kfunc(106, "kstruct", with(5, KfuncArgKind::StructPtr)),
        kfunc(108, "kstraddle", {
            let mut a = scalars(4);
            a.push(KfuncArg { name: "mem".into(), kind: KfuncArgKind::Mem { size: None }, nullable: false });
            a.push(KfuncArg {
                name: "mem__sz".into(),
                kind: KfuncArgKind::MemSize { constant: false },
                nullable: false,
            });
            a
        }),
        KfuncDecl {
            btf_id: 107,
            name: "kalloc".into(),
            args: vec![],
            ret: KfuncRet::Mem(8),
            ret_null: true,
            ..Default::default()
        },
    ]
}

fn run_with(src: &str, f: impl FnOnce(&mut VerifyOptions)) -> VerifyOutcome {
    let mut opts = VerifyOptions { log_level: 1, ..Default::default() };
    f(&mut opts);
    verify_src(src, table(), opts)
}

fn run(src: &str) -> VerifyOutcome {
    run_with(src, |_| {})
}

const P5: &str = "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\n";
const SUB6: &str = "
.func sub6, 6
sub6:
    r0 = *(u64 *)(r11 +8)
    r0 += r1
    exit
";
const DEREF6: &str = "
.func deref6, 6
deref6:
    r1 = *(u64 *)(r11 +8)
    r0 = *(u64 *)(r1 +0)
    exit
";

#[test]
fn six_args_accepted() {
    accepts(&run(&format!("{P5}*(u64 *)(r11 -8) = 6\ncall sub6\nexit\n{SUB6}")));
}

#[test]
fn write_beyond_max_slot() {
    let out = run("*(u64 *)(r11 -64) = 1\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "stack arg write offset -64 exceeds max 7 stack args");
}

#[test]
fn stx_needs_readable_value() {
    rejects(&run("*(u64 *)(r11 -8) = r3\nr0 = 0\nexit\n"), Errno::EACCES, "R3 !read_ok");
}

#[test]
fn unused_slot_after_walk() {
    let out = run("*(u64 *)(r11 -56) = 1\nr0 = 0\nexit\n");
    rejects(&out, Errno::EINVAL, "func#0 writes 7 stack arg slots, but calls only require 0");
    let out = run(&format!("{P5}*(u64 *)(r11 -16) = 1\n*(u64 *)(r11 -8) = 1\ncall sub6\nexit\n{SUB6}"));
    rejects(&out, Errno::EINVAL, "func#0 writes 2 stack arg slots, but calls only require 1");
}

#[test]
fn main_has_no_incoming_args() {
    let out = run("r0 = *(u64 *)(r11 +8)\nr0 = 0\nexit\n");
    rejects(&out, Errno::EACCES, "invalid read from stack arg off 8 depth 0");
    // a store first: the ordering message wins
    let out = run("*(u64 *)(r11 -8) = 1\nr0 = *(u64 *)(r11 +8)\nexit\n");
    rejects(&out, Errno::EINVAL, "r11 load must be before any r11 store or call insn");
}

#[test]
fn read_beyond_incoming() {
    let src =
        format!("{P5}*(u64 *)(r11 -8) = 6\ncall s6\nexit\n.func s6, 6\ns6:\nr0 = *(u64 *)(r11 +16)\nexit\n");
    rejects(&run(&src), Errno::EACCES, "invalid read from stack arg off 16 depth 8");
}

#[test]
fn load_after_call_in_callee() {
    let src = format!(
        "{P5}*(u64 *)(r11 -8) = 6\ncall s6\nexit\n.func s6, 6\ns6:\ncall 7\nr0 = *(u64 *)(r11 +8)\nexit\n"
    );
    rejects(&run(&src), Errno::EINVAL, "r11 load must be before any r11 store or call insn");
    // a frame without incoming args may load nothing anyway, and calls do not poison it
    accepts(&run(&format!("call 7\n{P5}*(u64 *)(r11 -8) = 6\ncall sub6\nexit\n{SUB6}")));
}

#[test]
fn callee_sees_the_full_register_state() {
    // PTR_TO_STACK of the caller through a slot, dereferenced by the callee
    let src = format!(
        "r6 = 5\n*(u64 *)(r10 -8) = r6\nr6 = r10\nr6 += -8\n{P5}*(u64 *)(r11 -8) = r6\ncall deref6\nexit\n{DEREF6}"
    );
    accepts(&run(&src));
    let src = format!("{P5}*(u64 *)(r11 -8) = 42\ncall deref6\nexit\n{DEREF6}");
    rejects(&run(&src), Errno::EACCES, "R1 invalid mem access 'scalar'");
}

#[test]
fn call_site_requires_every_slot() {
    let src = format!("{P5}call sub6\nexit\n{SUB6}");
    rejects(&run(&src), Errno::EFAULT, "callee expects 6 args, stack arg1 is not initialized");
}

#[test]
fn slots_die_at_helper_kfunc_and_callee_exit() {
    let msg = "callee expects 6 args, stack arg1 is not initialized";
    let helper = format!("{P5}*(u64 *)(r11 -8) = 6\ncall 7\n{P5}call sub6\nexit\n{SUB6}");
    rejects(&run(&helper), Errno::EFAULT, msg);
    let twice = format!("{P5}*(u64 *)(r11 -8) = 6\ncall sub6\n{P5}call sub6\nexit\n{SUB6}");
    rejects(&run(&twice), Errno::EFAULT, msg);
    let kf = format!("{P5}*(u64 *)(r11 -8) = 6\n*(u64 *)(r11 -16) = 7\ncall k7\n{P5}call sub6\nexit\n{SUB6}");
    rejects(&run(&kf), Errno::EFAULT, msg);
}

#[test]
fn too_many_params() {
    let src = format!("{P5}call s13\nexit\n.func s13, 13\ns13:\nr0 = 0\nexit\n");
    rejects(&run(&src), Errno::EFAULT, "kernel supports at most 12 parameters, function s13 has 13");
    let src = format!("{P5}call k13\nexit\n");
    rejects(&run(&src), Errno::EINVAL, "Function k13 has 13 > 12 args");
}

#[test]
fn global_functions() {
    let src = format!("{P5}*(u64 *)(r11 -8) = 6\ncall g\nexit\n.func g, 6, global\ng:\nr0 = 0\nexit\n");
    let out = run(&src);
    rejects(&out, Errno::EINVAL, "Caller passes invalid args into func#1 ('g')");
    assert!(out.log.contains("global function g has 6 > 5 args, stack args not supported\n"), "{}", out.log);
    // the slot check still runs first
    let src = format!("{P5}call g\nexit\n.func g, 6, global\ng:\nr0 = 0\nexit\n");
    rejects(&run(&src), Errno::EFAULT, "callee expects 6 args, stack arg1 is not initialized");
    // kbpf extension
    let src = format!(
        "{P5}*(u64 *)(r11 -8) = 6\ncall g\nexit\n.func g, 6, global\ng:\nr0 = *(u64 *)(r11 +8)\nexit\n"
    );
    accepts(&run_with(&src, |o| o.allow_global_stack_args = true));
}

#[test]
fn non_jit_refusals() {
    let src = format!("{P5}*(u64 *)(r11 -8) = 6\ncall sub6\nexit\n{SUB6}");
    accepts(&run(&src));
    let out = run_with(&src, |o| o.jit = false);
    rejects(&out, Errno::EINVAL, "stack args are not supported in non-JITed programs");
    let src = format!("{P5}*(u64 *)(r11 -8) = 6\n*(u64 *)(r11 -16) = 7\ncall k7\nexit\n");
    accepts(&run(&src));
    let out = run_with(&src, |o| o.jit = false);
    rejects(&out, Errno::EINVAL, "calling kernel functions are not allowed in non-JITed programs");
}

#[test]
fn kfunc_argument_checks() {
    let src = format!("{P5}*(u64 *)(r11 -8) = r10\n*(u64 *)(r11 -16) = 7\ncall k7\nexit\n");
    rejects(&run(&src), Errno::EINVAL, "*(R11-8) is not a scalar");
    let src = format!("{P5}*(u64 *)(r11 -8) = 6\ncall k7\nexit\n");
    rejects(&run(&src), Errno::EFAULT, "callee expects 7 args, stack arg2 is not initialized");
    rejects(
        &run(&format!("{P5}call karena\nexit\n")),
        Errno::EINVAL,
        "*(R11-8) arena pointer cannot be a stack argument",
    );
    let src = format!("{P5}*(u64 *)(r11 -8) = 0\ncall kaux\nexit\n");
    rejects(&run(&src), Errno::EINVAL, "*(R11-8) prog->aux cannot be a stack argument");
    let src = format!("call 7\nr6 = r0\n{P5}*(u64 *)(r11 -8) = r6\ncall kconst\nexit\n");
    rejects(&run(&src), Errno::EINVAL, "*(R11-8) must be a known constant");
    accepts(&run(&format!("{P5}*(u64 *)(r11 -8) = 3\ncall kconst\nexit\n")));
    let src = format!("{P5}*(u64 *)(r11 -8) = 0\ncall kstruct\nexit\n");
    rejects(&run(&src), Errno::EACCES, "Possibly NULL pointer passed to trusted arg5");
}

#[test]
fn kfunc_mem_size_pair_in_slots() {
    let buf = "r6 = 0\n*(u64 *)(r10 -8) = r6\n*(u64 *)(r10 -16) = r6\nr6 = r10\nr6 += -16\n";
    let ok = format!("{buf}{P5}*(u64 *)(r11 -8) = r6\n*(u64 *)(r11 -16) = 16\ncall kmem\nexit\n");
    accepts(&run(&ok));
    let big = format!("{buf}{P5}*(u64 *)(r11 -8) = r6\n*(u64 *)(r11 -16) = 24\ncall kmem\nexit\n");
    let out = run(&big);
    rejects(&out, Errno::EINVAL, "*(R11-8) and *(R11-16) memory, len pair leads to invalid memory access");
    assert!(out.log.contains("invalid read from stack *(R11-8) off=-16 size=24\n"), "{}", out.log);
    let unb = format!(
        "call 7\nr7 = r0\nr7 >>= 1\n{buf}{P5}*(u64 *)(r11 -8) = r6\n*(u64 *)(r11 -16) = r7\ncall kmem\nexit\n"
    );
    let out = run(&unb);
    rejects(&out, Errno::EACCES, "*(R11-8) and *(R11-16) memory, len pair leads to invalid memory access");
    assert!(out.log.contains("*(R11-16) unbounded memory access, use 'var &= const' or 'if (var < const)'"));
}

#[test]
fn pruning_compares_slots() {
    // one path passes a stack pointer, the other a scalar: the second must not be pruned
    // against the first at the call
    let src = format!(
        "call 7\nr6 = 5\n*(u64 *)(r10 -8) = r6\nr7 = r10\nr7 += -8\nif r0 > 10 goto l1\n\
         *(u64 *)(r11 -8) = r7\ngoto l2\nl1:\n*(u64 *)(r11 -8) = 42\nl2:\n{P5}call deref6\nexit\n{DEREF6}"
    );
    rejects(&run(&src), Errno::EACCES, "R1 invalid mem access 'scalar'");
}

#[test]
fn r11_outside_the_stack_arg_forms() {
    // the assembler refuses these, so they are built from raw slots
    let r = RawInsn::new;
    let exit = r(0x95, 0, 0, 0, 0);
    let r0 = r(0xb7, 0, 0, 0, 0);
    let raw = |slots: &[RawInsn]| verify(slots, &VerifyOptions::default());
    rejects(&raw(&[r(0xb7, 11, 0, 0, 1), r0, exit]), Errno::EINVAL, "R11 is invalid");
    rejects(&raw(&[r(0xbf, 0, 11, 0, 0), exit]), Errno::EINVAL, "R11 is invalid");
    rejects(&raw(&[r(0xb7, 12, 0, 0, 0), exit]), Errno::EINVAL, "R12 is invalid");
    rejects(&raw(&[r(0x7b, 10, 11, -8, 0), r0, exit]), Errno::EINVAL, "R11 is invalid");
    rejects(&raw(&[r(0x63, 11, 1, -8, 0), r0, exit]), Errno::EINVAL, "R11 is invalid");
    // reported up front, even in dead code (before the CFG check's "unreachable insn")
    let out = raw(&[r0, exit, r(0x07, 11, 0, 0, 8), exit]);
    rejects(&out, Errno::EINVAL, "R11 is invalid");
    assert!(out.log.is_empty() || !out.log.contains("0: (b7)"), "{}", out.log);
    // without the ABI (Linux 6.18) the walk reports it when it gets there
    let old = VerifyOptions { stack_args: false, log_level: 1, ..Default::default() };
    let out = verify(&[r(0x7a, 11, 0, -8, 1), r0, exit], &old);
    rejects(&out, Errno::EINVAL, "R11 is invalid");
    assert!(out.log.contains("0: (7a) *(u64 *)(r11 -8) = 1\n"), "{}", out.log);
    let out = verify(&[r(0x7a, 11, 0, -8, 1), r0, exit], &VerifyOptions::default());
    rejects(&out, Errno::EINVAL, "func#0 writes 1 stack arg slots, but calls only require 0");
}

#[test]
fn null_checks_reach_slot_copies() {
    // the slot holds a copy of a maybe-NULL pointer; checking r6 refines the slot too
    let src = format!(
        "call kalloc\nr6 = r0\n*(u64 *)(r11 -8) = r0\nif r6 == 0 goto out\n{P5}call deref6\nexit\nout:\nr0 = 0\nexit\n{DEREF6}"
    );
    accepts(&run(&src));
    let src = format!(
        "call kalloc\nr6 = r0\n*(u64 *)(r11 -8) = r0\nif r6 != 0 goto out\n{P5}call deref6\nexit\nout:\nr0 = 0\nexit\n{DEREF6}"
    );
    rejects(&run(&src), Errno::EACCES, "R1 invalid mem access 'scalar'");
    let src = format!("call kalloc\n*(u64 *)(r11 -8) = r0\n{P5}call deref6\nexit\n{DEREF6}");
    rejects(&run(&src), Errno::EACCES, "R1 invalid mem access 'mem_or_null'");
}

#[test]
fn precision_walks_through_slots() {
    // §7.2: the size reaches the kfunc through two slots; precision walks back through the
    // callee's store and incoming load into the caller's store of the constant
    let src = format!(
        "{P5}*(u64 *)(r11 -8) = 4\ncall sub\nexit\n\
         .func sub, 6\nsub:\nr1 = *(u64 *)(r11 +8)\nr6 = 0x0807060504030201 ll\n*(u64 *)(r10 -8) = r6\n\
         if r1 < 1 goto bad\nif r1 > 8 goto bad\nr2 = r10\nr2 += -8\n*(u64 *)(r11 -8) = r2\n\
         *(u64 *)(r11 -16) = r1\n{P5}call kmem\nexit\nbad:\nr0 = 0\nexit\n"
    );
    let out = run_with(&src, |o| o.log_level = 2);
    accepts(&out);
    let marks: Vec<&str> = out.log.lines().filter(|l| l.starts_with("mark_precise:")).collect();
    let seen = |t: &str| marks.iter().any(|l| l.contains(t));
    assert!(seen("(7b) *(u64 *)(r11 -16) = r1"), "{}", out.log);
    assert!(seen("(79) r1 = *(u64 *)(r11 +8)"), "{}", out.log);
    assert!(seen("frame0: regs= stack= before 5: (7a) *(u64 *)(r11 -8) = 4"), "{}", out.log);
    assert!(!out.log.contains("falling back to forcing all scalars precise"), "{}", out.log);
}

#[test]
fn pruning_respects_no_stack_arg_load() {
    // the call-free path reaches `l` first and leaves a checkpoint (the padding makes the walk
    // take one); the path through the helper call must not be pruned against it (old flag
    // clear, current flag set)
    let pad = "r6 = 0\n".repeat(10);
    let src = format!(
        "call 7\n{P5}r1 = r0\n*(u64 *)(r11 -8) = 6\ncall s6\nexit\n\
         .func s6, 6\ns6:\nif r1 > 5 goto a\n{pad}goto l\na:\ncall 7\nl:\nr0 = *(u64 *)(r11 +8)\nexit\n"
    );
    rejects(&run(&src), Errno::EINVAL, "r11 load must be before any r11 store or call insn");
}

#[test]
fn kfunc_mem_size_pair_straddles_the_boundary() {
    // spec §7 #35 as written: mem = R5, mem__sz = arg6 (*(R11-8))
    let buf = "r6 = 0\n*(u64 *)(r10 -8) = r6\n*(u64 *)(r10 -16) = r6\n";
    let ok = format!(
        "{buf}r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = r10\nr5 += -16\n*(u64 *)(r11 -8) = 16\ncall kstraddle\nexit\n"
    );
    accepts(&run(&ok));
    let unb = format!(
        "call 7\nr7 = r0\nr7 >>= 1\n{buf}r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = r10\nr5 += -16\n\
         *(u64 *)(r11 -8) = r7\ncall kstraddle\nexit\n"
    );
    let out = run(&unb);
    rejects(&out, Errno::EACCES, "R5 and *(R11-8) memory, len pair leads to invalid memory access");
    assert!(
        out.log.contains("*(R11-8) unbounded memory access, use 'var &= const' or 'if (var < const)'\n"),
        "{}",
        out.log
    );
}
