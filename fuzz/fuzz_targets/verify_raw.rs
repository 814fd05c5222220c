//! cargo-fuzz target `verify_raw`: the body is `kbpf_soundness::targets::verify_raw` (replayed on stable
//! from `fuzz/corpus/verify_raw/` by `crates/soundness/tests/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kbpf_soundness::targets::verify_raw(data));
