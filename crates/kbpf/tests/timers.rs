//! BPF timers end to end: programs that arm timers are verified, run on the interpreter and the
//! host JIT, and their callbacks fire after the main program (virtual clock: expiry order, ties
//! in start order) with (map, key, value); the helpers' return codes are the kernel's.

use kbpf::kfunc::profiles;
use kbpf::verifier::VerifyOptions;
use kbpf::{Engine, RunOptions, SourceKind};

mod support;

fn module(src: &str) -> kbpf::Module {
    support::asm_module(src, &profiles::testmod())
}

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Interp];
    if kbpf::host_backend().is_some() {
        v.push(Engine::Jit);
    }
    v
}

/// Verifies `src`, runs it `runs` times on every engine with fresh maps, and returns each
/// engine's `.bss` words after the last run (they must agree).
fn run(src: &str, runs: usize) -> Vec<u64> {
    let m = module(src);
    let out = kbpf::verify_module(&m, VerifyOptions { log_level: 1, ..Default::default() });
    assert!(out.accepted, "{:?}\n{}", out.error, out.log);
    let registry = profiles::testmod();
    let mut results = Vec::new();
    for engine in engines() {
        let h = support::handle(&m, engine, &registry, 64, RunOptions::default())
            .unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        let maps = h.map_set();
        for _ in 0..runs {
            let r0 = h.run(&mut [0u8; 64]).unwrap_or_else(|e| panic!("{engine:?}: {e}"));
            assert_eq!(r0, 0, "{engine:?}");
        }
        let bss = m.maps.iter().position(|s| s.name == ".bss").expect(".bss");
        let v = maps.get(bss).unwrap().lookup(&0u32.to_le_bytes()).unwrap();
        let words: Vec<u64> = v.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
        results.push((engine, words));
    }
    let (_, first) = results[0].clone();
    for (engine, w) in &results {
        assert_eq!(w, &first, "{engine:?} disagrees with the interpreter");
    }
    first
}

/// Element 0 of `timer_map` (value: timer, then a u64 counter) in r6.
const LOOKUP0: &str = "
    *(u32 *)(r10 -4) = 0
    r2 = r10
    r2 += -4
    r1 = timer_map ll
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r6 = r0
";

const MAPS: &str = "
.map timer_map, array, 4, 24, 2, timer=0
.map .bss, array, 4, 128, 1
";

/// Stores r0 into `.bss` word `i`.
fn save(i: u32) -> String {
    format!("r1 = .bss + {} ll\n*(u64 *)(r1 +0) = r0\n", 8 * i)
}

#[test]
fn helper_return_codes() {
    let init = |flags: i64| format!("r1 = r6\nr2 = timer_map ll\nr3 = {flags}\ncall bpf_timer_init\n");
    let src = format!(
        "{MAPS}{LOOKUP0}
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    {s0}
    r1 = r6
    call bpf_timer_cancel
    {s1}
    {bad_clock}{s2}
    {bad_clock2}{s3}
    {init}{s4}
    {init}{s5}
    r1 = r6
    r2 = 0
    r3 = 0
    call bpf_timer_start
    {s6}
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    {s7}
    r1 = r6
    r2 = 100
    r3 = 4
    call bpf_timer_start
    {s8}
    r1 = r6
    call bpf_timer_cancel
    {s9}
    r1 = r6
    r2 = 100
    r3 = 3
    call bpf_timer_start
    {s10}
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    {s11}
    r1 = r6
    r2 = 100
    r3 = 3
    call bpf_timer_start
    {s12}
    r1 = r6
    call bpf_timer_cancel
    {s13}
out:
    r0 = 0
    exit

.func cb, 3
cb:
    r0 = 0
    exit
",
        s0 = save(0),
        s1 = save(1),
        bad_clock = init(2),
        s2 = save(2),
        bad_clock2 = init(16 | 1),
        s3 = save(3),
        init = init(1),
        s4 = save(4),
        s5 = save(5),
        s6 = save(6),
        s7 = save(7),
        s8 = save(8),
        s9 = save(9),
        s10 = save(10),
        s11 = save(11),
        s12 = save(12),
        s13 = save(13),
    );
    let e = |v: i64| v as u64;
    let w = run(&src, 1);
    // Linux 6.18 returned the same (the program run with BPF_PROG_TEST_RUN, `.bss` read back)
    assert_eq!(
        w[..14],
        [
            e(-22), // set_callback before init
            e(-22), // cancel before init
            e(-22), // init with CLOCK_PROCESS_CPUTIME_ID
            e(-22), // init with flags >= MAX_CLOCKS
            0,      // init
            e(-16), // init again: EBUSY
            e(-22), // start without a callback
            0,      // set_callback
            e(-22), // start with an unknown flag
            0,      // cancel of a timer that is not armed (it drops the callback)
            e(-22), // start: no callback any more
            0,      // set_callback
            0,      // start (BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN)
            1,      // cancel of an armed timer
        ]
    );
}

