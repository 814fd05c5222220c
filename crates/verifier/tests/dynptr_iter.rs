//! Dynptr and iterator stack objects, const-string and timer kfunc arguments. Expected
//! messages, post-states (level 2, PREVAIL style: the state printed after an instruction) and
//! statistics are what Linux 6.18 printed for the same programs (kfunc ids replaced by the
//! running kernel's BTF ids); the stack-argument cases follow the stack-args series' naming.

mod common;
use common::*;
use kbpf_isa::asm::assemble_module;
use kbpf_verifier::{
    Errno, IterRole, KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, MapDef, MapKind, ProgType, VerifyOptions,
    VerifyOutcome, verify,
};

fn a(name: &str, kind: KfuncArgKind) -> KfuncArg {
    KfuncArg { name: name.into(), kind, nullable: false }
}

fn scalars(n: usize) -> Vec<KfuncArg> {
    (0..n).map(|i| a(&format!("a{i}"), KfuncArgKind::Scalar)).collect()
}

fn num() -> KfuncArg {
    a("it", KfuncArgKind::Iter { name: "num".into(), size: 8 })
}

fn seq(name: &str) -> KfuncArg {
    a(name, KfuncArgKind::Iter { name: "testmod_seq".into(), size: 16 })
}

fn slice_args() -> Vec<KfuncArg> {
    vec![
        a("p", KfuncArgKind::Dynptr),
        a("offset", KfuncArgKind::Scalar),
        KfuncArg { name: "buffer__opt".into(), kind: KfuncArgKind::Mem { size: None }, nullable: true },
        a("buffer__szk", KfuncArgKind::MemSize { constant: true }),
    ]
}

