//! Dynptrs, iterators, const strings and timers as stack-argument and helper arguments.

use super::*;

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
        record: None,
        ..MapDef::default()
    }
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
        record: MapDef::timer_record(Some(8)),
        ..Default::default()
    };
    let at = |off: i32| format!("r6 = map_value(5, {off}) ll\n{STACK9}call stack_timer\nexit\n");
    accepts(&run_with(&at(8), |o| o.maps = vec![timers.clone()]));
    let out = run_with(&at(0), |o| o.maps = vec![timers.clone()]);
    rejects(&out, Errno::EINVAL, "off 0 doesn't point to 'struct bpf_timer' that is at 8");
    let no_timer = MapDef { record: None, ..timers.clone() };
    let out = run_with(&at(8), |o| o.maps = vec![no_timer]);
    rejects(&out, Errno::EINVAL, "map 'timers' has no valid bpf_timer");
    let out = run(&format!("r6 = r10\nr6 += -8\n{STACK9}call stack_timer\nexit\n"));
    rejects(&out, Errno::EINVAL, "arg#9 doesn't point to a map value");
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
        record: MapDef::timer_record(Some(8)),
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
