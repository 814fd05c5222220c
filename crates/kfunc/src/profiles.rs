//! Ready-made registries.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::native::NativeFn;
use crate::registry::Registry;

extern "C" fn gather_bytes(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    ((a & 0xff) << 32) | ((b & 0xff) << 24) | ((c & 0xff) << 16) | ((d & 0xff) << 8) | (e & 0xff)
}

extern "C" fn no_op() -> u64 {
    0
}

extern "C" fn sqrti(x: u64) -> u64 {
    (x as f64).sqrt() as u64
}

extern "C" fn unwind(x: u64) -> u64 {
    x
}

/// The helper profile the bpf_conformance suite expects (uBPF's plugin numbering): 0
/// `gather_bytes`, 2 `no_op`, 3 `sqrti`, 5 `unwind` (returns its argument). uBPF's 1 `memfrob` and
/// 4 `strcmp_ext` dereference raw pointers and are not provided; no conformance test calls them.
pub fn conformance() -> Registry {
    let mut r = Registry::new();
    let entries = [
        (0, "gather_bytes", NativeFn::A5(gather_bytes)),
        (2, "no_op", NativeFn::A0(no_op)),
        (3, "sqrti", NativeFn::A1(sqrti)),
        (5, "unwind", NativeFn::A1(unwind)),
    ];
    for (id, name, f) in entries {
        r.add_helper(id, name, f).expect("distinct ids");
    }
    r
}

static PRANDOM: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

/// `bpf_get_prandom_u32`: a splitmix64 stream, so that runs are reproducible in tests when the
/// state is reset with [`reset_prandom`].
extern "C" fn get_prandom_u32() -> u64 {
    let mut z =
        PRANDOM.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) & 0xffff_ffff
}

/// Restarts the `bpf_get_prandom_u32` stream (differential tests run each engine from the same
/// state).
pub fn reset_prandom() {
    PRANDOM.store(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
}

extern "C" fn ktime_get_ns() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

extern "C" fn get_smp_processor_id() -> u64 {
    0
}

/// Kernel-numbered helpers that need no kernel objects: 1..3 the map helpers (on the maps of
/// [`crate::maps`]), 5 `bpf_ktime_get_ns`, 7 `bpf_get_prandom_u32`, 8 `bpf_get_smp_processor_id`,
/// the dynptr helpers 197 `bpf_dynptr_from_mem`, 201 `bpf_dynptr_read`, 202
/// `bpf_dynptr_write`, 203 `bpf_dynptr_data`, and 26 `bpf_skb_load_bytes` (on a test run's
/// packet). `bpf_tail_call` (12) has no native: engines implement it.
pub fn kernel() -> Registry {
    let mut r = Registry::new();
    crate::maps::register(&mut r).expect("distinct ids");
    let entries = [
        (5, "bpf_ktime_get_ns", NativeFn::A0(ktime_get_ns)),
        (7, "bpf_get_prandom_u32", NativeFn::A0(get_prandom_u32)),
        (8, "bpf_get_smp_processor_id", NativeFn::A0(get_smp_processor_id)),
    ];
    for (id, name, f) in entries {
        r.add_helper(id, name, f).expect("distinct ids");
    }
    crate::vmlinux::register_helpers(&mut r).expect("dynptr helpers are consistent");
    crate::packet_helpers::register(&mut r).expect("packet helpers are consistent");
    crate::strings::register(&mut r).expect("string helpers are consistent");
    r
}

/// The kernel helpers, the vmlinux dynptr/iterator kfuncs plus the test kfunc set (the CLI's default profile for `run`).
pub fn testmod() -> Registry {
    let mut r = kernel();
    crate::vmlinux::register_kfuncs(&mut r).expect("vmlinux kfunc set is consistent");
    crate::testmod::register(&mut r).expect("test kfunc set is consistent");
    r
}
