//! Map types beyond the array and hash families, with the kernel's messages: map-in-map
//! lookups yielding the inner map template, the helpers each type allows
//! (`check_map_func_compatibility`), struct_ops maps refused at `ld_imm64`, and the
//! `struct bpf_map` reads through a map pointer (`check_ptr_to_map_access`).

mod common;

use common::{accepts, rejects, verify_src};
use kbpf_elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Member};
use kbpf_verifier::{Errno, KernelBtf, MapDef, MapKind, VerifyOptions, VerifyOutcome};
use std::sync::Arc;

fn map(fd: i32, kind: MapKind, key_size: u32, value_size: u32) -> MapDef {
    MapDef { fd, name: format!("m{fd}"), kind, key_size, value_size, max_entries: 4, ..MapDef::default() }
}

/// fd 0: an array of maps whose template (last entry, no fd) is an array of 8-byte values.
fn map_in_map(outer: MapKind) -> Vec<MapDef> {
    let template = MapDef { fd: -1, name: String::new(), template: true, ..map(-1, MapKind::Array, 4, 8) };
    vec![MapDef { inner: Some(1), ..map(0, outer, 4, 4) }, template]
}

fn run(maps: Vec<MapDef>, src: &str) -> VerifyOutcome {
    verify_src(
        src,
        Vec::new(),
        VerifyOptions { maps, log_level: 2, privileged: true, ..VerifyOptions::default() },
    )
}

/// Looks up key 0 of the outer map, then (non-NULL) key 0 of the inner map and runs `body`
/// on the inner value in r0.
fn nested(body: &str) -> String {
    format!(
        "*(u32 *)(r10 -4) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +7\n\
         r1 = r0\nr2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +2\n{body}\nr0 = 0\nexit\n"
    )
}

#[test]
fn a_map_in_map_lookup_yields_the_inner_map() {
    for outer in [MapKind::ArrayOfMaps, MapKind::HashOfMaps] {
        let out = run(map_in_map(outer), &nested("r0 = *(u64 *)(r0 +0)\nr0 = 0"));
        accepts(&out);
        // the template has no name: the kernel's inner_map_meta copies none
        assert!(out.log.contains("R1=map_ptr(ks=4,vs=8)"), "{}", out.log);
        // the kernel types the lookup's result as the inner map already
        assert!(out.log.contains("R0=map_ptr_or_null(id=1,ks=4,vs=8)"), "{}", out.log);
        rejects(
            &run(map_in_map(outer), &nested("r0 = *(u64 *)(r0 +8)\nr0 = 0")),
            Errno::EACCES,
            "R0 min value is outside of the allowed memory range",
        );
    }
}

#[test]
fn a_map_in_map_value_is_no_memory() {
    let src = "*(u32 *)(r10 -4) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -4\ncall 1\n\
               r0 = *(u32 *)(r0 +0)\nr0 = 0\nexit\n";
    rejects(
        &run(map_in_map(MapKind::ArrayOfMaps), src),
        Errno::EACCES,
        "R0 invalid mem access 'map_ptr_or_null'",
    );
    // verifier_map_in_map's on_the_inner_map_pointer, as the running kernel answers it
    let src = "*(u32 *)(r10 -4) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -4\ncall 1\nr1 = r0\n\
               r2 = r10\nr2 += -4\ncall 1\nr0 = 0\nexit\n";
    rejects(
        &run(map_in_map(MapKind::ArrayOfMaps), src),
        Errno::EACCES,
        "R1 type=map_ptr_or_null expected=map_ptr",
    );
}

#[test]
fn a_map_in_map_takes_only_lookups() {
    let update = "*(u32 *)(r10 -4) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -4\n\
                  r4 = 0\ncall 2\nr0 = 0\nexit\n";
    rejects(
        &run(map_in_map(MapKind::ArrayOfMaps), update),
        Errno::EINVAL,
        "cannot pass map_type 12 into func bpf_map_update_elem#2",
    );
    let delete = "*(u32 *)(r10 -4) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -4\ncall 3\nr0 = 0\nexit\n";
    rejects(
        &run(map_in_map(MapKind::HashOfMaps), delete),
        Errno::EINVAL,
        "cannot pass map_type 13 into func bpf_map_delete_elem#3",
    );
}

