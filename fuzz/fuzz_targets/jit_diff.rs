//! cargo-fuzz target `jit_diff`: the body is `kbpf_soundness::targets::jit_diff` (replayed on stable
//! from `fuzz/corpus/jit_diff/` by `crates/soundness/tests/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kbpf_soundness::targets::jit_diff(data));