/// The callback counts its firings in the value (word 2) and records the order of keys and
/// virtual times in `.bss`.
const RECORDING_CB: &str = "
.func cb, 3
cb:
    r6 = r3
    r4 = .bss + 0 ll
    r5 = *(u64 *)(r4 +0)
    r1 = r5
    r1 += 1
    *(u64 *)(r4 +0) = r1
    if r5 > 6 goto done
    r5 <<= 3
    r4 += r5
    r1 = *(u32 *)(r2 +0)
    r0 = *(u64 *)(r6 +16)
    r0 += 1
    *(u64 *)(r6 +16) = r0
    r0 <<= 8
    r1 |= r0
    *(u64 *)(r4 +8) = r1
done:
    r0 = 0
    exit
";

/// Arms element `key`'s timer to fire after `ns`.
fn arm(key: u32, ns: u32, start_flags: u32) -> String {
    format!(
        "
    *(u32 *)(r10 -4) = {key}
    r2 = r10
    r2 += -4
    r1 = timer_map ll
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r6 = r0
    r1 = r6
    r2 = timer_map ll
    r3 = 1
    call bpf_timer_init
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    r1 = r6
    r2 = {ns}
    r3 = {start_flags}
    call bpf_timer_start
"
    )
}

#[test]
fn timers_fire_in_expiry_order_then_start_order() {
    let src = format!("{MAPS}{}{}out:\n    r0 = 0\n    exit\n{RECORDING_CB}", arm(1, 500, 0), arm(0, 100, 0));
    let w = run(&src, 1);
    // two firings: key 0 (expires at 100) before key 1 (500), each its element's first
    assert_eq!(w[..3], [2, 1 << 8, (1 << 8) | 1]);
    let src = format!("{MAPS}{}{}out:\n    r0 = 0\n    exit\n{RECORDING_CB}", arm(1, 0, 0), arm(0, 0, 0));
    assert_eq!(run(&src, 1)[..3], [2, (1 << 8) | 1, 1 << 8], "same expiry: start order");
}

#[test]
fn timers_started_by_earlier_runs_fire_once_each() {
    // every run re-initializes (EBUSY after the first) and re-arms the timer of element 0
    let src = format!("{MAPS}{}out:\n    r0 = 0\n    exit\n{RECORDING_CB}", arm(0, 10, 0));
    let w = run(&src, 3);
    assert_eq!(w[..4], [3, 1 << 8, 2 << 8, 3 << 8]);
}

#[test]
fn a_callback_may_rearm_its_timer() {
    // the callback restarts its own timer until it fired 5 times; cancelling itself is EDEADLK
    let src = format!(
        "{MAPS}{}out:\n    r0 = 0\n    exit\n
.func cb, 3
cb:
    r6 = r3
    r0 = *(u64 *)(r6 +16)
    r0 += 1
    *(u64 *)(r6 +16) = r0
    r1 = .bss + 0 ll
    *(u64 *)(r1 +0) = r0
    if r0 > 4 goto done
    r1 = r6
    call bpf_timer_cancel
    r1 = .bss + 8 ll
    *(u64 *)(r1 +0) = r0
    r1 = r6
    r2 = 1000
    r3 = 0
    call bpf_timer_start
done:
    r0 = 0
    exit
",
        arm(0, 0, 0)
    );
    let w = run(&src, 1);
    assert_eq!(w[..2], [5, -35i64 as u64]);
}

