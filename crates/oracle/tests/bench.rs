//! Kernel bench helpers on the shared bench programs (skipped without the oracle or the files).

use std::path::Path;

use kbpf_oracle::bench::{bench_kernel, bench_slots, read_hex_file};
use kbpf_oracle::skip_reason;

#[test]
fn sum_program_runs_with_n_from_mark() {
    if skip_reason().is_some() {
        return;
    }
    let path = Path::new("/work/shared/bench/sum.kernel.hex");
    if !path.exists() {
        eprintln!("skipping: {} not present", path.display());
        return;
    }
    let slots = read_hex_file(path).expect("hex");
    let b = bench_slots(&slots, 1000, 10, 3).expect("bench");
    assert_eq!(b.retval, 500_500);
    assert!(b.median_ns > 0.0);
    assert!(b.jited_len > 0);
    assert!(bench_kernel(path, 10, 5).expect("bench") > 0.0);
}
