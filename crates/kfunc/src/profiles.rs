//! Ready-made registries.

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

/// The conformance helpers plus the test kfunc set (the CLI's default profile).
pub fn testmod() -> Registry {
    let mut r = conformance();
    crate::testmod::register(&mut r).expect("test kfunc set is consistent");
    r
}