#[test]
fn an_inner_template_has_no_fd() {
    let src = "r1 = map_fd(-1) ll\nr0 = 0\nexit\n";
    rejects(
        &run(map_in_map(MapKind::ArrayOfMaps), src),
        Errno::EBADF,
        "fd -1 is not pointing to valid bpf_map",
    );
}

#[test]
fn user_ringbuf_bloom_filter_lpm_trie_and_struct_ops_helpers() {
    let output = "*(u64 *)(r10 -8) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -8\nr3 = 8\nr4 = 0\n\
                  call 130\nr0 = 0\nexit\n";
    rejects(
        &run(vec![map(0, MapKind::UserRingBuf, 0, 0)], output),
        Errno::EINVAL,
        "cannot pass map_type 31 into func bpf_ringbuf_output#130",
    );
    let value = |call: &str| {
        format!("*(u64 *)(r10 -8) = 0\nr1 = map_fd(0) ll\nr2 = r10\nr2 += -8\n{call}\nr0 = 0\nexit\n")
    };
    let bloom = || vec![map(0, MapKind::BloomFilter, 0, 8)];
    accepts(&run(bloom(), &value("r3 = 0\ncall 87")));
    accepts(&run(bloom(), &value("call 89")));
    rejects(
        &run(bloom(), &value("call 88")),
        Errno::EINVAL,
        "cannot pass map_type 30 into func bpf_map_pop_elem#88",
    );
    // an LPM trie takes the map helpers like a hash
    let lpm = vec![MapDef { flags: 1, ..map(0, MapKind::LpmTrie, 8, 8) }];
    accepts(&run(lpm, &value("call 1")));
    let src = "r1 = map_fd(0) ll\nr0 = 0\nexit\n";
    rejects(
        &run(vec![map(0, MapKind::StructOps, 4, 8)], src),
        Errno::EINVAL,
        "bpf_struct_ops map cannot be used in prog",
    );
}

/// `struct bpf_map { u32 map_type, key_size, value_size, max_entries; }` and
/// `struct bpf_array { struct bpf_map map; u32 elem_size; }`.
fn target() -> KernelBtf {
    let mut b = BtfBuilder::new();
    let u32_ =
        b.add(BtfType::Int { name: "u32".into(), size: 4, encoding: IntEncoding::None, offset: 0, bits: 32 });
    let m = |name: &str, type_id, bits| Member { name: name.into(), type_id, offset: bits, bitfield_size: 0 };
    let fields = ["map_type", "key_size", "value_size", "max_entries"];
    let members = fields.iter().enumerate().map(|(i, f)| m(f, u32_, 32 * i as u32)).collect();
    let bpf_map = b.add(BtfType::Struct { name: "bpf_map".into(), size: 16, members, kind_flag: false });
    let members = vec![m("map", bpf_map, 0), m("elem_size", u32_, 128)];
    b.add(BtfType::Struct { name: "bpf_array".into(), size: 20, members, kind_flag: false });
    KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))
}

fn map_ptr_read(privileged: bool, body: &str) -> VerifyOutcome {
    let src = format!("r1 = map_fd(0) ll\n{body}\nr0 = 0\nexit\n");
    let opts = VerifyOptions {
        maps: vec![map(0, MapKind::Array, 4, 8)],
        btf: Some(target()),
        privileged,
        ..VerifyOptions::default()
    };
    verify_src(&src, Vec::new(), opts)
}

#[test]
fn a_privileged_program_reads_the_map_structure() {
    accepts(&map_ptr_read(true, "r0 = *(u32 *)(r1 +12)\nr0 = *(u32 *)(r1 +16)"));
    rejects(
        &map_ptr_read(false, "r0 = *(u32 *)(r1 +12)"),
        Errno::EPERM,
        "'struct bpf_array' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN",
    );
    rejects(
        &map_ptr_read(true, "r0 = *(u32 *)(r1 -8)"),
        Errno::EACCES,
        "R1 is bpf_array invalid negative access: off=-8",
    );
    rejects(
        &map_ptr_read(true, "r2 = 1\n*(u32 *)(r1 +12) = r2"),
        Errno::EACCES,
        "only read from bpf_array is supported",
    );
    rejects(
        &map_ptr_read(true, "r0 = *(u32 *)(r1 +20)"),
        Errno::EACCES,
        "access beyond struct bpf_array at off 20 size 4",
    );
}

