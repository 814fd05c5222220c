//! `BPF_F_RDONLY_PROG` / `BPF_F_WRONLY_PROG` on every path into a map value, with the kernel's
//! messages and their order against the other checks (the `map_flags` kernel-diff family
//! holds the kernel's own answers for these shapes).

mod common;

use common::{accepts, rejects, verify_src};
use kbpf_verifier::{
    BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, Errno, MapDef, MapKind, VerifyOptions, VerifyOutcome,
};

fn map(flags: u32, frozen: bool, max_entries: u32) -> MapDef {
    MapDef {
        fd: 0,
        name: "m".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 16,
        max_entries,
        flags,
        frozen,
        initial: Some((1..=16).collect()),
        record: None,
        ..MapDef::default()
    }
}

fn other() -> MapDef {
    MapDef {
        fd: 1,
        name: "o".into(),
        kind: MapKind::Hash,
        key_size: 8,
        value_size: 8,
        max_entries: 4,
        ..MapDef::default()
    }
}

/// `r7` = a value of map 0 (a direct value pointer), then `body`.
fn run(m: MapDef, body: &str) -> VerifyOutcome {
    let src = format!("r6 = r1\nr7 = map_value(0, 0) ll\n{body}\nr0 = 0\nexit\n");
    verify_src(&src, Vec::new(), VerifyOptions { maps: vec![m, other()], ..VerifyOptions::default() })
}

const RO: u32 = BPF_F_RDONLY_PROG;
const WO: u32 = BPF_F_WRONLY_PROG;

#[test]
fn loads_stores_and_immediate_stores() {
    accepts(&run(map(RO, false, 1), "r0 = *(u32 *)(r7 +4)"));
    rejects(
        &run(map(WO, false, 1), "r0 = *(u32 *)(r7 +4)"),
        Errno::EACCES,
        "read from map forbidden, value_size=16 off=4 size=4",
    );
    rejects(
        &run(map(WO, false, 1), "r0 = *(s16 *)(r7 +2)"),
        Errno::EACCES,
        "read from map forbidden, value_size=16 off=2 size=2",
    );
    rejects(
        &run(map(RO, false, 1), "*(u64 *)(r7 +8) = 1"),
        Errno::EACCES,
        "write into map forbidden, value_size=16 off=8 size=8",
    );
    rejects(
        &run(map(RO, true, 1), "r1 = 2\n*(u8 *)(r7 +0) = r1"),
        Errno::EACCES,
        "write into map forbidden, value_size=16 off=0 size=1",
    );
    accepts(&run(map(WO, false, 1), "*(u64 *)(r7 +8) = 1"));
    // the flags come before the bounds: an access past the end names the flag
    rejects(
        &run(map(RO, false, 1), "*(u32 *)(r7 +16) = 1"),
        Errno::EACCES,
        "write into map forbidden, value_size=16 off=16 size=4",
    );
    // the pointer's fixed offset is part of `off`
    rejects(
        &run(map(WO, false, 1), "r7 += 4\nr0 = *(u32 *)(r7 +8)"),
        Errno::EACCES,
        "read from map forbidden, value_size=16 off=12 size=4",
    );
}

#[test]
fn atomics_read_then_write() {
    for op in [
        "lock *(u64 *)(r7 +8) += r1",
        "r1 = atomic64_fetch_add((u64 *)(r7 +8), r1)",
        "r1 = atomic64_xchg((u64 *)(r7 +8), r1)",
        "r0 = atomic64_cmpxchg((u64 *)(r7 +8), r0, r1)",
    ] {
        let body = format!("r0 = 0\nr1 = 1\n{op}");
        rejects(
            &run(map(RO, false, 1), &body),
            Errno::EACCES,
            "write into map forbidden, value_size=16 off=8 size=8",
        );
        rejects(
            &run(map(WO, false, 1), &body),
            Errno::EACCES,
            "read from map forbidden, value_size=16 off=8 size=8",
        );
        accepts(&run(map(0, false, 1), &body));
    }
    rejects(
        &run(map(WO, false, 1), "r0 = load_acquire((u32 *)(r7 +4))"),
        Errno::EACCES,
        "read from map forbidden, value_size=16 off=4 size=4",
    );
    rejects(
        &run(map(RO, false, 1), "r1 = 3\nstore_release((u32 *)(r7 +4), r1)"),
        Errno::EACCES,
        "write into map forbidden, value_size=16 off=4 size=4",
    );
}

