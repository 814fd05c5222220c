//! Exceptions: `bpf_throw` from callbacks (refused after the walk, by the call-chain scan),
//! the program's own exception callback (a subprogram of its own, verified after the main
//! program, one integer argument), several callback tags, and a global function's return type.
//! Messages are Linux 6.18's.

mod common;
use common::*;
use kbpf_isa::asm::assemble_module;
use kbpf_verifier::{
    Errno, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, ProgType, VerifyOptions, VerifyOutcome, verify,
};

fn throw() -> KfuncDecl {
    KfuncDecl {
        btf_id: 11,
        name: "bpf_throw".into(),
        args: vec![KfuncArg { name: "cookie".into(), kind: KfuncArgKind::Scalar, nullable: false }],
        ret: KfuncRet::Void,
        ..Default::default()
    }
}

/// Verifies `src` as a tc program; `exc_cb` names the function the main one's
/// `exception_callback:` tag would name.
fn run(src: &str, exc_cb: Option<&str>, tweak: impl FnOnce(&mut VerifyOptions)) -> VerifyOutcome {
    let kfuncs = vec![throw()];
    let m = assemble_module(src, &Names(kfuncs.clone())).expect("assembles");
    let mut opts = VerifyOptions { prog_type: ProgType::SchedCls, log_level: 1, ..Default::default() };
    opts.funcs = m.funcs;
    for f in &mut opts.funcs {
        f.exception_cb = Some(f.name.as_str()) == exc_cb;
    }
    opts.kfuncs = kfuncs.into();
    tweak(&mut opts);
    verify(&m.program.to_slots(), &opts)
}

const MAIN_THROWS: &str = "
    r1 = 0
    call bpf_throw
    r0 = 0
    exit
";

#[test]
fn the_exception_callback_is_a_subprogram_verified_after_main() {
    let src = format!("{MAIN_THROWS}.func cb, 1, global\ncb:\n    r0 = r1\n    exit\n");
    let out = run(&src, Some("cb"), |_| {});
    accepts(&out);
    // main's two instructions, then the callback's two
    assert_eq!(out.stats.processed_insns, 4, "{}", out.log);
    assert!(out.log.contains("Func#1 ('cb') is safe for any args that match its prototype\n"), "{}", out.log);
}

#[test]
fn the_exception_callback_takes_one_integer() {
    for (decl, body) in [("0", "    r0 = 0\n"), ("2", "    r0 = r1\n")] {
        let src = format!("{MAIN_THROWS}.func cb, {decl}, global\ncb:\n{body}    exit\n");
        let out = run(&src, Some("cb"), |_| {});
        rejects(&out, Errno::EINVAL, "exception cb only supports single integer argument");
        assert_eq!(out.stats.processed_insns, 2);
    }
}

#[test]
fn a_callback_may_not_throw() {
    let src = "
    *(u64 *)(r10 -8) = 0
    r1 = 1
    r2 = func(cb) ll
    r3 = 0
    r4 = 0
    call bpf_loop
    r0 = 0
    exit
.func cb, 2
cb:
    r1 = 0
    call bpf_throw
    r0 = 0
    exit
";
    let out = run(src, None, |_| {});
    rejects(&out, Errno::EINVAL, "bpf_throw kfunc (insn 10) cannot be called from callback subprog 1");
    // the walk went through the callback and the rest of main first
    assert_eq!(out.stats.processed_insns, 10, "{}", out.log);
}

#[test]
fn the_exception_callback_may_not_throw_nor_call_what_throws() {
    let src = format!(
        "{MAIN_THROWS}.func cb, 1, global\ncb:\n    call f\n    r1 = 0\n    call bpf_throw\n    r0 = 0\n    exit\n\
         .func f, 0\nf:\n    r1 = 1\n    call bpf_throw\n    r0 = 0\n    exit\n"
    );
    let out = run(&src, Some("cb"), |_| {});
    // the scan follows the call at insn 4 before it reaches the throw at insn 6
    rejects(&out, Errno::EINVAL, "bpf_throw kfunc (insn 10) cannot be called from callback subprog 2");
}

#[test]
fn several_exception_callback_tags_are_refused_before_the_walk() {
    let out = run(MAIN_THROWS, None, |o| o.several_exception_cbs = true);
    rejects(&out, Errno::EEXIST, "multiple exception callback tags for main subprog");
    assert_eq!(out.stats.processed_insns, 0);
}

#[test]
fn a_global_function_returns_a_scalar() {
    let src = "
    call g
    r0 = 0
    exit
.func g, 0, global
g:
    exit
";
    let out = run(src, None, |o| {
        for f in &mut o.funcs {
            f.ret_scalar = f.name != "g";
        }
    });
    rejects(&out, Errno::EINVAL, "Caller passes invalid args into func#1 ('g')");
    assert!(
        out.log.contains("Global function g() doesn't return scalar. Only those are supported.\n"),
        "{}",
        out.log
    );
}

/// The declared exception callback is a subprogram no call reaches, yet it counts in the
/// subprogram indices the translated program's calls carry (`jit_subprogs`), as in
/// `exceptions/exception_ext_mod_cb_runtime`.
#[test]
fn the_exception_callback_counts_among_the_translated_subprograms() {
    use kbpf_verifier::fixups::{CtxTarget, KernelLayout, xlate};
    let src = "
    r1 = 25
    call bpf_throw
    r0 = 0
    exit
.func cb, 1, global
cb:
    r6 = r1
    call g
    r0 += r6
    exit
.func g, 0, global
g:
    r0 = 0
    exit
";
    let out = run(src, Some("cb"), |o| o.privileged = true);
    accepts(&out);
    let x = xlate(&out.witness.expect("witness"), CtxTarget::Kernel, &KernelLayout::default())
        .expect("translates");
    // main lost its dead tail: cb starts at 2, g at 6
    assert_eq!(x.exception_cb, Some(2));
    let call = x.kernel_slots()[3];
    assert_eq!((call.code, call.off, call.imm), (0x85, 2, 2));
}
