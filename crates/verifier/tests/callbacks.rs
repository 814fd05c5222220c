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
    let src = format!("    r1 = 4\n    r2 = func(cb) ll\n    r3 = r1\n    r4 = 0\n{CALL_CB_RETURNS_0}");
    // a non-zero scalar is neither
    rejects(&run(&src), Errno::EACCES, "R3 type=scalar expected=fp");
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

/// `bpf_loop(3, cb, NULL, FLAGS)` after a store at `store` (its depth, 8 or 13 bytes).
fn loop_prog(store: i16, flags: i32) -> String {
    format!(
        "    *(u8 *)(r10 {store}) = 0\n    r1 = 3\n    r2 = func(cb) ll\n    r3 = 0\n    r4 = {flags}\n\
         {CALL_CB_RETURNS_0}"
    )
}

/// The `bpf_loop` call, main's `return 0` and a callback that stops nothing.
const CALL_CB_RETURNS_0: &str =
    "    call bpf_loop\n    r0 = 0\n    exit\n.func cb, 2\ncb:\n    r0 = 0\n    exit\n";

/// `optimize_bpf_loop` (zero flags and one callback) spills r6-r8 below the 8-aligned frame of
/// the caller, and the log's stack depths, printed after the rewrites, count them. Depths as
/// the running 6.18 kernel printed them for these programs (`stack depth 32+0`, `40+0`, `8+0`).
#[test]
fn an_inlined_loop_deepens_the_callers_frame() {
    for (store, flags, depth) in [(-8, 0, "32+0"), (-13, 0, "40+0"), (-8, 1, "8+0")] {
        let m = assemble_module(&loop_prog(store, flags), &NoKfuncs).expect("assembles");
        let opts = VerifyOptions {
            prog_type: ProgType::SocketFilter,
            funcs: m.funcs,
            log_level: 4,
            privileged: true,
            ..Default::default()
        };
        let out = verify(&m.program.to_slots(), &opts);
        accepts(&out);
        assert!(out.log.contains(&format!("stack depth {depth}\n")), "{}", out.log);
    }
}

/// The inlined loop (`inline_bpf_loop`): the count checked against `BPF_MAX_LOOPS`, r6-r8 kept
/// in the added slots while they hold the bound, the counter and the context, the callback
/// called directly; a loop with flags the verifier did not know to be zero stays a call.
#[test]
fn an_inlined_loop_calls_the_callback_directly() {
    use kbpf_verifier::fixups::{CtxTarget, KernelLayout, xlate};
    let text = |flags| {
        let m = assemble_module(&loop_prog(-8, flags), &NoKfuncs).expect("assembles");
        let opts = VerifyOptions {
            prog_type: ProgType::SocketFilter,
            funcs: m.funcs,
            privileged: true,
            ..Default::default()
        };
        let out = verify(&m.program.to_slots(), &opts);
        accepts(&out);
        let x = xlate(&out.witness.expect("witness"), CtxTarget::Kernel, &KernelLayout::default())
            .expect("translates");
        let slots = x.kernel_slots();
        let mut pc = 0;
        let mut lines = Vec::new();
        for i in &x.insns {
            let t = kbpf_isa::disasm::format_insn(&i.insn, pc, kbpf_isa::disasm::Syntax::Kernel);
            // a local call as the kernel reports it: offset and subprogram index
            lines.push(match i.call {
                Some(c) => format!("call {}", c.name()),
                None if slots[pc].code == 0x85 && slots[pc].src == 1 => {
                    format!("call pc{:+} (subprog {})", slots[pc].off, slots[pc].imm)
                }
                None => t,
            });
            pc += i.insn.slots();
        }
        lines
    };
    assert_eq!(
        text(0),
        [
            "*(u8 *)(r10 -8) = 0",
            "r1 = 3",
            "r2 = func(pc+24)",
            "r3 = 0",
            "r4 = 0",
            "if r1 <= 0x800000 goto pc+2",
            "w0 = -7",
            "goto pc+16",
            "*(u64 *)(r10 -32) = r6",
            "*(u64 *)(r10 -24) = r7",
            "*(u64 *)(r10 -16) = r8",
            "r6 = r1",
            "w7 = 0",
            "r8 = r3",
            "if r7 >= r6 goto pc+5",
            "r1 = r7",
            "r2 = r8",
            "call pc+8 (subprog 1)",
            "r7 += 1",
            "if r0 == 0x0 goto pc-6",
            "r0 = r7",
            "r6 = *(u64 *)(r10 -32)",
            "r7 = *(u64 *)(r10 -24)",
            "r8 = *(u64 *)(r10 -16)",
            "r0 = 0",
            "exit",
            "r0 = 0",
            "exit",
        ]
    );
    assert!(text(1).contains(&"call bpf_loop".to_string()));
}
