//! BPF timers with async callbacks: `ld_imm64` of a subprogram (`PTR_TO_FUNC`),
//! `bpf_timer_set_callback` and the callback verified in its own frame (R1 = map, R2 = key,
//! R3 = value, R0 = 0 at its exit). Messages are Linux 6.18's (`check_ld_imm`,
//! `check_func_arg`, `check_mem_access`, `check_return_code`).

mod common;
use common::*;
use kbpf_isa::asm::{KfuncResolver, assemble_module};
use kbpf_verifier::{Errno, MapDef, MapKind, VerifyOptions, VerifyOutcome, verify};

struct NoKfuncs;

impl KfuncResolver for NoKfuncs {
    fn kfunc_id(&self, _: &str) -> Option<i32> {
        None
    }
}

fn timer_map() -> MapDef {
    MapDef {
        fd: 0,
        name: "timer_map".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        record: MapDef::timer_record(Some(0)),
        ..Default::default()
    }
}

fn run_with(src: &str, f: impl FnOnce(&mut VerifyOptions)) -> VerifyOutcome {
    let m = assemble_module(src, &NoKfuncs).expect("assembles");
    let mut opts =
        VerifyOptions { funcs: m.funcs, maps: vec![timer_map()], log_level: 2, ..Default::default() };
    f(&mut opts);
    verify(&m.program.to_slots(), &opts)
}

fn run(src: &str) -> VerifyOutcome {
    run_with(src, |_| {})
}

/// Looks up element 0, initializes its timer, sets `cb` as callback, starts it.
const MAIN: &str = "
    *(u32 *)(r10 -4) = 0
    r2 = r10
    r2 += -4
    r1 = map_fd(0) ll
    call bpf_map_lookup_elem
    r6 = r0
    r1 = r6
    r2 = map_fd(0) ll
    r3 = 1
    call bpf_timer_init
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    r1 = r6
    r2 = 0
    r3 = 0
    call bpf_timer_start
    r0 = 0
    exit
";

fn with_cb(body: &str) -> String {
    format!("{MAIN}\n.func cb, 3\ncb:\n{body}")
}

#[test]
fn callback_is_verified_with_map_key_and_value() {
    let out = run(&with_cb("r0 = *(u32 *)(r2 +0)\n*(u64 *)(r3 +16) = r0\nr0 = 0\nexit\n"));
    accepts(&out);
    // the callback's entry state, printed when the walk pops it (kernel-checked)
    assert!(
        out.log.contains(
            "\nfrom 15 to 22: R1=map_ptr(map=timer_map,ks=4,vs=24) R2=map_key(map=timer_map,ks=4,vs=24) \
             R3=map_value(map=timer_map,ks=4,vs=24) R10=fp0 async_cb\n"
        ),
        "{}",
        out.log
    );
    // the callback's prototype (three scalars) does not match the caller's registers: logged
    assert!(out.log.contains("call bpf_timer_set_callback#170\nR1 is not a scalar\n"), "{}", out.log);
}

#[test]
fn callback_must_return_zero() {
    let out = run(&with_cb("r0 = 1\nexit\n"));
    rejects(
        &out,
        Errno::EINVAL,
        "At async callback return the register R0 has smin=1 smax=1 should have been in [0, 0]",
    );
    let out = run(&with_cb("r0 = r3\nexit\n"));
    rejects(&out, Errno::EINVAL, "At async callback return the register R0 is not a known value (map_value)");
    let out = run(&with_cb("r0 = *(u64 *)(r3 +16)\nexit\n"));
    rejects(
        &out,
        Errno::EINVAL,
        "At async callback return the register R0 has unknown scalar value should have been in [0, 0]",
    );
    let out = run(&with_cb("exit\n"));
    rejects(&out, Errno::EACCES, "R0 !read_ok");
    let out = run(&with_cb("r0 = *(u8 *)(r3 +16)\nexit\n"));
    rejects(
        &out,
        Errno::EINVAL,
        "At async callback return the register R0 has smin=0 smax=255 should have been in [0, 0]",
    );
}

