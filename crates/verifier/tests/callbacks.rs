//! Synchronous callbacks (`bpf_loop`): the callback verified as a frame above the caller's, its
//! iterations unrolled until they converge at the call or reach the known loop count, r0 in
//! [0, 1] at its exit. Messages are Linux 6.18's (`prepare_func_exit`, `check_func_arg`).

mod common;
use common::*;
use kbpf_isa::asm::{KfuncResolver, assemble_module};
use kbpf_verifier::{Errno, ProgType, VerifyOptions, VerifyOutcome, verify};

struct NoKfuncs;

impl KfuncResolver for NoKfuncs {
    fn kfunc_id(&self, _: &str) -> Option<i32> {
        None
    }
}

fn run(src: &str) -> VerifyOutcome {
    let m = assemble_module(src, &NoKfuncs).expect("assembles");
    let opts =
        VerifyOptions { prog_type: ProgType::SchedCls, funcs: m.funcs, log_level: 2, ..Default::default() };
    verify(&m.program.to_slots(), &opts)
}

/// `bpf_loop(nr, cb, &ctx at fp-8, 0)` with the callback's body.
fn with_cb(nr: &str, body: &str) -> String {
    format!(
        "    *(u64 *)(r10 -8) = 0
    r1 = {nr}
    r2 = func(cb) ll
    r3 = r10
    r3 += -8
    r4 = 0
    call bpf_loop
    r0 = 0
    exit
.func cb, 2
cb:
{body}"
    )
}

#[test]
fn loop_callback_is_verified() {
    let out = run(&with_cb("4", "    r0 = 0\n    exit\n"));
    accepts(&out);
    // the callback's frame: r1 the index, r2 the caller's r3
    assert!(out.log.contains("R1=scalar() R2=fp[0]-8 R10=fp0 cb\n"), "{}", out.log);
}

#[test]
fn loop_callback_return_range() {
    let out = run(&with_cb("4", "    r0 = 2\n    exit\n"));
    rejects(
        &out,
        Errno::EINVAL,
        "At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]",
    );
}

#[test]
fn loop_callback_body_is_checked() {
    // the context is the caller's stack: reading past it is refused inside the callback
    let out = run(&with_cb("4", "    r0 = *(u64 *)(r2 +8)\n    r0 = 0\n    exit\n"));
    let e = out.error.expect("refused");
    assert_eq!(e.errno(), Errno::EACCES, "{}", out.log);
}

#[test]
fn loop_context_must_be_stack_or_null() {
    let src = "    r1 = 4
    r2 = func(cb) ll
    r3 = r1
    r4 = 0
    call bpf_loop
    r0 = 0
    exit
.func cb, 2
cb:
    r0 = 0
    exit
";
    // a non-zero scalar is neither
    rejects(&run(src), Errno::EACCES, "R3 type=scalar expected=fp");
}

fn run_with_map(src: &str) -> VerifyOutcome {
    let m = assemble_module(src, &NoKfuncs).expect("assembles");
    let map = kbpf_verifier::MapDef {
        fd: 0,
        name: "arr".into(),
        kind: kbpf_verifier::MapKind::Array,
        key_size: 4,
        value_size: 16,
        max_entries: 4,
        ..Default::default()
    };
    let opts = VerifyOptions {
        prog_type: ProgType::SchedCls,
        funcs: m.funcs,
        maps: vec![map],
        log_level: 2,
        ..Default::default()
    };
    verify(&m.program.to_slots(), &opts)
}

/// `bpf_for_each_map_elem(&arr, cb, NULL, 0)`.
fn for_each(body: &str) -> String {
    format!(
        "    r1 = map_fd(0) ll
    r2 = func(cb) ll
    r3 = 0
    r4 = 0
    call bpf_for_each_map_elem
    r0 = 0
    exit
.func cb, 4
cb:
{body}"
    )
}

#[test]
fn map_elem_callback_gets_key_and_value() {
    let out =
        run_with_map(&for_each("    r0 = *(u64 *)(r3 +8)\n    r0 = *(u32 *)(r2 +0)\n    r0 = 0\n    exit\n"));
    accepts(&out);
    // past the 16-byte value: refused inside the callback
    let out = run_with_map(&for_each("    r0 = *(u64 *)(r3 +16)\n    r0 = 0\n    exit\n"));
    rejects(&out, Errno::EACCES, "R3 min value is outside of the allowed memory range");
    assert!(out.log.contains("invalid access to map value, value_size=16 off=16 size=8\n"), "{}", out.log);
}