#[test]
fn sleepable_programs_use_only_the_sleepable_safe_map_types() {
    let src = "r1 = map_fd(0) ll\nr0 = 0\nexit\n";
    let sleepable = |maps: Vec<MapDef>| {
        verify_src(
            src,
            Vec::new(),
            VerifyOptions { maps, sleepable: true, privileged: true, ..VerifyOptions::default() },
        )
    };
    const MSG: &str =
        "Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps";
    for kind in [MapKind::Hash, MapKind::Queue, MapKind::Stack, MapKind::UserRingBuf, MapKind::ArrayOfMaps] {
        let mut maps = map_in_map(kind);
        if kind != MapKind::ArrayOfMaps {
            maps[0].inner = None;
        }
        accepts(&sleepable(maps));
    }
    for kind in
        [MapKind::BloomFilter, MapKind::LpmTrie, MapKind::DevMap, MapKind::ProgArray, MapKind::StackTrace]
    {
        rejects(&sleepable(vec![map(0, kind, 4, 4)]), Errno::EINVAL, MSG);
    }
    // the inner map counts too
    let mut maps = map_in_map(MapKind::ArrayOfMaps);
    maps[1].kind = MapKind::DevMap;
    rejects(&sleepable(maps), Errno::EINVAL, MSG);
    // struct_ops maps are refused first
    rejects(
        &sleepable(vec![map(0, MapKind::StructOps, 4, 4)]),
        Errno::EINVAL,
        "bpf_struct_ops map cannot be used in prog",
    );
}

#[test]
fn a_btf_pointer_proves_no_lookup_result_non_null() {
    // jeq_infer_not_null_fail: the inner_map_meta field read through the map pointer
    let src = "*(u32 *)(r10 -4) = 0\nr1 = map_fd(0) ll\nr9 = *(u64 *)(r1 +0)\nr2 = r10\nr2 += -4\n\
               call 1\nr8 = r0\nr0 = 0\nif r8 != r9 goto +1\nr0 = *(u64 *)(r8 +0)\nr0 = 0\nexit\n";
    let mut b = BtfBuilder::new();
    let map =
        b.add(BtfType::Struct { name: "bpf_map".into(), size: 8, members: Vec::new(), kind_flag: false });
    let ptr = b.add(BtfType::Ptr { type_id: map });
    let members = vec![Member { name: "inner_map_meta".into(), type_id: ptr, offset: 0, bitfield_size: 0 }];
    b.add(BtfType::Struct { name: "bpf_htab".into(), size: 8, members, kind_flag: false });
    let opts = VerifyOptions {
        maps: vec![map_def_hash()],
        btf: Some(KernelBtf(Arc::new(Btf::parse(&b.build()).expect("parses")))),
        privileged: true,
        ..VerifyOptions::default()
    };
    rejects(&verify_src(src, Vec::new(), opts), Errno::EACCES, "R8 invalid mem access 'map_value_or_null'");
}

fn map_def_hash() -> MapDef {
    map(0, MapKind::Hash, 4, 8)
}

/// The task and cgroup storage helpers take a NULL owner (checked at run time), so a wrong map
/// is what the kernel refuses first (found by `kernel-diff --stream`, seed 20261208).
#[test]
fn storage_deletes_take_a_null_owner() {
    for (helper, id) in [("bpf_cgrp_storage_delete", 211), ("bpf_task_storage_delete", 157)] {
        let src = format!("r1 = map_fd(0) ll\nr2 = 0\ncall {helper}\nr0 = 0\nexit\n");
        rejects(
            &run(vec![map(0, MapKind::Hash, 8, 16)], &src),
            Errno::EINVAL,
            &format!("cannot pass map_type 1 into func {helper}#{id}"),
        );
    }
}