fn table() -> Vec<KfuncDecl> {
    let k = |id, name: &str, args, ret| KfuncDecl {
        btf_id: id,
        name: name.into(),
        args,
        ret,
        ..Default::default()
    };
    let with9 = |last: KfuncArg| {
        let mut v = scalars(9);
        v.push(last);
        v
    };
    vec![
        k(1, "bpf_dynptr_size", vec![a("p", KfuncArgKind::Dynptr)], KfuncRet::Scalar),
        KfuncDecl {
            prog_types: Some(vec!["xdp".into()]),
            ..k(
                12,
                "bpf_dynptr_from_xdp",
                vec![
                    a("x", KfuncArgKind::Ctx),
                    a("flags", KfuncArgKind::Scalar),
                    a("ptr__uninit", KfuncArgKind::Dynptr),
                ],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl { ret_null: true, ..k(13, "bpf_dynptr_slice", slice_args(), KfuncRet::Mem(0)) },
        KfuncDecl { ret_null: true, ..k(14, "bpf_dynptr_slice_rdwr", slice_args(), KfuncRet::Mem(0)) },
        KfuncDecl {
            prog_types: Some(vec!["socket_filter".into(), "sched_cls".into()]),
            ..k(
                2,
                "bpf_dynptr_from_skb",
                vec![
                    a("s", KfuncArgKind::Ctx),
                    a("flags", KfuncArgKind::Scalar),
                    a("ptr__uninit", KfuncArgKind::Dynptr),
                ],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl {
            iter: Some(IterRole::New),
            ..k(
                3,
                "bpf_iter_num_new",
                vec![num(), a("s", KfuncArgKind::Scalar), a("e", KfuncArgKind::Scalar)],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl {
            iter: Some(IterRole::Next),
            ret_null: true,
            ..k(4, "bpf_iter_num_next", vec![num()], KfuncRet::Mem(4))
        },
        KfuncDecl {
            iter: Some(IterRole::Destroy),
            ..k(5, "bpf_iter_num_destroy", vec![num()], KfuncRet::Void)
        },
        k(6, "stack_dynptr", with9(a("ptr", KfuncArgKind::Dynptr)), KfuncRet::Scalar),
        KfuncDecl {
            iter: Some(IterRole::New),
            ..k(
                7,
                "seq_new",
                vec![seq("it"), a("v", KfuncArgKind::Scalar), a("c", KfuncArgKind::Scalar)],
                KfuncRet::Scalar,
            )
        },
        KfuncDecl { iter: Some(IterRole::Destroy), ..k(8, "seq_destroy", vec![seq("it")], KfuncRet::Void) },
        k(9, "stack_iter", with9(seq("it__iter")), KfuncRet::Scalar),
        k(10, "stack_str", with9(a("str__str", KfuncArgKind::ConstStr)), KfuncRet::Scalar),
        k(11, "stack_timer", with9(a("timer", KfuncArgKind::Timer)), KfuncRet::Scalar),
    ]
}

fn run_with(src: &str, f: impl FnOnce(&mut VerifyOptions)) -> VerifyOutcome {
    let mut opts = VerifyOptions { log_level: 2, ..Default::default() };
    f(&mut opts);
    verify_src(src, table(), opts)
}

fn run(src: &str) -> VerifyOutcome {
    run_with(src, |_| {})
}

/// The state printed after instruction `idx` (text after `;`).
fn post(out: &VerifyOutcome, idx: usize) -> String {
    let prefix = format!("{idx}: (");
    out.log
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains(';'))
        .and_then(|l| l.split_once(';'))
        .map(|(_, s)| s.trim().to_string())
        .unwrap_or_default()
}

fn stats(out: &VerifyOutcome) -> (u64, u64, u64, u64) {
    (out.stats.processed_insns, out.stats.max_states_per_insn, out.stats.total_states, out.stats.peak_states)
}

const SKB_DYNPTR_16: &str = "
    r2 = 0
    r3 = r10
    r3 += -16
    call bpf_dynptr_from_skb
";

#[test]
fn skb_dynptr_slots_and_size() {
    let out = run(&format!("{SKB_DYNPTR_16}r1 = r10\nr1 += -16\ncall bpf_dynptr_size\nexit\n"));
    accepts(&out);
    assert_eq!(post(&out, 3), "R0=scalar() fp-16=dynptr_skb(id=1,dynptr_id=1)");
    assert_eq!(post(&out, 6), "R0=scalar() fp-16=dynptr_skb(id=1,dynptr_id=1)");
}

#[test]
fn dynptr_constructor_is_program_type_gated() {
    let out = run_with(&format!("{SKB_DYNPTR_16}r0 = 0\nexit\n"), |o| o.prog_type = ProgType::Xdp);
    rejects(&out, Errno::EACCES, "calling kernel function bpf_dynptr_from_skb is not allowed");
}

#[test]
fn dynptr_uninit_and_init_rules() {
    let misaligned = run("r2 = 0\nr3 = r10\nr3 += -12\ncall bpf_dynptr_from_skb\nr0 = 0\nexit\n");
    rejects(&misaligned, Errno::EINVAL, "Dynptr has to be an uninitialized dynptr");
    assert!(misaligned.log.contains("cannot pass in dynptr at an offset=-12\n"));
    let uninit = run("r1 = r10\nr1 += -16\ncall bpf_dynptr_size\nexit\n");
    rejects(&uninit, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
    let second_slot = run(&format!("{SKB_DYNPTR_16}r1 = r10\nr1 += -8\ncall bpf_dynptr_size\nexit\n"));
    rejects(&second_slot, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
    let scalar = run("r1 = 0\ncall bpf_dynptr_size\nexit\n");
    rejects(&scalar, Errno::EINVAL, "arg#0 expected pointer to stack or const struct bpf_dynptr");
}

#[test]
fn partial_overwrite_destroys_the_dynptr() {
    let src =
        format!("{SKB_DYNPTR_16}*(u32 *)(r10 -12) = 0\nr1 = r10\nr1 += -16\ncall bpf_dynptr_size\nexit\n");
    let out = run(&src);
    assert_eq!(post(&out, 4), "R10=fp0 fp-16=0000????");
    rejects(&out, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
}

#[test]
fn overlapping_constructor_destroys_both_neighbours() {
    // [d1][d1][d2][d2], then a dynptr at the middle: both old ones die
    let out = run("
        r6 = r1
        r2 = 0
        r3 = r10
        r3 += -16
        call bpf_dynptr_from_skb
        r1 = r6
        r2 = 0
        r3 = r10
        r3 += -32
        call bpf_dynptr_from_skb
        r1 = r6
        r2 = 0
        r3 = r10
        r3 += -24
        call bpf_dynptr_from_skb
        r1 = r10
        r1 += -32
        call bpf_dynptr_size
        exit
    ");
    rejects(&out, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
}

#[test]
fn dynptr_bytes_are_not_data() {
    let read = run(&format!("{SKB_DYNPTR_16}r1 = *(u32 *)(r10 -8)\nexit\n"));
    rejects(&read, Errno::EACCES, "invalid read from stack off -8+0 size 4");
    // bpf_dynptr_read into the dynptr's own bytes
    let write = run(&format!(
        "{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 8\nr3 = r10\nr3 += -16\nr4 = 0\nr5 = 0\ncall 201\nexit\n"
    ));
    rejects(&write, Errno::EACCES, "potential write to dynptr at off=-16 disallowed");
}

#[test]
fn dynptr_from_mem_needs_a_map_value() {
    let src = "
        r1 = r10
        r1 += -64
        r2 = 16
        r3 = 0
        r4 = r10
        r4 += -16
        call 197
        exit
    ";
    rejects(&run(src), Errno::EACCES, "Unsupported reg type fp for bpf_dynptr_from_mem data");
    let map = MapDef {
        fd: 3,
        name: "m".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 54,
        max_entries: 1,
        ..Default::default()
    };
    let src = "
        r1 = map_value(3, 0) ll
        r2 = 54
        r3 = 0
        r4 = r10
        r4 += -16
        call 197
        r1 = r10
        r1 += -16
        call bpf_dynptr_size
        exit
    ";
    let out = run_with(src, |o| o.maps = vec![map]);
    accepts(&out);
    assert!(out.log.contains("fp-16=dynptr_local(id=1,dynptr_id=1)"), "{}", out.log);
}

#[test]
fn dynptr_in_a_stack_argument_slot() {
    let call = "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\n*(u64 *)(r11 -8) = 6\n*(u64 *)(r11 -16) = 7\n\
                *(u64 *)(r11 -24) = 8\n*(u64 *)(r11 -32) = 9\n*(u64 *)(r11 -40) = r6\ncall stack_dynptr\nexit\n";
    accepts(&run(&format!("{SKB_DYNPTR_16}r6 = r10\nr6 += -16\n{call}")));
    let out = run(&format!("r6 = r10\nr6 += -16\n{call}"));
    rejects(&out, Errno::EINVAL, "Expected an initialized dynptr as arg #9");
    let out = run(&format!("r6 = 0\n{call}"));
    rejects(&out, Errno::EINVAL, "arg#9 expected pointer to stack or const struct bpf_dynptr");
}

#[test]
fn dynptr_pointer_through_bpf2bpf_slot() {
    // the callee reads arg10 from its incoming slot and sizes the caller's dynptr
    let src = format!(
        "{SKB_DYNPTR_16}r6 = r10\nr6 += -16\nr1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\n*(u64 *)(r11 -8) = 6\n\
         *(u64 *)(r11 -16) = 7\n*(u64 *)(r11 -24) = 8\n*(u64 *)(r11 -32) = 9\n*(u64 *)(r11 -40) = r6\n\
         call f10\nexit\n.func f10, 10\nf10:\nr1 = *(u64 *)(r11 +40)\ncall bpf_dynptr_size\nexit\n"
    );
    accepts(&run(&src));
}

const NUM_LOOP: &str = "
    r6 = 0
    r1 = r10
    r1 += -8
    r2 = 0
    r3 = 5
    call bpf_iter_num_new
loop:
    r1 = r10
    r1 += -8
    call bpf_iter_num_next
    if r0 == 0 goto done
    r1 = *(u32 *)(r0 +0)
    r6 += r1
    goto loop
done:
    r1 = r10
    r1 += -8
    call bpf_iter_num_destroy
    r0 = r6
    exit
";

#[test]
fn iter_num_loop_converges_like_the_kernel() {
    let out = run(NUM_LOOP);
    accepts(&out);
    assert_eq!(post(&out, 5), "R0=scalar() fp-8=iter_num(ref_id=1,state=active,depth=0) refs=1");
    assert!(out.log.contains("fp-8=iter_num(ref_id=1,state=drained,depth=0) refs=1"));
    assert!(out.log.contains(
        "from 8 to 9: R0=rdonly_mem(id=2,ref_obj_id=1,sz=4) R6=0 R10=fp0 \
         fp-8=iter_num(ref_id=1,state=active,depth=1) refs=1"
    ));
    assert_eq!(stats(&out), (48, 2, 4, 5));
}

#[test]
fn nested_iter_loops_converge_like_the_kernel() {
    let out = run("
        r6 = 0
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 3
        call bpf_iter_num_new
    outer:
        r1 = r10
        r1 += -8
        call bpf_iter_num_next
        if r0 == 0 goto done
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = 4
        call bpf_iter_num_new
    inner:
        r1 = r10
        r1 += -16
        call bpf_iter_num_next
        if r0 == 0 goto idone
        r6 += 1
        goto inner
    idone:
        r1 = r10
        r1 += -16
        call bpf_iter_num_destroy
        goto outer
    done:
        r1 = r10
        r1 += -8
        call bpf_iter_num_destroy
        r0 = r6
        exit
    ");
    accepts(&out);
    assert_eq!(stats(&out), (96, 2, 8, 12));
}

#[test]
fn precise_counter_in_iter_loop() {
    // r6 becomes precise (stack offset), so the loop unrolls until the bound cuts it
    let out = run("
        r6 = 0
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 3
        call bpf_iter_num_new
    loop:
        r1 = r10
        r1 += -8
        call bpf_iter_num_next
        if r0 == 0 goto done
        r6 += 1
        if r6 > 5 goto done
        goto loop
    done:
        r1 = r10
        r1 += -8
        call bpf_iter_num_destroy
        r0 = r10
        r0 += r6
        r0 = *(u8 *)(r0 -32)
        r0 = 0
        exit
    ");
    accepts(&out);
    assert_eq!(stats(&out), (109, 5, 10, 10));
}

#[test]
fn iterator_misuse() {
    let base = "r1 = r10\nr1 += -8\nr2 = 0\nr3 = 5\ncall bpf_iter_num_new\n";
    let leak = run(&format!("{base}r0 = 0\nexit\n"));
    rejects(&leak, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    assert!(leak.log.contains("Unreleased reference id=1 alloc_insn=4\n"));
    let twice = run(&format!("{base}{base}r0 = 0\nexit\n"));
    rejects(&twice, Errno::EINVAL, "expected uninitialized iter_num as arg #0");
    let read = run(&format!("{base}r0 = *(u64 *)(r10 -8)\nexit\n"));
    rejects(&read, Errno::EACCES, "invalid read from stack off -8+0 size 8");
    let clobbered = run(&format!(
        "{base}*(u64 *)(r10 -8) = 0\nr1 = r10\nr1 += -8\ncall bpf_iter_num_destroy\nr0 = 0\nexit\n"
    ));
    rejects(&clobbered, Errno::EINVAL, "expected an initialized iter_num as arg #0");
    let next_uninit = run("r1 = r10\nr1 += -8\ncall bpf_iter_num_next\nr0 = 0\nexit\n");
    rejects(&next_uninit, Errno::EINVAL, "expected an initialized iter_num as arg #0");
    let unaligned = run("r1 = r10\nr1 += -4\nr2 = 0\nr3 = 3\ncall bpf_iter_num_new\nr0 = 0\nexit\n");
    rejects(&unaligned, Errno::EINVAL, "expected uninitialized iter_num as arg #0");
    let no_null_check = run(&format!(
        "{base}r1 = r10\nr1 += -8\ncall bpf_iter_num_next\nr0 = *(u32 *)(r0 +0)\n\
         r1 = r10\nr1 += -8\ncall bpf_iter_num_destroy\nr0 = 0\nexit\n"
    ));
    rejects(&no_null_check, Errno::EACCES, "R0 invalid mem access 'scalar'");
    let write_elem = run(&format!(
        "{base}r1 = r10\nr1 += -8\ncall bpf_iter_num_next\nif r0 == 0 goto l\n*(u32 *)(r0 +0) = 1\nl:\n\
         r1 = r10\nr1 += -8\ncall bpf_iter_num_destroy\nr0 = 0\nexit\n"
    ));
    rejects(&write_elem, Errno::EACCES, "R0 cannot write into rdonly_mem");
}

const STACK9: &str = "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\n*(u64 *)(r11 -8) = 6\n*(u64 *)(r11 -16) = 7\n\
                      *(u64 *)(r11 -24) = 8\n*(u64 *)(r11 -32) = 9\n*(u64 *)(r11 -40) = r6\n";

#[test]
fn iterator_in_a_stack_argument_slot() {
    let new = "r1 = r10\nr1 += -16\nr2 = 100\nr3 = 10\ncall seq_new\n";
    let destroy = "r6 = r0\nr1 = r10\nr1 += -16\ncall seq_destroy\nr0 = r6\nexit\n";
    let out = run(&format!("{new}r6 = r10\nr6 += -16\n{STACK9}call stack_iter\n{destroy}"));
    accepts(&out);
    let out = run(&format!("r6 = r10\nr6 += -16\n{STACK9}call stack_iter\nexit\n"));
    rejects(&out, Errno::EINVAL, "expected an initialized iter_testmod_seq as arg #9");
    // only 8 bytes of the 16-byte iterator lie inside the frame at fp-8
    let out = run(&format!("{new}r6 = r10\nr6 += -8\n{STACK9}call stack_iter\n{destroy}"));
    rejects(&out, Errno::EINVAL, "expected an initialized iter_testmod_seq as arg #9");
    assert!(out.log.contains("cannot pass in iter at an offset=-8\n"));
}

fn rodata(frozen: bool, text: &[u8]) -> MapDef {
    MapDef {
        fd: 4,
        name: "rodata".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        flags: kbpf_verifier::BPF_F_RDONLY_PROG,
        frozen,
        initial: Some(text.to_vec()),
        timer_off: None,
    }
}

#[test]
fn const_string_in_a_stack_argument_slot() {
    let src = format!("r6 = map_value(4, 0) ll\n{STACK9}call stack_str\nexit\n");
    accepts(&run_with(&src, |o| o.maps = vec![rodata(true, b"hello\0\0\0")]));
    let out = run_with(&src, |o| o.maps = vec![rodata(false, b"hello\0\0\0")]);
    rejects(&out, Errno::EACCES, "*(R11-40) does not point to a readonly map'");
    let out = run_with(&src, |o| o.maps = vec![rodata(true, b"hellohel")]);
    rejects(&out, Errno::EINVAL, "string is not zero-terminated");
    let src = format!("r6 = map_value(4, 6) ll\n{STACK9}call stack_str\nexit\n");
    accepts(&run_with(&src, |o| o.maps = vec![rodata(true, b"hellohe\0")]));
    let src = format!("r6 = r10\nr6 += -8\n{STACK9}call stack_str\nexit\n");
    rejects(&run(&src), Errno::EINVAL, "arg#9 doesn't point to a const string");
}

#[test]
fn timer_in_a_stack_argument_slot() {
    let timers = MapDef {
        fd: 5,
        name: "timers".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        timer_off: Some(8),
        ..Default::default()
    };
    let at = |off: i32| format!("r6 = map_value(5, {off}) ll\n{STACK9}call stack_timer\nexit\n");
    accepts(&run_with(&at(8), |o| o.maps = vec![timers.clone()]));
    let out = run_with(&at(0), |o| o.maps = vec![timers.clone()]);
    rejects(&out, Errno::EINVAL, "off 0 doesn't point to 'struct bpf_timer' that is at 8");
    let no_timer = MapDef { timer_off: None, ..timers.clone() };
    let out = run_with(&at(8), |o| o.maps = vec![no_timer]);
    rejects(&out, Errno::EINVAL, "map 'timers' has no valid bpf_timer");
    let out = run(&format!("r6 = r10\nr6 += -8\n{STACK9}call stack_timer\nexit\n"));
    rejects(&out, Errno::EINVAL, "arg#9 doesn't point to a map value");
}

#[test]
fn dynptr_data_slice_dies_with_its_dynptr() {
    let map = MapDef {
        fd: 3,
        name: "m".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        ..Default::default()
    };
    let from_mem = "r1 = map_value(3, 0) ll\nr2 = 16\nr3 = 0\nr4 = r10\nr4 += -16\ncall 197\n";
    let src = format!(
        "{from_mem}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 8\ncall 203\nif r0 == 0 goto out\nr6 = r0\n\
         r7 = *(u64 *)(r6 +0)\n{from_mem}r0 = *(u64 *)(r6 +0)\nout:\nr0 = 0\nexit\n"
    );
    let out = run_with(&src, |o| o.maps = vec![map.clone()]);
    assert!(
        out.log.contains("\n12: R0=mem_or_null(id=2,sz=8) fp-16=dynptr_local(id=1,dynptr_id=1)\n"),
        "{}",
        out.log
    );
    assert!(out.log.contains("\n22: R0=scalar() fp-16=dynptr_local(id=3,dynptr_id=1)\n"), "{}", out.log);
    rejects(&out, Errno::EACCES, "R6 invalid mem access 'scalar'");
    assert_eq!(stats(&out), (21, 0, 2, 2));
    let src = format!("{from_mem}r1 = r10\nr1 += -16\nr2 = 0\nr3 = r0\ncall 203\nr0 = 0\nexit\n");
    let out = run_with(&src, |o| o.maps = vec![map]);
    rejects(&out, Errno::EACCES, "R3 is not a known constant'");
}

#[test]
fn timer_helpers_take_the_value_timer() {
    let timers = MapDef {
        fd: 5,
        name: "timers".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        timer_off: Some(8),
        ..Default::default()
    };
    let other = MapDef { fd: 6, name: "other".into(), ..timers.clone() };
    let init = |ptr: &str, map: i32| format!("r1 = {ptr}\nr2 = map_fd({map}) ll\nr3 = 1\ncall 169\nexit\n");
    let maps = vec![timers, other];
    accepts(&run_with(&init("map_value(5, 8) ll", 5), |o| o.maps = maps.clone()));
    let out = run_with(&init("map_value(5, 16) ll", 5), |o| o.maps = maps.clone());
    rejects(&out, Errno::EINVAL, "off 16 doesn't point to 'struct bpf_timer' that is at 8");
    let out = run_with(&init("map_value(5, 8) ll", 6), |o| o.maps = maps.clone());
    rejects(&out, Errno::EINVAL, "timer pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0");
    let out = run_with(&init("r10", 5), |o| o.maps = maps.clone());
    rejects(&out, Errno::EACCES, "R1 type=fp expected=map_value");
    let start =
        "r1 = map_value(5, 8) ll\nr2 = 1000\nr3 = 0\ncall 171\nr1 = map_value(5, 8) ll\ncall 172\nexit\n";
    accepts(&run_with(start, |o| o.maps = maps.clone()));
    let out = run_with(start, |o| {
        o.maps = maps.clone();
        o.gpl = false;
    });
    rejects(&out, Errno::EINVAL, "cannot call GPL-restricted function from non-GPL compatible program");
}

#[test]
fn dynptr_slices() {
    let slice = |f: &str, size: &str| {
        format!(
            "{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 0\nr4 = {size}\ncall {f}\n\
             if r0 == 0 goto out\nr0 = *(u32 *)(r0 +0)\nexit\nout:\nr0 = 0\nexit\n"
        )
    };
    let out = run(&slice("bpf_dynptr_slice", "4"));
    accepts(&out);
    assert_eq!(post(&out, 9), "R0=rdonly_mem_or_null(id=2,sz=4) fp-16=dynptr_skb(id=1,dynptr_id=1)");
    let out = run(&slice("bpf_dynptr_slice_rdwr", "4"));
    rejects(&out, Errno::EINVAL, "the prog does not allow writes to packet data");
    let out = run(&slice("bpf_dynptr_slice", "*(u32 *)(r10 -24)"));
    rejects(&out, Errno::EINVAL, "R4 must be a known constant");
    // an xdp slice is packet memory: bpf_xdp_adjust_head invalidates it
    let out = run_with(
        "
        r6 = r1
        r2 = 0
        r3 = r10
        r3 += -16
        call bpf_dynptr_from_xdp
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = r10
        r3 += -32
        r4 = 8
        call bpf_dynptr_slice_rdwr
        if r0 == 0 goto out
        r7 = r0
        *(u32 *)(r7 +0) = 1
        r1 = r6
        r2 = 0
        call 44
        r0 = *(u32 *)(r7 +0)
        exit
    out:
        r0 = 0
        exit
    ",
        |o| o.prog_type = ProgType::Xdp,
    );
    rejects(&out, Errno::EACCES, "R7 invalid mem access 'scalar'");
}

#[test]
fn kfunc_memory_pairs_are_also_checked_as_writes() {
    // an iterator's read-only element as the slice buffer (kernel: R3 cannot write into
    // rdonly_mem, then the pair line, which the stack-args series words with argument names)
    let out = run("
        r6 = r1
        r1 = r10
        r1 += -24
        r2 = 0
        r3 = 3
        call bpf_iter_num_new
        r1 = r10
        r1 += -24
        call bpf_iter_num_next
        if r0 == 0 goto out
        r7 = r0
        r1 = r6
        r2 = 0
        r3 = r10
        r3 += -16
        call bpf_dynptr_from_skb
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = r7
        r4 = 4
        call bpf_dynptr_slice
    out:
        r1 = r10
        r1 += -24
        call bpf_iter_num_destroy
        r0 = 0
        exit
    ");
    rejects(&out, Errno::EACCES, "R3 and R4 memory, len pair leads to invalid memory access");
    assert!(out.log.contains("\nR3 cannot write into rdonly_mem\n"));
    assert_eq!(out.log.matches("mark_precise: frame0: regs=r4 stack= before").count(), 1);
}

#[test]
fn ringbuf_dynptrs_hold_a_reference() {
    let rb =
        MapDef { fd: 3, name: "rb".into(), kind: MapKind::RingBuf, max_entries: 4096, ..Default::default() };
    let reserve = "r1 = map_fd(3) ll\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -16\ncall 198\n";
    let with_rb = |src: &str| run_with(src, |o| o.maps = vec![rb.clone()]);
    let out = with_rb(&format!("{reserve}r1 = r10\nr1 += -16\nr2 = 0\ncall 199\nr0 = 0\nexit\n"));
    accepts(&out);
    assert_eq!(post(&out, 6), "R0=scalar() fp-16=dynptr_ringbuf(id=1,ref_id=2,dynptr_id=1) refs=2");
    assert_eq!(post(&out, 10), "");
    let leak = with_rb(&format!("{reserve}r0 = 0\nexit\n"));
    rejects(&leak, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    assert!(leak.log.contains("Unreleased reference id=2 alloc_insn=6\n"));
    let overwrite = with_rb(&format!("{reserve}*(u64 *)(r10 -8) = 0\nr0 = 0\nexit\n"));
    rejects(&overwrite, Errno::EINVAL, "cannot overwrite referenced dynptr");
    let unacquired = run(&format!("{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 0\ncall 199\nr0 = 0\nexit\n"));
    rejects(&unacquired, Errno::EINVAL, "arg 1 is an unacquired reference");
    // a slice of the sample dies with the discarded dynptr
    let slice = with_rb(&format!(
        "{reserve}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 8\ncall 203\nr6 = r0\nr1 = r10\nr1 += -16\nr2 = 0\n\
         call 200\nif r6 == 0 goto o\nr0 = *(u64 *)(r6 +0)\no:\nr0 = 0\nexit\n"
    ));
    assert_eq!(
        post(&slice, 12),
        "R0=mem_or_null(id=3,ref_obj_id=2,sz=8) R6=mem_or_null(id=3,ref_obj_id=2,sz=8) refs=2"
    );
    assert_eq!(post(&slice, 17), "R6=scalar(umin=1)");
    rejects(&slice, Errno::EACCES, "R6 invalid mem access 'scalar'");
    assert_eq!(stats(&slice), (18, 0, 1, 1));
    // a ring buffer's key is zero bytes long: the kernel refuses the lookup there
    let lookup =
        with_rb("r1 = map_fd(3) ll\nr2 = r10\nr2 += -8\n*(u64 *)(r10 -8) = 0\ncall 1\nr0 = 0\nexit\n");
    rejects(&lookup, Errno::EACCES, "invalid zero-sized read");
}

#[test]
fn ringbuf_clone_shares_the_reference() {
    let mut kfuncs = table();
    kfuncs.push(KfuncDecl {
        btf_id: 20,
        name: "bpf_dynptr_clone".into(),
        args: vec![a("p", KfuncArgKind::Dynptr), a("clone__uninit", KfuncArgKind::Dynptr)],
        ret: KfuncRet::Scalar,
        ..Default::default()
    });
    let src = "
        r1 = map_fd(3) ll
        r2 = 8
        r3 = 0
        r4 = r10
        r4 += -16
        call 198
        r1 = r10
        r1 += -16
        r2 = r10
        r2 += -32
        call bpf_dynptr_clone
        r1 = r10
        r1 += -16
        r2 = 0
        call 199
        r1 = r10
        r1 += -32
        call bpf_dynptr_size
        r0 = 0
        exit
    ";
    let m = assemble_module(src, &Names(kfuncs.clone())).expect("assembles");
    let rb =
        MapDef { fd: 3, name: "rb".into(), kind: MapKind::RingBuf, max_entries: 4096, ..Default::default() };
    let opts = VerifyOptions { kfuncs: kfuncs.into(), maps: vec![rb], log_level: 2, ..Default::default() };
    let out = verify(&m.program.to_slots(), &opts);
    assert_eq!(
        post(&out, 11),
        "R0=scalar() fp-16=dynptr_ringbuf(id=1,ref_id=2,dynptr_id=1) \
         fp-32=dynptr_ringbuf(id=3,ref_id=2,dynptr_id=1) refs=2"
    );
    // submitting the parent ends the clone too
    rejects(&out, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
    assert_eq!(stats(&out), (18, 0, 1, 1));
}

#[test]
fn dynptr_write_into_an_skb_dynptr_kills_its_slices() {
    let out = run(&format!(
        "{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 0\nr4 = 4\ncall bpf_dynptr_slice\n\
         if r0 == 0 goto out\nr8 = r0\n*(u64 *)(r10 -24) = 0\nr1 = r10\nr1 += -16\nr2 = 0\nr3 = r10\n\
         r3 += -24\nr4 = 4\nr5 = 0\ncall 202\nr0 = *(u32 *)(r8 +0)\nexit\nout:\nr0 = 0\nexit\n"
    ));
    rejects(&out, Errno::EACCES, "R8 invalid mem access 'scalar'");
    assert_eq!(stats(&out), (22, 0, 2, 2));
}