#[test]
fn helper_memory_arguments() {
    // bpf_probe_read_kernel writes its destination
    let probe = "r1 = r7\nr1 += 4\nr2 = 8\nr3 = 0\ncall 113";
    rejects(
        &run(map(RO, false, 1), probe),
        Errno::EACCES,
        "write into map forbidden, value_size=16 off=4 size=8",
    );
    accepts(&run(map(WO, false, 1), probe));
    // bpf_map_update_elem reads the value it is given, and the key
    let update = "*(u64 *)(r10 -16) = 0\nr1 = map_fd(1) ll\nr2 = r10\nr2 += -16\nr3 = r7\nr4 = 0\ncall 2";
    rejects(
        &run(map(WO, false, 1), update),
        Errno::EACCES,
        "read from map forbidden, value_size=16 off=0 size=8",
    );
    accepts(&run(map(RO, false, 1), update));
    let lookup = "r1 = map_fd(1) ll\nr2 = r7\ncall 1";
    rejects(
        &run(map(WO, false, 1), lookup),
        Errno::EACCES,
        "read from map forbidden, value_size=16 off=0 size=8",
    );
    // trace_printk's format is read
    rejects(
        &run(map(WO, false, 1), "r1 = r7\nr2 = 16\ncall 6"),
        Errno::EACCES,
        "read from map forbidden, value_size=16 off=0 size=16",
    );
}

#[test]
fn element_changing_helpers_refuse_a_read_only_map() {
    let update_self =
        "*(u64 *)(r10 -16) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -16\nr3 = r7\nr4 = 0\ncall 2";
    rejects(&run(map(RO, false, 1), update_self), Errno::EACCES, "write into map forbidden");
    let delete_self = "*(u64 *)(r10 -16) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -16\ncall 3";
    rejects(&run(map(RO, false, 1), delete_self), Errno::EACCES, "write into map forbidden");
    accepts(&run(map(WO, false, 1), delete_self));
}

#[test]
fn frozen_read_only_values_are_constants() {
    // bytes 4..8 are 5, 6, 7, 8: the load is a known constant, so the branch is dead
    let body = "r0 = *(u32 *)(r7 +4)\nif r0 == 0x08070605 goto +1\nr0 = *(u64 *)(r9 +0)";
    accepts(&run(map(RO, true, 1), body));
    rejects(&run(map(RO, false, 1), body), Errno::EACCES, "R9 !read_ok");
    // sign extension reads the constant as the kernel does
    let body = "r7 += 8\nr0 = *(s8 *)(r7 +0)\nif r0 == 9 goto +1\nr0 = *(u64 *)(r9 +0)";
    accepts(&run(map(RO, true, 1), body));
}

#[test]
fn a_frozen_read_only_array_of_many_entries_fails_a_constant_load_silently() {
    // array_map_direct_value_addr supports one entry only: the kernel returns ENOTSUPP
    // without printing a line
    let src = "r6 = r1\n*(u32 *)(r10 -4) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +1\nr0 = *(u32 *)(r0 +4)\nr0 = 0\nexit\n";
    let out = verify_src(
        src,
        Vec::new(),
        VerifyOptions { maps: vec![map(RO, true, 4)], ..VerifyOptions::default() },
    );
    assert!(!out.accepted);
    assert_eq!(out.error.as_ref().map(|e| e.errno()), Some(Errno::ENOTSUPP), "{}", out.log);
}
