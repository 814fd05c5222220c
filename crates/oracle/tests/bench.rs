//! Kernel bench helpers on the benchmark programs of `benches/programs/` (needs the kernel
//! oracle: ignored by default, run by `cargo xtask test` where `bpf()` works).

use std::path::PathBuf;

use kbpf_oracle::bench::{bench_kernel, bench_slots, read_hex_file};
use kbpf_oracle::skip_reason;

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn sum_program_runs_with_n_from_mark() {
    if let Some(why) = skip_reason() {
        panic!("{why}");
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/programs/sum.kernel.hex");
    let path = path.as_path();
    let slots = read_hex_file(path).expect("hex");
    let b = bench_slots(&slots, 1000, 10, 3).expect("bench");
    assert_eq!(b.retval, 500_500);
    assert!(b.median_ns > 0.0);
    assert!(b.jited_len > 0);
    assert!(bench_kernel(path, 10, 5).expect("bench") > 0.0);
}
