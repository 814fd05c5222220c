//! `bpf_spin_lock` sections and the special fields of map values: the lock state
//! (`process_spin_lock`), what a section forbids (calls, exits, tail calls, legacy packet
//! loads), direct accesses to special fields, and which program types may use a map with a
//! lock. Messages are Linux 6.18's (`process_spin_lock`, `check_map_access`,
//! `check_resource_leak`, `check_map_prog_compatibility`); the cases follow the kernel's
//! `verifier_spin_lock.c`.

mod common;
use common::*;
use kbpf_verifier::btf::record::{Field, FieldKind, Record};
use kbpf_verifier::{Errno, MapDef, MapKind, ProgType, VerifyOptions, VerifyOutcome};
use std::sync::Arc;

fn field(kind: FieldKind, off: u32) -> Field {
    Field { kind, off, size: kind.size(), kptr: None, graph_root: None }
}

/// `struct val { int cnt; struct bpf_spin_lock l; }` in a one-element array.
fn lock_map(fd: i32, name: &str) -> MapDef {
    MapDef {
        fd,
        name: name.into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        record: Some(Arc::new(Record { fields: vec![field(FieldKind::SpinLock, 4)] })),
        ..Default::default()
    }
}

fn run_as(prog_type: ProgType, src: &str) -> VerifyOutcome {
    let opts = VerifyOptions {
        prog_type,
        maps: vec![lock_map(0, "map_spin_lock"), lock_map(1, "other")],
        privileged: true,
        log_level: 2,
        ..Default::default()
    };
    verify_src(src, Vec::new(), opts)
}

fn run(src: &str) -> VerifyOutcome {
    run_as(ProgType::CgroupSkb, src)
}

/// Looks up element 0 of map `fd` into r0, exiting when NULL.
fn lookup(fd: u32) -> String {
    format!(
        "r1 = 0\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map_fd({fd}) ll\n\
         call bpf_map_lookup_elem\nif r0 != 0 goto +1\nexit\n"
    )
}

fn locked(body: &str) -> String {
    format!("{}r6 = r0\nr1 = r0\nr1 += 4\ncall bpf_spin_lock\n{body}", lookup(0))
}

const UNLOCK: &str = "r1 = r6\nr1 += 4\ncall bpf_spin_unlock\nr0 = 0\nexit\n";

#[test]
fn lock_and_unlock_of_one_value() {
    let out = run(&locked(&format!("r0 = *(u32 *)(r6 +0)\n{UNLOCK}")));
    accepts(&out);
    // the value keeps its id after the NULL check: it names the lock
    assert!(out.log.contains("R6=map_value(id=1,map=map_spin_lock,ks=4,vs=8)"), "{}", out.log);
    assert!(out.log.contains(" refs=1\n"), "{}", out.log);
}

#[test]
fn the_lock_field_is_not_for_loads_and_stores() {
    let out = run(&locked(&format!("r1 = r6\nr1 += 4\nr0 = *(u32 *)(r1 +0)\n{UNLOCK}")));
    rejects(&out, Errno::EACCES, "bpf_spin_lock cannot be accessed directly by load/store");
    let out = run(&locked(&format!("*(u8 *)(r6 +7) = 0\n{UNLOCK}")));
    rejects(&out, Errno::EACCES, "bpf_spin_lock cannot be accessed directly by load/store");
}

#[test]
fn calls_inside_the_section_are_refused() {
    let out = run(&locked(&format!("call bpf_get_prandom_u32\n{UNLOCK}")));
    rejects(&out, Errno::EINVAL, "function calls are not allowed while holding a lock");
    // a second lock is a call too
    let out = run(&locked(&format!("r1 = r6\nr1 += 4\ncall bpf_spin_lock\n{UNLOCK}")));
    rejects(&out, Errno::EINVAL, "function calls are not allowed while holding a lock");
}

#[test]
fn exit_inside_the_section_is_refused() {
    let out = run(&locked("r0 = 0\nexit\n"));
    rejects(
        &out,
        Errno::EINVAL,
        "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region",
    );
}

#[test]
fn unlock_needs_the_lock_taken_through_the_same_pointer() {
    let out = run(&format!("{}r1 = r0\nr1 += 4\ncall bpf_spin_unlock\nr0 = 0\nexit\n", lookup(0)));
    rejects(&out, Errno::EINVAL, "bpf_spin_unlock without taking a lock");
    // a second lookup of the same element has another id
    let src =
        format!("{}r7 = r0\n{}r6 = r0\nr1 = r7\nr1 += 4\ncall bpf_spin_lock\n{UNLOCK}", lookup(0), lookup(0));
    rejects(&run(&src), Errno::EINVAL, "bpf_spin_unlock of different lock");
    // another map's lock
    let src =
        format!("{}r7 = r0\n{}r6 = r0\nr1 = r7\nr1 += 4\ncall bpf_spin_lock\n{UNLOCK}", lookup(1), lookup(0));
    rejects(&run(&src), Errno::EINVAL, "bpf_spin_unlock of different lock");
}

#[test]
fn the_lock_argument_must_be_the_lock_field() {
    let src = format!("{}r1 = r0\ncall bpf_spin_lock\nr0 = 0\nexit\n", lookup(0));
    rejects(&run(&src), Errno::EINVAL, "off 0 doesn't point to 'struct bpf_spin_lock' that is at 4");
    let src = format!("{}r1 = r10\nr1 += -8\ncall bpf_spin_lock\nr0 = 0\nexit\n", lookup(0));
    rejects(&run(&src), Errno::EACCES, "R1 type=fp expected=map_value, ptr_");
    // a map value without a lock
    let plain = VerifyOptions {
        prog_type: ProgType::CgroupSkb,
        maps: vec![MapDef { record: None, ..lock_map(0, "plain") }],
        privileged: true,
        ..Default::default()
    };
    let src = format!("{}r1 = r0\nr1 += 4\ncall bpf_spin_lock\nr0 = 0\nexit\n", lookup(0));
    rejects(&verify_src(&src, Vec::new(), plain), Errno::EINVAL, "map 'plain' has no valid bpf_spin_lock");
}

#[test]
fn legacy_packet_loads_inside_the_section_are_refused() {
    let src = format!(
        "r9 = r1\n{}r7 = r0\nr1 = r0\nr1 += 4\ncall bpf_spin_lock\nr6 = r9\nr0 = *(u8 *)skb[0]\n\
         r1 = r7\nr1 += 4\ncall bpf_spin_unlock\nr0 = 0\nexit\n",
        lookup(0)
    );
    let out = run_as(ProgType::SchedCls, &src);
    rejects(&out, Errno::EINVAL, "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region");
}

#[test]
fn tracing_and_socket_filter_programs_cannot_use_a_map_with_a_lock() {
    let src = format!("{}r0 = 0\nexit\n", lookup(0));
    rejects(&run_as(ProgType::Tracepoint, &src), Errno::EINVAL, "tracing progs cannot use bpf_spin_lock yet");
    rejects(
        &run_as(ProgType::SocketFilter, &src),
        Errno::EINVAL,
        "socket filter progs cannot use bpf_spin_lock yet",
    );
}

#[test]
fn a_static_subprogram_may_unlock() {
    let src = format!(
        "{}r6 = r0\nr1 = r0\nr1 += 4\ncall bpf_spin_lock\nr1 = r6\ncall unlock\nr0 = 0\nexit\n\
         .func unlock, 1\nunlock:\nr1 += 4\ncall bpf_spin_unlock\nr0 = 0\nexit\n",
        lookup(0)
    );
    accepts(&run(&src));
}