#[test]
fn hash_map_keys_reach_the_callback_and_delete_cancels() {
    let src = "
.map timers, hash, 8, 24, 4, timer=0
.map .bss, array, 4, 64, 1
    *(u64 *)(r10 -8) = 0x1234
    *(u64 *)(r10 -16) = 0
    *(u64 *)(r10 -24) = 0
    *(u64 *)(r10 -32) = 0
    r1 = timers ll
    r2 = r10
    r2 += -8
    r3 = r10
    r3 += -32
    r4 = 0
    call bpf_map_update_elem
    *(u64 *)(r10 -8) = 0x5678
    r1 = timers ll
    r2 = r10
    r2 += -8
    r3 = r10
    r3 += -32
    r4 = 0
    call bpf_map_update_elem
    r1 = 0x1234
    call arm
    r1 = 0x5678
    call arm
    *(u64 *)(r10 -8) = 0x5678
    r1 = timers ll
    r2 = r10
    r2 += -8
    call bpf_map_delete_elem
    r0 = 0
    exit

.func arm, 1
arm:
    *(u64 *)(r10 -8) = r1
    r2 = r10
    r2 += -8
    r1 = timers ll
    call bpf_map_lookup_elem
    if r0 == 0 goto skip
    r6 = r0
    r1 = r6
    r2 = timers ll
    r3 = 1
    call bpf_timer_init
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    r1 = r6
    r2 = 0
    r3 = 0
    call bpf_timer_start
skip:
    r0 = 0
    exit

.func cb, 3
cb:
    r0 = *(u64 *)(r2 +0)
    r1 = .bss + 0 ll
    r3 = *(u64 *)(r1 +8)
    r3 += 1
    *(u64 *)(r1 +8) = r3
    *(u64 *)(r1 +0) = r0
    r0 = 0
    exit
";
    let w = run(src, 1);
    assert_eq!(w[..2], [0x1234, 1], "only the element that still exists fires, with its key");
}

#[test]
fn user_space_sees_the_timer_field_as_zeros() {
    let src = format!("{MAPS}{}out:\n    r0 = 0\n    exit\n{RECORDING_CB}", arm(0, 10, 0));
    let m = module(&src);
    let registry = profiles::testmod();
    let (_, h) =
        support::run_once(&m, Engine::Interp, &registry, &mut [0u8; 8], RunOptions::default()).unwrap();
    let maps = h.map_set();
    let v = maps.get(0).unwrap().lookup(&0u32.to_le_bytes()).unwrap();
    assert_eq!(v, [[0u8; 16].as_slice(), &1u64.to_le_bytes()].concat());
}

#[test]
fn clang_object_with_a_timer_callback() {
    // tests/data/timer.c: `struct elem { __u64 count; struct bpf_timer t; }` (BTF gives the
    // timer offset 8), a static callback calling a static function
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/timer.o");
    let m = kbpf::read_module(&path, SourceKind::Elf, &profiles::testmod(), None).unwrap();
    assert_eq!(m.maps[0].timer_off, Some(8));
    let out = kbpf::verify_module(&m, VerifyOptions { log_level: 1, ..Default::default() });
    assert!(out.accepted, "{:?}\n{}", out.error, out.log);
    for engine in engines() {
        let (r0, h) =
            support::run_once(&m, engine, &profiles::testmod(), &mut [0u8; 64], RunOptions::default())
                .unwrap();
        let maps = h.map_set();
        assert_eq!(r0, 0);
        let bss = maps.get(1).unwrap().lookup(&0u32.to_le_bytes()).unwrap();
        assert_eq!(bss, 150u64.to_le_bytes(), "{engine:?}: timer_result");
        let v = maps.get(0).unwrap().lookup(&0u32.to_le_bytes()).unwrap();
        assert_eq!(v, [1u64.to_le_bytes().as_slice(), &[0; 16]].concat(), "{engine:?}: count, hidden timer");
    }
}

#[test]
fn a_callback_runs_in_frame_0_with_the_full_call_depth() {
    // callback + f1..f7 = MAX_CALL_FRAMES (8) frames, as the kernel allows for an async callback
    let src = format!(
        "{MAPS}{}out:\n    r0 = 0\n    exit\n
.func cb, 3
cb:
    r1 = 100
    call f1
    r1 = .bss + 0 ll
    *(u64 *)(r1 +0) = r0
    r0 = 0
    exit
.func f1, 1
f1:
    r1 += 1
    call f2
    exit
.func f2, 1
f2:
    r1 += 2
    call f3
    exit
.func f3, 1
f3:
    r1 += 3
    call f4
    exit
.func f4, 1
f4:
    r1 += 4
    call f5
    exit
.func f5, 1
f5:
    r1 += 5
    call f6
    exit
.func f6, 1
f6:
    r1 += 6
    call f7
    exit
.func f7, 1
f7:
    r0 = r1
    r0 += 7
    exit
",
        arm(0, 0, 0)
    );
    assert_eq!(run(&src, 1)[0], 100 + 28);
}