#[test]
fn timer_field_is_not_accessible() {
    let out = run(&with_cb("r0 = *(u64 *)(r3 +8)\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "bpf_timer cannot be accessed directly by load/store");
    // a helper reading the whole value touches the timer too
    let out = run(&with_cb("r4 = 0\nr1 = map_fd(0) ll\ncall bpf_map_update_elem\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "bpf_timer cannot be accessed directly by load/store");
    let probe = |off: i32| {
        format!("r1 = r3\nr1 += {off}\nr2 = 8\nr3 = 0\ncall bpf_probe_read_kernel\nr0 = 0\nexit\n")
    };
    rejects(&run(&with_cb(&probe(8))), Errno::EACCES, "bpf_timer cannot be accessed directly by load/store");
    accepts(&run(&with_cb(&probe(16))));
}

#[test]
fn key_is_read_only_and_sized() {
    let out = run(&with_cb("*(u32 *)(r2 +0) = 1\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "write to change key R2 not allowed");
    let out = run(&with_cb("r0 = *(u32 *)(r2 +4)\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "R2 min value is outside of the allowed memory range");
    assert!(out.log.contains("invalid access to map key, key_size=4 off=4 size=4\n"), "{}", out.log);
    // the key and value are good map arguments
    let out = run(&with_cb("r1 = r2\nr2 = 4\nr3 = 0\ncall bpf_probe_read_kernel\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "R1 cannot write into map_key");
    let out = run(&with_cb("r2 = r2\nr1 = map_fd(0) ll\ncall bpf_map_lookup_elem\nr0 = 0\nexit\n"));
    accepts(&out);
}

#[test]
fn callback_calls_a_static_function_with_stack_arguments() {
    let body = "
    r1 = 10
    r2 = 20
    r3 = 30
    r4 = 40
    r5 = 50
    *(u64 *)(r11 -8) = 60
    *(u64 *)(r11 -16) = 70
    *(u64 *)(r11 -24) = 80
    *(u64 *)(r11 -32) = 90
    *(u64 *)(r11 -40) = 100
    call sum10
    r0 = 0
    exit

.func sum10, 10
sum10:
    r0 = *(u64 *)(r11 +8)
    r6 = *(u64 *)(r11 +16)
    r0 += r6
    r0 += r1
    exit
";
    accepts(&run(&with_cb(body)));
}

#[test]
fn pseudo_func_needs_a_static_prototype() {
    let out = run_with(&with_cb("r0 = 0\nexit\n"), |o| o.funcs.clear());
    rejects(&out, Errno::EINVAL, "missing btf func_info");
    let src = format!("{MAIN}\n.func cb, 3, global\ncb:\nr0 = 0\nexit\n");
    rejects(&run(&src), Errno::EINVAL, "callback function not static");
}

#[test]
fn set_callback_argument_types() {
    // the callback stays referenced (and reachable) through r7
    let src = MAIN.replace("r2 = func(cb) ll", "r7 = func(cb) ll\n    r2 = 0");
    let out = run(&format!("{src}\n.func cb, 3\ncb:\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "R2 type=scalar expected=func");
    let src = MAIN.replace("r1 = r6\n    r2 = func(cb) ll", "r1 = r10\n    r2 = func(cb) ll");
    let out = run(&format!("{src}\n.func cb, 3\ncb:\nr0 = 0\nexit\n"));
    rejects(&out, Errno::EACCES, "R1 type=fp expected=map_value");
}

#[test]
fn callback_stack_depth_is_its_own_chain() {
    let body = "*(u64 *)(r10 -512) = 0\nr0 = 0\nexit\n";
    let src = with_cb(body).replace("r0 = 0\n    exit\n", "*(u64 *)(r10 -512) = 0\n    r0 = 0\n    exit\n");
    let out = run_with(&src, |o| o.log_level = 4);
    accepts(&out);
    assert!(out.log.contains("stack depth 512+512"), "{}", out.log);
}

/// The level-2 log of a data file equals Linux 6.18's (captured with `data/timers/timer_oracle.py`:
/// the timer map's value BTF holds `struct bpf_timer` at 0, `.func` prototypes as func_info).
/// Normalised: map addresses in `ld_imm64` print as `MAP` with the annotation padding collapsed,
/// the stack-liveness trace and the timing line are dropped (kbpf prints neither).
#[track_caller]
fn same_log_as_kernel(name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/timers");
    let src = std::fs::read_to_string(dir.join(format!("{name}.s"))).unwrap();
    let kernel = std::fs::read_to_string(dir.join(format!("{name}.kernel.log"))).unwrap();
    let m = assemble_module(&src, &NoKfuncs).expect("assembles");
    let maps = m
        .maps
        .iter()
        .enumerate()
        .map(|(i, s)| MapDef {
            fd: i as i32,
            name: s.name.clone(),
            kind: MapKind::Array,
            key_size: s.key_size,
            value_size: s.value_size,
            max_entries: s.max_entries,
            record: MapDef::timer_record(s.timer_off),
            ..Default::default()
        })
        .collect();
    let opts = VerifyOptions { funcs: m.funcs, maps, log_level: 2, ..Default::default() };
    let out = verify(&m.program.to_slots(), &opts);
    accepts(&out);
    let keep = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| !l.is_empty() && !l.starts_with("verification time") && !l.contains("live"))
            .map(str::to_string)
            .collect()
    };
    // an `ld_imm64` of a map prints its address (kernel) or fd (kbpf): `MAP` in both
    let map_token = |l: &str| -> String {
        let Some(at) = l.find("(18) r").and_then(|i| l[i..].find("= 0x").map(|j| i + j + 2)) else {
            return l.to_string();
        };
        let end = l[at..].find(' ').map_or(l.len(), |e| at + e);
        format!("{}MAP{}", &l[..at], &l[end..])
    };
    let squash = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let (ours, theirs) = (keep(&out.log), keep(&kernel));
    assert_eq!(ours.len(), theirs.len(), "kbpf log:\n{}", out.log);
    for (a, b) in ours.iter().zip(&theirs) {
        let (a, b) =
            if b.contains("= 0xffff") { (map_token(a), map_token(b)) } else { (a.clone(), b.clone()) };
        assert_eq!(squash(&a), squash(&b), "kbpf log:\n{}", out.log);
    }
}

#[test]
fn callback_calling_a_static_function_logs_like_the_kernel() {
    same_log_as_kernel("cb_calls_static");
}

#[test]
fn two_registrations_of_one_callback_log_like_the_kernel() {
    same_log_as_kernel("two_set_callbacks");
}

#[test]
fn a_callback_registering_itself_logs_like_the_kernel() {
    // each registration is another async entry (async_entry_cnt): not an infinite loop
    same_log_as_kernel("self_registering_callback");
}
